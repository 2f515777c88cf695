//! Vetting: every plugin file is loaded first by a child process, the
//! scanner, before any host process maps it (the GStreamer model).
//!
//! Loading a shared library runs its code: ELF constructors before the
//! plugin's own `init`, and a constructor can crash, exit or hang the process
//! that loads it before anything can be checked. So, unless a host turns
//! vetting off, no plugin file is `dlopen`ed in the host process before a
//! scanner process (the host's plugin server in scan mode, see
//! [`serve_scans`]) has loaded it with every check of an in-process load and
//! run its `init`. A file that crashes, exits, hangs (longer than the scan
//! timeout) or garbles the scanner gets a [`Verdict::Quarantined`]: the
//! host keeps it out of its process until the file changes.
//!
//! New files are scanned in batches ([`scan`]): one scanner per core, each
//! taking file after file; a scanner that dies is replaced and the batch
//! goes on with the next file, so a cold listing of a thousand files starts
//! a couple of processes, not a thousand. A scanner is replaced after 100
//! files, since the libraries it loaded stay mapped. An in-process load vets
//! the very file it opened ([`scan_open_file`]): on Linux its scanner gets
//! the open descriptor (as fd 3) rather than the path, so a file replaced
//! meanwhile cannot pass for the one loaded. A scanner that refuses a file
//! before opening it (permissions, checksum) says nothing about what its
//! code does: that is an `Err` (the file is not vetted), not a verdict.
//!
//! A scanner ends when its stdin closes, and when the process that started
//! it ends ([`crate::process::end_with_parent`]), so a host killed
//! mid-scan leaves none behind.
//!
//! The scanner is Unix-only, as isolated mode is. This module is its
//! facade: `unix` holds the scanner, and elsewhere `unsupported` has none,
//! so vetting is always [`Vetting::Off`] there and files are loaded in the
//! host directly.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
use unsupported as platform;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use platform::{scan, scan_open_file, scan_requested, serve_scans};

/// The default time a scanner may take to load one file.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(10);

/// How a host vets plugin files before loading them in-process (see the
/// module documentation).
///
/// The scanner exists on Unix only. On other platforms vetting is always
/// [`Off`](Vetting::Off), which is also the default there (see
/// [`Vetting::available`]): plugin files are loaded in the host directly,
/// so a library whose constructor crashes takes the host down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Vetting {
    /// Load each new file in a scanner process first (the default on Unix),
    /// giving it at most this long.
    Scan {
        /// How long loading one file may take in the scanner before it is
        /// killed and the file quarantined (default [`DEFAULT_SCAN_TIMEOUT`]).
        timeout: Duration,
    },
    /// Load files in the host directly: for plugins the host trusts, or a
    /// host without its plugin server.
    Off,
}

impl Default for Vetting {
    /// [`Vetting::Scan`] with [`DEFAULT_SCAN_TIMEOUT`] on Unix,
    /// [`Vetting::Off`] elsewhere.
    fn default() -> Self {
        Vetting::Scan {
            timeout: DEFAULT_SCAN_TIMEOUT,
        }
        .available()
    }
}

impl Vetting {
    /// The vetting this platform gives for this one asked for: the same on
    /// Unix, [`Vetting::Off`] elsewhere (there is no scanner).
    pub fn available(self) -> Vetting {
        if cfg!(unix) { self } else { Vetting::Off }
    }
}

/// One file to scan: its path, and `plugin`, what the host expects it to
/// hold (its kind and name, say), which the scanner checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRequest<P> {
    /// The file.
    pub path: PathBuf,
    /// What it must hold.
    pub plugin: P,
}

/// What scanning one file showed; `M` is what a plugin that loaded reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict<M> {
    /// The scanner loaded it and came back: with what the plugin reports,
    /// or with the load error's message. Loading it in-process is safe
    /// either way (it fails the same way there, cleanly).
    Loaded(Result<M, String>),
    /// It must not be loaded in this process: loading it crashed, ended,
    /// hung or garbled the scanner. The message names the file, says what
    /// happened and what to do.
    Quarantined(String),
}

/// Why a scanner did not load a file, as its load function reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The load error's message, naming the file.
    pub message: String,
    /// Whether the library was opened (its code ran) before the error: if
    /// not, a check before opening failed, which says nothing of what
    /// loading the file would do.
    pub opened: bool,
}

/// How to start scanners: the plugin server executable (started with the
/// scan cookie in its environment), how long one file may take, and the
/// environment the host passes on (its settings for the checks).
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// The executable, run in scan mode.
    pub server: PathBuf,
    /// How long loading one file may take.
    pub timeout: Duration,
    /// Variables set in each scanner's environment.
    pub env: Vec<(OsString, OsString)>,
}

/// Why the file at `path` is not loaded when no scanner could look at it.
pub fn cannot_vet(path: &Path, why: &str) -> String {
    format!(
        "{}: not loaded, as it cannot be vetted: {why}",
        path.display()
    )
}
