//! The `dir` builder: creates an artifact directory, empty or copied from a
//! source directory.
//!
//! ```toml
//! [[builders]]
//! plugin = "dir"
//! [builders.config]
//! output = "build/site"   # required: the artifact directory, replaced on each build
//! source = "www"          # optional: a directory copied as the artifact's content
//! id = "site"             # optional: defaults to the output directory's name
//! ```
//!
//! `output` follows Rivet's rule for output directories
//! ([`Context::output_dir`]): it is replaced only when it does not exist, is
//! empty, or was made by an earlier Rivet build; anything else is refused
//! before any work. The build happens in a marked temporary sibling of
//! `output`, which then replaces it: a failed build leaves the previous
//! output as it was and no half-written directory behind.
//!
//! Symbolic links in the source are followed: a link to a file is copied as a
//! regular file with the content it points to, a link to a directory is copied
//! as a directory. A dangling link or a link loop fails the build, naming the
//! link. Entries that are neither files, directories nor links (sockets,
//! FIFOs, devices) fail the build too.

use std::fs;
use std::path::{Path, PathBuf};

use rivet_interface::{Artifact, Builder, Context, Error, OutputDir, Plugin, Ui, normalize};
use serde::Deserialize;

/// The configuration of the `dir` builder (the `config` table of its step).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The directory the artifact is created in, relative to the template's
    /// directory. It is replaced on each build, if Rivet may replace it.
    pub output: String,
    /// A directory, relative to the template's directory, whose content is
    /// copied into the artifact; when absent the artifact starts empty.
    #[serde(default)]
    pub source: Option<String>,
    /// The artifact's id; defaults to the file name of `output`.
    #[serde(default)]
    pub id: Option<String>,
}

/// The `dir` builder, prepared from a valid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirBuilder {
    /// The artifact directory, checked as an output.
    output: OutputDir,
    /// The source directory as written in the template and as resolved.
    source: Option<(String, PathBuf)>,
    /// The artifact's id.
    id: String,
}

impl Plugin for DirBuilder {
    const NAME: &'static str = "dir";
    const DESCRIPTION: &'static str =
        "Creates an artifact directory, empty or copied from a source directory";
}

impl Builder for DirBuilder {
    type Config = Config;

    fn prepare(config: Config, context: &Context) -> Result<Self, Error> {
        if config.output.trim().is_empty() {
            return Err(Error::config(
                "`output` is empty; expected the directory to create the artifact in, \
                 such as \"build/site\"",
            ));
        }
        let output = context.output_dir(&config.output)?;
        let name = output.path().file_name().unwrap_or_default();
        let id = match config.id {
            Some(id) if id.trim().is_empty() => {
                return Err(Error::config(
                    "`id` is empty; expected a short name for the artifact, or leave \
                     `id` out to use the output directory's name",
                ));
            }
            Some(id) => id,
            None => name.to_string_lossy().into_owned(),
        };
        let source = match config.source {
            Some(text) => {
                let path = check_source(&text, context)?;
                output.check_apart(&path, "`source`")?;
                Some((text, path))
            }
            None => None,
        };
        Ok(DirBuilder { output, source, id })
    }

    fn build(&self, ui: &Ui) -> Result<Artifact, Error> {
        let plan = match &self.source {
            Some((_, source)) => plan_copy(source)?,
            None => Vec::new(),
        };
        let output = self.output.path();
        let staging = self.output.stage()?;
        log::debug!(
            "staging {} files in {} for {}",
            plan.len(),
            staging.path().display(),
            output.display()
        );
        let (files, bytes) = populate(staging.path(), &plan, ui)?;
        staging.commit()?;

        let mut artifact = Artifact::from_dir(&self.id, output).map_err(|error| {
            Error::io(
                "list the files of the new artifact in",
                output,
                error,
                "check that nothing else changes the output directory during the build",
            )
        })?;
        artifact.metadata.insert("builder".into(), "dir".into());
        match &self.source {
            Some((text, source)) => {
                artifact.metadata.insert("source".into(), text.clone());
                ui.say(format!(
                    "Built artifact `{}` in {}: {files} files ({bytes} bytes) copied from {}",
                    self.id,
                    output.display(),
                    source.display()
                ));
            }
            None => ui.say(format!(
                "Built empty artifact `{}` in {}",
                self.id,
                output.display()
            )),
        }
        Ok(artifact)
    }
}

rivet_interface::export_builder!(DirBuilder);

/// One step of copying a source tree, relative to the artifact root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// Create this directory.
    Dir(PathBuf),
    /// Copy file `from` to this relative path.
    File { from: PathBuf, to: PathBuf },
}

/// Resolves `source` and checks it is an existing directory.
fn check_source(text: &str, context: &Context) -> Result<PathBuf, Error> {
    let path = context.resolve(text);
    match fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => fs::canonicalize(&path).map_err(|error| {
            Error::config(format!(
                "`source`: cannot resolve `{}`: {error}",
                path.display()
            ))
        }),
        Ok(_) => Err(Error::config(format!(
            "`source`: `{}` is a file; expected a directory whose content becomes the \
             artifact's: name a directory, or leave `source` out for an empty artifact",
            path.display()
        ))),
        Err(error) => Err(Error::config(format!(
            "`source`: cannot use `{}` ({error}); expected an existing directory, \
             relative to the template's directory `{}`",
            path.display(),
            context.base_dir().display()
        ))),
    }
}

/// Lists what copying `source` takes, in a stable order, following symbolic
/// links; fails on dangling links, link loops and special files.
fn plan_copy(source: &Path) -> Result<Vec<Entry>, Error> {
    let mut plan = Vec::new();
    let mut ancestors = vec![normalize(source)];
    plan_dir(source, Path::new(""), &mut ancestors, &mut plan)?;
    Ok(plan)
}

fn plan_dir(
    dir: &Path,
    relative: &Path,
    ancestors: &mut Vec<PathBuf>,
    plan: &mut Vec<Entry>,
) -> Result<(), Error> {
    let unreadable = |error| {
        Error::io(
            "read the source directory",
            dir,
            error,
            "check that it exists and you may read it",
        )
    };
    let mut entries = fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    entries.sort();
    for path in entries {
        let to = relative.join(path.file_name().unwrap_or_default());
        let meta = fs::metadata(&path).map_err(|error| {
            Error::io(
                "copy",
                &path,
                error,
                "if it is a dangling symbolic link, remove it or make it point at an \
                 existing file",
            )
        })?;
        if meta.is_dir() {
            let real = normalize(&path);
            if ancestors.contains(&real) {
                return Err(Error::new(format!(
                    "cannot copy `{}`: it is a symbolic link to `{}`, which contains it \
                     (a link loop); remove the link from the source",
                    path.display(),
                    real.display()
                )));
            }
            plan.push(Entry::Dir(to.clone()));
            ancestors.push(real);
            plan_dir(&path, &to, ancestors, plan)?;
            ancestors.pop();
        } else if meta.is_file() {
            plan.push(Entry::File { from: path, to });
        } else {
            return Err(Error::new(format!(
                "cannot copy `{}`: expected a file, directory or symbolic link, found a \
                 special file (socket, FIFO or device); remove it from the source",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Carries out `plan` in the empty directory `staging`, reporting progress
/// per file; returns the number of files and bytes copied.
fn populate(staging: &Path, plan: &[Entry], ui: &Ui) -> Result<(u64, u64), Error> {
    let total = plan
        .iter()
        .filter(|entry| matches!(entry, Entry::File { .. }))
        .count() as u64;
    let (mut files, mut bytes) = (0, 0);
    for entry in plan {
        match entry {
            Entry::Dir(to) => {
                let to = staging.join(to);
                fs::create_dir(&to).map_err(|error| {
                    Error::io("create directory", &to, error, "check the disk and rights")
                })?;
            }
            Entry::File { from, to } => {
                bytes += fs::copy(from, staging.join(to)).map_err(|error| {
                    Error::io(
                        "copy",
                        from,
                        error,
                        "check that you may read it and the disk is not full",
                    )
                })?;
                files += 1;
                ui.progress(files, total);
            }
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    use rivet_interface::ErrorKind;
    use rivet_interface::testing::{RecordingUi, UiEvent};

    fn config(output: &str, source: Option<&str>) -> Config {
        Config {
            output: output.into(),
            source: source.map(Into::into),
            id: None,
        }
    }

    fn site(base: &Path) {
        fs::create_dir_all(base.join("www/css")).unwrap();
        fs::write(base.join("www/index.html"), "<h1>hi</h1>").unwrap();
        fs::write(base.join("www/css/main.css"), "h1 {}").unwrap();
    }

    /// Makes `relative` under `base` an output of an earlier build holding
    /// `file` with `content`.
    fn earlier_output(base: &Path, relative: &str, file: &str, content: &str) -> PathBuf {
        let output = Context::new(base).output_dir(relative).unwrap();
        let staging = output.stage().unwrap();
        fs::write(staging.path().join(file), content).unwrap();
        staging.commit().unwrap();
        output.path().to_path_buf()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".rivet-"))
            .collect()
    }

    #[test]
    fn config_rejects_unknown_and_missing_fields() {
        let error = serde_json::from_str::<Config>(r#"{"output": "a", "sorce": "b"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown field `sorce`"), "{error}");
        let error = serde_json::from_str::<Config>("{}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("missing field `output`"), "{error}");
    }

    #[test]
    fn prepare_rejects_bad_sources_and_outputs() {
        let temp = tempfile::tempdir().unwrap();
        let context = Context::new(temp.path());
        fs::write(temp.path().join("file"), "x").unwrap();
        fs::create_dir(temp.path().join("www")).unwrap();
        fs::write(temp.path().join("www/index.html"), "mine").unwrap();

        let cases = [
            (config("out", Some("missing")), "`source`"),
            (config("out", Some("file")), "is a file"),
            (config("file", None), "is not a directory"),
            (config("", None), "`output` is empty"),
            (config("/", None), "never replaces"),
            (config(".", None), "never replaces"),
            (config("..", None), "never replaces"),
            (config("www", None), "not made by Rivet"),
            (config("www/build", Some("www")), "inside `source`"),
            (config("www/..", Some("www")), "never replaces"),
            (
                Config {
                    id: Some(" ".into()),
                    ..config("out", None)
                },
                "`id` is empty",
            ),
        ];
        for (config, expected) in cases {
            let error = DirBuilder::prepare(config.clone(), &context).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config, "{config:?}");
            assert!(error.message().contains(expected), "{config:?}: {error}");
        }
    }

    #[test]
    fn builds_a_copy_of_the_source_and_replaces_the_old_output() {
        let temp = tempfile::tempdir().unwrap();
        site(temp.path());
        let out = earlier_output(temp.path(), "build/site", "stale.txt", "old");

        let builder = DirBuilder::prepare(
            config("build/site", Some("www")),
            &Context::new(temp.path()),
        )
        .unwrap();
        let recorder = RecordingUi::default();
        let artifact = builder.build(&recorder.ui()).unwrap();

        assert_eq!(artifact.id, "site");
        assert_eq!(artifact.root, out);
        assert_eq!(artifact.files, ["css/main.css", "index.html"]);
        assert_eq!(artifact.metadata["builder"], "dir");
        assert_eq!(artifact.metadata["source"], "www");
        assert_eq!(
            fs::read_to_string(out.join("css/main.css")).unwrap(),
            "h1 {}"
        );
        assert!(!out.join("stale.txt").exists());
        assert!(leftovers(&temp.path().join("build")).is_empty());
        let events = recorder.events();
        assert_eq!(
            events[..2],
            [
                UiEvent::Progress { done: 1, total: 2 },
                UiEvent::Progress { done: 2, total: 2 }
            ]
        );
        assert!(
            matches!(&events[2], UiEvent::Say(line) if line.starts_with("Built artifact `site`")),
            "{events:?}"
        );
    }

    #[test]
    fn without_source_the_artifact_is_empty() {
        let temp = tempfile::tempdir().unwrap();
        let builder = DirBuilder::prepare(
            Config {
                id: Some("blank".into()),
                ..config("out", None)
            },
            &Context::new(temp.path()),
        )
        .unwrap();
        let artifact = builder.build(&RecordingUi::default().ui()).unwrap();
        assert_eq!(artifact.id, "blank");
        assert!(artifact.files.is_empty());
        assert!(temp.path().join("out").is_dir());
        assert!(!artifact.metadata.contains_key("source"));
    }

    #[test]
    fn symlinks_are_copied_as_what_they_point_to() {
        let temp = tempfile::tempdir().unwrap();
        site(temp.path());
        std::os::unix::fs::symlink("index.html", temp.path().join("www/home.html")).unwrap();
        std::os::unix::fs::symlink("css", temp.path().join("www/styles")).unwrap();
        let builder =
            DirBuilder::prepare(config("out", Some("www")), &Context::new(temp.path())).unwrap();
        let artifact = builder.build(&RecordingUi::default().ui()).unwrap();
        assert_eq!(
            artifact.files,
            ["css/main.css", "home.html", "index.html", "styles/main.css"]
        );
        let home = temp.path().join("out/home.html");
        assert!(fs::symlink_metadata(&home).unwrap().is_file());
        assert_eq!(fs::read_to_string(home).unwrap(), "<h1>hi</h1>");
    }

    #[test]
    fn a_failed_build_leaves_the_previous_output_alone() {
        let temp = tempfile::tempdir().unwrap();
        site(temp.path());
        std::os::unix::fs::symlink("nowhere", temp.path().join("www/broken")).unwrap();
        let out = earlier_output(temp.path(), "out", "keep.txt", "previous build");

        let builder =
            DirBuilder::prepare(config("out", Some("www")), &Context::new(temp.path())).unwrap();
        let error = builder.build(&RecordingUi::default().ui()).unwrap_err();
        assert!(error.message().contains("www/broken"), "{error}");
        assert!(
            error.message().contains("dangling symbolic link"),
            "{error}"
        );
        assert_eq!(
            fs::read_to_string(out.join("keep.txt")).unwrap(),
            "previous build"
        );
        assert!(leftovers(temp.path()).is_empty());
    }

    #[test]
    fn link_loops_are_reported() {
        let temp = tempfile::tempdir().unwrap();
        site(temp.path());
        std::os::unix::fs::symlink("..", temp.path().join("www/css/up")).unwrap();
        let builder =
            DirBuilder::prepare(config("out", Some("www")), &Context::new(temp.path())).unwrap();
        let error = builder.build(&RecordingUi::default().ui()).unwrap_err();
        assert!(error.message().contains("link loop"), "{error}");
        assert!(!temp.path().join("out").exists());
    }
}
