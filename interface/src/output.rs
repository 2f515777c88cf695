//! Output directories: the one rule for what a step may replace.
//!
//! A step that creates a directory (a builder's artifact) replaces what was
//! there before. Rivet owns that rule so that no plugin can destroy what the
//! user made: an output directory may be replaced only when it does not
//! exist, is empty, or was made by an earlier Rivet build, which leaves a
//! marker file ([`OUTPUT_MARKER`]) in every directory it creates, as cargo
//! leaves `CACHEDIR.TAG` in `target/`. Whatever the marker says, an output is
//! never `/`, the home directory, the current directory, the template's
//! directory, nor an ancestor of any of them. Paths are normalised
//! ([`normalize`](crate::normalize)) before any check.
//!
//! Plugins get an [`OutputDir`] from [`Context::output_dir`](crate::Context::output_dir)
//! while preparing (so a refusal comes before any work), then build into a
//! [`Staging`] directory that replaces the output in two renames when
//! complete: a failed build leaves the previous output as it was.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::Error;

/// The name of the marker file Rivet leaves in every output directory it
/// makes. It is not one of the artifact's files.
pub const OUTPUT_MARKER: &str = ".rivet-output";

/// The marker's first line, which identifies it.
const SIGNATURE: &str = "Rivet build output";

/// A directory a step may create or replace, checked against the rule of
/// this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// Checks normalised `path` as an output, given the normalised
    /// directories that must survive (`(what, path)` pairs).
    pub(crate) fn check(path: PathBuf, protected: &[(&str, PathBuf)]) -> Result<Self, Error> {
        for (what, kept) in protected {
            if kept.starts_with(&path) {
                let relation = if *kept == path { "is" } else { "contains" };
                return Err(Error::config(format!(
                    "the output `{}` {relation} {what} (`{}`), which Rivet never replaces; \
                     choose an output directory of its own, such as \"build/site\"",
                    path.display(),
                    kept.display()
                )));
            }
        }
        if path.file_name().is_none() {
            return Err(Error::config(format!(
                "the output `{}` has no directory name; expected a directory such as \
                 \"build/site\"",
                path.display()
            )));
        }
        replaceable(&path).map_err(Error::config)?;
        Ok(OutputDir { path })
    }

    /// The output directory, absolute and normalised.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses an output that contains `input` (replacing the output would
    /// delete it) or lies inside it (the output would be part of its own
    /// input); `what` names the input for the message, as "`source`".
    pub fn check_apart(&self, input: &Path, what: &str) -> Result<(), Error> {
        let input = crate::normalize(input);
        if input.starts_with(&self.path) {
            return Err(Error::config(format!(
                "{what} `{}` is inside the output `{}`, which each build replaces; \
                 move it out of the output directory or choose another output",
                input.display(),
                self.path.display()
            )));
        }
        if self.path.starts_with(&input) {
            return Err(Error::config(format!(
                "the output `{}` is inside {what} `{}`, so it would become part of its own \
                 input; choose an output outside it",
                self.path.display(),
                input.display()
            )));
        }
        Ok(())
    }

    /// Creates a new, marked, empty staging directory beside the output
    /// (its parent directories are created as needed), to be filled and
    /// then put in place with [`Staging::commit`].
    pub fn stage(&self) -> Result<Staging, Error> {
        let parent = self.path.parent().unwrap_or(Path::new("/"));
        fs::create_dir_all(parent).map_err(|error| {
            Error::io(
                "create the parent directory of the output",
                parent,
                error,
                "check that you may write there, or choose another output",
            )
        })?;
        let path = unused_sibling(&self.path, "rivet-tmp", |path| fs::create_dir(path))?;
        let staging = Staging {
            path,
            output: self.path.clone(),
            committed: false,
        };
        write_marker(&staging.path)?;
        Ok(staging)
    }
}

/// A directory being filled to become an output; removed when dropped
/// without being committed.
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    output: PathBuf,
    committed: bool,
}

impl Staging {
    /// Where to create the output's content.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the staging directory in place of the output, after checking
    /// again that the output may be replaced (it may have changed since it
    /// was prepared). The previous output is moved aside, then removed; the
    /// window where neither exists is two renames long.
    pub fn commit(mut self) -> Result<(), Error> {
        replaceable(&self.output).map_err(Error::new)?;
        let rename_error = |error| {
            Error::io(
                "move the new output into place at",
                &self.output,
                error,
                "check that nothing holds the output directory open",
            )
        };
        if fs::symlink_metadata(&self.output).is_err() {
            fs::rename(&self.path, &self.output).map_err(rename_error)?;
            self.committed = true;
            return Ok(());
        }
        let old = unused_sibling(&self.output, "rivet-old", |old| {
            fs::rename(&self.output, old)
        })?;
        if let Err(error) = fs::rename(&self.path, &self.output) {
            let _ = fs::rename(&old, &self.output);
            return Err(rename_error(error));
        }
        self.committed = true;
        fs::remove_dir_all(&old).map_err(|error| {
            Error::io(
                "remove the previous output, moved to",
                &old,
                error,
                "delete it by hand",
            )
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// When the Rivet build that made directory `dir` created it, read from its
/// marker; `None` when `dir` is not a directory (a link is not) with a valid
/// marker.
pub fn output_created(dir: &Path) -> Option<SystemTime> {
    if !fs::symlink_metadata(dir).ok()?.is_dir() {
        return None;
    }
    let text = read_marker(&dir.join(OUTPUT_MARKER))?;
    let mut lines = text.lines();
    if lines.next()? != SIGNATURE {
        return None;
    }
    let created = lines.find_map(|line| line.strip_prefix("created "))?;
    let (secs, nanos) = created.split_whitespace().next()?.split_once('.')?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs.parse().ok()?, nanos.parse().ok()?))
}

/// Whether `path` may be replaced: it does not exist, is an empty
/// directory, or a directory with a marker. The error says why not.
fn replaceable(path: &Path) -> Result<(), String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(format!(
                "cannot inspect the output `{}`: {error}; check that you may read its \
                 parent directory",
                path.display()
            ));
        }
    };
    if !meta.is_dir() {
        return Err(format!(
            "the output `{}` exists and is not a directory; Rivet replaces only \
             directories it made: choose another output, or move the file away",
            path.display()
        ));
    }
    let empty = fs::read_dir(path)
        .map(|mut entries| entries.next().is_none())
        .unwrap_or(false);
    if empty || read_marker(&path.join(OUTPUT_MARKER)).is_some_and(|m| m.starts_with(SIGNATURE)) {
        return Ok(());
    }
    Err(format!(
        "the output `{}` already exists and was not made by Rivet (it is not empty and \
         has no `{OUTPUT_MARKER}` marker); Rivet replaces only directories it made: \
         choose another output, or empty or remove the directory yourself",
        path.display()
    ))
}

/// The text of marker file `path` if it is a small regular file (never a
/// link, FIFO or device).
fn read_marker(path: &Path) -> Option<String> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 4096 {
        return None;
    }
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

fn write_marker(dir: &Path) -> Result<(), Error> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let text = format!(
        "{SIGNATURE}\n\
         This directory was made by a Rivet build, which may replace or remove it.\n\
         Delete this file to keep Rivet from ever touching the directory.\n\
         created {}.{:09} by process {}\n",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    );
    let marker = dir.join(OUTPUT_MARKER);
    fs::write(&marker, text).map_err(|error| {
        Error::io(
            "write the output marker",
            &marker,
            error,
            "check that you may write there",
        )
    })
}

/// The first name `.NAME.KIND-PID-N` beside `path` for which `create`
/// succeeds (it fails with `AlreadyExists` on names in use), so nothing
/// that is already there is ever reused or replaced.
fn unused_sibling(
    path: &Path,
    kind: &str,
    mut create: impl FnMut(&Path) -> io::Result<()>,
) -> Result<PathBuf, Error> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    for n in 0.. {
        let sibling = path.with_file_name(format!(".{name}.{kind}-{}-{n}", std::process::id()));
        if fs::symlink_metadata(&sibling).is_ok() {
            continue;
        }
        match create(&sibling) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(Error::io(
                    "create",
                    &sibling,
                    error,
                    "check that you may write beside the output directory",
                ));
            }
            Ok(()) => return Ok(sibling),
        }
    }
    unreachable!("an unbounded range ends")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, PathBuf) {
        let temp = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(temp.path()).unwrap();
        (temp, base)
    }

    #[test]
    fn missing_empty_and_marked_directories_may_be_replaced() {
        let (_temp, base) = temp();
        assert!(OutputDir::check(base.join("new"), &[]).is_ok());
        fs::create_dir(base.join("empty")).unwrap();
        assert!(OutputDir::check(base.join("empty"), &[]).is_ok());
        let output = OutputDir::check(base.join("out"), &[]).unwrap();
        let staging = output.stage().unwrap();
        fs::write(staging.path().join("a.txt"), "a").unwrap();
        staging.commit().unwrap();
        assert!(base.join("out/a.txt").is_file());
        assert!(output_created(&base.join("out")).is_some());
        assert!(OutputDir::check(base.join("out"), &[]).is_ok());
    }

    #[test]
    fn user_files_and_directories_are_refused() {
        let (_temp, base) = temp();
        fs::create_dir(base.join("src")).unwrap();
        fs::write(base.join("src/main.rs"), "fn main() {}").unwrap();
        fs::write(base.join("file"), "x").unwrap();
        fs::create_dir(base.join("fake")).unwrap();
        fs::write(base.join("fake").join(OUTPUT_MARKER), "not the signature").unwrap();
        for (name, expected) in [
            ("src", "was not made by Rivet"),
            ("file", "is not a directory"),
            ("fake", "was not made by Rivet"),
        ] {
            let error = OutputDir::check(base.join(name), &[]).unwrap_err();
            assert!(error.message().contains(expected), "{name}: {error}");
        }
        assert!(base.join("src/main.rs").is_file());
    }

    #[test]
    fn protected_directories_and_their_ancestors_are_refused_even_when_marked() {
        let (_temp, base) = temp();
        let home = base.join("home/me");
        fs::create_dir_all(&home).unwrap();
        fs::write(home.join(OUTPUT_MARKER), format!("{SIGNATURE}\n")).unwrap();
        let protected = [("the home directory", home.clone())];
        for path in [
            home.clone(),
            base.join("home"),
            base.clone(),
            PathBuf::from("/"),
        ] {
            let error = OutputDir::check(path.clone(), &protected).unwrap_err();
            assert!(
                error.message().contains("no directory name")
                    || error.message().contains("never replaces"),
                "{}: {error}",
                path.display()
            );
        }
        assert!(OutputDir::check(home.join("build"), &protected).is_ok());
    }

    #[test]
    fn a_dropped_staging_leaves_nothing_and_commit_rechecks() {
        let (_temp, base) = temp();
        let output = OutputDir::check(base.join("out"), &[]).unwrap();
        drop(output.stage().unwrap());
        assert_eq!(fs::read_dir(&base).unwrap().count(), 0);

        let staging = output.stage().unwrap();
        fs::create_dir(base.join("out")).unwrap();
        fs::write(base.join("out/user.txt"), "mine").unwrap();
        let error = staging.commit().unwrap_err();
        assert!(error.message().contains("not made by Rivet"), "{error}");
        assert_eq!(
            fs::read_to_string(base.join("out/user.txt")).unwrap(),
            "mine"
        );
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1);
    }

    #[test]
    fn check_apart_refuses_overlaps() {
        let (_temp, base) = temp();
        let output = OutputDir::check(base.join("out"), &[]).unwrap();
        assert!(
            output
                .check_apart(&base.join("out/src"), "`source`")
                .is_err()
        );
        assert!(output.check_apart(&base.join("out"), "`source`").is_err());
        assert!(output.check_apart(&base, "`source`").is_err());
        assert!(output.check_apart(&base.join("www"), "`source`").is_ok());
    }
}
