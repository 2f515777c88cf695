//! The metadata cache: what each plugin file said about itself, so that
//! listing plugins does not load every plugin on every run.
//!
//! The cache is one file (by default `$RIVET_HOME/cache/plugins.cache`)
//! holding, for each plugin file: its path; a stamp of the file (size,
//! modification time and, on Unix, inode and status-change time) and of
//! its checksum sidecar; the SHA-256 of the file and how it compared with
//! the sidecar; and what loading the file gave (the plugin's metadata, or
//! the error, and whether the file is quarantined: see [`rivet_host::vetting`]). An entry is used only while both stamps are unchanged, so a
//! warm run costs two `stat` calls per plugin and no hashing; any change to
//! a file (a write, a rename over it, a `chmod`, which all move the
//! status-change time) makes the next run load and hash it again.
//!
//! The cache only speeds up listing: loading a plugin always hashes the
//! file again (see [`crate::integrity`]), so a stale entry can make a
//! listing wrong, never load a changed file.
//!
//! The file is written to a temp file in the same directory and renamed
//! over the old one, so readers see the old or the new cache, never half
//! of one. A cache that cannot be read or decoded (corrupt, truncated, from
//! another version of Rivet) is ignored and rebuilt; one that cannot be
//! written is skipped with a debug log. Neither is ever an error.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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

/// The cache, read at the start of a listing and written at its end.
#[derive(Debug, Default)]
pub(crate) struct MetadataCache {
    file: Option<PathBuf>,
    old: HashMap<String, Entry>,
    new: HashMap<String, Entry>,
    changed: bool,
}

impl MetadataCache {
    /// Reads the cache at `file` (`None`: no cache, everything is a miss).
    /// An unreadable or corrupt cache is treated as empty.
    pub(crate) fn open(file: Option<&Path>) -> MetadataCache {
        let old = file.map(read).unwrap_or_default();
        MetadataCache {
            file: file.map(Path::to_owned),
            old,
            new: HashMap::new(),
            changed: false,
        }
    }

    /// The entry for `path`, if its stamps still match; it is kept for the
    /// next run.
    pub(crate) fn get(
        &mut self,
        path: &Path,
        file: Stamp,
        sidecar: Option<Stamp>,
    ) -> Option<Entry> {
        let key = key(path)?;
        let entry = self.old.get(&key)?;
        if !entry.is_for(file, sidecar) {
            return None;
        }
        let entry = entry.clone();
        self.new.insert(key, entry.clone());
        Some(entry)
    }

    /// Records `entry` for `path`.
    pub(crate) fn insert(&mut self, path: &Path, entry: Entry) {
        if let Some(key) = key(path) {
            self.new.insert(key, entry);
            self.changed = true;
        }
    }

    /// Writes the entries used or inserted since [`open`](Self::open), and
    /// the unused ones whose file is still there (one load, or a listing of
    /// some files, says nothing about the others), when anything changed
    /// or an entry's file is gone. A warm run that changed nothing writes
    /// nothing.
    pub(crate) fn save(mut self) {
        let Some(file) = self.file.take() else {
            return;
        };
        let mut dropped = false;
        for (key, entry) in self.old.drain() {
            if self.new.contains_key(&key) {
                continue;
            }
            if Path::new(&key).exists() {
                self.new.insert(key, entry);
            } else {
                dropped = true;
            }
        }
        if !self.changed && !dropped {
            return;
        }
        if let Err(error) = write(&file, &self.new) {
            log::debug!("cannot write the plugin cache {}: {error}", file.display());
        }
    }
}

fn key(path: &Path) -> Option<String> {
    path.to_str().map(str::to_owned)
}

fn read(file: &Path) -> HashMap<String, Entry> {
    let Ok(bytes) = fs::read(file) else {
        return HashMap::new();
    };
    let decoded = bytes
        .strip_prefix(MAGIC.as_slice())
        .and_then(|body| postcard::from_bytes::<Vec<(String, Entry)>>(body).ok());
    match decoded {
        Some(entries) => entries.into_iter().collect(),
        None => {
            log::warn!(
                "the plugin cache {} is corrupt or from another version; rebuilding it",
                file.display()
            );
            HashMap::new()
        }
    }
}

fn write(file: &Path, entries: &HashMap<String, Entry>) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut sorted: Vec<(&String, &Entry)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut bytes = MAGIC.to_vec();
    bytes.extend(postcard::to_stdvec(&sorted).map_err(std::io::Error::other)?);
    let mut temp = tempfile_in(dir)?;
    temp.1.write_all(&bytes)?;
    temp.1.sync_all()?;
    fs::rename(&temp.0, file).inspect_err(|_| {
        let _ = fs::remove_file(&temp.0);
    })
}

/// A new file `.plugins.cache.<pid>.<n>` in `dir`, created exclusively.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".plugins.cache.{}.{n}", std::process::id()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_interface::PluginKind;

    fn metadata() -> PluginMetadata {
        PluginMetadata {
            kind: PluginKind::Builder,
            name: "dir".into(),
            version: "1.2.3".into(),
            description: "d".into(),
            interface_version: "1.0.0".into(),
        }
    }

    #[test]
    fn entries_survive_a_round_trip_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("cache/plugins.cache");
        let plugin = dir.path().join("p.so");
        fs::write(&plugin, "one").unwrap();
        let stamp = Stamp::of(&plugin).unwrap();

        let mut cache = MetadataCache::open(Some(&cache_file));
        assert!(cache.get(&plugin, stamp, None).is_none());
        cache.insert(
            &plugin,
            Entry::new(stamp, None, None, Verdict::Loaded(Ok(metadata()))),
        );
        cache.save();

        let mut cache = MetadataCache::open(Some(&cache_file));
        let entry = cache.get(&plugin, stamp, None).unwrap();
        assert_eq!(entry.outcome().unwrap(), metadata());
        fs::write(&plugin, "two!").unwrap();
        let changed = Stamp::of(&plugin).unwrap();
        assert!(cache.get(&plugin, changed, None).is_none());
    }

    #[test]
    fn a_corrupt_cache_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("plugins.cache");
        for junk in [&b""[..], b"RIVETMC3\xff\xff\xff", b"garbage of all sorts"] {
            fs::write(&cache_file, junk).unwrap();
            let mut cache = MetadataCache::open(Some(&cache_file));
            let stamp = Stamp::of(&cache_file).unwrap();
            assert!(cache.get(&cache_file, stamp, None).is_none());
        }
    }
}
