//! [`Staging`]: where the store puts files before they go into place.
//!
//! Every install (and packing, and reading a package's manifest) works in a
//! private directory `<install root>/.staging/<PID>-<random>/`. Plugin files
//! are copied or unpacked into it (streamed: never whole in memory), checked
//! there, and reach the plugin directory by one rename, as do their
//! sidecars: staging lies on the file system of the plugin directories, so
//! nothing is copied twice and no temp file is ever left in a plugin
//! directory. The loader's listings skip `.staging`, as every name starting
//! with `.`.
//!
//! The directory (and `.staging`, when no other install uses it) is
//! removed when the [`Staging`] is dropped. A process killed meanwhile
//! (`kill -9`, Ctrl-C) leaves its directory behind: the next [`Staging`]
//! created in the same install root removes every staging directory whose
//! process (the PID in its name) no longer runs, so nothing accumulates.

use std::cell::Cell;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rivet_host::integrity::sha256_hex;

use crate::error::{StoreError, io};

/// The staging directory's name inside the install root.
pub(crate) const STAGING_DIR: &str = ".staging";

/// One process's staging directory, removed when dropped (with
/// `.staging` itself once no other install uses it). Create one with
/// [`Staging::new`] in the directory [`install_root`](crate::install_root)
/// returns and give it to the functions that check, install or pack
/// plugins.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    next: Cell<u32>,
}

impl Staging {
    /// Creates this process's staging directory under `root` (the install
    /// root), first removing those of processes that no longer run.
    pub fn new(root: &Path) -> Result<Staging, StoreError> {
        let base = root.join(STAGING_DIR);
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        let mut attempts = 0;
        loop {
            builder.create(&base).map_err(io(&base))?;
            remove_abandoned(&base);
            match tempfile::Builder::new()
                .prefix(&format!("{}-", std::process::id()))
                .tempdir_in(&base)
            {
                Ok(dir) => {
                    return Ok(Staging {
                        dir: dir.keep(),
                        next: Cell::new(0),
                    });
                }
                // Another install that just ended removed `.staging`.
                Err(error) if error.kind() == io::ErrorKind::NotFound && attempts < 3 => {
                    attempts += 1;
                }
                Err(error) => return Err(io(&base)(error)),
            }
        }
    }

    /// A path inside the staging directory that nothing uses yet.
    pub(crate) fn unique(&self) -> PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        self.dir.join(n.to_string())
    }

    /// A new, empty directory inside the staging directory.
    pub(crate) fn new_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.unique();
        fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Writes everything `reader` yields to a new staged file with `mode`,
    /// flushed to disk; returns the file and its SHA-256.
    pub(crate) fn write(&self, reader: impl Read, mode: u32) -> io::Result<(PathBuf, String)> {
        let path = self.unique();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&path)?;
        #[cfg(unix)]
        {
            // Whatever the umask says.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        let digest = sha256_hex(Tee {
            reader,
            copy: &mut file,
        })?;
        file.sync_all()?;
        Ok((path, digest))
    }

    /// Replaces `target` by a staged file holding `bytes`, in one rename.
    pub(crate) fn replace(&self, target: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
        let (staged, _) = self.write(bytes, mode).map_err(io(target))?;
        fs::rename(&staged, target).map_err(io(target))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            log::debug!("cannot remove {}: {error}", self.dir.display());
        }
        if let Some(base) = self.dir.parent() {
            // Fails, as it should, while other installs stage files.
            let _ = fs::remove_dir(base);
        }
    }
}

/// A reader that writes a copy of everything read through it.
struct Tee<R, W> {
    reader: R,
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buffer)?;
        self.copy.write_all(&buffer[..n])?;
        Ok(n)
    }
}

/// Removes the staging directories in `base` whose process no longer runs.
fn remove_abandoned(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|name| name.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !is_running(pid)
            && let Err(error) = fs::remove_dir_all(entry.path())
        {
            log::debug!(
                "cannot remove the abandoned staging directory {}: {error}",
                entry.path().display()
            );
        }
    }
}

/// Whether process `pid` runs (when that cannot be told, as on Windows: yes,
/// so nothing is removed that may be in use).
fn is_running(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks whether `pid` exists and may be
        // signalled; nothing is sent.
        let status = unsafe { libc::kill(pid, 0) };
        status == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_are_hashed_and_abandoned_directories_removed() {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().join(STAGING_DIR);
        // A directory of a process that cannot run (pid_max is at most 2^22).
        let abandoned = base.join("4294967-abc");
        fs::create_dir_all(&abandoned).unwrap();
        let other = base.join("not-a-pid");
        fs::create_dir_all(&other).unwrap();

        let staging = Staging::new(root.path()).unwrap();
        assert!(!abandoned.exists() && other.exists());
        let (file, digest) = staging.write(&b"abc"[..], 0o644).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"abc");
        assert_eq!(digest, sha256_hex(&b"abc"[..]).unwrap());
        // This process runs: a second install leaves the first one's alone.
        let second = Staging::new(root.path()).unwrap();
        assert!(file.exists());
        let dir = staging.dir.clone();
        drop(staging);
        assert!(!dir.exists() && base.exists());
        drop(second);
        assert!(base.exists(), "`other` is still there");
        fs::remove_dir(&other).unwrap();
        drop(Staging::new(root.path()).unwrap());
        assert!(!base.exists());
    }
}
