//! Finding plugin files on a search path, without loading them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::SearchPath;
use crate::names::same_name;

/// A file whose name makes it a candidate plugin of kind `K`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFile<K> {
    /// The kind its name announces.
    pub kind: K,
    /// The name its name announces.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// A file hidden by a file of the same kind and name earlier on the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenFile<K> {
    /// The file that is not used.
    pub file: PluginFile<K>,
    /// The file used instead.
    pub by: PathBuf,
}

/// A directory on the search path that exists but cannot be read.
#[derive(Debug)]
pub struct UnreadableDir {
    /// The directory.
    pub dir: PathBuf,
    /// Why it cannot be read.
    pub error: io::Error,
}

/// What a scan of the search path found.
#[derive(Debug)]
pub struct Scan<K> {
    /// The file used for each kind and name, in search order.
    pub files: Vec<PluginFile<K>>,
    /// Files hidden by an earlier one.
    pub hidden: Vec<HiddenFile<K>>,
    /// Directories that could not be read (missing ones are not listed).
    pub unreadable: Vec<UnreadableDir>,
}

impl<K: PartialEq> Scan<K> {
    /// The file used for plugin `name` of kind `kind`, if any.
    pub fn find(&self, kind: &K, name: &str) -> Option<&PluginFile<K>> {
        self.files
            .iter()
            .find(|f| f.kind == *kind && same_name(&f.name, name))
    }
}

/// Scans every directory of `path` for plugin files, the kind and name of a
/// file being what `parse` reads from its file name (see
/// [`FileNames::parse`](crate::FileNames::parse)). Names `parse` refuses
/// are ignored silently; nothing is opened or loaded.
pub fn scan<K: PartialEq>(
    path: &SearchPath,
    parse: impl Fn(&str) -> Option<(K, String)>,
) -> Scan<K> {
    let mut scan = Scan {
        files: Vec::new(),
        hidden: Vec::new(),
        unreadable: Vec::new(),
    };
    for dir in path.dirs() {
        match plugin_files_in(dir, &parse) {
            Ok(files) => {
                for file in files {
                    match scan.find(&file.kind, &file.name) {
                        Some(first) => {
                            let by = first.path.clone();
                            scan.hidden.push(HiddenFile { file, by });
                        }
                        None => scan.files.push(file),
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => scan.unreadable.push(UnreadableDir {
                dir: dir.clone(),
                error,
            }),
        }
    }
    scan
}

/// The plugin files directly in `dir`, sorted by file name.
fn plugin_files_in<K>(
    dir: &Path,
    parse: impl Fn(&str) -> Option<(K, String)>,
) -> io::Result<Vec<PluginFile<K>>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some((kind, name)) = entry.file_name().to_str().and_then(&parse) else {
            continue;
        };
        let path = entry.path();
        // Follows symlinks: a link to a plugin file is a plugin file.
        if path.is_file() {
            files.push(PluginFile { kind, name, path });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileNames;

    #[test]
    fn first_file_wins_and_later_ones_are_hidden() {
        let names = FileNames::default();
        let kinds = ["builder", "command"];
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let dir_builder = names.file_name("builder", "dir");
        fs::write(first.path().join(&dir_builder), "a").unwrap();
        fs::write(second.path().join(&dir_builder), "b").unwrap();
        fs::write(second.path().join(names.file_name("command", "x")), "c").unwrap();
        fs::write(second.path().join("notes.txt"), "not a plugin").unwrap();
        fs::create_dir(second.path().join(names.file_name("builder", "adir"))).unwrap();

        let path: SearchPath = [first.path(), second.path(), Path::new("/no/such/dir")]
            .into_iter()
            .collect();
        let scan = scan(&path, |file| names.parse(file, &kinds));

        let found: Vec<_> = scan
            .files
            .iter()
            .map(|f| (f.kind, f.name.as_str()))
            .collect();
        assert_eq!(found, [("builder", "dir"), ("command", "x")]);
        assert_eq!(
            scan.find(&"builder", "dir").unwrap().path,
            first.path().join(&dir_builder)
        );
        assert_eq!(scan.hidden.len(), 1);
        assert_eq!(scan.hidden[0].file.path, second.path().join(&dir_builder));
        assert_eq!(scan.hidden[0].by, first.path().join(&dir_builder));
        assert!(
            scan.unreadable.is_empty(),
            "a missing directory is not an error"
        );
    }
}
