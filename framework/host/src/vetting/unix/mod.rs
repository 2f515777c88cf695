//! Vetting on Unix: scanner processes (the host's plugin server in scan
//! mode) load each new file before the host does.

mod child;
mod scanner;

pub use child::{scan_requested, serve_scans};
pub use scanner::scan;

use std::fs::File;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ScanRequest, ScanSettings, Verdict};

/// Scans the open `file` (the one the host will load), `request` naming it
/// and what it must hold: on Linux the descriptor itself, elsewhere what
/// its path names (which a process able to replace it could swap). `Err`
/// says why it could not be vetted (naming the file), which says nothing
/// of the file.
pub fn scan_open_file<P: Serialize + Clone, M: DeserializeOwned + Send + 'static>(
    settings: &ScanSettings,
    file: &File,
    request: &ScanRequest<P>,
) -> Result<Verdict<M>, String> {
    #[cfg(target_os = "linux")]
    return scanner::scan_open_file(settings, file, request);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        scan(settings, std::slice::from_ref(request)).remove(0)
    }
}
