//! The metadata cache of the four kinds' plugin files: what each said
//! about itself, so that listing plugins does not load every plugin on
//! every run (by default `$RIVET_HOME/cache/plugins.cache`; how it is kept
//! is [`rivet_host::cache`]'s). Each entry holds, for one version of a
//! file, the SHA-256 of the file and how it compared with the sidecar, and
//! what loading the file gave (the plugin's metadata, or the error, and
//! whether the file is quarantined: see [`rivet_host::vetting`]).
//!
//! The cache only speeds up listing: loading a plugin always hashes the
//! file again (see [`crate::integrity`]), so a stale entry can make a
//! listing wrong, never load a changed file.

use std::path::Path;

use rivet_host::cache::{Cached, FileCache};
use serde::{Deserialize, Serialize};

pub(crate) use rivet_host::Stamp;

use crate::PluginMetadata;
use crate::vetting::Verdict;

/// Identifies the cache format; a file starting otherwise is rebuilt.
const MAGIC: &[u8; 8] = b"RIVETMC3";

/// How a plugin file compares with its checksum sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChecksumState {
    /// The sidecar matches the file.
    Ok,
    /// The file changed since it was installed.
    Mismatch,
    /// There is no sidecar (required for installed plugins).
    Missing,
    /// The file or its sidecar cannot be read.
    Unreadable(String),
}

impl std::fmt::Display for ChecksumState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChecksumState::Ok => f.write_str("ok"),
            ChecksumState::Mismatch => f.write_str("MISMATCH (changed since install)"),
            ChecksumState::Missing => f.write_str("missing"),
            ChecksumState::Unreadable(why) => write!(f, "unreadable ({why})"),
        }
    }
}

/// One cached plugin file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    file: Stamp,
    sidecar: Option<Stamp>,
    /// The checksum state, when the file has or needs a sidecar.
    pub(crate) checksum: Option<ChecksumState>,
    outcome: Result<PluginMetadata, String>,
    /// Loading it crashed, ended or hung the scanner (the error says how).
    quarantined: bool,
}

impl Entry {
    /// A new entry for a file with these stamps.
    pub(crate) fn new(
        file: Stamp,
        sidecar: Option<Stamp>,
        checksum: Option<ChecksumState>,
        verdict: Verdict,
    ) -> Entry {
        let (outcome, quarantined) = match verdict {
            Verdict::Loaded(outcome) => (outcome, false),
            Verdict::Quarantined(message) => (Err(message), true),
        };
        Entry {
            file,
            sidecar,
            checksum,
            outcome,
            quarantined,
        }
    }

    /// Whether the entry is for the file version with these stamps.
    pub(crate) fn is_for(&self, file: Stamp, sidecar: Option<Stamp>) -> bool {
        self.file == file && self.sidecar == sidecar
    }

    /// What loading the file gave: its metadata, or the error message.
    pub(crate) fn outcome(&self) -> Result<PluginMetadata, String> {
        self.outcome.clone()
    }

    /// What vetting the file showed.
    pub(crate) fn verdict(&self) -> Verdict {
        match (&self.outcome, self.quarantined) {
            (Err(message), true) => Verdict::Quarantined(message.clone()),
            (outcome, _) => Verdict::Loaded(outcome.clone()),
        }
    }
}

/// The cache of the four kinds' plugin files (see [`rivet_host::cache`]).
pub(crate) type MetadataCache = FileCache<Entry>;

/// Reads the cache at `file` (`None`: no cache, everything is a miss).
pub(crate) fn open(file: Option<&Path>) -> MetadataCache {
    FileCache::open(file, MAGIC)
}

impl Cached for Entry {
    fn is_for(&self, file: Stamp, sidecar: Option<Stamp>) -> bool {
        Entry::is_for(self, file, sidecar)
    }
}
