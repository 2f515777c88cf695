//! Vetting: every plugin file is loaded first by a child process, the
//! scanner, before any host process maps it (the GStreamer model).
//!
//! Loading a shared library runs its code: ELF constructors before the
//! plugin's own `init`, and a constructor can crash, exit or hang the process
//! that loads it before Rivet can check anything. So, unless the host turns
//! vetting off ([`Loader::set_vetting`]), no plugin file is `dlopen`ed in the
//! host process before a scanner process — `rivet-plugin-server` in scan
//! mode — has loaded it with every check of an in-process load (permissions,
//! checksum, interface version, ABI layout, kind and name) and run its
//! `init`. A file that crashes, exits, hangs (longer than the scan timeout)
//! or garbles the scanner is **quarantined**: listed as broken with what
//! happened, and never loaded in-process until it changes.
//!
//! Verdicts are remembered per file identity (size, modification time,
//! inode and status-change time, and the same for its checksum sidecar): in
//! this process, and in the metadata cache ([`crate::cache`]) when the loader
//! has one, so a warm listing or load spawns nothing. New files are scanned
//! in batches: one scanner per core, each taking file after file; a scanner
//! that dies is replaced and the batch goes on with the next file, so a cold
//! listing of a thousand files starts a couple of processes, not a thousand.
//!
//! An in-process load vets the very file it opened: on Linux its scanner
//! gets the open descriptor (as fd 3) rather than the path, so a file
//! replaced meanwhile cannot pass for the one loaded. A scanner that refuses
//! a file before opening it (permissions, checksum) says nothing about what
//! its code does, so that too keeps the file out of the host; being a matter
//! of the loader's settings, such a refusal is reported but not kept. A
//! scanner is replaced after 100 files, since the libraries it loaded stay
//! mapped.
//!
//! A scanner ends when its stdin closes, and on Linux when the thread that
//! started it ends (`PR_SET_PDEATHSIG`), so a host killed mid-scan leaves
//! none behind.
//!
//! The scanner is Unix-only, as isolated mode is. This module is its
//! facade: the verdicts and their cache are the same everywhere; `unix`
//! holds the scanner, and elsewhere `unsupported` has none, so vetting is
//! always [`Vetting::Off`] there and files are loaded in the host directly.

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
use unix as platform;

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
use unsupported as platform;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use rivet_interface::PluginKind;

use crate::cache::{Entry, MetadataCache, Stamp};
use crate::catalog::{check_installed_name, checksum_state, installed_name};
use crate::integrity::sidecar_path;
use crate::isolated::lock;
use crate::parallel::in_parallel;
use crate::{LoadError, Loader, PluginMetadata};
use rivet_host::IntegrityError;

use platform::{scan, scan_open_file};

/// The default time a scanner may take to load one file.
pub const DEFAULT_SCAN_TIMEOUT: Duration = Duration::from_secs(10);

/// How a loader vets plugin files before loading them in-process (see the
/// module documentation).
///
/// The scanner exists on Unix only. On other platforms vetting is always
/// [`Off`](Vetting::Off), which is also the default there:
/// [`Loader::set_vetting`] with [`Scan`](Vetting::Scan) leaves it off, and
/// plugin files are loaded in the host directly, so a library whose
/// constructor crashes takes the host down.
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
    /// host without `rivet-plugin-server`.
    Off,
}

impl Default for Vetting {
    /// [`Vetting::Scan`] with [`DEFAULT_SCAN_TIMEOUT`] on Unix,
    /// [`Vetting::Off`] elsewhere.
    fn default() -> Self {
        platform::available(Vetting::Scan {
            timeout: DEFAULT_SCAN_TIMEOUT,
        })
    }
}

/// One file to scan: its path and the plugin its name (or the template)
/// says it holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ScanRequest {
    pub(crate) path: PathBuf,
    pub(crate) kind: PluginKind,
    pub(crate) name: String,
}

/// What scanning one file showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The scanner loaded it and came back: with its metadata, or with the
    /// load error's message. Loading it in-process is safe either way (it
    /// fails the same way there, cleanly).
    Loaded(Result<PluginMetadata, String>),
    /// It must not be loaded in this process: loading it crashed, ended,
    /// hung or garbled the scanner. The message names the file, says what
    /// happened and what to do.
    Quarantined(String),
}

/// Entries already known to this process, by file (their stamps say for
/// which version of it).
static KNOWN: LazyLock<Mutex<HashMap<PathBuf, Entry>>> = LazyLock::new(Default::default);

impl Loader {
    /// How plugin files are vetted before this process loads them (see
    /// [`Vetting`]; default: scanned, with a 10 s limit per file). Without a
    /// scanner (on platforms other than Unix) vetting stays
    /// [`Off`](Vetting::Off), whatever is asked.
    pub fn set_vetting(&mut self, vetting: Vetting) {
        self.trust.vetting = platform::available(vetting);
    }

    /// How plugin files are vetted.
    pub fn vetting(&self) -> Vetting {
        self.trust.vetting
    }

    /// Refuses to load `file` (opened from `path`) in this process unless a
    /// scanner loaded that same file without harm (when vetting is on),
    /// scanning it if this version of it has no verdict yet.
    pub(crate) fn vet_file(
        &self,
        path: &Path,
        file: &File,
        kind: PluginKind,
        name: &str,
    ) -> Result<(), LoadError> {
        if self.trust.vetting == Vetting::Off {
            return Ok(());
        }
        let stamp = Stamp::of_metadata(&file.metadata().map_err(|source| IntegrityError::Io {
            path: path.to_owned(),
            source,
        })?);
        let sidecar = Stamp::of(&sidecar_path(path));
        let request = ScanRequest {
            path: path.to_owned(),
            kind,
            name: name.to_owned(),
        };
        let not_vetted = |message| LoadError::NotVetted {
            path: path.to_owned(),
            message,
        };
        let entry = match known(path).filter(|entry| entry.is_for(stamp, sidecar)) {
            Some(entry) => entry,
            None => {
                let mut cache = MetadataCache::open(self.trust.cache_file.as_deref());
                let entry = match cache.get(path, stamp, sidecar) {
                    Some(entry) => entry,
                    None => {
                        let verdict = self.scan_open_file(file, &request).map_err(not_vetted)?;
                        let entry = self.new_entry(path, stamp, sidecar, verdict);
                        cache.insert(path, entry.clone());
                        entry
                    }
                };
                remember(path, &entry);
                cache.save();
                entry
            }
        };
        match entry.verdict() {
            Verdict::Loaded(_) => Ok(()),
            Verdict::Quarantined(message) => Err(LoadError::Quarantined {
                path: path.to_owned(),
                message,
            }),
        }
    }

    /// Scans the open `file`: on Linux the descriptor itself, elsewhere what
    /// its path names (which a process able to replace it could swap).
    fn scan_open_file(&self, file: &File, request: &ScanRequest) -> Result<Verdict, String> {
        let settings = self
            .scan_settings()
            .map_err(|error| cannot_vet(request, &error.to_string()))?;
        match scan_open_file(settings.as_ref().expect("vetting is on"), file, request) {
            // The scanner saw the file under another name: check what its
            // installed name says here.
            Ok(Verdict::Loaded(Ok(metadata))) => Ok(Verdict::Loaded(
                check_installed_name(&request.path, &metadata)
                    .map(|()| metadata)
                    .map_err(|error| error.to_string()),
            )),
            other => other,
        }
    }

    /// The entry for a file just vetted, with its checksum state.
    fn new_entry(
        &self,
        path: &Path,
        file: Stamp,
        sidecar: Option<Stamp>,
        verdict: Verdict,
    ) -> Entry {
        let checksum =
            (sidecar.is_some() || installed_name(path).is_some()).then(|| checksum_state(path));
        Entry::new(file, sidecar, checksum, verdict)
    }

    /// Vets every file of `requests` not vetted yet, in one batch, so that
    /// loading them one by one afterwards finds their verdicts.
    pub(crate) fn vet_files(&self, requests: &[ScanRequest]) {
        if self.trust.vetting == Vetting::Off {
            return;
        }
        let mut cache = MetadataCache::open(self.trust.cache_file.as_deref());
        self.entries(&mut cache, requests);
        cache.save();
    }

    /// The entry of each file of `requests`: from this process's memory or
    /// `cache` when its stamps still match, else vetted now (scanned, or
    /// loaded in the loader's mode when vetting is off), hashed against its
    /// sidecar, and recorded in both. `Err` says why a file could not be
    /// vetted at all (which is not recorded: it says nothing of the file).
    pub(crate) fn entries(
        &self,
        cache: &mut MetadataCache,
        requests: &[ScanRequest],
    ) -> Vec<Result<Entry, String>> {
        let mut entries: Vec<Option<Result<Entry, String>>> = Vec::with_capacity(requests.len());
        let mut pending = Vec::new();
        for request in requests {
            let sidecar = Stamp::of(&sidecar_path(&request.path));
            let Some(file) = Stamp::of(&request.path) else {
                entries.push(Some(Err(format!(
                    "{}: cannot read the plugin file",
                    request.path.display()
                ))));
                continue;
            };
            let found = cache.get(&request.path, file, sidecar).or_else(|| {
                let entry = known(&request.path).filter(|entry| entry.is_for(file, sidecar))?;
                cache.insert(&request.path, entry.clone());
                Some(entry)
            });
            if let Some(entry) = &found {
                remember(&request.path, entry);
            }
            entries.push(found.map(Ok));
            if entries.last().is_some_and(Option::is_none) {
                pending.push((entries.len() - 1, file, sidecar));
            }
        }
        let to_vet: Vec<ScanRequest> = pending.iter().map(|(i, ..)| requests[*i].clone()).collect();
        let verdicts = match self.scan_settings() {
            Ok(Some(settings)) => scan(&settings, &to_vet),
            Ok(None) => in_parallel(&to_vet, |request| {
                Ok(Verdict::Loaded(
                    self.load_file(&request.path, request.kind, &request.name)
                        .map(|plugin| plugin.metadata().clone())
                        .map_err(|error| error.to_string()),
                ))
            }),
            Err(error) => to_vet
                .iter()
                .map(|request| Err(cannot_vet(request, &error.to_string())))
                .collect(),
        };
        for ((i, file, sidecar), verdict) in pending.into_iter().zip(verdicts) {
            let path = &requests[i].path;
            entries[i] = Some(verdict.map(|verdict| {
                let entry = self.new_entry(path, file, sidecar, verdict);
                cache.insert(path, entry.clone());
                remember(path, &entry);
                entry
            }));
        }
        entries.into_iter().flatten().collect()
    }
}

/// The entry this process already has for `path`, of whatever version.
fn known(path: &Path) -> Option<Entry> {
    lock(&KNOWN).get(path).cloned()
}

/// Remembers `entry` for `path`, for this process.
fn remember(path: &Path, entry: &Entry) {
    lock(&KNOWN).insert(path.to_owned(), entry.clone());
}

/// Why `request`'s file is not loaded when no scanner could look at it.
pub(crate) fn cannot_vet(request: &ScanRequest, why: &str) -> String {
    format!(
        "{}: not loaded, as it cannot be vetted: {why}",
        request.path.display()
    )
}
