//! Errors as they cross the FFI boundary.

use abi_stable::StableAbi;
use abi_stable::std_types::RString;
use serde::{Deserialize, Serialize};

/// What kind of failure an [`RError`] reports.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The plugin's code returned an error.
    Failed,
    /// The plugin's code panicked; the panic was caught in the plugin.
    Panicked,
    /// The plugin's configuration did not parse.
    Config,
    /// Arguments or results did not decode (a host and a plugin built
    /// against different interfaces).
    Protocol,
}

/// An error crossing the boundary: its kind and message.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RError {
    /// What failed.
    pub kind: ErrorKind,
    /// The message, without the plugin's name (the host adds it).
    pub message: RString,
}

impl RError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RError {
        RError {
            kind,
            message: RString::from(message.into()),
        }
    }
}
