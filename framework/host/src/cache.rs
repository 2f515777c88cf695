//! A cache of what each plugin file said when it was checked, so that a
//! later run (another process) need not check it again: any kind of entry
//! ([`Cached`]), each for one version of its file ([`Stamp`] of the file
//! and of its checksum sidecar).
//!
//! The cache is one file holding, for each plugin file, its path and its
//! entry. An entry is used only while both stamps are unchanged, so a warm
//! run costs two `stat` calls per plugin; any change to a file (a write, a
//! rename over it, a `chmod`, which all move the status-change time) makes
//! the next run check it again. A cache only saves work: loading a plugin
//! always checks the file it opens.
//!
//! The file is written to a temp file in the same directory and renamed
//! over the old one, so readers see the old or the new cache, never half
//! of one. A cache that cannot be read or decoded (corrupt, truncated, from
//! another version of Rivet, or of another kind: each starts with its own
//! magic bytes) is ignored and rebuilt; one that cannot be written is
//! skipped with a debug log. Neither is ever an error.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Stamp;

/// An entry of a [`FileCache`]: what one version of a plugin file said.
pub trait Cached: Clone + Serialize + DeserializeOwned {
    /// Whether the entry is for the file version with these stamps (of the
    /// file and of its sidecar).
    fn is_for(&self, file: Stamp, sidecar: Option<Stamp>) -> bool;
}

/// The cache, read at the start of a run and written at its end.
#[derive(Debug)]
pub struct FileCache<E> {
    file: Option<PathBuf>,
    magic: &'static [u8; 8],
    old: HashMap<String, E>,
    new: HashMap<String, E>,
    changed: bool,
}

impl<E: Cached> FileCache<E> {
    /// Reads the cache at `file` (`None`: no cache, everything is a miss),
    /// whose format `magic` identifies. An unreadable or corrupt cache is
    /// treated as empty.
    pub fn open(file: Option<&Path>, magic: &'static [u8; 8]) -> FileCache<E> {
        let old = file.map(|file| read(file, magic)).unwrap_or_default();
        FileCache {
            file: file.map(Path::to_owned),
            magic,
            old,
            new: HashMap::new(),
            changed: false,
        }
    }

    /// The entry for `path`, if its stamps still match; it is kept for the
    /// next run.
    pub fn get(&mut self, path: &Path, file: Stamp, sidecar: Option<Stamp>) -> Option<E> {
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
    pub fn insert(&mut self, path: &Path, entry: E) {
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
    pub fn save(mut self) {
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
        if let Err(error) = write(&file, self.magic, &self.new) {
            log::debug!("cannot write the plugin cache {}: {error}", file.display());
        }
    }
}

fn key(path: &Path) -> Option<String> {
    path.to_str().map(str::to_owned)
}

fn read<E: DeserializeOwned>(file: &Path, magic: &[u8; 8]) -> HashMap<String, E> {
    let Ok(bytes) = fs::read(file) else {
        return HashMap::new();
    };
    let decoded = bytes
        .strip_prefix(magic.as_slice())
        .and_then(|body| postcard::from_bytes::<Vec<(String, E)>>(body).ok());
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

fn write<E: Serialize>(
    file: &Path,
    magic: &[u8; 8],
    entries: &HashMap<String, E>,
) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut sorted: Vec<(&String, &E)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut bytes = magic.to_vec();
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
    use serde::Deserialize;

    const MAGIC: &[u8; 8] = b"RIVETTC1";

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Entry {
        file: Stamp,
        said: String,
    }

    impl Cached for Entry {
        fn is_for(&self, file: Stamp, _sidecar: Option<Stamp>) -> bool {
            self.file == file
        }
    }

    #[test]
    fn entries_survive_a_round_trip_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("cache/plugins.cache");
        let plugin = dir.path().join("p.so");
        fs::write(&plugin, "one").unwrap();
        let stamp = Stamp::of(&plugin).unwrap();
        let entry = Entry {
            file: stamp,
            said: "dir 1.2.3".into(),
        };

        let mut cache = FileCache::<Entry>::open(Some(&cache_file), MAGIC);
        assert!(cache.get(&plugin, stamp, None).is_none());
        cache.insert(&plugin, entry.clone());
        cache.save();

        let mut cache = FileCache::<Entry>::open(Some(&cache_file), MAGIC);
        assert_eq!(cache.get(&plugin, stamp, None), Some(entry));
        fs::write(&plugin, "two!").unwrap();
        let changed = Stamp::of(&plugin).unwrap();
        assert!(cache.get(&plugin, changed, None).is_none());
        assert!(
            FileCache::<Entry>::open(Some(&cache_file), b"RIVETXX9")
                .get(&plugin, stamp, None)
                .is_none(),
            "another kind of cache is not read as this one"
        );
    }

    #[test]
    fn a_corrupt_cache_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let cache_file = dir.path().join("plugins.cache");
        for junk in [&b""[..], b"RIVETTC1\xff\xff\xff", b"garbage of all sorts"] {
            fs::write(&cache_file, junk).unwrap();
            let mut cache = FileCache::<Entry>::open(Some(&cache_file), MAGIC);
            let stamp = Stamp::of(&cache_file).unwrap();
            assert!(cache.get(&cache_file, stamp, None).is_none());
        }
    }
}
