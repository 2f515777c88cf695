//! Why a plugin file did not pass the checks made before it is loaded.

use std::io;
use std::path::PathBuf;

/// Why a plugin file (or its checksum sidecar) was refused before loading;
/// see [`integrity`](crate::integrity).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read it: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A plugin file or sidecar is a FIFO, socket, device or directory,
    /// which reading could block on or never finish.
    #[error(
        "{path}: this is {what}, not a regular file, so it was not read; remove it and put the plugin library there"
    )]
    NotAFile {
        /// The file.
        path: PathBuf,
        /// What it is instead (`a FIFO (named pipe)`, ...).
        what: &'static str,
    },
    /// The plugin file's digest is not one its sidecar lists.
    #[error(
        "{path}: the file changed since it was installed (SHA-256 {found}, but {sidecar} records {expected}); it was not loaded. Reinstall the plugin"
    )]
    ChecksumMismatch {
        /// The plugin file.
        path: PathBuf,
        /// Its checksum sidecar.
        sidecar: PathBuf,
        /// The digests the sidecar lists (joined with ` or `).
        expected: String,
        /// The digest of the file.
        found: String,
    },
    /// A sidecar is larger than any `sha256sum` output of a few lines.
    #[error(
        "{sidecar}: larger than {limit} bytes, so not the checksum file of {path}; neither was loaded. Remove it and reinstall the plugin"
    )]
    SidecarTooLarge {
        /// The plugin file.
        path: PathBuf,
        /// Its sidecar.
        sidecar: PathBuf,
        /// The largest sidecar read, in bytes.
        limit: u64,
    },
    /// A file that must have a sidecar (an installed, versioned plugin) has none.
    #[error(
        "{path}: installed plugin without its checksum file {sidecar}; it was not loaded. Reinstall the plugin, which writes it"
    )]
    MissingChecksum {
        /// The plugin file.
        path: PathBuf,
        /// The sidecar that is missing.
        sidecar: PathBuf,
    },
    /// The plugin file or a directory holding it can be changed by other users.
    #[error(
        "{path}: refusing to load a plugin from here: {problem}; fix it with {fix}, or allow insecure permissions explicitly"
    )]
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Which permission is wrong.
        problem: String,
        /// The command that fixes it.
        fix: String,
    },
}
