//! Vetting the four kinds' plugin files (see [`rivet_host::vetting`]):
//! `rivet-plugin-server` in scan mode loads each new file with every check
//! of an in-process load (permissions, checksum, interface version, ABI
//! layout, kind and name) before this process does.
//!
//! Verdicts are remembered per file identity (its [`Stamp`], and the
//! same for its checksum sidecar): in this process, and in the metadata
//! cache ([`crate::cache`]) when the loader has one, so a warm listing or
//! load spawns nothing. A refusal before the scanner opened the file (a
//! matter of the loader's settings) is reported but not kept.

// The scanner is Unix-only (see `rivet_host::vetting`); elsewhere vetting
// is always off and there is nothing to scan with.
#[cfg(unix)]
pub(crate) mod scanner;

#[cfg(not(unix))]
impl Loader {
    /// Never anything to scan with: vetting is off on this platform.
    pub(crate) fn scan_settings(
        &self,
    ) -> Result<Option<rivet_host::vetting::ScanSettings>, LoadError> {
        Ok(None)
    }
}

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use rivet_host::vetting::{cannot_vet, scan, scan_open_file};
use rivet_interface::PluginKind;

use crate::cache::{self, Entry, MetadataCache, Stamp};
use crate::catalog::{check_installed_name, checksum_state, installed_name};
use crate::integrity::sidecar_path;
use crate::isolated::lock;
use crate::{LoadError, Loader, PluginMetadata};
use rivet_host::IntegrityError;
use rivet_host::parallel::in_parallel;

pub use rivet_host::vetting::{DEFAULT_SCAN_TIMEOUT, Vetting};

/// The plugin a scanned file must hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Wanted {
    pub(crate) kind: PluginKind,
    pub(crate) name: String,
}

/// One file to scan, and the plugin it must hold.
pub(crate) type ScanRequest = rivet_host::vetting::ScanRequest<Wanted>;

/// What scanning one file showed.
pub(crate) type Verdict = rivet_host::vetting::Verdict<PluginMetadata>;

/// Entries already known to this process, by file (their stamps say for
/// which version of it).
static KNOWN: LazyLock<Mutex<HashMap<PathBuf, Entry>>> = LazyLock::new(Default::default);

impl Loader {
    /// How plugin files are vetted before this process loads them (see
    /// [`Vetting`]; default: scanned, with a 10 s limit per file). Without a
    /// scanner (on platforms other than Unix) vetting stays
    /// [`Off`](Vetting::Off), whatever is asked.
    pub fn set_vetting(&mut self, vetting: Vetting) {
        self.trust.vetting = vetting.available();
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
            plugin: Wanted {
                kind,
                name: name.to_owned(),
            },
        };
        let not_vetted = |message| LoadError::NotVetted {
            path: path.to_owned(),
            message,
        };
        let entry = match known(path).filter(|entry| entry.is_for(stamp, sidecar)) {
            Some(entry) => entry,
            None => {
                let mut cache = cache::open(self.trust.cache_file.as_deref());
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
            .map_err(|error| cannot_vet(&request.path, &error.to_string()))?;
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
        let mut cache = cache::open(self.trust.cache_file.as_deref());
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
                    self.load_file(&request.path, request.plugin.kind, &request.plugin.name)
                        .map(|plugin| plugin.metadata().clone())
                        .map_err(|error| error.to_string()),
                ))
            }),
            Err(error) => to_vet
                .iter()
                .map(|request| Err(cannot_vet(&request.path, &error.to_string())))
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
