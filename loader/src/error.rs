//! What can go wrong finding, loading and calling plugins.

use std::fmt;
use std::path::PathBuf;

use rivet_interface::PluginKind;

/// Why a plugin could not be loaded. Every variant names the file (or, for
/// [`LoadError::NotFound`], the plugin and where it was looked for) and says
/// what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be opened as a shared library.
    #[error(
        "{path}: not a loadable plugin library ({reason}); rebuild it as a `cdylib` for this platform or remove it"
    )]
    NotALibrary {
        /// The file.
        path: PathBuf,
        /// What the dynamic linker said.
        reason: String,
    },
    /// A shared library without a Rivet root module.
    #[error(
        "{path}: a shared library, but not a Rivet plugin: it exports no root module; plugin crates must invoke one `rivet_interface::export_*!` macro"
    )]
    NoRootModule {
        /// The file.
        path: PathBuf,
    },
    /// The plugin declares another kind or name than its file name says.
    #[error(
        "{path}: the file name says {expected_kind} `{expected_name}`, but the plugin inside declares {found_kind} `{found_name}`; rename the file to `{suggested}` or fix the plugin's NAME"
    )]
    NameMismatch {
        /// The file.
        path: PathBuf,
        /// The kind the file name (or template) asked for.
        expected_kind: PluginKind,
        /// The name the file name (or template) asked for.
        expected_name: String,
        /// The kind the plugin declares.
        found_kind: PluginKind,
        /// The name the plugin declares.
        found_name: String,
        /// The file name that would match the plugin.
        suggested: String,
    },
    /// The plugin was built against a different major version of the interface.
    #[error(
        "{path}: built against rivet-interface {found}, but this host accepts {accepted}; rebuild the plugin against rivet-interface {host}"
    )]
    IncompatibleInterface {
        /// The file.
        path: PathBuf,
        /// The interface version recorded in the plugin.
        found: String,
        /// The versions the host accepts (`1.x`).
        accepted: String,
        /// The host's interface version.
        host: String,
    },
    /// The types the plugin was built with differ from the host's.
    #[error(
        "{path}: plugin `{plugin}` does not match the ABI of rivet-interface {host}: {summary}; rebuild it against rivet-interface {host} (run with RIVET_LOG=debug for abi_stable's full report)"
    )]
    AbiMismatch {
        /// The file.
        path: PathBuf,
        /// The plugin, as its file name calls it.
        plugin: String,
        /// The host's interface version.
        host: String,
        /// A one-line summary: expected vs found.
        summary: String,
        /// abi_stable's full report (it runs to hundreds of lines).
        report: String,
    },
    /// The plugin's `init` returned an error or panicked.
    #[error("{path}: plugin `{plugin}` failed to initialise: {message}")]
    InitFailed {
        /// The file (or `built-in`).
        path: PathBuf,
        /// The plugin.
        plugin: String,
        /// What the plugin said.
        message: String,
    },
    /// No file or built-in plugin serves `(kind, name)`.
    #[error(
        "no {kind} plugin named `{name}`: looked for `{file_name}` in {searched}; build or install it there, set RIVET_PLUGIN_PATH, or give its path in the template"
    )]
    NotFound {
        /// The kind asked for.
        kind: PluginKind,
        /// The name asked for.
        name: String,
        /// The file name looked for.
        file_name: String,
        /// The directories searched, as text.
        searched: String,
    },
    /// The plugin server executable for isolated mode is missing.
    #[error(
        "{path}: the plugin server for isolated mode is missing; build it (`cargo build` in the Rivet workspace builds `rivet-plugin-server`) and put it beside the host, or set its path with `Loader::set_plugin_server`"
    )]
    ServerNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The plugin scanner (see [`crate::Vetting`]) is not where it is looked
    /// for, so no file can be vetted before it is loaded in this process.
    #[error(
        "{path}: the plugin scanner is missing: Rivet loads every plugin file in it (`rivet-plugin-server`) before loading the file in this process; build it (`cargo build` in the Rivet workspace builds it) and put it beside the host, set its path with `Loader::set_plugin_server`, or turn vetting off with `Loader::set_vetting(Vetting::Off)` for plugins you trust"
    )]
    ScannerNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Loading the file crashed, ended, hung or garbled the plugin scanner:
    /// it is not loaded in this process until it changes.
    #[error("{message}")]
    Quarantined {
        /// The file.
        path: PathBuf,
        /// What happened and what to do (names the file).
        message: String,
    },
    /// The file could not be vetted (no scanner could run), so it is not
    /// loaded in this process.
    #[error("{message}")]
    NotVetted {
        /// The file.
        path: PathBuf,
        /// Why it could not be vetted (names the file).
        message: String,
    },
    /// Isolated mode ([`Mode::Process`](crate::Mode::Process)) was asked
    /// for on a platform without it (other than Unix).
    #[error(
        "{path}: cannot run the plugin in its own process: isolated mode needs Unix domain sockets; run this plugin in-process on this platform (isolation = \"in-process\", the default)"
    )]
    IsolationUnsupported {
        /// The plugin file.
        path: PathBuf,
    },
    /// The plugin could not be started in its own process.
    #[error("{path}: cannot run the plugin in its own process: {message}")]
    Isolated {
        /// The plugin file.
        path: PathBuf,
        /// What went wrong (the plugin server's own message when it could
        /// not load the plugin).
        message: String,
    },
    /// The plugin file (or its checksum sidecar) failed a check made
    /// before loading: its type, its permissions or its checksum.
    #[error("{0}{hint}", hint = integrity_hint(.0))]
    Integrity(#[from] rivet_host::IntegrityError),
    /// An installed plugin's file name disagrees with what the plugin reports.
    #[error(
        "{path}: the file name says {field} {file_says}, but the plugin reports {plugin_says}; the file is ignored. Reinstall it with `rivet plugins install`"
    )]
    InstalledNameMismatch {
        /// The plugin file.
        path: PathBuf,
        /// What disagrees: `kind`, `name`, `version` or `interface version`.
        field: &'static str,
        /// What the file name says.
        file_says: String,
        /// What the plugin reports.
        plugin_says: String,
    },
    /// No installed version satisfies a requirement.
    #[error(
        "no installed {kind} `{name}` from `{source_id}` matches `{requirement}` (installed: {installed}); install one with `rivet plugins install PACKAGE_OR_FILE --source {source_id}`, or `rivet init TEMPLATE --from DIR`"
    )]
    NoMatchingVersion {
        /// The kind required.
        kind: PluginKind,
        /// The name required.
        name: String,
        /// The source required.
        source_id: String,
        /// The version requirement.
        requirement: String,
        /// The versions installed, as text.
        installed: String,
    },
}

/// Why a call into a plugin failed. Every variant names the plugin: it is
/// shown as the plugin, then [`CallError::reason`] (`builder dir failed:
/// …`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The configuration given to the plugin is wrong.
    Config {
        /// The plugin, as `kind name`.
        plugin: String,
        /// What the plugin said.
        message: String,
    },
    /// The plugin reported a failure.
    Failed {
        /// The plugin, as `kind name`.
        plugin: String,
        /// What the plugin said.
        message: String,
    },
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked {
        /// The plugin, as `kind name`.
        plugin: String,
        /// The panic message and location.
        message: String,
    },
    /// The isolated plugin's process died during the call.
    Crashed {
        /// The plugin, as `kind name`.
        plugin: String,
        /// How the process ended (exit status or signal).
        status: String,
    },
    /// The isolated plugin did not answer in time; its process was killed.
    Timeout {
        /// The plugin, as `kind name`.
        plugin: String,
        /// The per-call timeout.
        seconds: f64,
    },
    /// The isolated plugin broke the protocol; its process was killed.
    Protocol {
        /// The plugin, as `kind name`.
        plugin: String,
        /// What was wrong.
        message: String,
    },
    /// The isolated plugin crashed too often to be started again for now:
    /// it was restarted `restarts` times within the last `seconds` (see
    /// [`Loader::set_restart_limit`](crate::Loader::set_restart_limit)).
    CrashLoop {
        /// The plugin, as `kind name`.
        plugin: String,
        /// How many times it was restarted within the window.
        restarts: u32,
        /// The restart window, in seconds.
        seconds: f64,
        /// How its process last ended.
        last: String,
    },
    /// A fresh process for the isolated plugin could not be started.
    Restart {
        /// The plugin, as `kind name`.
        plugin: String,
        /// Why.
        message: String,
    },
    /// The operation does not exist for this kind of plugin.
    WrongKind {
        /// The plugin, as `kind name`.
        plugin: String,
        /// Its kind.
        kind: PluginKind,
        /// What was asked of it.
        operation: &'static str,
    },
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.plugin(), self.reason())
    }
}

/// What went wrong in a [`CallError`], without the plugin's name: it reads
/// after whatever names the plugin (`builder #1 (dir) failed: …`).
#[derive(Debug, Clone, Copy)]
pub struct CallReason<'a>(&'a CallError);

impl fmt::Display for CallReason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            CallError::Config { message, .. } => {
                write!(f, "rejected its configuration: {message}")
            }
            CallError::Failed { message, .. } => write!(f, "failed: {message}"),
            CallError::Panicked { message, .. } => write!(f, "panicked: {message}"),
            CallError::Crashed { status, .. } => write!(
                f,
                "crashed: its process {status}; the next call starts a fresh one"
            ),
            CallError::Timeout { seconds, .. } => write!(
                f,
                "did not answer within {seconds}s; its process was killed"
            ),
            CallError::Protocol { message, .. } => write!(
                f,
                "sent something that is not the plugin protocol ({message}); its process was killed"
            ),
            CallError::CrashLoop {
                restarts,
                seconds,
                last,
                ..
            } => write!(
                f,
                "crashed again after {restarts} restarts within {seconds}s; not restarting it until that many seconds have passed since the first of them (last: {last}). Fix the plugin, or run it in-process to debug it"
            ),
            CallError::Restart { message, .. } => {
                write!(f, "could not be restarted in a fresh process: {message}")
            }
            CallError::WrongKind {
                kind, operation, ..
            } => write!(f, "is a {kind} plugin and cannot {operation}"),
        }
    }
}

impl CallError {
    /// The plugin that failed, as `kind name`.
    pub fn plugin(&self) -> &str {
        match self {
            CallError::Config { plugin, .. }
            | CallError::Failed { plugin, .. }
            | CallError::Panicked { plugin, .. }
            | CallError::Crashed { plugin, .. }
            | CallError::Timeout { plugin, .. }
            | CallError::Protocol { plugin, .. }
            | CallError::CrashLoop { plugin, .. }
            | CallError::Restart { plugin, .. }
            | CallError::WrongKind { plugin, .. } => plugin,
        }
    }

    /// What went wrong, for a message that already names the plugin.
    pub fn reason(&self) -> CallReason<'_> {
        CallReason(self)
    }

    /// The error a plugin returned, tagged with the plugin's label.
    pub(crate) fn from_plugin(plugin: &str, error: rivet_interface::Error) -> Self {
        let plugin = plugin.to_owned();
        let message = error.message().to_owned();
        match error.kind() {
            rivet_interface::ErrorKind::Config => CallError::Config { plugin, message },
            rivet_interface::ErrorKind::Failed => CallError::Failed { plugin, message },
            rivet_interface::ErrorKind::Panicked => CallError::Panicked { plugin, message },
        }
    }
}

/// What the `rivet` CLI's user does about a file that failed a check.
fn integrity_hint(error: &rivet_host::IntegrityError) -> &'static str {
    use rivet_host::IntegrityError::*;
    match error {
        ChecksumMismatch { .. } | MissingChecksum { .. } | SidecarTooLarge { .. } => {
            " with `rivet plugins install PACKAGE_OR_FILE` (or remove it with `rivet plugins remove`)"
        }
        InsecurePermissions { .. } => {
            " (`rivet --allow-insecure-plugins`, `Loader::allow_insecure_permissions(true)`)"
        }
        _ => "",
    }
}
