//! Artifacts: what builders make and later steps change or transform.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::{Error, OUTPUT_MARKER};

/// The result of a build step: a set of files under one root directory, with
/// metadata.
///
/// Builders return a new artifact, provisioners return the artifact they were
/// given (changed as needed), post-processors return the artifact they turned
/// it into. Paths in `files` are relative to `root`, so an artifact reads the
/// same whichever process produced it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Artifact {
    /// A short identifier for users, for example the name of a directory.
    pub id: String,
    /// The directory the artifact's files live in.
    pub root: PathBuf,
    /// The artifact's files, relative to `root`, in a stable order.
    pub files: Vec<String>,
    /// Free-form key/value facts about the artifact (`builder`, `sha256`, ...).
    pub metadata: BTreeMap<String, String>,
}

impl Artifact {
    /// The absolute path of each file of the artifact.
    pub fn paths(&self) -> impl Iterator<Item = PathBuf> + '_ {
        self.files.iter().map(|file| self.root.join(file))
    }

    /// The path of one file of the artifact, relative to its root.
    pub fn path_of(&self, file: &str) -> PathBuf {
        self.root.join(file)
    }

    /// `relative` as a path under the artifact's root, checked to stay
    /// inside it: a relative path without `..`, none of whose existing
    /// components is a symbolic link (which could lead anywhere) and all but
    /// the last of which are directories. Nothing is created.
    ///
    /// Checking every component, rather than the resolved path, means a link
    /// a step placed in the artifact can neither redirect a write nor be
    /// written through. The check and the write are not atomic: another
    /// process changing the artifact *during* a step could still race it.
    pub fn path_inside(&self, relative: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let relative = relative.as_ref();
        let mut path = self.root.clone();
        let mut checking = true;
        let components: Vec<_> = relative.components().collect();
        for (index, component) in components.iter().enumerate() {
            let name = match component {
                Component::CurDir => continue,
                Component::Normal(name) => name,
                _ => {
                    return Err(Error::new(format!(
                        "`{}` is not a path inside the artifact `{}`: expected a relative \
                         path without `..`, such as \"assets/logo.png\"",
                        relative.display(),
                        self.root.display()
                    )));
                }
            };
            path.push(name);
            if !checking {
                continue;
            }
            let meta = match fs::symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    checking = false;
                    continue;
                }
                Err(error) => {
                    return Err(Error::io(
                        "inspect",
                        &path,
                        error,
                        "check that you may read the artifact",
                    ));
                }
            };
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap_or_default();
                return Err(Error::new(format!(
                    "`{}` in the artifact is a symbolic link (to `{}`); Rivet does not \
                     write through links, which could lead out of the artifact: remove \
                     the link or choose another destination",
                    path.display(),
                    target.display()
                )));
            }
            if index + 1 < components.len() && !meta.is_dir() {
                return Err(Error::new(format!(
                    "`{}` in the artifact is a file, not a directory; remove it or choose \
                     another destination",
                    path.display()
                )));
            }
        }
        Ok(path)
    }

    /// Creates directory `relative` in the artifact and the missing
    /// directories leading to it, after checking the whole path with
    /// [`path_inside`](Self::path_inside); returns its path.
    pub fn create_dir_all(&self, relative: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let path = self.path_inside(&relative)?;
        let mut dir = self.root.clone();
        for component in relative.as_ref().components() {
            dir.push(component);
            match fs::create_dir(&dir) {
                Err(error) if !(error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir()) => {
                    return Err(Error::io(
                        "create directory",
                        &dir,
                        error,
                        "remove the file that is in the way, or check the artifact's rights",
                    ));
                }
                _ => {}
            }
        }
        Ok(path)
    }

    /// Creates (or truncates) file `relative` in the artifact for writing,
    /// with the directories leading to it, after checking the whole path
    /// with [`path_inside`](Self::path_inside); never opens through a
    /// symbolic link. Returns its path and the open file.
    pub fn create_file(&self, relative: impl AsRef<Path>) -> Result<(PathBuf, File), Error> {
        let relative = relative.as_ref();
        let path = self.path_inside(relative)?;
        if let Some(parent) = relative.parent() {
            self.create_dir_all(parent)?;
        }
        if path.is_dir() {
            return Err(Error::new(format!(
                "cannot write file `{}`: a directory is in the way; remove it or choose \
                 another destination",
                path.display()
            )));
        }
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
        let file = options.open(&path).map_err(|error| {
            Error::io(
                "write",
                &path,
                error,
                "check the artifact's rights (a symbolic link is never written through)",
            )
        })?;
        Ok((path, file))
    }

    /// An artifact made of every regular file under `root`.
    pub fn from_dir(id: impl Into<String>, root: impl Into<PathBuf>) -> io::Result<Artifact> {
        let mut artifact = Artifact {
            id: id.into(),
            root: root.into(),
            ..Artifact::default()
        };
        artifact.rescan()?;
        Ok(artifact)
    }

    /// Sets `files` to every regular file under `root`, relative, with `/`
    /// separators, sorted; call it after changing the directory. The
    /// [output marker](OUTPUT_MARKER) at the root is not one of them.
    pub fn rescan(&mut self) -> io::Result<()> {
        let mut files = Vec::new();
        collect_files(&self.root, "", &mut files)?;
        files.sort();
        self.files = files;
        Ok(())
    }
}

fn collect_files(dir: &Path, prefix: &str, files: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let file_type = entry.file_type()?;
        if relative == OUTPUT_MARKER {
            continue;
        }
        if file_type.is_dir() {
            collect_files(&entry.path(), &relative, files)?;
        } else if file_type.is_file() {
            files.push(relative);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_files_are_under_the_root() {
        let artifact = Artifact {
            id: "site".into(),
            root: "/tmp/out/site".into(),
            files: vec!["index.html".into(), "css/main.css".into()],
            metadata: [("builder".to_string(), "dir".to_string())].into(),
        };
        assert_eq!(
            artifact.path_of("index.html"),
            PathBuf::from("/tmp/out/site/index.html")
        );
    }

    #[test]
    fn from_dir_lists_nested_files_sorted() {
        let root = std::env::temp_dir().join(format!("rivet-artifact-{}", std::process::id()));
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::write(root.join("z.txt"), "z").unwrap();
        fs::write(root.join("b/c/d.txt"), "d").unwrap();
        fs::write(root.join("a.txt"), "a").unwrap();
        let artifact = Artifact::from_dir("t", &root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(artifact.files, ["a.txt", "b/c/d.txt", "z.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_links_out_of_the_artifact() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("artifact");
        let outside = temp.path().join("outside");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("victim.txt"), "keep").unwrap();
        std::os::unix::fs::symlink(outside.join("victim.txt"), root.join("passwd")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linked")).unwrap();
        let artifact = Artifact::from_dir("a", &root).unwrap();

        for relative in [
            "passwd",
            "linked/new.txt",
            "linked/deeper/new.txt",
            "../x",
            "/etc/x",
        ] {
            assert!(artifact.create_file(relative).is_err(), "{relative}");
            assert!(artifact.create_dir_all(relative).is_err(), "{relative}");
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

        let (path, _) = artifact.create_file("sub/new/file.txt").unwrap();
        assert_eq!(path, root.join("sub/new/file.txt"));
        assert!(path.is_file());
        let error = artifact.create_file("sub/new/file.txt/below").unwrap_err();
        assert!(error.message().contains("not a directory"), "{error}");
    }

    #[test]
    fn the_output_marker_is_not_an_artifact_file() {
        let temp = tempfile::tempdir().unwrap();
        fs::create_dir(temp.path().join("d")).unwrap();
        fs::write(temp.path().join(OUTPUT_MARKER), "m").unwrap();
        fs::write(
            temp.path().join("d").join(OUTPUT_MARKER),
            "nested is a file",
        )
        .unwrap();
        let artifact = Artifact::from_dir("a", temp.path()).unwrap();
        assert_eq!(artifact.files, [format!("d/{OUTPUT_MARKER}")]);
    }
}
