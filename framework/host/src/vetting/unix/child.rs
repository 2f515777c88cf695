//! The scanner process: a host's plugin server in scan mode.
//!
//! The host starts it with the scan cookie in its environment. It answers
//! [`ScanReply::Ready`] on its private channel (the real stdout; the fd 1
//! that plugins write to is pointed at stderr), then reads one
//! [`ScanRequest`] frame at a time from stdin, loads that file with the
//! server's load function (vetting off: this process *is* the vetting) and
//! answers with what the plugin reported or why it did not load. When stdin
//! ends it exits with `_exit`, running no destructor or `atexit` handler of
//! the libraries it loaded.

use std::env;
use std::io;
use std::process::{Command, ExitCode};

use rivet_abi::frame::{read_frame, write_frame};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::process::private_stdout;
use crate::vetting::{Refusal, ScanRequest};

/// The variable carrying the scan cookie; its presence selects scan mode.
const SCAN_VAR: &str = "RIVET_PLUGIN_SCAN";
/// The cookie: only a guard against running scan mode by accident.
const SCAN_COOKIE: &str = "5d0c3b9e7a41f826-rivet-scan";

/// The version of the scan protocol, checked in [`ScanReply::Ready`]: a
/// scanner of another version is not used.
pub(super) const SCAN_PROTOCOL: u32 = 2;

/// What the scanner answers; `M` is what a plugin that loaded reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum ScanReply<M> {
    /// Sent once at start.
    Ready {
        /// [`SCAN_PROTOCOL`] of the scanner.
        protocol: u32,
    },
    /// The file loaded; what the plugin reports.
    Loaded(M),
    /// The file did not load.
    Refused(Refusal),
}

/// Sets the scan cookie on a scanner's command.
pub(super) fn select_scan_mode(command: &mut Command) {
    command.env(SCAN_VAR, SCAN_COOKIE);
}

/// Whether this process was started as a scanner (the cookie is in its
/// environment): a plugin server checks this first and, if so, runs
/// [`serve_scans`].
pub fn scan_requested() -> bool {
    env::var(SCAN_VAR).is_ok_and(|cookie| cookie == SCAN_COOKIE)
}

/// Runs the scanner until its stdin ends, loading each requested file with
/// `load`, then ends the process with `_exit`.
pub fn serve_scans<P: DeserializeOwned, M: Serialize>(
    mut load: impl FnMut(&ScanRequest<P>) -> Result<M, Refusal>,
) -> ExitCode {
    crate::process::end_with_parent();
    let mut out = match private_stdout() {
        Ok(out) => out,
        Err(message) => {
            eprintln!("plugin scanner: {message}");
            return ExitCode::FAILURE;
        }
    };
    let ready = ScanReply::<M>::Ready {
        protocol: SCAN_PROTOCOL,
    };
    if write_frame(&mut out, &ready).is_ok() {
        let mut stdin = io::stdin().lock();
        while let Ok(Some(request)) = read_frame::<ScanRequest<P>>(&mut stdin) {
            let reply = match load(&request) {
                Ok(metadata) => ScanReply::Loaded(metadata),
                Err(refusal) => ScanReply::Refused(refusal),
            };
            if write_frame(&mut out, &reply).is_err() {
                break;
            }
        }
    }
    // SAFETY: `_exit` ends the process at once; nothing after it runs, and
    // skipping the loaded libraries' destructors is the point.
    unsafe { libc::_exit(0) }
}
