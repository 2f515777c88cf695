//! Vetting where there is no scanner (not Unix): [`Vetting::available`]
//! is always [`Vetting::Off`](super::Vetting::Off) here, so hosts load
//! files directly and never call these.

use std::fs::File;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Refusal, ScanRequest, ScanSettings, Verdict, cannot_vet};

const NO_SCANNER: &str = "there is no plugin scanner on this platform";

/// Scanning needs a scanner, of which there is none.
pub fn scan<P, M>(
    _settings: &ScanSettings,
    requests: &[ScanRequest<P>],
) -> Vec<Result<Verdict<M>, String>> {
    requests
        .iter()
        .map(|request| Err(cannot_vet(&request.path, NO_SCANNER)))
        .collect()
}

/// Scanning needs a scanner, of which there is none.
pub fn scan_open_file<P, M>(
    _settings: &ScanSettings,
    _file: &File,
    request: &ScanRequest<P>,
) -> Result<Verdict<M>, String> {
    Err(cannot_vet(&request.path, NO_SCANNER))
}

/// Never: there is no scan mode here.
pub fn scan_requested() -> bool {
    false
}

/// There is no scan mode here: returns at once.
pub fn serve_scans<P: DeserializeOwned, M: Serialize>(
    _load: impl FnMut(&ScanRequest<P>) -> Result<M, Refusal>,
) -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
