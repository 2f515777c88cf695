//! The scanner process: `rivet-plugin-server` in scan mode.
//!
//! The host starts it with the scan cookie in its environment. It answers
//! [`ScanReply::Ready`] on its private channel (the real stdout; the fd 1
//! that plugins write to is pointed at stderr), then reads one
//! [`ScanRequest`] frame at a time from stdin, loads that file with an
//! ordinary loader (vetting off: this process *is* the vetting) and answers
//! with what the plugin reported or why it did not load. When stdin ends it
//! exits with `_exit`, running no destructor or `atexit` handler of the
//! libraries it loaded.

use std::env;
use std::io;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde::{Deserialize, Serialize};

use crate::isolated::protocol::{read_frame, write_frame};
use crate::vetting::{ScanRequest, Vetting};
use crate::{LoadError, Loader, Mode, PluginMetadata, SearchPath};

/// The variable carrying the scan cookie; its presence selects scan mode.
const SCAN_VAR: &str = "RIVET_PLUGIN_SCAN";
/// The cookie: only a guard against running scan mode by accident.
const SCAN_COOKIE: &str = "5d0c3b9e7a41f826-rivet-scan";
/// The install root, for the permission checks of installed files.
const INSTALL_DIR_VAR: &str = "RIVET_SCAN_INSTALL_DIR";
/// `1` when files other users can write may be loaded.
const ALLOW_INSECURE_VAR: &str = "RIVET_SCAN_ALLOW_INSECURE";

/// The version of the scan protocol, checked in [`ScanReply::Ready`]: a
/// scanner of another version is not used.
pub(crate) const SCAN_PROTOCOL: u32 = 1;

/// What the scanner answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ScanReply {
    /// Sent once at start.
    Ready {
        /// [`SCAN_PROTOCOL`] of the scanner.
        protocol: u32,
    },
    /// The file loaded; what the plugin reports.
    Loaded(PluginMetadata),
    /// The file did not load.
    Refused {
        /// The load error's message.
        message: String,
        /// Whether the library was opened (its code ran) before the error:
        /// if not, a check before opening failed here, which says nothing
        /// of what loading the file would do.
        opened: bool,
    },
}

/// What the host tells a scanner through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanEnv {
    pub(crate) allow_insecure: bool,
    pub(crate) install_dir: Option<PathBuf>,
}

impl ScanEnv {
    /// Sets the variables (and the cookie) on the scanner's command.
    pub(crate) fn apply(&self, command: &mut Command) {
        command.env(SCAN_VAR, SCAN_COOKIE).env(
            ALLOW_INSECURE_VAR,
            if self.allow_insecure { "1" } else { "0" },
        );
        match &self.install_dir {
            Some(dir) => command.env(INSTALL_DIR_VAR, dir),
            None => command.env_remove(INSTALL_DIR_VAR),
        };
    }

    /// Reads the variables; `None` without the cookie.
    pub(crate) fn from_env() -> Option<ScanEnv> {
        if env::var(SCAN_VAR).ok()? != SCAN_COOKIE {
            return None;
        }
        Some(ScanEnv {
            allow_insecure: env::var(ALLOW_INSECURE_VAR).is_ok_and(|v| v == "1"),
            install_dir: env::var_os(INSTALL_DIR_VAR).map(PathBuf::from),
        })
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

/// Runs the scanner until its stdin ends.
pub(crate) fn serve(spec: ScanEnv) -> ExitCode {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG)` only sets a flag of this process;
    // the arguments are plain integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let mut out = match crate::isolated::unix::server::private_stdout() {
        Ok(out) => out,
        Err(message) => {
            eprintln!("rivet-plugin-server: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut loader = Loader::with_search_path(SearchPath::new());
    loader.set_vetting(Vetting::Off);
    loader.allow_insecure_permissions(spec.allow_insecure);
    loader.set_install_dir(spec.install_dir);
    let ready = ScanReply::Ready {
        protocol: SCAN_PROTOCOL,
    };
    if write_frame(&mut out, &ready).is_ok() {
        let mut stdin = io::stdin().lock();
        while let Ok(Some(request)) = read_frame::<ScanRequest>(&mut stdin) {
            let reply = match loader.load_file_in(
                &request.path,
                request.kind,
                &request.name,
                Mode::InProcess,
            ) {
                Ok(plugin) => ScanReply::Loaded(plugin.metadata().clone()),
                Err(error) => ScanReply::Refused {
                    message: error.to_string(),
                    opened: opened(&error),
                },
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
