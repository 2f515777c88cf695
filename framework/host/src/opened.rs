//! Libraries opened in this process, each once per file.
//!
//! Plugin libraries are never unloaded: code and statics of a plugin may be
//! referenced by values the host still holds (abi_stable itself never
//! unloads). A library loaded once is remembered by the identity of its
//! file (device and inode on Unix, canonical path elsewhere) and not opened
//! or initialised again. Not by path: a plugin reinstalled at the same path
//! (written to a temp file and renamed over the old one) is a new inode,
//! hence a new library, while the dynamic linker itself would hand back the
//! old mapping for the same inode anyway. The inode of a mapped library
//! cannot be reused while the process lives, since libraries stay mapped.
//!
//! A file is loaded through [`Verified::load_path`], `/proc/self/fd/N` of
//! the descriptor that was checked on Linux. glibc's `dlopen` recognises an
//! already-loaded library by the name it was opened with before it looks at
//! inodes, so once the dynamic linker has mapped a file that descriptor is
//! kept open for the life of the process: its number, and so the name, is
//! never reused for another file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use crate::IntegrityError;
use crate::integrity::Verified;

/// Which file a library was loaded from (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(std::path::PathBuf),
}

/// One file's library, once it has been opened.
type Slot<T> = Arc<Mutex<Option<T>>>;

/// The libraries of one kind a process has opened, by file. Each file has
/// its own lock: two threads opening the same file wait for one another (a
/// library is initialised once), while different files open in parallel.
pub struct OpenedLibraries<T> {
    opened: LazyLock<Mutex<HashMap<FileId, Slot<T>>>>,
}

impl<T: Clone> Default for OpenedLibraries<T> {
    fn default() -> Self {
        OpenedLibraries::new()
    }
}

impl<T: Clone> OpenedLibraries<T> {
    /// None opened yet (for a `static`).
    pub const fn new() -> OpenedLibraries<T> {
        OpenedLibraries {
            opened: LazyLock::new(Default::default),
        }
    }

    /// The library of the checked file `verified` (named `path`): the one
    /// opened before from the same file, else `map` (the dynamic linker's
    /// open, given the path to open) then `finish` (the checks and
    /// initialisation) on what it mapped. Once `map` succeeds the
    /// descriptor is kept open for good (see the module documentation); a
    /// library `finish` refused is not remembered.
    pub fn open<M, E: From<IntegrityError>>(
        &self,
        path: &Path,
        verified: Verified,
        map: impl FnOnce(&Path) -> Result<M, E>,
        finish: impl FnOnce(M) -> Result<T, E>,
    ) -> Result<T, E> {
        // Not the path: by now it may name another file than the one open.
        let metadata = verified
            .file
            .metadata()
            .map_err(|source| IntegrityError::Io {
                path: path.to_owned(),
                source,
            })?;
        let id = file_id(path, &metadata)?;
        let slot = self
            .opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
            .or_default()
            .clone();
        let mut opened = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(library) = opened.as_ref() {
            return Ok(library.clone());
        }
        let mapped = map(&verified.load_path(path))?;
        // Keep the descriptor (and so the name dlopen saw) for good.
        std::mem::forget(verified.file);
        let library = finish(mapped)?;
        *opened = Some(library.clone());
        Ok(library)
    }
}

#[cfg(unix)]
fn file_id(_path: &Path, metadata: &std::fs::Metadata) -> Result<FileId, IntegrityError> {
    use std::os::unix::fs::MetadataExt;
    Ok(FileId::Inode(metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path, _metadata: &std::fs::Metadata) -> Result<FileId, IntegrityError> {
    let canonical = path.canonicalize().map_err(|source| IntegrityError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(FileId::Path(canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrity::open_verified;
    use std::fs;

    #[test]
    fn a_file_is_opened_once_and_a_replaced_file_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.so");
        fs::write(&path, b"one").unwrap();
        let libraries = OpenedLibraries::<String>::new();
        let open = |expected_calls: &mut u32| {
            libraries.open(
                &path,
                open_verified(&path, false).unwrap(),
                |load_path| {
                    *expected_calls += 1;
                    fs::read_to_string(load_path).map_err(|source| IntegrityError::Io {
                        path: load_path.to_owned(),
                        source,
                    })
                },
                Ok::<_, IntegrityError>,
            )
        };
        let mut calls = 0;
        assert_eq!(open(&mut calls).unwrap(), "one");
        assert_eq!(open(&mut calls).unwrap(), "one");
        assert_eq!(calls, 1, "opened once");
        // Replaced by rename, as an install does: a new file, a new library.
        let new = dir.path().join("f.so.new");
        fs::write(&new, b"two").unwrap();
        fs::rename(&new, &path).unwrap();
        assert_eq!(open(&mut calls).unwrap(), "two");
        assert_eq!(calls, 2);
    }
}
