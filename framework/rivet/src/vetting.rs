//! Vetting framework plugin files before they are loaded in-process (see
//! [`rivet_host::vetting`]): `rivet-server` in scan mode loads each new
//! file, checks its root module, framework ABI and interface name, and
//! runs its `init`; a file that crashes, exits or hangs it is quarantined.
//! Verdicts are remembered per file version ([`Stamp`] of the file and of
//! its checksum sidecar): in this process, and in the cache file
//! `HOME/cache/verdicts.cache` when the host has a home directory (see
//! [`rivet_host::cache`]), so a file is scanned once, not once per run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{LazyLock, Mutex, PoisonError};

use rivet_host::cache::{Cached, FileCache};
use rivet_host::integrity::{self, Verified};
use rivet_host::vetting::{
    Refusal, ScanRequest, ScanSettings, Verdict, scan_open_file, serve_scans,
};
use rivet_host::{Config, Stamp, Vetting};
use serde::{Deserialize, Serialize};

use crate::listing::About;
use crate::{LoadError, library, log_bridge};

/// The interface a scanned file must implement, and the file's own path
/// (the scanner loads it through the host's descriptor, `/proc/self/fd/3`
/// on Linux, but finds its root module from its name and names it in
/// messages).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Wanted {
    interface: String,
    file: PathBuf,
}

/// A verdict and the versions of the file and its sidecar it is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Known {
    file: Stamp,
    sidecar: Option<Stamp>,
    verdict: Verdict<About>,
}

impl Cached for Known {
    fn is_for(&self, file: Stamp, sidecar: Option<Stamp>) -> bool {
        (self.file, self.sidecar) == (file, sidecar)
    }
}

/// Identifies the verdict cache's format.
const MAGIC: &[u8; 8] = b"RIVETFV1";

/// Verdicts of this process, by file.
static KNOWN: LazyLock<Mutex<HashMap<PathBuf, Known>>> = LazyLock::new(Default::default);

/// Refuses to load the checked file `verified` (named `path`) as a plugin
/// of `interface` in this process unless a scanner loaded that same file
/// without harm (when `config` vets files), scanning it if this version of
/// it has no verdict yet.
pub(crate) fn vet(
    config: &Config,
    path: &Path,
    verified: &Verified,
    interface: &str,
) -> Result<(), LoadError> {
    match verdict(config, path, verified, interface)? {
        // A file that loaded in the scanner, or failed cleanly there, is
        // loaded here (and fails the same way, with the host's error).
        None | Some(Verdict::Loaded(_)) => Ok(()),
        Some(Verdict::Quarantined(message)) => Err(LoadError::Quarantined {
            path: path.to_owned(),
            message,
        }),
    }
}

/// The scanner's verdict on the checked file `verified` (named `path`) as a
/// plugin of `interface`: remembered for this version of the file, else
/// scanned now; `None` when `config` does not vet files.
pub(crate) fn verdict(
    config: &Config,
    path: &Path,
    verified: &Verified,
    interface: &str,
) -> Result<Option<Verdict<About>>, LoadError> {
    let Vetting::Scan { timeout } = config.vetting_mode() else {
        return Ok(None);
    };
    let metadata = verified
        .file
        .metadata()
        .map_err(|source| rivet_host::IntegrityError::Io {
            path: path.to_owned(),
            source,
        })?;
    let stamps = (
        Stamp::of_metadata(&metadata),
        Stamp::of(&integrity::sidecar_path(path)),
    );
    let remembered = KNOWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
        .filter(|known| known.is_for(stamps.0, stamps.1))
        .cloned();
    let cache_file = config
        .home_dir()
        .map(|home| home.join("cache").join("verdicts.cache"));
    let mut cache = None;
    let known = remembered.or_else(|| {
        cache
            .insert(FileCache::<Known>::open(cache_file.as_deref(), MAGIC))
            .get(path, stamps.0, stamps.1)
    });
    let verdict = match known {
        Some(known) => {
            remember(path, &known);
            known.verdict
        }
        None => {
            let settings = ScanSettings {
                server: config.server_path(),
                timeout,
                env: Vec::new(),
            };
            let request = ScanRequest {
                path: path.to_owned(),
                plugin: Wanted {
                    interface: interface.to_owned(),
                    file: path.to_owned(),
                },
            };
            let verdict =
                scan_open_file(&settings, &verified.file, &request).map_err(|message| {
                    LoadError::NotVetted {
                        path: path.to_owned(),
                        message,
                    }
                })?;
            let known = Known {
                file: stamps.0,
                sidecar: stamps.1,
                verdict: verdict.clone(),
            };
            remember(path, &known);
            let mut cache = cache.unwrap_or_else(|| FileCache::open(cache_file.as_deref(), MAGIC));
            cache.insert(path, known);
            cache.save();
            verdict
        }
    };
    if let Verdict::Loaded(Ok(plugin)) = &verdict {
        log::debug!(
            "{}: vetted: plugin `{}` {} of interface `{}`",
            path.display(),
            plugin.name,
            plugin.version,
            plugin.interface
        );
    }
    Ok(Some(verdict))
}

/// Remembers `known` for `path`, for this process.
fn remember(path: &Path, known: &Known) {
    KNOWN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_owned(), known.clone());
}

/// Runs `rivet-server` as a scanner until its stdin ends.
pub(crate) fn serve() -> ExitCode {
    serve_scans(|request: &ScanRequest<Wanted>| -> Result<About, Refusal> {
        let refused = |error: LoadError, opened: bool| Refusal {
            message: error.to_string(),
            opened,
        };
        // The host checked the permissions; the checksum is checked again
        // on the descriptor loaded here.
        let verified =
            integrity::open_verified(&request.path, false).map_err(|e| refused(e.into(), false))?;
        let file = &request.plugin.file;
        let module = library::open(
            file,
            verified,
            log_bridge::stderr_sink(log::LevelFilter::Warn),
        )
        .map_err(|error| refused(error, true))?;
        About::of(file, module, &request.plugin.interface).map_err(|error| refused(error, true))
    })
}
