//! `rivet build`: running a template's steps.
//!
//! Every plugin is loaded and every step prepared before any work starts, so
//! a missing plugin or bad configuration fails the build with nothing
//! written. Then each builder runs, followed by the provisioners and the
//! post-processors in order, each taking the artifact of the step before.
//! When a later step fails, the builder's artifact is incomplete: it is
//! removed (as Packer does) only if this build made it (its output marker,
//! [`rivet_interface::output_created`], is dated after the build started)
//! and it lies inside the template's directory, both checked on the
//! normalised path; otherwise, or with `--keep-on-error`, it is kept with a
//! warning. A directory that existed before the build is never removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rivet_loader::{Artifact, CallError, Instance, LoadError, Loader, PluginKind};

use crate::template::{Step, Template, TemplateError};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The template is unusable.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A step's plugin could not be loaded.
    #[error("{template}: {step}: {source}")]
    Load {
        /// The template.
        template: PathBuf,
        /// The step, as `builder #1` (the error names the plugin or its
        /// file).
        step: String,
        /// Why.
        source: Box<LoadError>,
    },
    /// A plugin call failed.
    #[error("{template}: {step} {reason}", reason = .source.reason())]
    Call {
        /// The template.
        template: PathBuf,
        /// The step and its plugin, as `builder #1 (dir)`.
        step: String,
        /// Why.
        source: CallError,
    },
}

/// Options of `rivet build`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Keep a builder's incomplete artifact when a later step fails.
    pub keep_on_error: bool,
}

struct Prepared {
    step: Step,
    instance: Instance,
}

/// Runs the template at `path`; returns the final artifact of each builder.
pub fn build(
    loader: &Loader,
    path: &Path,
    options: &BuildOptions,
) -> Result<Vec<Artifact>, BuildError> {
    let started = SystemTime::now();
    let template = Template::load(path)?;
    let prepared = prepare_all(loader, &template)?;
    println!(
        "==> Building {}{}",
        template.path.display(),
        template
            .description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    let (builders, steps): (Vec<_>, Vec<_>) = prepared
        .iter()
        .partition(|p| p.step.kind == PluginKind::Builder);

    let mut finished = Vec::new();
    for builder in builders {
        let artifact = builder
            .instance
            .build()
            .map_err(|source| call_error(&template, &builder.step, source))?;
        match run_steps(&steps, artifact.clone()) {
            Ok(last) => finished.push(last),
            Err((step, source)) => {
                discard(&artifact, &template, started, options);
                return Err(call_error(&template, &step.step, source));
            }
        }
    }
    Ok(finished)
}

fn prepare_all(loader: &Loader, template: &Template) -> Result<Vec<Prepared>, BuildError> {
    template
        .steps
        .iter()
        .map(|step| {
            let mode = step.isolation.unwrap_or(loader.mode());
            let required = template.required(step.kind, &step.plugin);
            let plugin = match (&step.path, required) {
                (Some(file), _) => loader.load_file_in(file, step.kind, &step.plugin, mode),
                (None, Some(r)) => {
                    loader.load_required(step.kind, &step.plugin, &r.source, &r.version, mode)
                }
                (None, None) => loader.load_in(step.kind, &step.plugin, mode),
            }
            .map_err(|source| BuildError::Load {
                template: template.path.clone(),
                step: step.position(),
                source: Box::new(source),
            })?;
            log::debug!("{step}: using {} ({})", plugin.source(), plugin.mode());
            let instance = plugin
                .prepare(&step.config, &template.base_dir)
                .map_err(|source| call_error(template, step, source))?;
            Ok(Prepared {
                step: step.clone(),
                instance,
            })
        })
        .collect()
}

/// Runs the provisioners and post-processors on `artifact`, in order.
fn run_steps<'a>(
    steps: &[&'a Prepared],
    mut artifact: Artifact,
) -> Result<Artifact, (&'a Prepared, CallError)> {
    for &step in steps {
        artifact = match step.step.kind {
            PluginKind::Provisioner => step.instance.provision(&artifact),
            _ => step.instance.post_process(&artifact),
        }
        .map_err(|error| (step, error))?;
    }
    Ok(artifact)
}

/// One line saying where `artifact` is: its id and its file when it is one
/// file, else its id, root directory and how many files it holds.
pub fn summary(artifact: &Artifact) -> String {
    match artifact.files.as_slice() {
        [file] => format!("{}: {}", artifact.id, artifact.path_of(file).display()),
        files => format!(
            "{}: {} ({} files)",
            artifact.id,
            artifact.root.display(),
            files.len()
        ),
    }
}

fn call_error(template: &Template, step: &Step, source: CallError) -> BuildError {
    BuildError::Call {
        template: template.path.clone(),
        step: step.to_string(),
        source,
    }
}

/// Removes a builder's incomplete artifact, when this build made it inside
/// the template's directory.
fn discard(artifact: &Artifact, template: &Template, started: SystemTime, options: &BuildOptions) {
    let root = rivet_interface::normalize(&artifact.root);
    let base = rivet_interface::normalize(&template.base_dir);
    let kept = if options.keep_on_error {
        Some("(--keep-on-error)")
    } else if !root.starts_with(&base) || root == base {
        Some("because it lies outside the template's directory")
    } else if rivet_interface::output_created(&root).is_none_or(|created| created < started) {
        Some("because this build did not create it")
    } else {
        None
    };
    if let Some(why) = kept {
        eprintln!(
            "warning: the artifact in {} is incomplete; it was kept {why}",
            root.display()
        );
        return;
    }
    match fs::remove_dir_all(&root) {
        Ok(()) => eprintln!(
            "==> removed the incomplete artifact {} (use --keep-on-error to keep it)",
            root.display()
        ),
        Err(error) => eprintln!(
            "warning: could not remove the incomplete artifact {}: {error}",
            root.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rivet_interface::Context;

    /// A template in `base` and an artifact in `base/out`, made as a build
    /// makes outputs; returns them with the time just before it was made.
    fn made_output(base: &Path) -> (Template, Artifact, SystemTime) {
        let text = "[[builders]]\nplugin = \"dir\"\n";
        let template = Template::parse(text, &base.join("t.toml"), base.to_path_buf()).unwrap();
        let before = SystemTime::now();
        let output = Context::new(base).output_dir("out").unwrap();
        let staging = output.stage().unwrap();
        fs::write(staging.path().join("a.txt"), "a").unwrap();
        staging.commit().unwrap();
        let artifact = Artifact::from_dir("out", output.path()).unwrap();
        (template, artifact, before)
    }

    #[test]
    fn an_output_made_before_the_build_started_is_kept() {
        let temp = tempfile::tempdir().unwrap();
        let (template, artifact, _) = made_output(temp.path());
        discard(
            &artifact,
            &template,
            SystemTime::now(),
            &BuildOptions::default(),
        );
        assert!(artifact.root.join("a.txt").is_file());
    }

    #[test]
    fn an_output_this_build_made_is_removed_unless_kept_on_request() {
        let temp = tempfile::tempdir().unwrap();
        let (template, artifact, before) = made_output(temp.path());
        let keep = BuildOptions {
            keep_on_error: true,
        };
        discard(&artifact, &template, before, &keep);
        assert!(artifact.root.is_dir());
        discard(&artifact, &template, before, &BuildOptions::default());
        assert!(!artifact.root.exists());
    }

    #[test]
    fn a_directory_without_a_marker_is_kept() {
        let temp = tempfile::tempdir().unwrap();
        let (template, artifact, before) = made_output(temp.path());
        fs::remove_file(artifact.root.join(rivet_interface::OUTPUT_MARKER)).unwrap();
        discard(&artifact, &template, before, &BuildOptions::default());
        assert!(artifact.root.join("a.txt").is_file());
    }
}
