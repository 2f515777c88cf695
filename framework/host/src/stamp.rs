//! What identifies one version of a file without reading it.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// One version of a file: its size, modification time and, on Unix, inode
/// and status-change time. A write, a rename over it or a `chmod` all
/// change it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    ctime_ns: i128,
}

impl Stamp {
    /// The stamp of `path` (following symlinks); `None` when it cannot be
    /// read.
    pub fn of(path: &Path) -> Option<Stamp> {
        Some(Stamp::of_metadata(&fs::metadata(path).ok()?))
    }

    /// The stamp of a file from its metadata (of an open file, say).
    pub fn of_metadata(metadata: &fs::Metadata) -> Stamp {
        let mtime_ns = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (inode, ctime_ns) = {
            use std::os::unix::fs::MetadataExt;
            (
                metadata.ino(),
                i128::from(metadata.ctime()) * 1_000_000_000 + i128::from(metadata.ctime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (inode, ctime_ns) = (0, 0);
        Stamp {
            size: metadata.len(),
            mtime_ns,
            inode,
            ctime_ns,
        }
    }
}
