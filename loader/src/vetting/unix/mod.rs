//! Vetting on Unix: scanner processes (`rivet-plugin-server` in scan mode)
//! load each new file before the host does.

pub(crate) mod child;
mod scanner;

pub(crate) use scanner::scan;

use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use super::{ScanRequest, Verdict, Vetting};
use crate::{LoadError, Loader};

/// What the scanner needs to check files as the host would.
#[derive(Debug, Clone)]
pub(crate) struct ScanSettings {
    pub(crate) server: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) allow_insecure: bool,
    pub(crate) install_dir: Option<PathBuf>,
}

/// The vetting a loader asked for is the one it gets: Unix has a scanner.
pub(crate) fn available(vetting: Vetting) -> Vetting {
    vetting
}

/// Scans the open `file`: on Linux the descriptor itself, elsewhere what
/// its path names (which a process able to replace it could swap).
pub(crate) fn scan_open_file(
    settings: &ScanSettings,
    file: &File,
    request: &ScanRequest,
) -> Result<Verdict, String> {
    #[cfg(target_os = "linux")]
    return scanner::scan_open_file(settings, file, request);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        scan(settings, std::slice::from_ref(request)).remove(0)
    }
}

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
        Ok(Some(ScanSettings {
            server,
            timeout,
            allow_insecure: self.trust.allow_insecure,
            install_dir: self.trust.install_dir.clone(),
        }))
    }
}
