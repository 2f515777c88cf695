//! Isolated mode: a plugin in its own process, called over a Unix socket.
//!
//! The host side ([`process`]) starts `rivet-plugin-server` for one plugin
//! file, reads its handshake, and calls it over connections to its socket
//! ([`protocol`]); the server side ([`server`]) loads the plugin with the
//! ordinary in-process loader and serves it. A crash, hang or garbage in the
//! plugin process is an error for the call that saw it; the next call starts
//! a fresh process, up to a bound.
//!
//! Isolated mode needs Unix domain sockets and is available on Unix only.

pub(crate) mod process;
pub mod protocol;
pub(crate) mod server;

use std::env;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use rivet_interface::PluginKind;

/// The environment variable carrying the magic cookie.
const COOKIE_VAR: &str = "RIVET_PLUGIN_COOKIE";
/// The cookie: not a secret, only a guard against running the server by hand
/// (as go-plugin's magic cookie is).
const COOKIE_VALUE: &str = "c8e51a9b3f7d4e20-rivet-plugin";
const PROTOCOL_VAR: &str = "RIVET_PLUGIN_PROTOCOL";
const SOCKET_VAR: &str = "RIVET_PLUGIN_SOCKET";
const FILE_VAR: &str = "RIVET_PLUGIN_FILE";
const KIND_VAR: &str = "RIVET_PLUGIN_KIND";
const NAME_VAR: &str = "RIVET_PLUGIN_NAME";
const LOG_LEVEL_VAR: &str = "RIVET_PLUGIN_LOG_LEVEL";
const SEARCH_PATH_VAR: &str = "RIVET_PLUGIN_SEARCH_PATH";
const ALLOW_INSECURE_VAR: &str = "RIVET_PLUGIN_ALLOW_INSECURE";
const INSTALL_DIR_VAR: &str = "RIVET_PLUGIN_INSTALL_DIR";

/// What the host tells a plugin server through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerEnv {
    pub(crate) host_protocol: String,
    pub(crate) socket: PathBuf,
    pub(crate) file: PathBuf,
    pub(crate) kind: PluginKind,
    pub(crate) name: String,
    pub(crate) log_level: log::LevelFilter,
    pub(crate) search_path: Vec<PathBuf>,
    /// Load files other users can write (the host's setting): the server
    /// checks permissions itself, on the file it maps.
    pub(crate) allow_insecure: bool,
    /// The host's install root, for those permission checks.
    pub(crate) install_dir: Option<PathBuf>,
}

impl ServerEnv {
    /// Sets the variables (and the cookie) on the server's command.
    pub(crate) fn apply(&self, command: &mut Command) {
        command
            .env(COOKIE_VAR, COOKIE_VALUE)
            .env(PROTOCOL_VAR, &self.host_protocol)
            .env(SOCKET_VAR, &self.socket)
            .env(FILE_VAR, &self.file)
            .env(KIND_VAR, self.kind.as_str())
            .env(NAME_VAR, &self.name)
            .env(LOG_LEVEL_VAR, self.log_level.as_str())
            .env(
                SEARCH_PATH_VAR,
                env::join_paths(&self.search_path).unwrap_or_default(),
            )
            .env(
                ALLOW_INSECURE_VAR,
                if self.allow_insecure { "1" } else { "0" },
            );
        match &self.install_dir {
            Some(dir) => command.env(INSTALL_DIR_VAR, dir),
            None => command.env_remove(INSTALL_DIR_VAR),
        };
    }

    /// Reads the variables; `None` without the cookie (run by hand) or when
    /// one is missing or invalid.
    pub(crate) fn from_env() -> Option<ServerEnv> {
        if env::var(COOKIE_VAR).ok()? != COOKIE_VALUE {
            return None;
        }
        Some(ServerEnv {
            host_protocol: env::var(PROTOCOL_VAR).ok()?,
            socket: env::var_os(SOCKET_VAR)?.into(),
            file: env::var_os(FILE_VAR)?.into(),
            kind: env::var(KIND_VAR).ok()?.parse().ok()?,
            name: env::var(NAME_VAR).ok()?,
            log_level: env::var(LOG_LEVEL_VAR).ok()?.parse().ok()?,
            search_path: env::split_paths(&env::var_os(SEARCH_PATH_VAR)?).collect(),
            allow_insecure: env::var(ALLOW_INSECURE_VAR).ok()? == "1",
            install_dir: env::var_os(INSTALL_DIR_VAR).map(PathBuf::from),
        })
    }
}

/// Locks a mutex, carrying on if a thread panicked while holding it (the
/// data guarded here stays consistent between statements).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
