//! The loader: finds plugins on the search path (or built in), checks and
//! loads them, and hands back [`Plugin`] handles.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rivet_interface::PluginKind;

use crate::Mode;
use crate::UnreadableDir;
use crate::builtin::BuiltinPlugin;
use crate::discovery::{self, PluginFile, Scan, Shadowed};
use crate::isolated::ProcessOptions;
use crate::services::{ConsoleUi, HostUi, Locate, Services};
use crate::vetting::{ScanRequest, Vetting, Wanted};
use crate::{LoadError, Plugin, PluginSource, SearchPath, plugin_file_name, same_name};
use crate::{installed, library};
use rivet_host::parallel::in_parallel;

/// Finds, checks and loads plugins.
///
/// ```no_run
/// use std::path::Path;
/// use rivet_interface::PluginKind;
/// use rivet_loader::Loader;
///
/// let loader = Loader::new(); // search path from the environment
/// let plugin = loader.load(PluginKind::Builder, "dir")?;
/// let builder = plugin.prepare(r#"{"output": "out"}"#, Path::new("."))?;
/// let artifact = builder.build()?;
/// println!("{} files in {}", artifact.files.len(), artifact.root.display());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Loader {
    pub(crate) search_path: SearchPath,
    pub(crate) builtins: Vec<Arc<BuiltinPlugin>>,
    pub(crate) ui: Arc<dyn HostUi>,
    mode: Mode,
    pub(crate) process: ProcessOptions,
    pub(crate) trust: Trust,
}

/// Where installed plugins and the metadata cache are, and what is trusted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    /// Load files writable by others (see [`crate::integrity`]).
    pub(crate) allow_insecure: bool,
    /// The install root, `$RIVET_HOME/plugins` by default.
    pub(crate) install_dir: Option<PathBuf>,
    /// The metadata cache file, `$RIVET_HOME/cache/plugins.cache` by default.
    pub(crate) cache_file: Option<PathBuf>,
    /// How files are vetted before this process loads them.
    pub(crate) vetting: Vetting,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

impl Loader {
    /// A loader with the default search path of application `rivet` (see
    /// [`rivet_host::Config`]: the executable's directory, the current
    /// directory, `$RIVET_HOME/plugins`, then `$RIVET_PLUGIN_PATH`; the
    /// home directory is `~/.rivet.d` unless `RIVET_HOME` names another)
    /// that shows plugin output on the terminal ([`ConsoleUi`]).
    /// Installed plugins are looked for in `$RIVET_HOME/plugins` and
    /// listings are cached in `$RIVET_HOME/cache`.
    pub fn new() -> Self {
        let config = rivet_host::Config::app("rivet");
        let mut loader = Loader::with_search_path(config.dirs());
        loader.trust.install_dir = config.install_dir();
        if let Some(home) = config.home_dir() {
            loader.trust.cache_file = Some(home.join("cache").join("plugins.cache"));
        }
        loader
    }

    /// A loader that searches exactly `search_path`, with no install root
    /// and no metadata cache (see [`set_install_dir`](Self::set_install_dir)).
    pub fn with_search_path(search_path: SearchPath) -> Self {
        Loader {
            search_path,
            builtins: Vec::new(),
            ui: Arc::new(ConsoleUi),
            mode: Mode::InProcess,
            process: ProcessOptions::default(),
            trust: Trust::default(),
        }
    }

    /// The directories searched, highest priority first.
    pub fn search_path(&self) -> &SearchPath {
        &self.search_path
    }

    /// The search path, to extend or replace it.
    pub fn search_path_mut(&mut self) -> &mut SearchPath {
        &mut self.search_path
    }

    /// Sends what plugins tell the user to `ui` (for plugins loaded from now on).
    pub fn set_ui(&mut self, ui: Arc<dyn HostUi>) {
        self.ui = ui;
    }

    /// How plugins loaded with [`load`](Self::load) and
    /// [`load_file`](Self::load_file) run: in-process (the default) or each
    /// in its own process.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The mode plugins run in unless asked otherwise.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The `rivet-plugin-server` executable for isolated plugins (by default
    /// the one beside the host's executable).
    pub fn set_plugin_server(&mut self, path: impl Into<PathBuf>) {
        self.process.server = Some(path.into());
    }

    /// How long one call to an isolated plugin may take before its process
    /// is killed and the call fails (default: 300 s). A duration too long to
    /// be a deadline (such as [`Duration::MAX`]) means no limit; zero is
    /// taken as the shortest timeout, 1 ms.
    pub fn set_call_timeout(&mut self, timeout: Duration) {
        self.process.call_timeout = at_least_a_millisecond(timeout);
    }

    /// How long an isolated plugin's process may take to start: load the
    /// plugin (its library constructors and `init` included) and say it is
    /// ready (default: 20 s). After that the process is killed and the load
    /// fails. Long and zero durations are taken as by
    /// [`set_call_timeout`](Self::set_call_timeout).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.process.handshake_timeout = at_least_a_millisecond(timeout);
    }

    /// How often an isolated plugin's process is started again after
    /// crashing: at most `restarts` times within any `window` (default: 3
    /// within 60 s). A call that would need one more restart fails with
    /// [`CallError::CrashLoop`](crate::CallError::CrashLoop); once the
    /// oldest restart is `window` old, the plugin is restarted again, so a
    /// long-running host never loses a plugin that crashes now and then.
    pub fn set_restart_limit(&mut self, restarts: u32, window: Duration) {
        self.process.max_restarts = restarts;
        self.process.restart_window = window;
    }

    /// Registers a plugin built into the host. A plugin file of the same kind
    /// and name on the search path takes precedence over it.
    pub fn register(&mut self, builtin: BuiltinPlugin) {
        self.builtins.push(Arc::new(builtin));
    }

    /// Scans the search path for plugin files, loading none of them.
    pub fn scan(&self) -> Scan {
        discovery::scan(&self.search_path)
    }

    /// Loads plugin `(kind, name)`: the first file on the search path named
    /// for it, else the highest installed version, else a built-in plugin;
    /// in the loader's [`mode`](Self::mode).
    pub fn load(&self, kind: PluginKind, name: &str) -> Result<Plugin, LoadError> {
        self.load_in(kind, name, self.mode)
    }

    /// [`load`](Self::load) in the given mode. Built-in plugins always run
    /// in-process.
    pub fn load_in(&self, kind: PluginKind, name: &str, mode: Mode) -> Result<Plugin, LoadError> {
        let file_name = plugin_file_name(kind, name);
        if let Some(path) = self
            .search_path
            .dirs()
            .iter()
            .map(|dir| dir.join(&file_name))
            .find(|path| path.is_file())
        {
            return self.load_file_in(&path, kind, name, mode);
        }
        if let Some(plugin) = self.load_installed(kind, name, None, None, mode)? {
            return Ok(plugin);
        }
        if let Some(builtin) = self.builtin(kind, name) {
            return self.load_builtin(builtin);
        }
        Err(LoadError::NotFound {
            kind,
            name: name.to_owned(),
            file_name,
            searched: describe_dirs(self.search_path.dirs()),
        })
    }

    /// Loads the plugin file at `path`, which must declare itself as
    /// `(kind, name)`; its file name does not matter (for plugins under
    /// development, named by path in a template). Runs in the loader's
    /// [`mode`](Self::mode).
    pub fn load_file(
        &self,
        path: &Path,
        kind: PluginKind,
        name: &str,
    ) -> Result<Plugin, LoadError> {
        self.load_file_in(path, kind, name, self.mode)
    }

    /// [`load_file`](Self::load_file) in the given mode.
    pub fn load_file_in(
        &self,
        path: &Path,
        kind: PluginKind,
        name: &str,
        mode: Mode,
    ) -> Result<Plugin, LoadError> {
        let plugin = match mode {
            Mode::InProcess => {
                let verified = self.check_file(path)?;
                self.vet_file(path, &verified.file, kind, name)?;
                let label = format!("{kind} {name}");
                let locator = self.locator();
                let (library, metadata) = library::open(path, verified, &label, |metadata| {
                    Services::for_plugin(
                        metadata.kind,
                        &metadata.name,
                        self.ui.clone(),
                        locator.clone(),
                    )
                })?;
                Plugin::from_library(
                    library.module,
                    metadata,
                    path.to_owned(),
                    self.ui.clone(),
                    locator,
                )
            }
            Mode::Process => {
                let (process, metadata) = self.start_isolated(path, kind, name)?;
                Plugin::from_process(
                    process,
                    metadata,
                    path.to_owned(),
                    self.ui.clone(),
                    self.locator(),
                )
            }
        };
        let metadata = plugin.metadata();
        if metadata.kind != kind || !same_name(&metadata.name, name) {
            return Err(LoadError::NameMismatch {
                path: path.to_owned(),
                expected_kind: kind,
                expected_name: name.to_owned(),
                suggested: plugin_file_name(metadata.kind, &metadata.name),
                found_kind: metadata.kind,
                found_name: metadata.name.clone(),
            });
        }
        crate::catalog::check_installed_name(path, metadata)?;
        Ok(plugin)
    }

    /// Loads several plugin files ([`load_file`](Self::load_file) for each),
    /// in parallel on the machine's cores; the results come in the files'
    /// order.
    pub fn load_files(&self, files: &[PluginFile]) -> Vec<Result<Plugin, LoadError>> {
        in_parallel(files, |file| {
            self.load_file(&file.path, file.kind, &file.name)
        })
    }

    /// Loads every plugin on the search path and every built-in one. A bad
    /// file never stops the others: it is listed in [`Discovery::broken`].
    pub fn load_all(&self) -> Discovery {
        let Scan {
            files,
            mut shadowed,
            unreadable,
        } = self.scan();
        let mut discovery = Discovery::default();
        self.vet_files(
            &files
                .iter()
                .map(|file| ScanRequest {
                    path: file.path.clone(),
                    plugin: Wanted {
                        kind: file.kind,
                        name: file.name.clone(),
                    },
                })
                .collect::<Vec<_>>(),
        );
        let loaded = self.load_files(&files);
        for (file, result) in files.into_iter().zip(loaded) {
            match result {
                Ok(plugin) => discovery.plugins.push(plugin),
                Err(error) => discovery.broken.push(Broken { file, error }),
            }
        }
        for builtin in &self.builtins {
            let (kind, name) = (builtin.kind(), builtin.name());
            // A file for the same plugin hides the built-in one, even a
            // broken file: `load` would pick the file too.
            let by_file = discovery
                .plugins
                .iter()
                .filter_map(|p| match p.source() {
                    PluginSource::File(path) => Some((p.metadata().kind, &p.metadata().name, path)),
                    PluginSource::BuiltIn => None,
                })
                .chain(
                    discovery
                        .broken
                        .iter()
                        .map(|b| (b.file.kind, &b.file.name, &b.file.path)),
                )
                .find(|(k, n, _)| *k == kind && same_name(n, name))
                .map(|(_, _, path)| path.clone());
            match by_file {
                Some(by) => shadowed.push(Shadowed {
                    kind,
                    name: name.to_owned(),
                    hidden: PluginSource::BuiltIn,
                    by,
                }),
                None => match self.load_builtin(builtin.clone()) {
                    Ok(plugin) => discovery.plugins.push(plugin),
                    Err(error) => discovery.broken_builtins.push(error),
                },
            }
        }
        discovery.shadowed = shadowed;
        discovery.unreadable = unreadable;
        discovery
    }

    fn builtin(&self, kind: PluginKind, name: &str) -> Option<Arc<BuiltinPlugin>> {
        self.builtins
            .iter()
            .find(|b| b.kind() == kind && same_name(b.name(), name))
            .cloned()
    }

    pub(crate) fn load_builtin(&self, builtin: Arc<BuiltinPlugin>) -> Result<Plugin, LoadError> {
        let ui = || {
            rivet_interface::Ui::new(Services::for_plugin(
                builtin.kind(),
                builtin.name(),
                self.ui.clone(),
                self.locator(),
            ))
        };
        builtin.init(ui).map_err(|message| LoadError::InitFailed {
            path: PathBuf::from("built-in"),
            plugin: builtin.name().to_owned(),
            message,
        })?;
        Ok(Plugin::from_builtin(
            builtin,
            self.ui.clone(),
            self.locator(),
        ))
    }

    fn locator(&self) -> Arc<dyn Locate> {
        Arc::new(Locator {
            search_path: self.search_path.clone(),
            install_dir: self.trust.install_dir.clone(),
            builtins: self
                .builtins
                .iter()
                .map(|b| (b.kind(), b.name().to_owned()))
                .collect(),
        })
    }
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("search_path", &self.search_path)
            .field("builtins", &self.builtins)
            .finish_non_exhaustive()
    }
}

/// What [`Loader::load_all`] found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// The plugins that loaded, files first (in search order), then built-ins.
    pub plugins: Vec<Plugin>,
    /// Plugin files that failed to load, with the reason.
    pub broken: Vec<Broken>,
    /// Built-in plugins whose `init` failed.
    pub broken_builtins: Vec<LoadError>,
    /// Plugins hidden by a file earlier on the search path.
    pub shadowed: Vec<Shadowed>,
    /// Directories on the search path that could not be read.
    pub unreadable: Vec<UnreadableDir>,
}

/// A plugin file that failed to load.
#[derive(Debug)]
pub struct Broken {
    /// The file.
    pub file: PluginFile,
    /// Why it failed.
    pub error: LoadError,
}

/// Answers plugins' `locate` questions in the order [`Loader::load`] looks:
/// a file on the search path, the highest installed version, a built-in.
struct Locator {
    search_path: SearchPath,
    install_dir: Option<PathBuf>,
    builtins: Vec<(PluginKind, String)>,
}

impl Locate for Locator {
    fn locate(&self, kind: PluginKind, name: &str) -> Option<String> {
        let file_name = plugin_file_name(kind, name);
        self.search_path
            .dirs()
            .iter()
            .map(|dir| dir.join(&file_name))
            .find(|path| path.is_file())
            .map(|path| path.display().to_string())
            .or_else(|| {
                let installed = installed::scan_installed(self.install_dir.as_deref()?);
                installed::candidates(&installed, kind, name, None, None)
                    .first()
                    .map(|plugin| plugin.path.display().to_string())
            })
            .or_else(|| {
                self.builtins
                    .iter()
                    .any(|(k, n)| *k == kind && same_name(n, name))
                    .then(|| "built-in".to_owned())
            })
    }
}

fn describe_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no directories (the search path is empty)".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `timeout`, or 1 ms when it is zero: a socket read timeout of zero is not
/// a timeout, and a zero wait would fail every call.
fn at_least_a_millisecond(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(1))
}
