//! The messages between a host and the framework's plugin server.
//!
//! The server talks over its stdin and stdout, one [`frame`](crate::frame)
//! per message. The host sends [`Request::Start`] with the plugin's
//! configuration; the server answers [`Response::Hello`], then one
//! [`Response::Reply`] per [`Request::Call`], in order. While it creates
//! the instance or runs a call, the server may send
//! [`Response::Callback`]s (the plugin calling its host's object), each
//! answered by one [`Request::Answer`] before anything else. End of input
//! ends the server.

use serde::{Deserialize, Serialize};

use crate::ErrorKind;

/// The version of this protocol, separate from [`FRAMEWORK_ABI`](crate::FRAMEWORK_ABI)
/// and from every interface's version.
///
/// 2: host callbacks ([`Response`], [`Request::Answer`]).
pub const PROTOCOL_VERSION: u32 = 2;

/// A message from the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Create the instance from this configuration (JSON text).
    Start {
        /// The configuration.
        config: String,
        /// Whether the host has an object for the interface's host trait
        /// (else the plugin's calls to it fail in the plugin).
        host: bool,
    },
    /// Call method number `method` with postcard arguments.
    Call {
        /// The method's index, in declaration order.
        method: u32,
        /// The arguments, as the generated client encoded them.
        #[serde(with = "serde_bytes")]
        args: Vec<u8>,
    },
    /// The host's answer to a [`Response::Callback`].
    Answer(#[serde(with = "reply_bytes")] Reply),
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::Start`].
    Hello(Hello),
    /// The answer to a [`Request::Call`].
    Reply(#[serde(with = "reply_bytes")] Reply),
    /// The plugin calls host method number `method` (in the host trait's
    /// declaration order) with postcard arguments; the host answers with
    /// [`Request::Answer`].
    Callback {
        /// The host method's index.
        method: u32,
        /// The arguments, as the plugin's generated code encoded them.
        #[serde(with = "serde_bytes")]
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
        /// The interface's host trait's name and signature (empty without
        /// one).
        host: [String; 2],
        /// The plugin's name, version and description.
        plugin: [String; 3],
    },
    /// The plugin did not load or its instance was not created.
    Failed {
        /// Why.
        message: String,
    },
}

/// The answer to a [`Request::Call`] or a [`Response::Callback`]: the
/// postcard reply, or an error.
pub type Reply = Result<Vec<u8>, (ErrorKind, String)>;

/// [`Reply`] on the wire, its bytes as one byte string (serde would write a
/// `Vec<u8>` element by element).
mod reply_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Reply;
    use crate::ErrorKind;

    #[derive(Serialize)]
    enum Out<'a> {
        Ok(#[serde(with = "serde_bytes")] &'a [u8]),
        Err(&'a (ErrorKind, String)),
    }

    #[derive(Deserialize)]
    enum In {
        Ok(#[serde(with = "serde_bytes")] Vec<u8>),
        Err((ErrorKind, String)),
    }

    pub(super) fn serialize<S: Serializer>(
        reply: &Reply,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match reply {
            Ok(bytes) => Out::Ok(bytes),
            Err(error) => Out::Err(error),
        }
        .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Reply, D::Error> {
        Ok(match In::deserialize(deserializer)? {
            In::Ok(bytes) => Ok(bytes),
            In::Err(error) => Err(error),
        })
    }
}
