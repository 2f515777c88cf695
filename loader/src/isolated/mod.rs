//! Isolated mode: a plugin in its own process, called over a Unix socket.
//!
//! The host side starts `rivet-plugin-server` for one plugin file, reads its
//! handshake, and calls it over connections to its socket ([`protocol`]);
//! the server side loads the plugin with the ordinary in-process loader and
//! serves it. A crash, hang or garbage in the plugin process is an error for
//! the call that saw it; the next call starts a fresh process, up to a
//! bound.
//!
//! Isolated mode needs Unix domain sockets, so it is available on Unix only.
//! This module is its facade: the wire protocol, the settings and
//! [`lock`] are the same everywhere; `unix` holds the implementation, and
//! elsewhere `unsupported` gives the same names ([`ProcessPlugin`],
//! [`RemoteInstance`], [`serve_plugin_process`], `Loader::start_isolated`)
//! around an uninhabited type: starting a plugin in its own process fails
//! with [`LoadError::IsolationUnsupported`](crate::LoadError::IsolationUnsupported),
//! and no handle to one can exist.

// Platform-neutral, but only the Unix side speaks it so far (elsewhere the
// handle types only name `Call` and `Output`).
#[cfg_attr(
    not(unix),
    expect(
        dead_code,
        unused_imports,
        reason = "isolated mode, which speaks it, is Unix-only"
    )
)]
pub mod protocol;

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
use unix as platform;

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
use unsupported as platform;

pub use platform::serve_plugin_process;
pub(crate) use platform::{ProcessPlugin, RemoteInstance};

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How isolated plugins are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessOptions {
    /// The `rivet-plugin-server` executable; `None`: beside the host's.
    pub(crate) server: Option<PathBuf>,
    /// How long one call may take before the process is killed.
    pub(crate) call_timeout: Duration,
    /// How long a server may take to load its plugin and print its
    /// handshake.
    pub(crate) handshake_timeout: Duration,
    /// How many times a crashed plugin process is started again within
    /// any `restart_window`.
    pub(crate) max_restarts: u32,
    /// The window `max_restarts` counts over.
    pub(crate) restart_window: Duration,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            server: None,
            call_timeout: Duration::from_secs(300),
            handshake_timeout: Duration::from_secs(20),
            max_restarts: 3,
            restart_window: Duration::from_secs(60),
        }
    }
}

/// Locks a mutex, carrying on if a thread panicked while holding it (the
/// data guarded here stays consistent between statements).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
