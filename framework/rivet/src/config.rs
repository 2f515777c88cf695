//! Where a host looks for plugins and how it runs them.

use std::env;
use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::path::PathBuf;

/// How a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// In the host's process, through the interface's vtable: calls cost
    /// nanoseconds and borrowed arguments are not copied, but a crash in the
    /// plugin (not a panic: panics are caught) ends the host.
    #[default]
    InProcess,
    /// In a process of its own (the `rivet-server` executable), over a
    /// pipe: calls cost microseconds and arguments are copied once each
    /// way, but the plugin's crash is only an error for the call.
    Process,
}

/// A host's configuration, with these defaults for `Config::app("imagine")`:
///
/// | what | default |
/// | --- | --- |
/// | search path | the directories in `IMAGINE_PLUGIN_PATH` (the platform's path-list syntax), then the running executable's directory |
/// | file names | `libplugin_<INTERFACE>_<NAME>.so` (the platform's library prefix and suffix) |
/// | plugin server | `rivet-server` in the running executable's directory, or its parent (test binaries run from `deps/`) |
#[derive(Debug, Clone)]
pub struct Config {
    app: String,
    search_path: Vec<PathBuf>,
    prefix: String,
    server: Option<PathBuf>,
}

impl Config {
    /// The defaults for application `app` (see [`Config`]).
    pub fn app(app: &str) -> Config {
        let mut config = Config {
            app: app.to_owned(),
            search_path: Vec::new(),
            prefix: "plugin".to_owned(),
            server: None,
        };
        if let Some(paths) = env::var_os(config.path_var()) {
            config.search_path.extend(env::split_paths(&paths));
        }
        config.search_path.extend(exe_dir());
        config
    }

    /// Searches these directories instead, in order.
    pub fn search_path<P: Into<PathBuf>>(mut self, dirs: impl IntoIterator<Item = P>) -> Config {
        self.search_path = dirs.into_iter().map(Into::into).collect();
        self
    }

    /// Uses this file name prefix instead of `plugin`.
    pub fn prefix(mut self, prefix: &str) -> Config {
        self.prefix = prefix.to_owned();
        self
    }

    /// Runs isolated plugins with this plugin server executable.
    pub fn server(mut self, path: impl Into<PathBuf>) -> Config {
        self.server = Some(path.into());
        self
    }

    /// The environment variable of the search path: `<APP>_PLUGIN_PATH`.
    pub fn path_var(&self) -> String {
        let app: String = self
            .app
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{app}_PLUGIN_PATH")
    }

    /// The directories searched, in order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.search_path
    }

    /// The file name of plugin `name` of interface `interface`.
    pub fn file_name(&self, interface: &str, name: &str) -> String {
        format!("{DLL_PREFIX}{}_{interface}_{name}{DLL_SUFFIX}", self.prefix)
    }

    /// The plugin server executable.
    pub(crate) fn server_path(&self) -> PathBuf {
        if let Some(server) = &self.server {
            return server.clone();
        }
        let file = format!("rivet-server{}", env::consts::EXE_SUFFIX);
        let dir = exe_dir().unwrap_or_default();
        match dir.parent() {
            Some(parent) if !dir.join(&file).is_file() && parent.join(&file).is_file() => {
                parent.join(file)
            }
            _ => dir.join(file),
        }
    }
}

fn exe_dir() -> Option<PathBuf> {
    env::current_exe().ok()?.parent().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_name_drives_the_variable_and_files_are_named_by_interface() {
        let config = Config::app("my-app").search_path(["/p"]);
        assert_eq!(config.path_var(), "MY_APP_PLUGIN_PATH");
        assert_eq!(config.dirs(), [PathBuf::from("/p")]);
        assert_eq!(
            config.file_name("image_filter", "sepia"),
            format!("{DLL_PREFIX}plugin_image_filter_sepia{DLL_SUFFIX}")
        );
    }
}
