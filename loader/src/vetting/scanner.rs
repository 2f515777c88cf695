//! The four kinds' scanner: `rivet-plugin-server` in scan mode (see
//! [`rivet_host::vetting::serve_scans`]) loads each file with an ordinary
//! loader, vetting off (this process *is* the vetting), with the host's
//! permission settings, which the host passes in its environment.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use rivet_host::vetting::{Refusal, ScanSettings, serve_scans};

use crate::vetting::{ScanRequest, Vetting};
use crate::{LoadError, Loader, Mode, PluginMetadata, SearchPath};

/// The install root, for the permission checks of installed files.
const INSTALL_DIR_VAR: &str = "RIVET_SCAN_INSTALL_DIR";
/// `1` when files other users can write may be loaded.
const ALLOW_INSECURE_VAR: &str = "RIVET_SCAN_ALLOW_INSECURE";

impl Loader {
    /// What scanning needs, or `None` when vetting is off.
    pub(crate) fn scan_settings(&self) -> Result<Option<ScanSettings>, LoadError> {
        let Vetting::Scan { timeout } = self.trust.vetting else {
            return Ok(None);
        };
        let server = self
            .plugin_server()
            .map_err(|_| LoadError::ScannerNotFound {
                path: self.plugin_server_path(),
            })?;
        let mut env = vec![(
            OsString::from(ALLOW_INSECURE_VAR),
            OsString::from(if self.trust.allow_insecure { "1" } else { "0" }),
        )];
        if let Some(dir) = &self.trust.install_dir {
            env.push((INSTALL_DIR_VAR.into(), dir.into()));
        }
        Ok(Some(ScanSettings {
            server,
            timeout,
            env,
        }))
    }
}

/// Whether a load that failed with `error` had opened the library (or
/// tried to: `dlopen` itself failing runs no plugin code either way).
fn opened(error: &LoadError) -> bool {
    matches!(
        error,
        LoadError::NotALibrary { .. }
            | LoadError::NoRootModule { .. }
            | LoadError::IncompatibleInterface { .. }
            | LoadError::AbiMismatch { .. }
            | LoadError::InitFailed { .. }
            | LoadError::NameMismatch { .. }
            | LoadError::InstalledNameMismatch { .. }
    )
}

/// Runs the scanner until its stdin ends (see the module documentation).
pub(crate) fn serve() -> ExitCode {
    let mut loader = Loader::with_search_path(SearchPath::new());
    loader.set_vetting(Vetting::Off);
    loader.allow_insecure_permissions(std::env::var(ALLOW_INSECURE_VAR).is_ok_and(|v| v == "1"));
    loader.set_install_dir(std::env::var_os(INSTALL_DIR_VAR).map(PathBuf::from));
    serve_scans(|request: &ScanRequest| -> Result<PluginMetadata, Refusal> {
        loader
            .load_file_in(
                &request.path,
                request.plugin.kind,
                &request.plugin.name,
                Mode::InProcess,
            )
            .map(|plugin| plugin.metadata().clone())
            .map_err(|error| Refusal {
                message: error.to_string(),
                opened: opened(&error),
            })
    })
}
