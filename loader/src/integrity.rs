//! Integrity and trust: `_SHA256SUM` sidecars and file permissions.
//!
//! **Checksums.** An installed plugin `F` has a sidecar `F_SHA256SUM` (as
//! Packer's) holding the lowercase hex SHA-256 of `F`, written at install.
//! Before loading a file that has a sidecar (and installed, versioned files
//! must have one), the loader opens the file once, hashes the open file and
//! compares. On Linux the library is then loaded through `/proc/self/fd/N`
//! of that same open file, so the bytes hashed are the bytes `dlopen` maps:
//! swapping the file between the check and the load has no effect, and the
//! file may only be changed in place by its owner (see permissions). On
//! other platforms the library is loaded by path after the check, and a
//! window remains in which a process able to write the file could swap it.
//!
//! **Permissions.** As ssh does for keys, a plugin file is refused when it,
//! or the directory holding it (and, for installed plugins, every directory
//! up to the install root), is writable by the group or by others, or owned
//! by a user other than the current one or root: someone else could replace
//! the code this process runs. A directory with the sticky bit set (such as
//! `/tmp`) owned by root or by the current user is accepted. A host may
//! switch the check off with `Loader::allow_insecure_permissions`. The check
//! is Unix only; on Windows ACLs are not inspected.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::LoadError;

/// What a checksum sidecar's name adds to its plugin file's name.
pub const SIDECAR_SUFFIX: &str = "_SHA256SUM";

/// The checksum sidecar of plugin file `path`: `path` + `_SHA256SUM`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIDECAR_SUFFIX);
    PathBuf::from(name)
}

/// The lowercase hex SHA-256 of everything `reader` yields.
pub fn sha256_hex(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest a sidecar records (its first word, lowercased); `None` when
/// there is no sidecar.
pub(crate) fn read_sidecar(sidecar: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(sidecar) {
        Ok(text) => Ok(Some(
            text.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        )),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// A plugin file opened once and checked against its sidecar.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The open file whose bytes were hashed.
    pub(crate) file: File,
}

impl Verified {
    /// The path to hand to `dlopen` so that it maps exactly the hashed file:
    /// `/proc/self/fd/N` on Linux, else `fallback` (the file's own path).
    pub(crate) fn load_path(&self, fallback: &Path) -> PathBuf {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let _ = fallback;
            PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
        }
        #[cfg(not(target_os = "linux"))]
        {
            fallback.to_owned()
        }
    }
}

/// Opens `path` and checks it against its sidecar. Without a sidecar this
/// is `Ok(None)`, unless `required` (installed, versioned files), which is
/// an error.
pub(crate) fn open_verified(path: &Path, required: bool) -> Result<Option<Verified>, LoadError> {
    let io_error = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let sidecar = sidecar_path(path);
    let Some(expected) = read_sidecar(&sidecar).map_err(io_error)? else {
        if required {
            return Err(LoadError::MissingChecksum {
                path: path.to_owned(),
                sidecar,
            });
        }
        return Ok(None);
    };
    let file = File::open(path).map_err(io_error)?;
    let digest = sha256_hex(&file).map_err(io_error)?;
    if digest != expected {
        return Err(LoadError::ChecksumMismatch {
            path: path.to_owned(),
            sidecar,
            expected,
            found: digest,
        });
    }
    Ok(Some(Verified { file }))
}

/// Checks that the plugin file `path`, its directory and, when `root` is
/// given and holds the file, every directory up to `root` cannot be
/// changed by other users (see the module documentation).
pub(crate) fn check_permissions(path: &Path, root: Option<&Path>) -> Result<(), LoadError> {
    #[cfg(unix)]
    {
        let io_error = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let file = path.canonicalize().map_err(io_error)?;
        check_one(&file, false)?;
        let root = root.and_then(|r| r.canonicalize().ok());
        let mut dir = file.parent();
        while let Some(current) = dir {
            check_one(current, true)?;
            match &root {
                Some(root) if current.starts_with(root) && current != root => {
                    dir = current.parent();
                }
                _ => break,
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (path, root);
        Ok(())
    }
}

#[cfg(unix)]
fn check_one(path: &Path, is_dir: bool) -> Result<(), LoadError> {
    use std::os::unix::fs::MetadataExt;

    let metadata = fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let what = if is_dir { "directory" } else { "plugin file" };
    let insecure = |problem: String, fix: String| LoadError::InsecurePermissions {
        path: path.to_owned(),
        problem,
        fix,
    };
    let owner = metadata.uid();
    if owner != me && owner != 0 {
        return Err(insecure(
            format!("the {what} is owned by user id {owner}, not by you (user id {me}) or root"),
            format!("`chown {me} {}`", path.display()),
        ));
    }
    let mode = metadata.mode() & 0o7777;
    let sticky_and_ours = is_dir && mode & 0o1000 != 0;
    if sticky_and_ours {
        return Ok(());
    }
    let writable_by = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (_, true) => "others (world-writable)",
        (true, false) => "its group",
        (false, false) => return Ok(()),
    };
    Err(insecure(
        format!("the {what} is writable by {writable_by}: mode {mode:04o}"),
        format!("`chmod go-w {}`", path.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_sit_beside_their_file() {
        assert_eq!(
            sidecar_path(Path::new("/p/libplugin_builder_dir.so")),
            PathBuf::from("/p/libplugin_builder_dir.so_SHA256SUM")
        );
    }

    #[test]
    fn digests_are_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex(&b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_changed_file_is_refused_and_a_missing_sidecar_only_when_required() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"abc").unwrap();
        assert!(open_verified(&file, false).unwrap().is_none());
        assert!(matches!(
            open_verified(&file, true),
            Err(LoadError::MissingChecksum { .. })
        ));
        fs::write(
            sidecar_path(&file),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  f.so\n",
        )
        .unwrap();
        assert!(open_verified(&file, true).unwrap().is_some());
        fs::write(&file, b"abd").unwrap();
        let error = open_verified(&file, true).unwrap_err();
        assert!(
            matches!(error, LoadError::ChecksumMismatch { .. }),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn writable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        check_permissions(&file, None).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).unwrap();
        let error = check_permissions(&file, None).unwrap_err().to_string();
        assert!(
            error.contains("its group") && error.contains("0664"),
            "{error}"
        );
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_permissions(&file, None).unwrap_err().to_string();
        assert!(error.contains("world-writable"), "{error}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        check_permissions(&file, None).unwrap();
    }
}
