//! Isolated mode where there is none (not Unix): loading a plugin isolated
//! is an error, and no client can exist.

use std::path::{Path, PathBuf};

use rivet_host::ProcessLimits;

use super::{Served, Started};
use crate::host::Callbacks;
use crate::{Error, LoadError};

/// An isolated plugin: none can exist on this platform.
#[doc(hidden)]
pub enum Client {}

impl Client {
    /// How many methods the plugin has.
    pub fn methods(&self) -> u32 {
        match *self {}
    }

    pub(crate) fn set_methods(&mut self, _methods: usize) {
        match *self {}
    }

    /// Calls method number `index`.
    pub fn call(&self, _index: u32, _method: &str, _args: Vec<u8>) -> Result<Vec<u8>, Error> {
        match *self {}
    }
}

/// Isolated mode needs Unix: always an error naming the plugin.
pub(crate) fn start(
    _server: &Path,
    path: &Path,
    _served: Served,
    _config: &str,
    _callbacks: Option<Callbacks>,
    _limits: ProcessLimits,
) -> Result<Started, LoadError> {
    Err(LoadError::IsolationUnsupported {
        path: PathBuf::from(path),
    })
}
