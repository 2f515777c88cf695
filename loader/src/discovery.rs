//! Finding plugin files on a search path, without loading them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rivet_interface::PluginKind;

use crate::file_name::{parse_plugin_file_name, same_name};
use crate::{PluginSource, SearchPath};

/// A file whose name makes it a candidate plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFile {
    /// The kind its name announces.
    pub kind: PluginKind,
    /// The name its name announces.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// A plugin hidden by a file of the same `(kind, name)` earlier on the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// The kind of both.
    pub kind: PluginKind,
    /// The name of both.
    pub name: String,
    /// The plugin that is not used: a later file, or a built-in plugin.
    pub hidden: PluginSource,
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
#[derive(Debug, Default)]
pub struct Scan {
    /// The file used for each `(kind, name)`, in search order.
    pub files: Vec<PluginFile>,
    /// Files hidden by an earlier one.
    pub shadowed: Vec<Shadowed>,
    /// Directories that could not be read (missing ones are not listed).
    pub unreadable: Vec<UnreadableDir>,
}

impl Scan {
    /// The file used for `(kind, name)`, if any.
    pub fn find(&self, kind: PluginKind, name: &str) -> Option<&PluginFile> {
        self.files
            .iter()
            .find(|f| f.kind == kind && same_name(&f.name, name))
    }
}

/// Scans every directory of `path` for plugin files. Names that do not
/// follow the plugin pattern are ignored silently; nothing is loaded.
pub fn scan(path: &SearchPath) -> Scan {
    let mut scan = Scan::default();
    for dir in path.dirs() {
        match plugin_files_in(dir) {
            Ok(files) => {
                for file in files {
                    match scan.find(file.kind, &file.name) {
                        Some(first) => {
                            let by = first.path.clone();
                            scan.shadowed.push(Shadowed {
                                kind: file.kind,
                                name: file.name,
                                hidden: PluginSource::File(file.path),
                                by,
                            });
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
fn plugin_files_in(dir: &Path) -> io::Result<Vec<PluginFile>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some((kind, name)) = entry.file_name().to_str().and_then(parse_plugin_file_name) else {
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
    use crate::plugin_file_name;

    #[test]
    fn first_file_wins_and_later_ones_are_shadowed() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let dir_builder = plugin_file_name(PluginKind::Builder, "dir");
        fs::write(first.path().join(&dir_builder), "a").unwrap();
        fs::write(second.path().join(&dir_builder), "b").unwrap();
        fs::write(
            second
                .path()
                .join(plugin_file_name(PluginKind::Command, "x")),
            "c",
        )
        .unwrap();
        fs::write(second.path().join("notes.txt"), "not a plugin").unwrap();
        fs::create_dir(
            second
                .path()
                .join(plugin_file_name(PluginKind::Builder, "adir")),
        )
        .unwrap();

        let path: SearchPath = [first.path(), second.path(), Path::new("/no/such/dir")]
            .into_iter()
            .collect();
        let scan = scan(&path);

        let found: Vec<_> = scan
            .files
            .iter()
            .map(|f| (f.kind, f.name.as_str()))
            .collect();
        assert_eq!(
            found,
            [(PluginKind::Builder, "dir"), (PluginKind::Command, "x")]
        );
        assert_eq!(
            scan.find(PluginKind::Builder, "dir").unwrap().path,
            first.path().join(&dir_builder)
        );
        assert_eq!(scan.shadowed.len(), 1);
        assert_eq!(
            scan.shadowed[0].hidden,
            PluginSource::File(second.path().join(&dir_builder))
        );
        assert_eq!(scan.shadowed[0].by, first.path().join(&dir_builder));
        assert!(
            scan.unreadable.is_empty(),
            "a missing directory is not an error"
        );
    }
}
