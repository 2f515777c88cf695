//! Finding plugin files on a search path, without loading them.

use std::path::PathBuf;

use rivet_host::discovery::UnreadableDir;

use rivet_interface::PluginKind;

use crate::file_name::parse_plugin_file_name;
use crate::same_name;
use crate::{PluginSource, SearchPath};

/// A file whose name makes it a candidate plugin of one of the four kinds.
pub type PluginFile = rivet_host::discovery::PluginFile<PluginKind>;

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

/// Scans every directory of `path` for plugin files of the four kinds (see
/// [`rivet_host::discovery::scan`]); nothing is loaded.
pub fn scan(path: &SearchPath) -> Scan {
    let scan = rivet_host::discovery::scan(path, parse_plugin_file_name);
    Scan {
        files: scan.files,
        shadowed: scan
            .hidden
            .into_iter()
            .map(|hidden| Shadowed {
                kind: hidden.file.kind,
                name: hidden.file.name,
                hidden: PluginSource::File(hidden.file.path),
                by: hidden.by,
            })
            .collect(),
        unreadable: scan.unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin_file_name;
    use std::fs;
    use std::path::Path;

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
