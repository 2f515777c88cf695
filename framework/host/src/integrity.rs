//! Integrity and trust: `_SHA256SUM` sidecars and file permissions.
//!
//! **Checksums.** An installed plugin `F` has a sidecar `F_SHA256SUM` (as
//! Packer's) in `sha256sum` format: lines of a lowercase hex SHA-256 and the
//! file name. It holds one line, except for the moment an install replaces
//! `F`, when it lists the old and the new digest (see [`sidecar_text`]).
//! Before loading a file that has a sidecar (and installed, versioned files
//! must have one), the loader opens the file once, hashes the open file,
//! then reads the sidecar and accepts the file when its digest is one of
//! those listed. Opening before reading makes a replacement invisible: an
//! install writes {old, new}, renames the new file into place, then writes
//! {new}, so a reader that opened either file finds its digest, unless the
//! last step already ran, in which case the path names another file than
//! the one it opened and it starts again (at most [`RETRIES`] times). Every
//! plugin file, with a sidecar or not, is opened once and judged on that
//! descriptor; on Linux the library is then loaded through
//! `/proc/self/fd/N` of that same open file, so the bytes checked are the
//! bytes `dlopen` maps: swapping the file, or a link naming it, between the
//! check and the load has no effect, and the file may only be changed in
//! place by its owner (see permissions). On other platforms
//! the library is loaded by path after the check, and a window remains in
//! which a process able to write the file could swap it.
//!
//! **File types.** Plugin files and sidecars are opened without blocking
//! and checked on the open descriptor: a FIFO, socket, device or directory
//! is refused by name (reading one could hang or never end), and a sidecar
//! is read up to [`MAX_SIDECAR`] bytes only.
//!
//! **Permissions.** As ssh does for keys, a plugin file is refused when it
//! (its open descriptor), or the directory holding its name as given (for a
//! link, the link's directory: whoever can write there decides what the
//! name means) (and, for installed plugins, every directory
//! up to the install root), is writable by the group or by others, or owned
//! by a user other than the current one or root: someone else could replace
//! the code this process runs. A directory with the sticky bit set (such as
//! `/tmp`) owned by root or by the current user is accepted. A host may
//! switch the check off (its loader's `allow_insecure_permissions`). The check
//! is Unix only; on Windows ACLs are not inspected.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::IntegrityError;

/// What a checksum sidecar's name adds to its plugin file's name.
pub const SIDECAR_SUFFIX: &str = "_SHA256SUM";

/// The largest sidecar read, in bytes: a few lines of `sha256sum` output.
pub const MAX_SIDECAR: u64 = 4096;

/// How many times a reader starts again when the file it hashed was
/// replaced (by an install) before it read the sidecar.
pub const RETRIES: usize = 5;

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

/// The text of the sidecar of file `file_name` listing `digests`, one
/// `sha256sum` line each (duplicates once).
pub fn sidecar_text(file_name: &str, digests: &[&str]) -> String {
    let mut text = String::new();
    for (i, digest) in digests.iter().enumerate() {
        if !digests[..i].contains(digest) {
            text.push_str(&format!("{digest}  {file_name}\n"));
        }
    }
    text
}

/// Opens `path` for reading without blocking (opening a FIFO would wait
/// for a writer) and checks on the open descriptor that it is a regular
/// file. Errors name `path`.
pub fn open_regular(path: &Path) -> Result<File, IntegrityError> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let not_a_file = |file_type: fs::FileType| IntegrityError::NotAFile {
        path: path.to_owned(),
        what: describe_type(file_type),
    };
    let file = options.open(path).map_err(|source| {
        // Sockets cannot be opened at all: say what the file is.
        match fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => not_a_file(metadata.file_type()),
            _ => IntegrityError::Io {
                path: path.to_owned(),
                source,
            },
        }
    })?;
    let metadata = file.metadata().map_err(|source| IntegrityError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(not_a_file(metadata.file_type()));
    }
    Ok(file)
}

/// What a file that is not a regular file is, for messages.
fn describe_type(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// The digests the sidecar of plugin file `path` lists (the first word of
/// each line, lowercased); `None` when there is no sidecar. A sidecar that
/// is not a regular file or is larger than [`MAX_SIDECAR`] is an error.
pub fn read_sidecar(path: &Path) -> Result<Option<Vec<String>>, IntegrityError> {
    let sidecar = sidecar_path(path);
    let file = match open_regular(&sidecar) {
        Ok(file) => file,
        Err(IntegrityError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let mut bytes = Vec::new();
    file.take(MAX_SIDECAR + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| IntegrityError::Io {
            path: sidecar.clone(),
            source,
        })?;
    if bytes.len() as u64 > MAX_SIDECAR {
        return Err(IntegrityError::SidecarTooLarge {
            path: path.to_owned(),
            sidecar,
            limit: MAX_SIDECAR,
        });
    }
    Ok(Some(
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_ascii_lowercase)
            .collect(),
    ))
}

/// A plugin file opened once and checked against its sidecar.
#[derive(Debug)]
pub struct Verified {
    /// The open file whose bytes were hashed.
    pub file: File,
}

impl Verified {
    /// The path to hand to `dlopen` so that it maps exactly the hashed file:
    /// `/proc/self/fd/N` on Linux, else `fallback` (the file's own path).
    pub fn load_path(&self, fallback: &Path) -> PathBuf {
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

/// Opens the regular file `path` and, when it has a sidecar, checks it
/// against it (see the module documentation). A file without a sidecar is
/// an error only when one is `required` (installed, versioned files).
pub fn open_verified(path: &Path, required: bool) -> Result<Verified, IntegrityError> {
    let (file, digest) = checked(path)?;
    if required && digest.is_none() {
        return Err(IntegrityError::MissingChecksum {
            path: path.to_owned(),
            sidecar: sidecar_path(path),
        });
    }
    Ok(Verified { file })
}

/// Checks `file`, a plugin file opened and checked by another process and
/// inherited from it (see [`crate::process::inherit_as_fd3`]), named
/// `path`: a regular file whose digest is one its sidecar lists when it has
/// one. The file is read at offsets (`pread`), never through its shared
/// position, so processes holding copies of it do not disturb one another.
#[cfg(unix)]
pub fn verify_inherited(file: File, path: &Path) -> Result<Verified, IntegrityError> {
    use std::os::unix::fs::FileExt;

    /// `file` read from offset 0 on, whatever its position.
    struct ReadAt<'a> {
        file: &'a File,
        offset: u64,
    }
    impl Read for ReadAt<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let read = self.file.read_at(buffer, self.offset)?;
            self.offset += read as u64;
            Ok(read)
        }
    }

    let io_error = |source| IntegrityError::Io {
        path: path.to_owned(),
        source,
    };
    let metadata = file.metadata().map_err(io_error)?;
    if !metadata.is_file() {
        return Err(IntegrityError::NotAFile {
            path: path.to_owned(),
            what: describe_type(metadata.file_type()),
        });
    }
    if let Some(expected) = read_sidecar(path)? {
        let digest = sha256_hex(ReadAt {
            file: &file,
            offset: 0,
        })
        .map_err(io_error)?;
        if !expected.contains(&digest) {
            return Err(IntegrityError::ChecksumMismatch {
                path: path.to_owned(),
                sidecar: sidecar_path(path),
                expected: expected.join(" or "),
                found: digest,
            });
        }
    }
    Ok(Verified { file })
}

/// The SHA-256 of the installed plugin file `path`, once checked against
/// its sidecar as a loader checks it (see the module documentation).
pub fn verified_digest(path: &Path) -> Result<String, IntegrityError> {
    checked(path)?
        .1
        .ok_or_else(|| IntegrityError::MissingChecksum {
            path: path.to_owned(),
            sidecar: sidecar_path(path),
        })
}

/// The open file `path`, and its digest once checked against its sidecar
/// (`None` when there is no sidecar).
fn checked(path: &Path) -> Result<(File, Option<String>), IntegrityError> {
    let io_error = |source| IntegrityError::Io {
        path: path.to_owned(),
        source,
    };
    let mut attempt = 0;
    loop {
        // The file first, then its sidecar: see the module documentation.
        let file = open_regular(path)?;
        let Some(expected) = read_sidecar(path)? else {
            return Ok((file, None));
        };
        let digest = sha256_hex(&file).map_err(io_error)?;
        if expected.contains(&digest) {
            return Ok((file, Some(digest)));
        }
        attempt += 1;
        if attempt > RETRIES || !replaced(path, &file) {
            return Err(IntegrityError::ChecksumMismatch {
                path: path.to_owned(),
                sidecar: sidecar_path(path),
                expected: expected.join(" or "),
                found: digest,
            });
        }
    }
}

/// Whether `path` now names another file than the open `file`.
fn replaced(path: &Path, file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(path), file.metadata()) {
            (Ok(now), Ok(open)) => (now.dev(), now.ino()) != (open.dev(), open.ino()),
            _ => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        false
    }
}

/// Checks that the open plugin `file` (named `path`), the directory
/// holding the name `path` as given (not where a link leads: that directory
/// decides what the name means) and, when `root` is given and holds the
/// path, every directory up to `root` cannot be changed by other users (see
/// the module documentation). The file is judged by its open descriptor, so
/// what was checked is what is loaded.
pub fn check_permissions(
    path: &Path,
    file: &File,
    root: Option<&Path>,
) -> Result<(), IntegrityError> {
    #[cfg(unix)]
    {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| IntegrityError::Io { path, source }
        };
        check_one(path, &file.metadata().map_err(io_error(path))?, false)?;
        let mut dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        loop {
            check_one(dir, &fs::metadata(dir).map_err(io_error(dir))?, true)?;
            match (root, dir.parent()) {
                (Some(root), Some(parent)) if dir.starts_with(root) && dir != root => {
                    dir = parent;
                }
                _ => return Ok(()),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file, root);
        Ok(())
    }
}

#[cfg(unix)]
fn check_one(path: &Path, metadata: &fs::Metadata, is_dir: bool) -> Result<(), IntegrityError> {
    use std::os::unix::fs::MetadataExt;

    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let what = if is_dir { "directory" } else { "plugin file" };
    let insecure = |problem: String, fix: String| IntegrityError::InsecurePermissions {
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
        assert!(open_verified(&file, false).is_ok());
        assert!(matches!(
            open_verified(&file, true),
            Err(IntegrityError::MissingChecksum { .. })
        ));
        fs::write(
            sidecar_path(&file),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  f.so\n",
        )
        .unwrap();
        assert!(open_verified(&file, true).is_ok());
        fs::write(&file, b"abd").unwrap();
        let error = open_verified(&file, true).unwrap_err();
        assert!(
            matches!(error, IntegrityError::ChecksumMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_sidecar_listing_several_digests_accepts_any_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"abc").unwrap();
        let abc = sha256_hex(&b"abc"[..]).unwrap();
        let abd = sha256_hex(&b"abd"[..]).unwrap();
        let text = sidecar_text("f.so", &[&abd, &abc, &abc]);
        assert_eq!(text.lines().count(), 2, "{text}");
        fs::write(sidecar_path(&file), text).unwrap();
        assert_eq!(verified_digest(&file).unwrap(), abc);
        fs::write(&file, b"abd").unwrap();
        assert_eq!(verified_digest(&file).unwrap(), abd);
        fs::write(&file, b"abe").unwrap();
        let error = verified_digest(&file).unwrap_err().to_string();
        assert!(error.contains(&format!("{abd} or {abc}")), "{error}");
    }

    #[test]
    fn an_oversized_sidecar_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"abc").unwrap();
        fs::write(sidecar_path(&file), vec![b'a'; MAX_SIDECAR as usize + 1]).unwrap();
        let error = open_verified(&file, false).unwrap_err();
        assert!(
            matches!(error, IntegrityError::SidecarTooLarge { .. })
                && error
                    .to_string()
                    .starts_with(&sidecar_path(&file).display().to_string()),
            "{error}"
        );
    }

    /// Makes a FIFO at `path`.
    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `name` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_refused_by_name_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"abc").unwrap();
        let sidecar = sidecar_path(&file);

        mkfifo(&sidecar);
        let error = open_verified(&file, true).unwrap_err().to_string();
        assert!(
            error.starts_with(&sidecar.display().to_string()) && error.contains("FIFO"),
            "{error}"
        );

        fs::remove_file(&sidecar).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &sidecar).unwrap();
        let error = open_verified(&file, true).unwrap_err().to_string();
        assert!(
            error.starts_with(&sidecar.display().to_string())
                && error.contains("a character device"),
            "{error}"
        );

        fs::remove_file(&file).unwrap();
        mkfifo(&file);
        let error = open_verified(&file, false).unwrap_err().to_string();
        assert!(
            error.starts_with(&file.display().to_string()) && error.contains("FIFO"),
            "{error}"
        );
        let error = open_regular(dir.path()).unwrap_err().to_string();
        assert!(error.contains("a directory"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn writable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.so");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let check = || check_permissions(&file, &File::open(&file).unwrap(), None);
        check().unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o664)).unwrap();
        let error = check().unwrap_err().to_string();
        assert!(
            error.contains("its group") && error.contains("0664"),
            "{error}"
        );
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let error = check().unwrap_err().to_string();
        assert!(error.contains("world-writable"), "{error}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        check().unwrap();
    }

    /// A link in a directory others may write is judged by that directory,
    /// not by the safe directory it points into: anyone could swap it.
    #[cfg(unix)]
    #[test]
    fn a_link_is_judged_by_the_directory_holding_it() {
        use std::os::unix::fs::PermissionsExt;

        let safe = tempfile::tempdir().unwrap();
        let file = safe.path().join("f.so");
        fs::write(&file, b"x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let open = tempfile::tempdir().unwrap();
        fs::set_permissions(open.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let link = open.path().join("f.so");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let error = check_permissions(&link, &File::open(&link).unwrap(), None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&open.path().display().to_string())
                && error.contains("world-writable"),
            "{error}"
        );
        check_permissions(&file, &File::open(&file).unwrap(), None).unwrap();
    }
}
