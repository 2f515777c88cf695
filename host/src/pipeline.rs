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

use rivet::LoadError;
use rivet_interface::framework::Creation;
use rivet_interface::{Artifact, PluginKind};

use crate::plugins::{Pick, Plugins, Step as Loaded, reason};
use crate::template::{Step, Template, TemplateError};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The template is unusable.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A step's plugin could not be loaded.
    #[error("{template}: {step}: {}", crate::advice::load(source))]
    Load {
        /// The template.
        template: PathBuf,
        /// The step, as `builder #1` (the error names the plugin or its
        /// file).
        step: String,
        /// Why.
        source: Box<LoadError>,
    },
    /// The plugin did not accept the step's configuration.
    #[error("{template}: {step} rejected its configuration: {message}")]
    Config {
        /// The template.
        template: PathBuf,
        /// The step and its plugin, as `builder #1 (dir)`.
        step: String,
        /// What the plugin said.
        message: String,
    },
    /// A plugin call failed.
    #[error("{template}: {step} {reason}", reason = reason(source))]
    Call {
        /// The template.
        template: PathBuf,
        /// The step and its plugin, as `builder #1 (dir)`.
        step: String,
        /// Why.
        source: Box<rivet::Error>,
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
    plugin: Loaded,
}

/// Runs the template at `path`; returns the final artifact of each builder.
pub fn build(
    plugins: &Plugins,
    path: &Path,
    options: &BuildOptions,
) -> Result<Vec<Artifact>, BuildError> {
    let started = SystemTime::now();
    let template = Template::load(path)?;
    let prepared = prepare_all(plugins, &template)?;
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
        let Loaded::Builder(plugin) = &builder.plugin else {
            continue;
        };
        let artifact = plugin
            .build()
            .map_err(|source| call_error(&template, &builder.step, Box::new(source)))?;
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

fn prepare_all(plugins: &Plugins, template: &Template) -> Result<Vec<Prepared>, BuildError> {
    template
        .steps
        .iter()
        .map(|step| {
            let mode = step.isolation.unwrap_or(plugins.mode());
            let pick = match (&step.path, template.required(step.kind, &step.plugin)) {
                (Some(file), _) => Pick::File(file),
                (None, Some(required)) => Pick::Required {
                    source: &required.source,
                    requirement: &required.version,
                },
                (None, None) => Pick::Resolved,
            };
            let creation = Creation {
                config: step.config.clone(),
                base_dir: template.base_dir.clone(),
            };
            let label = format!("{} {}", step.kind, step.plugin);
            let plugin = plugins
                .load_step(step.kind, &step.plugin, pick, mode, &creation, &label)
                .map_err(|source| match source {
                    LoadError::Create { message, .. } => BuildError::Config {
                        template: template.path.clone(),
                        step: step.to_string(),
                        message,
                    },
                    source => BuildError::Load {
                        template: template.path.clone(),
                        step: step.position(),
                        source: Box::new(source),
                    },
                })?;
            log::debug!("{step}: using {} ({mode})", plugin_source(&pick));
            Ok(Prepared {
                step: step.clone(),
                plugin,
            })
        })
        .collect()
}

/// Where a step's plugin comes from, for the debug log.
fn plugin_source(pick: &Pick<'_>) -> String {
    match pick {
        Pick::Resolved => "the plugin found by name".to_owned(),
        Pick::File(path) => path.display().to_string(),
        Pick::Required {
            source,
            requirement,
        } => format!("the installed version from `{source}` matching `{requirement}`"),
    }
}

/// Runs the provisioners and post-processors on `artifact`, in order.
fn run_steps<'a>(
    steps: &[&'a Prepared],
    mut artifact: Artifact,
) -> Result<Artifact, (&'a Prepared, Box<rivet::Error>)> {
    for &step in steps {
        artifact = match &step.plugin {
            Loaded::Provisioner(plugin) => plugin.provision(artifact),
            Loaded::PostProcessor(plugin) => plugin.post_process(artifact),
            Loaded::Builder(_) => continue,
        }
        .map_err(|error| (step, Box::new(error)))?;
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

fn call_error(template: &Template, step: &Step, source: Box<rivet::Error>) -> BuildError {
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
