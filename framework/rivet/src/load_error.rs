//! Why a plugin did not load.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use rivet_abi::frame::FrameError;

/// Why [`Loader`](crate::Loader) could not load a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// No file of that name on the search path.
    #[error(
        "no plugin `{name}` for interface `{interface}`: {}",
        where_to_put(searched, file, var)
    )]
    NotFound {
        /// The interface's name.
        interface: String,
        /// The plugin's name.
        name: String,
        /// The file name looked for.
        file: String,
        /// The directories searched.
        searched: Vec<PathBuf>,
        /// The environment variable extending the search path.
        var: String,
    },
    /// The plugin file (or its checksum sidecar) failed a check made
    /// before loading: its type, its permissions or its checksum.
    #[error(transparent)]
    Integrity(#[from] rivet_host::IntegrityError),
    /// Loading the file crashed, ended or hung the scanner process that
    /// loads every new file first (see `rivet_host::vetting`): it is kept
    /// out of the host until it changes.
    #[error("{message}")]
    Quarantined {
        /// The file.
        path: PathBuf,
        /// What happened, naming the file, and what to do.
        message: String,
    },
    /// The file could not be vetted (no scanner could be started, or the
    /// scanner refused it before opening it), so it was not loaded.
    #[error("{message}")]
    NotVetted {
        /// The file.
        path: PathBuf,
        /// Why, naming the file.
        message: String,
    },
    /// A built-in plugin was asked to run isolated by a host that does not
    /// serve its built-ins (no `Config::builtin_server`).
    #[error(
        "plugin `{name}` of interface `{interface}` is built into this host, which runs its built-ins in-process only; to run it isolated, put its plugin file on the search path (or in a directory of {var}), or have the host serve its built-ins (`Config::builtin_server` and `Loader::serve_builtin`)"
    )]
    BuiltinIsolated {
        /// The interface's name.
        interface: String,
        /// The plugin's name.
        name: String,
        /// The environment variable extending the search path.
        var: String,
    },
    /// Isolated mode is Unix-only.
    #[error(
        "{path}: plugins run isolated on Unix only; load it in-process (`Mode::InProcess`) on this platform"
    )]
    IsolationUnsupported {
        /// The plugin file (or how a built-in plugin is named).
        path: PathBuf,
    },
    /// No installed version matches a requirement.
    #[error(
        "no installed version of plugin `{name}` of interface `{interface}`{} matches `{requirement}` (installed: {installed}); install one that does",
        source_id.as_deref().map(|source| format!(" from `{source}`")).unwrap_or_default()
    )]
    NoMatchingVersion {
        /// The interface's name.
        interface: String,
        /// The plugin's name.
        name: String,
        /// The source required, if one was (boxed: this variant stays
        /// smaller than the largest).
        source_id: Option<Box<str>>,
        /// The version requirement.
        requirement: String,
        /// The compatible versions installed, highest first (`0.2.0, 0.1.0`),
        /// or `none`.
        installed: String,
    },
    /// A plugin name that is not a plain file name part.
    #[error("`{0}` is not a plugin name: use letters, digits, `-` and `_`")]
    InvalidName(String),
    /// The file is not a Rivet framework plugin library.
    #[error("{path} is not a Rivet plugin library: {reason}")]
    NotAPlugin {
        /// The file.
        path: PathBuf,
        /// What abi_stable or the dynamic linker said.
        reason: String,
    },
    /// The plugin was built with another version of the framework.
    #[error(
        "{path} was built with Rivet framework ABI {found}, this host uses {expected}; rebuild the plugin with this host's `rivet`"
    )]
    FrameworkAbi {
        /// The file.
        path: PathBuf,
        /// The plugin's framework ABI.
        found: u32,
        /// The host's.
        expected: u32,
    },
    /// The plugin implements another interface.
    #[error("{path} is a plugin for interface `{found}`, not `{expected}`")]
    WrongInterface {
        /// The file.
        path: PathBuf,
        /// The plugin's interface.
        found: String,
        /// The host's.
        expected: String,
    },
    /// The plugin was built against an incompatible version of the interface.
    #[error(
        "{path} was built against `{interface}` {found}, this host uses {expected}; rebuild the plugin against `{interface}` {expected}"
    )]
    InterfaceVersion {
        /// The file.
        path: PathBuf,
        /// The interface's name.
        interface: String,
        /// The plugin's interface version.
        found: String,
        /// The host's.
        expected: String,
    },
    /// Same interface name and version, different methods: the interface
    /// changed without a new version.
    #[error(
        "{path} was built against another `{interface}` {version} than this host (same name and version, different methods: {detail}); rebuild the plugin against this host's interface crate, and give changed interfaces a new version"
    )]
    InterfaceMismatch {
        /// The file.
        path: PathBuf,
        /// The interface's name.
        interface: String,
        /// Its version.
        version: String,
        /// What differs.
        detail: String,
    },
    /// A plugin file found for a name holds a plugin of another name (it
    /// was renamed after it was built).
    #[error(
        "{path} holds plugin `{plugin_says}`, not `{file_says}` as its name says: a plugin's file is named after its crate (`lib<crate>.so`); rename the crate, not the file"
    )]
    NameMismatch {
        /// The file.
        path: PathBuf,
        /// The name its file name gives.
        file_says: String,
        /// The name the plugin reports.
        plugin_says: String,
    },
    /// An installed plugin file's name says another name or version than
    /// the plugin reports: the file is ignored (the next installed version
    /// is used).
    #[error(
        "{path}: the file name says {field} {file_says}, but the plugin reports {plugin_says}; the file is ignored. Reinstall the plugin"
    )]
    InstalledNameMismatch {
        /// The file.
        path: PathBuf,
        /// What disagrees: `name` or `version`.
        field: &'static str,
        /// What the file name says.
        file_says: String,
        /// What the plugin reports.
        plugin_says: String,
    },
    /// The plugin's `init` failed.
    #[error("plugin {path} failed to initialise: {message}")]
    Init {
        /// The file.
        path: PathBuf,
        /// The plugin's message.
        message: String,
    },
    /// The plugin refused its configuration.
    #[error("plugin `{plugin}` did not accept its configuration: {message}")]
    Create {
        /// The plugin's name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin server did not start.
    #[error(
        "cannot start the plugin server {server}: {source}; build it in the Rivet workspace (`cargo build -p rivet-server`) and put it beside the host's executable, or point `Config::server` at it"
    )]
    Spawn {
        /// The executable.
        server: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The plugin server did not answer as one.
    #[error("the plugin server for {path} did not answer: {source}")]
    Handshake {
        /// The plugin file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: FrameError,
    },
    /// The plugin server did not load the plugin and say hello within the
    /// handshake timeout (`Config::handshake_timeout`): it was killed.
    #[error(
        "the plugin server for {path} did not load it and answer within the handshake timeout of {after:?}: it was killed; a plugin that takes longer to load needs a longer `Config::handshake_timeout`"
    )]
    HandshakeTimeout {
        /// The plugin file.
        path: PathBuf,
        /// The handshake timeout.
        after: Duration,
    },
    /// The plugin server could not load the plugin.
    #[error("the plugin server could not load {path}: {message}")]
    Server {
        /// The plugin file.
        path: PathBuf,
        /// The server's message.
        message: String,
    },
}

/// Where the file `file` of a plugin that was not found should go: in one
/// of the directories `searched`, or, when none was, in a directory of the
/// environment variable `var`.
fn where_to_put(searched: &[PathBuf], file: &str, var: &str) -> String {
    if searched.is_empty() {
        format!(
            "the search path is empty, so `{file}` was looked for nowhere; put it in a directory of {var}"
        )
    } else {
        format!(
            "none of {searched:?} holds `{file}`; put it in one of them or add its directory to {var}"
        )
    }
}
