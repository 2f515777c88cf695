//! The `file` provisioner: copies a file or a directory into the artifact.
//!
//! ```toml
//! [[provisioners]]
//! plugin = "file"
//! [provisioners.config]
//! source = "extra/robots.txt"   # required: file or directory, template-relative
//! destination = "robots.txt"    # required: path inside the artifact
//! ```
//!
//! `destination` is relative to the artifact's root; an absolute path or a
//! `..` component is rejected. When it ends in `/`, or names a directory that
//! exists in the artifact, the source is copied *into* it under its own name;
//! otherwise the source is copied *to* it. A directory source is copied
//! recursively, merged with what is already there (files are overwritten).
//! Symbolic links in the source are followed, as by the `dir` builder.
//!
//! Links *in the artifact* are never followed: every destination path is
//! checked component by component ([`Artifact::path_inside`]) before anything
//! is created, so a link placed by an earlier step (`ln -s /etc/passwd
//! passwd`) cannot redirect the copy out of the artifact; such a destination
//! is refused, naming the link.

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use rivet_interface::{Artifact, Context, Error, Plugin, Provisioner, Ui, normalize};
use serde::Deserialize;

/// The configuration of the `file` provisioner (the `config` table of its
/// step).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file or directory to copy, relative to the template's directory.
    pub source: String,
    /// Where to copy it, relative to the artifact's root; a trailing `/`
    /// means "into this directory".
    pub destination: String,
}

/// The `file` provisioner, prepared from a valid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProvisioner {
    /// The resolved source path.
    source: PathBuf,
    /// The destination as configured (checked to stay inside the artifact).
    destination: String,
}

impl Plugin for FileProvisioner {
    const NAME: &'static str = "file";
    const DESCRIPTION: &'static str = "Copies a file or directory into the artifact";
}

impl Provisioner for FileProvisioner {
    type Config = Config;

    fn prepare(config: Config, context: &Context) -> Result<Self, Error> {
        let source = context.resolve(&config.source);
        if let Err(error) = fs::metadata(&source) {
            return Err(Error::config(format!(
                "`source`: cannot use `{}` ({error}); expected an existing file or \
                 directory, relative to the template's directory `{}`",
                source.display(),
                context.base_dir().display()
            )));
        }
        check_destination(&config.destination)?;
        Ok(FileProvisioner {
            source,
            destination: config.destination,
        })
    }

    fn provision(&self, ui: &Ui, mut artifact: Artifact) -> Result<Artifact, Error> {
        let target = artifact.path_inside(&self.destination)?;
        let into = self.destination.ends_with('/') || is_real_dir(&target);
        log::debug!(
            "copying {} to `{}` in {}",
            self.source.display(),
            self.destination,
            artifact.root.display()
        );
        let destination = if into {
            let name = self.source.file_name().ok_or_else(|| {
                Error::new(format!(
                    "cannot copy `{}` into `{}`: the source has no file name to copy it \
                     under; name the destination itself instead of a directory",
                    self.source.display(),
                    self.destination
                ))
            })?;
            Path::new(&self.destination).join(name)
        } else {
            PathBuf::from(&self.destination)
        };
        artifact.path_inside(&destination)?;

        let mut copied = Copied::default();
        let mut ancestors = Vec::new();
        copy_any(
            &self.source,
            &destination,
            &artifact,
            &mut ancestors,
            &mut copied,
        )?;

        artifact.rescan().map_err(|error| {
            Error::io(
                "list the files of the artifact in",
                &artifact.root,
                error,
                "check that nothing else changes the artifact meanwhile",
            )
        })?;
        ui.say(format!(
            "Copied {} to {} ({} file{}, {} bytes)",
            self.source.display(),
            destination.display(),
            copied.files,
            if copied.files == 1 { "" } else { "s" },
            copied.bytes
        ));
        Ok(artifact)
    }
}

rivet_interface::export_provisioner!(FileProvisioner);

/// Checks that `destination` is a non-empty relative path that stays inside
/// the artifact.
fn check_destination(destination: &str) -> Result<(), Error> {
    let path = Path::new(destination);
    if destination.is_empty() {
        return Err(Error::config(
            "`destination` is empty; expected a path inside the artifact, such as \
             \"robots.txt\" or \"assets/\" (or \"./\" for the artifact's root)",
        ));
    }
    if path.has_root() {
        return Err(Error::config(format!(
            "`destination` = {destination:?} is absolute; expected a path relative to \
             the artifact's root, such as {:?}",
            destination.trim_start_matches('/')
        )));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(Error::config(format!(
            "`destination` = {destination:?} contains `..`, which could leave the \
             artifact; expected a path inside the artifact without `..`"
        )));
    }
    Ok(())
}

/// Whether `path` is a directory itself, not a link to one.
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// Refuses to copy directory `source` (normalised) into itself: the copy
/// would never end.
fn check_not_into_itself(source: &Path, to: &Path) -> Result<(), Error> {
    if normalize(to).starts_with(source) {
        return Err(Error::new(format!(
            "cannot copy directory `{}` into itself (to `{}`); choose a `destination` \
             outside the source",
            source.display(),
            to.display()
        )));
    }
    Ok(())
}

/// How much was copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Copied {
    files: u64,
    bytes: u64,
}

/// Copies file or directory `from` to `to` (relative to the artifact's
/// root), following symbolic links in the source, never in the artifact;
/// `ancestors` holds the real paths of the directories being copied, to
/// catch link loops.
fn copy_any(
    from: &Path,
    to: &Path,
    artifact: &Artifact,
    ancestors: &mut Vec<PathBuf>,
    copied: &mut Copied,
) -> Result<(), Error> {
    let meta = fs::metadata(from).map_err(|error| {
        Error::io(
            "copy",
            from,
            error,
            "if it is a dangling symbolic link, remove it or make it point at a file",
        )
    })?;
    if meta.is_file() {
        if is_real_dir(&artifact.root.join(to)) {
            return Err(Error::new(format!(
                "cannot copy file `{}` to `{}`: a directory is in the way; end \
                 `destination` with `/` to copy into it, or remove it",
                from.display(),
                to.display()
            )));
        }
        let (path, mut file) = artifact.create_file(to)?;
        let failed = |error| {
            Error::io(
                "copy",
                from,
                error,
                &format!("check that `{}` is writable", path.display()),
            )
        };
        copied.bytes += io::copy(&mut File::open(from).map_err(failed)?, &mut file)
            .and_then(|bytes| file.set_permissions(meta.permissions()).map(|()| bytes))
            .map_err(failed)?;
        copied.files += 1;
        return Ok(());
    }
    if !meta.is_dir() {
        return Err(Error::new(format!(
            "cannot copy `{}`: expected a file, directory or symbolic link, found a \
             special file (socket, FIFO or device); remove it from the source",
            from.display()
        )));
    }
    let real = normalize(from);
    if ancestors.contains(&real) {
        return Err(Error::new(format!(
            "cannot copy `{}`: it is a symbolic link to `{}`, which contains it (a link \
             loop); remove the link from the source",
            from.display(),
            real.display()
        )));
    }
    check_not_into_itself(&real, &artifact.root.join(to))?;
    artifact.create_dir_all(to)?;
    let unreadable = |error| Error::io("read directory", from, error, "check that you may read it");
    let mut names = fs::read_dir(from)
        .map_err(unreadable)?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    names.sort();
    ancestors.push(real);
    for name in names {
        copy_any(
            &from.join(&name),
            &to.join(&name),
            artifact,
            ancestors,
            copied,
        )?;
    }
    ancestors.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use rivet_interface::ErrorKind;
    use rivet_interface::testing::RecordingUi;

    /// A template directory with `extra/robots.txt` and `extra/assets/`, and
    /// an artifact with `index.html` and `css/main.css`.
    fn setup() -> (tempfile::TempDir, Context, Artifact) {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().join("template");
        fs::create_dir_all(base.join("extra/assets/img")).unwrap();
        fs::write(base.join("extra/robots.txt"), "User-agent: *\n").unwrap();
        fs::write(base.join("extra/assets/a.js"), "a").unwrap();
        fs::write(base.join("extra/assets/img/b.png"), "b").unwrap();
        let root = temp.path().join("site");
        fs::create_dir_all(root.join("css")).unwrap();
        fs::write(root.join("index.html"), "i").unwrap();
        fs::write(root.join("css/main.css"), "c").unwrap();
        let artifact = Artifact::from_dir("site", &root).unwrap();
        (temp, Context::new(base), artifact)
    }

    fn run(context: &Context, artifact: Artifact, source: &str, dest: &str) -> Artifact {
        let config = Config {
            source: source.into(),
            destination: dest.into(),
        };
        let provisioner = FileProvisioner::prepare(config, context).unwrap();
        provisioner
            .provision(&RecordingUi::default().ui(), artifact)
            .unwrap()
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let error = serde_json::from_str::<Config>(
            r#"{"source": "a", "destination": "b", "mode": "0644"}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `mode`"),
            "{error}"
        );
    }

    #[test]
    fn prepare_rejects_missing_sources_and_escaping_destinations() {
        let (_temp, context, _) = setup();
        let cases = [
            ("missing.txt", "x", "`source`"),
            ("extra/robots.txt", "", "`destination` is empty"),
            ("extra/robots.txt", "/etc/robots.txt", "is absolute"),
            ("extra/robots.txt", "a/../../robots.txt", "contains `..`"),
            ("extra/robots.txt", "..", "contains `..`"),
        ];
        for (source, destination, expected) in cases {
            let config = Config {
                source: source.into(),
                destination: destination.into(),
            };
            let error = FileProvisioner::prepare(config, &context).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config);
            assert!(error.message().contains(expected), "{destination}: {error}");
        }
    }

    #[test]
    fn copies_a_file_to_a_new_name_and_rescans() {
        let (temp, context, artifact) = setup();
        let recorder = RecordingUi::default();
        let config = Config {
            source: "extra/robots.txt".into(),
            destination: "meta/robots.txt".into(),
        };
        let provisioner = FileProvisioner::prepare(config, &context).unwrap();
        let artifact = provisioner.provision(&recorder.ui(), artifact).unwrap();
        assert_eq!(
            artifact.files,
            ["css/main.css", "index.html", "meta/robots.txt"]
        );
        let copied = fs::read_to_string(temp.path().join("site/meta/robots.txt")).unwrap();
        assert_eq!(copied, "User-agent: *\n");
        let said = recorder.said();
        assert_eq!(said.len(), 1);
        assert!(said[0].ends_with("robots.txt to meta/robots.txt (1 file, 14 bytes)"));
    }

    #[test]
    fn a_trailing_slash_or_an_existing_directory_means_into() {
        let (_temp, context, artifact) = setup();
        let artifact = run(&context, artifact, "extra/robots.txt", "./");
        let artifact = run(&context, artifact, "extra/robots.txt", "css");
        let artifact = run(&context, artifact, "extra/robots.txt", "new/");
        assert_eq!(
            artifact.files,
            [
                "css/main.css",
                "css/robots.txt",
                "index.html",
                "new/robots.txt",
                "robots.txt"
            ]
        );
    }

    #[test]
    fn directories_are_copied_recursively_and_merged() {
        let (_temp, context, artifact) = setup();
        let artifact = run(&context, artifact, "extra/assets", "static");
        let artifact = run(&context, artifact, "extra/assets", "static");
        assert_eq!(
            artifact.files,
            [
                "css/main.css",
                "index.html",
                "static/a.js",
                "static/assets/a.js",
                "static/assets/img/b.png",
                "static/img/b.png"
            ]
        );
    }

    #[test]
    fn a_symlink_in_the_artifact_cannot_lead_outside() {
        let (temp, context, artifact) = setup();
        let outside = temp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, artifact.root.join("out")).unwrap();
        let config = Config {
            source: "extra/robots.txt".into(),
            destination: "out/robots.txt".into(),
        };
        let provisioner = FileProvisioner::prepare(config, &context).unwrap();
        let error = provisioner
            .provision(&RecordingUi::default().ui(), artifact)
            .unwrap_err();
        assert!(error.message().contains("symbolic link"), "{error}");
        assert!(!outside.join("robots.txt").exists());
    }

    #[test]
    fn a_symlinked_file_or_directory_destination_is_never_written_through() {
        let (temp, context, artifact) = setup();
        let outside = temp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("victim.txt"), "keep").unwrap();
        std::os::unix::fs::symlink(outside.join("victim.txt"), artifact.root.join("passwd"))
            .unwrap();
        std::os::unix::fs::symlink(&outside, artifact.root.join("css/linked")).unwrap();
        for (source, destination) in [
            ("extra/robots.txt", "passwd"),
            ("extra/assets", "css/linked"),
            ("extra/assets", "css/linked/"),
            ("extra/robots.txt", "css/linked/new/dirs/robots.txt"),
        ] {
            let config = Config {
                source: source.into(),
                destination: destination.into(),
            };
            let provisioner = FileProvisioner::prepare(config, &context).unwrap();
            let error = provisioner
                .provision(&RecordingUi::default().ui(), artifact.clone())
                .unwrap_err();
            assert!(
                error.message().contains("symbolic link"),
                "{destination}: {error}"
            );
        }
        assert_eq!(
            fs::read_to_string(outside.join("victim.txt")).unwrap(),
            "keep"
        );
        assert_eq!(
            fs::read_dir(&outside).unwrap().count(),
            1,
            "nothing created outside"
        );
    }

    #[test]
    fn a_directory_is_not_copied_into_itself() {
        let (temp, _, artifact) = setup();
        let context = Context::new(temp.path());
        let config = Config {
            source: "site".into(),
            destination: "copy/".into(),
        };
        let provisioner = FileProvisioner::prepare(config, &context).unwrap();
        let error = provisioner
            .provision(&RecordingUi::default().ui(), artifact)
            .unwrap_err();
        assert!(error.message().contains("into itself"), "{error}");
        assert!(!temp.path().join("site/copy/site").exists());
    }
}
