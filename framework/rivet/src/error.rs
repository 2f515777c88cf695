//! The error of a plugin method, on both sides.

use rivet_abi::frame::FrameError;
use rivet_abi::{ErrorKind, RError};

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
    /// An isolated plugin's process could not be called: it exited or
    /// crashed, or sent garbage. The handle cannot be used again.
    #[error(
        "isolated plugin `{plugin}` could not be called in `{method}`: {source}; its process is gone, load the plugin again"
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
