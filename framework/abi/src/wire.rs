//! The messages between a host and the framework's plugin server.
//!
//! The server talks over its stdin and stdout, one [`frame`](crate::frame)
//! per message. The host sends [`Request::Start`] with the plugin's
//! configuration; the server answers [`Hello`], then one [`Reply`] per
//! [`Request::Call`], in order. End of input ends the server.

use serde::{Deserialize, Serialize};

use crate::ErrorKind;

/// The version of this protocol, separate from [`FRAMEWORK_ABI`](crate::FRAMEWORK_ABI)
/// and from every interface's version.
pub const PROTOCOL_VERSION: u32 = 1;

/// A message from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Create the instance from this configuration (JSON text).
    Start {
        /// The configuration.
        config: String,
    },
    /// Call method number `method` with postcard arguments.
    Call {
        /// The method's index, in declaration order.
        method: u32,
        /// The arguments, as the generated client encoded them.
        args: Vec<u8>,
    },
}

/// The server's answer to [`Request::Start`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hello {
    /// The plugin loaded and its instance exists.
    Ready {
        /// The server's [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The interface's name, version and signature.
        interface: [String; 3],
        /// The plugin's name, version and description.
        plugin: [String; 3],
    },
    /// The plugin did not load or its instance was not created.
    Failed {
        /// Why.
        message: String,
    },
}

/// The answer to a [`Request::Call`]: the postcard reply, or an error.
pub type Reply = Result<Vec<u8>, (ErrorKind, String)>;
