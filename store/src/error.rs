//! [`StoreError`]: why checking, installing, removing or packing plugins
//! failed.

use std::path::{Path, PathBuf};

use crate::manifest::MANIFEST;

/// Why checking, installing, removing, reading or packing plugins failed.
///
/// Checking, reading and packing never change the installed plugins;
/// [`write_installed`](crate::write_installed) and [`remove`](crate::remove())
/// stop at the first plugin that fails, the ones before it installed or
/// removed.
///
/// The messages say what is wrong and, where it helps, what to do about
/// the file; they name no command of the program using the store, which
/// may add its own advice.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The loader has no install root (no `RIVET_HOME` nor home
    /// directory).
    #[error("no plugin directory")]
    NoHome,
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file's name does not say which plugin it is.
    #[error(
        "{path}: not a plugin file name; a plugin built by cargo from crate `plugin-KIND-NAME` is `{example}`, rename the file accordingly"
    )]
    BadFileName {
        /// The file.
        path: PathBuf,
        /// An example name.
        example: String,
    },
    /// The file is not a loadable Rivet plugin.
    #[error("{message} (nothing was installed from {path})")]
    NotAPlugin {
        /// The file given (`PACKAGE:FILE` for a file in a package).
        path: PathBuf,
        /// Why loading it failed, as the loader (or its vetting scanner,
        /// in its own process) said it, naming the file given.
        message: String,
    },
    /// What the plugin reports disagrees with its file name or with its
    /// package's manifest.
    #[error("{path}: not installed: {message}")]
    Disagrees {
        /// The file given (`PACKAGE:FILE` for a file in a package).
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// A source is not a valid source (a path-like id such as
    /// `example.org/acme/tools`); the text says why.
    #[error("{0}")]
    BadSource(String),
    /// Removing matched no installed file.
    #[error("no installed plugin named `{name}`{filter}; installed: {installed}")]
    NothingToRemove {
        /// The name asked for.
        name: String,
        /// The version/kind/source filter, as text: empty, or
        /// `` matching version `<2`, kind builder ``.
        filter: String,
        /// What is installed under that name, as text (`none` when
        /// nothing is).
        installed: String,
    },
    /// Removing was given a bad version requirement.
    #[error(
        "`{requirement}` is not a version requirement ({message}); write it like `>= 1.2, < 2` or `=1.2.3`"
    )]
    BadRequirement {
        /// What was given.
        requirement: String,
        /// The parser's message.
        message: String,
    },
    /// The package cannot be unpacked, or what it holds is not a package.
    #[error("{path}: not a usable rivet package: {reason}; the file is corrupt or truncated")]
    Corrupt {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The package would unpack to more than the store accepts.
    #[error(
        "{path}: too large to install: {what} would unpack it past {} MiB, the most rivet accepts; nothing was installed. Real plugin packages are far smaller, so this one is damaged or hostile (a \"gzip bomb\"): get it again from its publisher, or pack fewer plugins in it",
        .limit >> 20
    )]
    TooLarge {
        /// The package.
        path: PathBuf,
        /// What crosses the limit (`` `file` of 5120 MiB ``).
        what: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The package's manifest names something wrongly or twice.
    #[error("{path}: its {MANIFEST} is wrong: {reason}; nothing was installed")]
    BadManifest {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of the package does not match its checksum in `SHA256SUMS`.
    #[error(
        "{path}: `{file}` does not match its checksum in SHA256SUMS; the package was changed or damaged, get it again"
    )]
    Checksum {
        /// The package.
        path: PathBuf,
        /// The file inside.
        file: String,
    },
    /// The package is for another platform or interface.
    #[error(
        "{path}: built for {found}, but this host is {expected}; use the package built for {expected}"
    )]
    WrongPlatform {
        /// The package.
        path: PathBuf,
        /// What it was built for (`linux_x86_64 with interface 2.0.0`).
        found: String,
        /// What this host needs (`linux_x86_64 with interface 1.x`).
        expected: String,
    },
    /// A lock file cannot be read, or is not one.
    #[error("{path}: not a usable lock file: {reason}; it was left as it is")]
    BadLock {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Packing could not build or find a plugin, or had nothing to pack.
    #[error("{path}: cannot pack: {message}")]
    Pack {
        /// The crate, file or output directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A [`StoreError::Io`] about `path`, for `map_err`.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}
