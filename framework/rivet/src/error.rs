//! The error of a plugin method, on both sides.

use std::time::Duration;

use rivet_abi::frame::FrameError;
use rivet_abi::{ErrorKind, RError};

use crate::LoadError;

/// What a fallible interface method returns (`Result<T, rivet::Error>`),
/// and what every method of a host handle returns on failure.
///
/// A plugin creates one with [`Error::new`]; the host sees it as
/// [`Error::Failed`], naming the plugin and the method.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error made by a plugin with [`Error::new`], before it reaches the host.
    #[error("{0}")]
    Message(String),
    /// The plugin's method returned an error.
    #[error("plugin `{plugin}` failed in `{method}`: {message}")]
    Failed {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin's method panicked; the panic was caught in the plugin and
    /// the plugin can be called again (its state may be inconsistent).
    #[error("plugin `{plugin}` panicked in `{method}`: {message}")]
    Panicked {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// The panic's message and location.
        message: String,
    },
    /// The plugin was built against an earlier minor version of the
    /// interface, which did not have the method yet: nothing was called.
    #[error(
        "plugin `{plugin}` has no `{method}`: it was built against `{interface}` {found}, and `{method}` came in {since}; rebuild the plugin against `{interface}` {since} or later"
    )]
    Unsupported {
        /// The plugin's name.
        plugin: String,
        /// The interface's name.
        interface: String,
        /// The interface version the plugin was built against.
        found: String,
        /// The method called.
        method: String,
        /// The interface version that added the method.
        since: String,
    },
    /// A call to the host's object (a host callback, seen by the plugin)
    /// failed or panicked; a panic was caught in the host.
    #[error("the host's `{method}` failed: {message}")]
    Host {
        /// The host trait's method called.
        method: String,
        /// The host's message (`it panicked: ...` for a panic).
        message: String,
    },
    /// The plugin called its host trait, and the host gave it no object
    /// (it was loaded without `Loader::load_with_host`).
    #[error("the host gave this plugin no `{0}` to call; load it with `Loader::load_with_host`")]
    NoHost(String),
    /// The arguments or the result of a call did not encode or decode: the
    /// host and the plugin disagree on a type.
    #[error(
        "cannot encode or decode a plugin call's arguments or result: {0}; rebuild the plugin against the host's interface crate"
    )]
    Codec(#[source] postcard::Error),
    /// An isolated plugin's server broke the protocol (sent a malformed,
    /// oversized or out-of-turn message) or its connection failed: its
    /// process was killed, and the next call starts a fresh one (see
    /// `Config::restart_limit`).
    #[error(
        "isolated plugin `{plugin}` broke the connection in `{method}`: {source}; its process was killed, and the next call starts a fresh one"
    )]
    Process {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// What failed on the connection.
        #[source]
        source: FrameError,
    },
    /// An isolated plugin's server ended during the call (or before it): the
    /// plugin crashed (`abort`, a segfault, a panic escaping it) or exited.
    /// The call failed, whatever it did before; the next call starts a
    /// fresh server (see `Config::restart_limit`).
    #[error(
        "isolated plugin `{plugin}` crashed in `{method}`: its process {status}; the next call starts a fresh one"
    )]
    Crashed {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// How the process ended: `exited with status 3`, `was killed by
        /// signal 6 (SIGABRT)`.
        status: String,
    },
    /// An isolated plugin did not answer within the call timeout
    /// (`Config::call_timeout`): its process was killed, and the next call
    /// starts a fresh one.
    #[error(
        "isolated plugin `{plugin}` did not answer `{method}` within the call timeout of {after:?}: its process was killed, and the next call starts a fresh one; if the call needs longer, raise `Config::call_timeout`"
    )]
    Timeout {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// The call timeout.
        after: Duration,
    },
    /// An isolated plugin's server ended again after as many restarts as
    /// `Config::restart_limit` allows within its window: it is not started
    /// again, and the method was not called, until the oldest of those
    /// restarts is a window old.
    #[error(
        "isolated plugin `{plugin}` keeps crashing: its process was restarted {restarts} times within {window:?}, the limit, and ended again ({last}); `{method}` was not called. It is restarted once the oldest of those restarts is {window:?} old: fix the plugin, run it in-process to debug it, or raise `Config::restart_limit`"
    )]
    CrashLoop {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// How many restarts the window holds (the limit).
        restarts: u32,
        /// The restart window.
        window: Duration,
        /// How the last process ended.
        last: String,
    },
    /// An isolated plugin's server ended, and the fresh one could not be
    /// started (its handshake failed or timed out, or the file now holds
    /// another plugin): the method was not called. The next call tries
    /// again, within the restart limit.
    #[error("isolated plugin `{plugin}` could not be restarted for `{method}`: {source}")]
    Restart {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// Why the fresh server did not start.
        #[source]
        source: Box<LoadError>,
    },
    /// The arguments of a call to an isolated plugin do not fit in a frame
    /// (`rivet_abi::frame::MAX_FRAME`): nothing was sent, and the plugin
    /// can be called again.
    #[error(
        "cannot call isolated plugin `{plugin}`'s `{method}`: its arguments take {bytes} bytes, more than the {limit} bytes a message may carry; pass less per call, or run the plugin in-process"
    )]
    TooLarge {
        /// The plugin's name.
        plugin: String,
        /// The method called.
        method: String,
        /// The size of the encoded call.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    /// An error with this message, for a plugin to return.
    pub fn new(message: impl Into<String>) -> Error {
        Error::Message(message.into())
    }

    /// The host's view of an error a plugin returned from `method`.
    pub(crate) fn from_plugin(
        plugin: &str,
        method: &str,
        kind: ErrorKind,
        message: String,
    ) -> Error {
        let (plugin, method) = (plugin.to_owned(), method.to_owned());
        match kind {
            ErrorKind::Panicked => Error::Panicked {
                plugin,
                method,
                message,
            },
            _ => Error::Failed {
                plugin,
                method,
                message,
            },
        }
    }
}

impl From<Error> for RError {
    fn from(error: Error) -> RError {
        let kind = match &error {
            Error::Panicked { .. } => ErrorKind::Panicked,
            Error::Codec(_) => ErrorKind::Protocol,
            _ => ErrorKind::Failed,
        };
        RError::new(kind, error.to_string())
    }
}
