//! A host's configuration: its name, where it looks for plugins, how their
//! files are named, and how it runs isolated ones.

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{FileNames, SearchPath, Vetting};

/// A host's configuration. The application's name drives the rest; for
/// `Config::app("imagine")` the defaults are:
///
/// | what | default |
/// | --- | --- |
/// | home directory | `$IMAGINE_HOME`, else `~/.imagine.d` (`%APPDATA%\imagine.d` on Windows) |
/// | search path, in order | the running executable's directory; the current directory; `HOME/plugins`; the directories in `$IMAGINE_PLUGIN_PATH` (the platform's path-list syntax) |
/// | file names | `libplugin_<KIND>_<NAME>.so` (the platform's library prefix and suffix; `plugin` is [`Config::prefix`]) |
/// | plugin server | `rivet-server` in the running executable's directory, or its parent (test binaries run from `deps/`) |
/// | built-in server ([`Config::builtin_server`]) | none: built-in plugins run in-process only |
/// | vetting | [`Vetting::Scan`] with a 10 s limit per file on Unix (the plugin server in scan mode loads each new file before the host does), [`Vetting::Off`] elsewhere |
/// | call timeout ([`Config::call_timeout`]) | 300 s per call to an isolated plugin |
/// | handshake timeout ([`Config::handshake_timeout`]) | 20 s for an isolated plugin's server to load it and say hello |
/// | restart limit ([`Config::restart_limit`]) | 3 restarts of a crashed isolated plugin within any 60 s |
///
/// The first file found for a kind and name wins; later ones are hidden
/// (and reported as such by listings). The environment is read once, by
/// [`Config::app`].

#[derive(Debug, Clone)]
pub struct Config {
    app: String,
    home: Option<PathBuf>,
    exe_dir: Option<PathBuf>,
    cwd: Option<PathBuf>,
    path_env: Vec<PathBuf>,
    search_path: Option<SearchPath>,
    names: FileNames,
    server: Option<PathBuf>,
    builtin_server: Option<PathBuf>,
    vetting: Vetting,
    limits: ProcessLimits,
}

/// How an isolated plugin's server is watched: the limits set on a
/// [`Config`] ([`Config::process_limits`]), each documented with its
/// builder method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessLimits {
    /// How long one call may take ([`Config::call_timeout`]); `None`: no limit.
    pub call_timeout: Option<Duration>,
    /// How long a server may take to load its plugin and say hello
    /// ([`Config::handshake_timeout`]).
    pub handshake_timeout: Duration,
    /// How many restarts of a plugin's server within any `restart_window`
    /// ([`Config::restart_limit`]).
    pub max_restarts: u32,
    /// The window `max_restarts` counts over.
    pub restart_window: Duration,
}

impl Default for ProcessLimits {
    fn default() -> Self {
        ProcessLimits {
            call_timeout: Some(Config::DEFAULT_CALL_TIMEOUT),
            handshake_timeout: Config::DEFAULT_HANDSHAKE_TIMEOUT,
            max_restarts: Config::DEFAULT_MAX_RESTARTS,
            restart_window: Config::DEFAULT_RESTART_WINDOW,
        }
    }
}

impl Config {
    /// The default [`call_timeout`](Config::call_timeout): 300 s.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(300);
    /// The default [`handshake_timeout`](Config::handshake_timeout): 20 s.
    pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
    /// The default number of restarts of [`restart_limit`](Config::restart_limit): 3.
    pub const DEFAULT_MAX_RESTARTS: u32 = 3;
    /// The default window of [`restart_limit`](Config::restart_limit): 60 s.
    pub const DEFAULT_RESTART_WINDOW: Duration = Duration::from_secs(60);

    /// The defaults for application `app`, from the environment (see [`Config`]).
    pub fn app(app: &str) -> Config {
        let mut config = Config::defaults(app, exe_dir(), env::current_dir().ok());
        if let Some(paths) = env::var_os(config.path_var()) {
            // `a::b` or a trailing `:` gives empty entries; they mean nothing.
            config.path_env = env::split_paths(&paths)
                .filter(|dir| !dir.as_os_str().is_empty())
                .collect();
        }
        config.home = env::var_os(config.home_var())
            .filter(|home| !home.is_empty())
            .map(PathBuf::from)
            .or_else(|| default_home(app));
        config
    }

    /// The defaults for `app` run from `exe_dir` in `cwd`, before the
    /// environment is read: no home and no path variable.
    fn defaults(app: &str, exe_dir: Option<PathBuf>, cwd: Option<PathBuf>) -> Config {
        Config {
            app: app.to_owned(),
            home: None,
            exe_dir,
            cwd,
            path_env: Vec::new(),
            search_path: None,
            names: FileNames::default(),
            server: None,
            builtin_server: None,
            vetting: Vetting::default(),
            limits: ProcessLimits::default(),
        }
    }

    /// The application's name.
    pub fn app_name(&self) -> &str {
        &self.app
    }

    /// Searches exactly these directories, in order, instead of the default
    /// search path.
    pub fn search_path<P: Into<PathBuf>>(mut self, dirs: impl IntoIterator<Item = P>) -> Config {
        self.search_path = Some(dirs.into_iter().collect());
        self
    }

    /// Uses `home` as the home directory (its `plugins` directory is on the
    /// default search path); `None`: no home directory.
    pub fn home(mut self, home: Option<PathBuf>) -> Config {
        self.home = home;
        self
    }

    /// Uses this file name prefix instead of `plugin`.
    pub fn prefix(mut self, prefix: &str) -> Config {
        self.names = FileNames::new(prefix);
        self
    }

    /// Runs isolated plugins with this plugin server executable.
    pub fn server(mut self, path: impl Into<PathBuf>) -> Config {
        self.server = Some(path.into());
        self
    }

    /// Runs built-in plugins asked for isolated with `exe`, which serves
    /// them: the host's own executable (`std::env::current_exe()`), whose
    /// `main` first calls `rivet::Loader::serve_builtin` (as Packer
    /// re-executes itself to serve its built-in plugins). Without it, a
    /// built-in runs in-process only.
    pub fn builtin_server(mut self, exe: impl Into<PathBuf>) -> Config {
        self.builtin_server = Some(exe.into());
        self
    }

    /// The executable serving built-in plugins isolated, if the host set one.
    pub fn builtin_server_path(&self) -> Option<&Path> {
        self.builtin_server.as_deref()
    }

    /// Vets plugin files this way before loading them in-process (see
    /// [`vetting`](crate::vetting)); on platforms without a scanner
    /// vetting stays off whatever is asked.
    pub fn vetting(mut self, vetting: Vetting) -> Config {
        self.vetting = vetting.available();
        self
    }

    /// How plugin files are vetted before they are loaded in-process.
    pub fn vetting_mode(&self) -> Vetting {
        self.vetting
    }

    /// How long one call to an isolated plugin may take (default
    /// [`Config::DEFAULT_CALL_TIMEOUT`], 300 s). A call taking longer fails
    /// with `rivet::Error::Timeout` naming the plugin, the method and the
    /// limit, and its server process is killed; the next call starts a
    /// fresh one (see [`Config::restart_limit`]). The time counts from
    /// sending the call to its reply, the host's answers to the plugin's
    /// callbacks included. `None`: no limit. Zero is taken as the shortest
    /// timeout, 1 ms, and a duration too long to be a deadline (such as
    /// [`Duration::MAX`]) as no limit.
    pub fn call_timeout(mut self, timeout: Option<Duration>) -> Config {
        self.limits.call_timeout = timeout.map(at_least_a_millisecond);
        self
    }

    /// How long an isolated plugin's server may take to start: load the
    /// plugin library (its constructors included), create the instance
    /// (the plugin's creation function, and its calls to the host) and
    /// say hello (default [`Config::DEFAULT_HANDSHAKE_TIMEOUT`], 20 s).
    /// A server taking longer is killed, and the load (or the restart)
    /// fails naming the file. Zero and long durations are taken as by
    /// [`Config::call_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Config {
        self.limits.handshake_timeout = at_least_a_millisecond(timeout);
        self
    }

    /// How often an isolated plugin's server is started again after it
    /// ended (a crash, an exit, a call timeout, a protocol error): at most
    /// `restarts` times within any `window` (default
    /// [`Config::DEFAULT_MAX_RESTARTS`] within
    /// [`Config::DEFAULT_RESTART_WINDOW`]: 3 within 60 s). The call that
    /// finds the server dead fails; the next call starts a fresh server
    /// for the same file, configuration and host object, then runs. A call
    /// that would need one more restart fails with
    /// `rivet::Error::CrashLoop`; once the oldest restart is `window` old,
    /// the plugin is restarted again, so a long-running host never loses a
    /// plugin that crashes now and then. `restarts` 0: never restarted.
    pub fn restart_limit(mut self, restarts: u32, window: Duration) -> Config {
        self.limits.max_restarts = restarts;
        self.limits.restart_window = window;
        self
    }

    /// The limits isolated plugins run under (see [`ProcessLimits`]).
    pub fn process_limits(&self) -> ProcessLimits {
        self.limits
    }

    /// The environment variable extending the search path: `<APP>_PLUGIN_PATH`.
    pub fn path_var(&self) -> String {
        format!("{}_PLUGIN_PATH", self.var_prefix())
    }

    /// The environment variable naming the home directory: `<APP>_HOME`.
    pub fn home_var(&self) -> String {
        format!("{}_HOME", self.var_prefix())
    }

    /// The home directory, if there is one.
    pub fn home_dir(&self) -> Option<&Path> {
        self.home.as_deref()
    }

    /// Where installed plugins live: `HOME/plugins`.
    pub fn install_dir(&self) -> Option<PathBuf> {
        self.home_dir().map(|home| home.join("plugins"))
    }

    /// The directories searched, in order (see [`Config`]).
    pub fn dirs(&self) -> SearchPath {
        if let Some(path) = &self.search_path {
            return path.clone();
        }
        let mut path = SearchPath::new();
        for dir in [self.exe_dir.clone(), self.cwd.clone(), self.install_dir()]
            .into_iter()
            .flatten()
            .chain(self.path_env.iter().cloned())
        {
            path.push(dir);
        }
        path
    }

    /// How plugin files are named.
    pub fn file_names(&self) -> &FileNames {
        &self.names
    }

    /// The plugin server executable (see [`Config`]).
    pub fn server_path(&self) -> PathBuf {
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

    /// The application's name as an environment variable prefix: `my-app`
    /// is `MY_APP`.
    fn var_prefix(&self) -> String {
        self.app
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
}

fn at_least_a_millisecond(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(1))
}

fn exe_dir() -> Option<PathBuf> {
    env::current_exe().ok()?.parent().map(PathBuf::from)
}

/// `~/.<app>.d`, or `%APPDATA%\<app>.d` on Windows.
fn default_home(app: &str) -> Option<PathBuf> {
    let dir = format!("{}{app}.d", if cfg!(windows) { "" } else { "." });
    if cfg!(windows) {
        env::var_os("APPDATA").map(|appdata| PathBuf::from(appdata).join(dir))
    } else {
        env::home_dir().map(|home| home.join(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};

    fn config() -> Config {
        let mut config = Config::defaults(
            "my-app",
            Some("/opt/my-app/bin".into()),
            Some("/work".into()),
        );
        config.home = Some("/home/u/.my-app.d".into());
        config.path_env = vec!["/a".into(), "/work".into(), "/b".into()];
        config
    }

    #[test]
    fn process_limits_default_to_the_cli_loaders_and_zero_is_a_millisecond() {
        let limits = config().process_limits();
        assert_eq!(limits.call_timeout, Some(Duration::from_secs(300)));
        assert_eq!(limits.handshake_timeout, Duration::from_secs(20));
        assert_eq!(
            (limits.max_restarts, limits.restart_window),
            (3, Duration::from_secs(60))
        );
        let limits = config()
            .call_timeout(Some(Duration::ZERO))
            .handshake_timeout(Duration::ZERO)
            .restart_limit(1, Duration::from_secs(5))
            .process_limits();
        assert_eq!(limits.call_timeout, Some(Duration::from_millis(1)));
        assert_eq!(limits.handshake_timeout, Duration::from_millis(1));
        assert_eq!(
            (limits.max_restarts, limits.restart_window),
            (1, Duration::from_secs(5))
        );
        assert_eq!(
            config().call_timeout(None).process_limits().call_timeout,
            None
        );
    }

    #[test]
    fn the_app_name_drives_the_variables_and_the_home() {
        let config = config();
        assert_eq!(config.path_var(), "MY_APP_PLUGIN_PATH");
        assert_eq!(config.home_var(), "MY_APP_HOME");
        if !cfg!(windows) {
            let home = default_home("my-app").unwrap();
            assert!(home.ends_with(".my-app.d"), "{}", home.display());
        }
    }

    #[test]
    fn default_order_is_exe_cwd_home_then_the_path_variable_each_dir_once() {
        let expected: Vec<PathBuf> = [
            "/opt/my-app/bin",
            "/work",
            "/home/u/.my-app.d/plugins",
            "/a",
            "/b",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(config().dirs().dirs(), expected);
        let without_home = config().home(None);
        assert!(
            !without_home
                .dirs()
                .dirs()
                .iter()
                .any(|d| d.ends_with("plugins"))
        );
    }

    #[test]
    fn an_explicit_search_path_replaces_the_default() {
        let config = config().search_path(["/p"]);
        assert_eq!(config.dirs().dirs(), [PathBuf::from("/p")]);
        assert_eq!(
            config
                .prefix("my_app")
                .file_names()
                .file_name("filter", "sepia"),
            format!("{DLL_PREFIX}my_app_filter_sepia{DLL_SUFFIX}")
        );
    }
}
