//! Where plugins are looked for, in order.
//!
//! The default search path is, in this order:
//! 1. the directory of the host executable;
//! 2. the current directory;
//! 3. `$RIVET_HOME/plugins` (`RIVET_HOME` defaults to `~/.rivet.d`, or
//!    `%APPDATA%/rivet.d` on Windows);
//! 4. each entry of `RIVET_PLUGIN_PATH` (`:`-separated, `;` on Windows), in
//!    order.
//!
//! The first file found for a `(kind, name)` wins; later ones are reported as
//! shadowed.

use std::env;
use std::path::{Path, PathBuf};

/// The environment variable naming Rivet's home directory.
pub const RIVET_HOME_VAR: &str = "RIVET_HOME";
/// The environment variable listing extra plugin directories.
pub const PLUGIN_PATH_VAR: &str = "RIVET_PLUGIN_PATH";

/// An ordered list of directories to look for plugin files in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// An empty search path: only what is pushed onto it is searched.
    pub fn new() -> Self {
        SearchPath::default()
    }

    /// The default search path, from the process's executable, current
    /// directory and environment (see the module documentation).
    pub fn from_env() -> Self {
        let exe_dir = env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        let cwd = env::current_dir().ok();
        let plugin_path = env::var_os(PLUGIN_PATH_VAR);
        SearchPath::from_parts(
            exe_dir,
            cwd,
            rivet_home().map(|home| home.join("plugins")),
            plugin_path
                .as_deref()
                .map(env::split_paths)
                .into_iter()
                .flatten(),
        )
    }

    /// The default order from its parts; `None` parts are left out.
    fn from_parts(
        exe_dir: Option<PathBuf>,
        cwd: Option<PathBuf>,
        home_plugins: Option<PathBuf>,
        plugin_path: impl IntoIterator<Item = PathBuf>,
    ) -> Self {
        let mut path = SearchPath::new();
        for dir in [exe_dir, cwd, home_plugins].into_iter().flatten() {
            path.push(dir);
        }
        for dir in plugin_path {
            // `a::b` or a trailing `:` gives empty entries; they mean nothing.
            if !dir.as_os_str().is_empty() {
                path.push(dir);
            }
        }
        path
    }

    /// Adds `dir` at the end (lowest priority). A directory already on the
    /// path is not added twice.
    pub fn push(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        let dir = dir.into();
        if !self.dirs.contains(&dir) {
            self.dirs.push(dir);
        }
        self
    }

    /// Adds `dir` at the front (highest priority), moving it there if it was
    /// already on the path.
    pub fn push_front(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        let dir = dir.into();
        self.dirs.retain(|d| *d != dir);
        self.dirs.insert(0, dir);
        self
    }

    /// The directories, highest priority first.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
}

impl<P: Into<PathBuf>> FromIterator<P> for SearchPath {
    fn from_iter<I: IntoIterator<Item = P>>(iter: I) -> Self {
        let mut path = SearchPath::new();
        for dir in iter {
            path.push(dir);
        }
        path
    }
}

/// Rivet's home directory: `$RIVET_HOME`, else `~/.rivet.d`
/// (`%APPDATA%/rivet.d` on Windows); `None` when no home can be found.
pub fn rivet_home() -> Option<PathBuf> {
    if let Some(home) = env::var_os(RIVET_HOME_VAR).filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    if cfg!(windows) {
        env::var_os("APPDATA").map(|appdata| PathBuf::from(appdata).join("rivet.d"))
    } else {
        env::home_dir().map(|home| home.join(".rivet.d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_order_is_exe_cwd_home_then_plugin_path() {
        let path = SearchPath::from_parts(
            Some("/opt/rivet/bin".into()),
            Some("/work".into()),
            Some("/home/u/.rivet.d/plugins".into()),
            env::split_paths(&join(&["/a", "", "/b"])),
        );
        let expected: Vec<PathBuf> = [
            "/opt/rivet/bin",
            "/work",
            "/home/u/.rivet.d/plugins",
            "/a",
            "/b",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(path.dirs(), expected);
    }

    #[test]
    fn a_directory_is_searched_once_at_its_first_place() {
        let path = SearchPath::from_parts(
            Some("/same".into()),
            Some("/same".into()),
            None,
            [PathBuf::from("/other"), PathBuf::from("/same")],
        );
        assert_eq!(
            path.dirs(),
            [PathBuf::from("/same"), PathBuf::from("/other")]
        );
    }

    #[test]
    fn push_front_takes_priority() {
        let mut path: SearchPath = ["/a", "/b"].into_iter().collect();
        path.push_front("/b");
        assert_eq!(path.dirs(), [PathBuf::from("/b"), PathBuf::from("/a")]);
    }

    fn join(parts: &[&str]) -> std::ffi::OsString {
        let separator = if cfg!(windows) { ";" } else { ":" };
        parts.join(separator).into()
    }
}
