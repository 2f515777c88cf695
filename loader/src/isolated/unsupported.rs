//! Isolated mode where there are no Unix domain sockets: it does not exist.
//!
//! The names the rest of the crate uses are here, around [`Unsupported`], a
//! type without values: starting a plugin in its own process fails with
//! [`LoadError::IsolationUnsupported`], so no [`ProcessPlugin`] or
//! [`RemoteInstance`] is ever made, and their methods cannot be called.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use rivet_interface::{Artifact, PluginKind};

use super::protocol::{Call, Output};
use crate::{CallError, LoadError, Loader, PluginMetadata};

/// No value: isolated mode does not run on this platform.
enum Unsupported {}

/// A plugin file served by a plugin process: none can exist here.
pub(crate) struct ProcessPlugin(Unsupported);

/// An instance prepared in a plugin process: none can exist here.
pub(crate) struct RemoteInstance(Unsupported);

impl Loader {
    /// Fails: a plugin cannot run in its own process on this platform.
    pub(crate) fn start_isolated(
        &self,
        path: &Path,
        _kind: PluginKind,
        _name: &str,
    ) -> Result<(Arc<ProcessPlugin>, PluginMetadata), LoadError> {
        Err(LoadError::IsolationUnsupported {
            path: path.to_owned(),
        })
    }
}

impl ProcessPlugin {
    pub(crate) fn prepare(
        self: &Arc<Self>,
        _config: &str,
        _base_dir: &Path,
    ) -> Result<RemoteInstance, CallError> {
        match self.0 {}
    }
}

impl RemoteInstance {
    pub(crate) fn call(&self, _call: impl FnOnce(u64) -> Call) -> Result<Output, CallError> {
        match self.0 {}
    }

    pub(crate) fn artifact(&self, _output: Output) -> Result<Artifact, CallError> {
        match self.0 {}
    }

    pub(crate) fn text(&self, _output: Output) -> Result<String, CallError> {
        match self.0 {}
    }

    pub(crate) fn code(&self, _output: Output) -> Result<i32, CallError> {
        match self.0 {}
    }
}

/// The whole `main` of `rivet-plugin-server` here: says that isolated mode
/// (and the plugin scanner) need Unix, and fails.
pub fn serve_plugin_process() -> ExitCode {
    eprintln!(
        "rivet-plugin-server: isolated mode and plugin vetting need Unix domain sockets and \
         are not available on this platform; Rivet runs plugins in-process here \
         (isolation = \"in-process\", the default)"
    );
    ExitCode::from(2)
}
