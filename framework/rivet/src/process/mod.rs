//! The host's side of isolated mode: a plugin server per plugin instance,
//! called over its stdin and stdout, watched, and restarted when it ends.
//!
//! The host starts `rivet-server LIBRARY` with a cookie in its environment,
//! sends [`Request::Start`] with the configuration, reads [`Hello`], then
//! sends one [`Request::Call`] per call and reads its [`Reply`]. Until the
//! hello or the reply comes, it answers each [`Response::Callback`] (the
//! plugin calling the host's object) with the host's dispatch. Calls on one
//! handle take turns. Dropping the handle closes the server's stdin, which
//! ends it.
//!
//! The limits are the host's [`ProcessLimits`] (`Config::call_timeout`,
//! `handshake_timeout`, `restart_limit`):
//!
//! - **The handshake** runs with both pipes non-blocking: each read and
//!   write first waits (`poll(2)`) until the pipe is ready or the handshake
//!   deadline passes, so a server that never answers, never reads, or
//!   leaves a child of its own holding the pipes cannot hold the load up.
//! - **A call** writes its request and reads the reply from the
//!   non-blocking output, first spinning for it briefly (see `wait::Spin`:
//!   an unpinned call then needs no kernel wake-up), then waiting in
//!   `poll(2)` in 50 ms slices, checking between slices whether the server
//!   still lives (so that a process the plugin forked, holding the pipe,
//!   cannot hang the call). The server reads requests the same way. A
//!   watchdog thread per server sleeps until the running call's deadline
//!   and kills the server if that call is still running; the caller then
//!   reads end-of-file. On the call's path the watchdog costs a clock read
//!   and two atomic operations, no system call.
//! - **A server that ended** (a crash, an exit, a timeout, a protocol
//!   error) fails the call that found it so, and is reaped; the next call
//!   starts a fresh server for the same file, configuration and host
//!   object, at most `max_restarts` times within any `restart_window` (the
//!   rule of the `rivet` CLI's isolated mode).
//!
//! This module is the facade: `unix` holds isolated mode, and elsewhere
//! `unsupported` has none (loading a plugin isolated is an error there).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) mod wait;
#[cfg(unix)]
use unix as platform;

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
use unsupported as platform;

use std::fs::File;
use std::sync::Arc;

pub use platform::Client;
pub(crate) use platform::start;

/// The environment variable carrying the cookie.
pub(crate) const COOKIE_VAR: &str = "RIVET_SERVER_COOKIE";
/// Not a secret: a guard against running the server by hand, as go-plugin's
/// magic cookie is.
pub(crate) const COOKIE: &str = "5d0c7e1a-rivet-framework-server";
/// The environment variable carrying the host's log level.
pub(crate) const LOG_VAR: &str = "RIVET_SERVER_LOG";

/// The environment variable asking a host's own executable to serve one of
/// its built-in plugins (`INTERFACE:NAME`) instead of running as the host
/// (see [`Loader::serve_builtin`](crate::Loader::serve_builtin)).
pub(crate) const BUILTIN_VAR: &str = "RIVET_SERVE_BUILTIN";

/// The environment variable telling a server that its plugin file is its
/// descriptor 3, the file the host opened and checked (Linux).
#[cfg(target_os = "linux")]
pub(crate) const FD_VAR: &str = "RIVET_SERVER_FD";

/// What a server serves. (Where there is no isolated mode, on platforms
/// other than Unix, nothing reads it.)
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) enum Served {
    /// A plugin file, opened and checked by the host: on Linux the server
    /// gets this very file (as its descriptor 3, see [`FD_VAR`]) and loads
    /// it, not whatever the path names by then; restarts load it again.
    File(Arc<File>),
    /// A built-in plugin of the host (`INTERFACE:NAME`), served by the
    /// host's own executable.
    Builtin(String),
}

/// What the server said of its plugin.
pub(crate) struct Started {
    pub(crate) client: Client,
    pub(crate) interface: [String; 3],
    pub(crate) host: [String; 2],
    pub(crate) plugin: [String; 3],
}
