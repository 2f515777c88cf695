//! Vetting where there is no scanner: the scanner is `rivet-plugin-server`
//! in scan mode, which (as isolated mode) is Unix-only. Vetting is always
//! [`Vetting::Off`] here: plugin files are loaded in the host directly.

use std::fs::File;

use super::{ScanRequest, Verdict, Vetting};
use crate::{LoadError, Loader};

/// What a scanner would need: none can exist here.
pub(crate) enum ScanSettings {}

/// Whatever vetting a loader asks for, it gets [`Vetting::Off`]: there is
/// no scanner on this platform.
pub(crate) fn available(_asked: Vetting) -> Vetting {
    Vetting::Off
}

/// Scanning needs a scanner, of which there is none.
pub(crate) fn scan(
    settings: &ScanSettings,
    _requests: &[ScanRequest],
) -> Vec<Result<Verdict, String>> {
    match *settings {}
}

/// Scanning needs a scanner, of which there is none.
pub(crate) fn scan_open_file(
    settings: &ScanSettings,
    _file: &File,
    _request: &ScanRequest,
) -> Result<Verdict, String> {
    match *settings {}
}

impl Loader {
    /// Never anything to scan with: vetting is off on this platform.
    pub(crate) fn scan_settings(&self) -> Result<Option<ScanSettings>, LoadError> {
        Ok(None)
    }
}
