//! Artifacts: what builders make and later steps change or transform.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use abi_stable::StableAbi;
use abi_stable::std_types::{RString, RVec, Tuple2};

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
    /// separators, sorted; call it after changing the directory.
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
        if file_type.is_dir() {
            collect_files(&entry.path(), &relative, files)?;
        } else if file_type.is_file() {
            files.push(relative);
        }
    }
    Ok(())
}

/// The FFI form of an [`Artifact`], as it crosses the plugin boundary.
///
/// Paths travel as UTF-8 text; a path that is not valid UTF-8 is converted
/// lossily, so keep artifact paths UTF-8.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RArtifact {
    /// See [`Artifact::id`].
    pub id: RString,
    /// See [`Artifact::root`].
    pub root: RString,
    /// See [`Artifact::files`].
    pub files: RVec<RString>,
    /// See [`Artifact::metadata`], as sorted pairs.
    pub metadata: RVec<Tuple2<RString, RString>>,
}

impl From<&Artifact> for RArtifact {
    fn from(artifact: &Artifact) -> Self {
        RArtifact {
            id: artifact.id.as_str().into(),
            root: artifact.root.to_string_lossy().as_ref().into(),
            files: artifact
                .files
                .iter()
                .map(|f| RString::from(f.as_str()))
                .collect(),
            metadata: artifact
                .metadata
                .iter()
                .map(|(k, v)| Tuple2(RString::from(k.as_str()), RString::from(v.as_str())))
                .collect(),
        }
    }
}

impl From<&RArtifact> for Artifact {
    fn from(artifact: &RArtifact) -> Self {
        Artifact {
            id: artifact.id.to_string(),
            root: PathBuf::from(artifact.root.as_str()),
            files: artifact.files.iter().map(|f| f.to_string()).collect(),
            metadata: artifact
                .metadata
                .iter()
                .map(|Tuple2(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_ffi_form() {
        let artifact = Artifact {
            id: "site".into(),
            root: "/tmp/out/site".into(),
            files: vec!["index.html".into(), "css/main.css".into()],
            metadata: [("builder".to_string(), "dir".to_string())].into(),
        };
        let ffi = RArtifact::from(&artifact);
        assert_eq!(Artifact::from(&ffi), artifact);
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
}
