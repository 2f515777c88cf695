//! `rivet plugins install` and `remove`: writing plugins into
//! `$RIVET_HOME/plugins/<source>/` and taking them out.
//!
//! Installing checks, before anything is written into the plugin
//! directory, that the bytes are a loadable Rivet plugin: they are copied
//! into this install's staging directory (see [`crate::staging`]) and
//! loaded there in isolated mode, by a `rivet-plugin-server` process, so a
//! broken or hostile file can crash that process but not `rivet` (without
//! a plugin server, as on Windows, it is loaded in-process from the copy,
//! with a warning). What the plugin reports (kind, name, version,
//! interface version) names the installed file.
//!
//! The checked copy then goes into place with its `_SHA256SUM` sidecar so
//! that a loader, which opens the plugin before reading the sidecar (see
//! [`rivet_loader::integrity`]), always finds the digest of the file it
//! opened: (1) the sidecar is replaced by one listing the installed file's
//! digest and the new one, (2) the new file is renamed over the old one,
//! (3) the sidecar is replaced by one listing the new digest only. Each
//! step is one rename of a file flushed to disk, so a process killed at any
//! moment leaves the old or the new version usable, and never a
//! half-written file in the plugin directory.

use std::fs;
use std::path::{Path, PathBuf};

use rivet_loader::installed::{InstalledName, check_source, platform};
use rivet_loader::integrity::{
    open_regular, read_sidecar, sidecar_path, sidecar_text, verified_digest,
};
use rivet_loader::{
    InstalledPlugin, LoadError, Loader, Mode, PluginKind, PluginMetadata, parse_plugin_file_name,
    same_name,
};
use semver::{Version, VersionReq};

use crate::staging::Staging;

/// The source of plugins installed without `--source`.
pub const DEFAULT_SOURCE: &str = "local";

/// Why installing or removing failed. Nothing was installed or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// No install root (no `RIVET_HOME` nor home directory).
    #[error("no plugin directory: set RIVET_HOME to the directory rivet may install plugins in")]
    NoHome,
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
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
    #[error("{source} (nothing was installed from {path})")]
    NotAPlugin {
        /// The file given.
        path: PathBuf,
        /// Why loading it failed.
        source: Box<LoadError>,
    },
    /// What the plugin reports disagrees with its name or manifest.
    #[error("{path}: not installed: {message}")]
    Disagrees {
        /// The file given.
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// The `--source` is not a valid source.
    #[error("{0}")]
    BadSource(String),
    /// A package is unusable.
    #[error(transparent)]
    Package(#[from] crate::package::PackageError),
    /// `remove` matched nothing.
    #[error(
        "no installed plugin named `{name}`{filter}; installed: {installed}. See `rivet plugins installed`"
    )]
    NothingToRemove {
        /// The name asked for.
        name: String,
        /// The version/kind/source filter, as text.
        filter: String,
        /// What is installed under that name.
        installed: String,
    },
    /// `remove` was given a bad version requirement.
    #[error(
        "`{requirement}` is not a version requirement ({message}); write it like `>= 1.2, < 2` or `=1.2.3`"
    )]
    BadRequirement {
        /// What was given.
        requirement: String,
        /// The parser's message.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A plugin file checked and ready to be written: its staged copy and
/// what it reports about itself.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The staged copy (exactly what was verified), in the staging
    /// directory.
    pub file: PathBuf,
    /// Its SHA-256.
    pub digest: String,
    /// What the plugin reports.
    pub metadata: PluginMetadata,
    /// Its installed name.
    pub id: InstalledName,
}

/// Checks that the staged file `file` (from `origin`, for messages), whose
/// SHA-256 is `digest`, is a loadable plugin `(kind, name)`, loading it in
/// a plugin server process, and returns what it reports. The file moves to
/// a directory of its own in `staging`, under the plain file name of
/// `(kind, name)`.
pub fn verify(
    loader: &Loader,
    staging: &Staging,
    origin: &Path,
    file: &Path,
    digest: String,
    kind: PluginKind,
    name: &str,
) -> Result<Staged, InstallError> {
    let staged = staging
        .new_dir()?
        .join(rivet_loader::plugin_file_name(kind, name));
    fs::rename(file, &staged).map_err(io(&staged))?;
    let not_a_plugin = |error: LoadError| InstallError::NotAPlugin {
        path: origin.to_owned(),
        source: Box::new(error),
    };
    let plugin = match loader.load_file_in(&staged, kind, name, Mode::Process) {
        Err(LoadError::ServerNotFound { path }) => {
            log::warn!(
                "no plugin server at {}; checking {} in-process",
                path.display(),
                origin.display()
            );
            loader.load_file_in(&staged, kind, name, Mode::InProcess)
        }
        Err(LoadError::IsolationUnsupported { .. }) => {
            log::warn!(
                "isolated mode is not available on this platform; checking {} in-process",
                origin.display()
            );
            loader.load_file_in(&staged, kind, name, Mode::InProcess)
        }
        other => other,
    }
    .map_err(|error| not_a_plugin(rename_error(error, &staged, origin)))?;
    let metadata = plugin.metadata().clone();
    drop(plugin);
    let disagrees = |message: String| InstallError::Disagrees {
        path: origin.to_owned(),
        message,
    };
    let version = Version::parse(&metadata.version).map_err(|e| {
        disagrees(format!(
            "the plugin reports version `{}`, which is not a semver version ({e})",
            metadata.version
        ))
    })?;
    let interface_major = metadata
        .interface_version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| {
            disagrees(format!(
                "the plugin reports interface version `{}`",
                metadata.interface_version
            ))
        })?;
    let id = InstalledName {
        kind: metadata.kind,
        name: metadata.name.replace('-', "_"),
        version,
        interface_major,
        platform: platform(),
    };
    Ok(Staged {
        file: staged,
        digest,
        metadata,
        id,
    })
}

/// Errors from loading the staged copy name the copy; name the original.
fn rename_error(error: LoadError, staged: &Path, origin: &Path) -> LoadError {
    let text = |s: String| s.replace(&staged.display().to_string(), &origin.display().to_string());
    match error {
        LoadError::Isolated { message, .. } => LoadError::Isolated {
            path: origin.to_owned(),
            message: text(message),
        },
        LoadError::NotALibrary { reason, .. } => LoadError::NotALibrary {
            path: origin.to_owned(),
            reason: text(reason),
        },
        LoadError::NoRootModule { .. } => LoadError::NoRootModule {
            path: origin.to_owned(),
        },
        other => other,
    }
}

/// Copies the plugin file at `path`, whose name says which plugin it is
/// (plain or installed form), into `staging` and verifies the copy.
pub fn verify_file(
    loader: &Loader,
    staging: &Staging,
    path: &Path,
) -> Result<Staged, InstallError> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let named = InstalledName::parse(file_name);
    let (kind, name) = match &named {
        Some(id) => (id.kind, id.name.clone()),
        None => parse_plugin_file_name(file_name).ok_or_else(|| InstallError::BadFileName {
            path: path.to_owned(),
            example: rivet_loader::plugin_file_name(PluginKind::Builder, "NAME"),
        })?,
    };
    let source = open_regular(path).map_err(|error| InstallError::NotAPlugin {
        path: path.to_owned(),
        source: Box::new(error.into()),
    })?;
    let (file, digest) = staging.write(source, 0o755).map_err(io(path))?;
    let staged = verify(loader, staging, path, &file, digest, kind, &name)?;
    if let Some(id) = named
        && (id.version != staged.id.version || id.interface_major != staged.id.interface_major)
    {
        return Err(InstallError::Disagrees {
            path: path.to_owned(),
            message: format!(
                "the file name says version {} (interface {}.x), the plugin reports {} (interface {})",
                id.version,
                id.interface_major,
                staged.metadata.version,
                staged.metadata.interface_version
            ),
        });
    }
    Ok(staged)
}

/// The install root of `loader`.
pub fn install_root(loader: &Loader) -> Result<PathBuf, InstallError> {
    loader
        .install_dir()
        .map(Path::to_owned)
        .ok_or(InstallError::NoHome)
}

/// Moves verified plugins from `staging` into `<root>/<source>/`, each
/// with its sidecar in the three steps of the module documentation.
/// Returns the installed paths.
pub fn write_installed(
    root: &Path,
    staging: &Staging,
    source: &str,
    plugins: &[Staged],
) -> Result<Vec<PathBuf>, InstallError> {
    check_source(source).map_err(InstallError::BadSource)?;
    let dir = source
        .split('/')
        .filter(|p| !p.is_empty())
        .fold(root.to_owned(), |dir, part| dir.join(part));
    create_dirs(&dir)?;
    let mut written = Vec::new();
    for plugin in plugins {
        let path = dir.join(plugin.id.file_name());
        let sidecar = sidecar_path(&path);
        let file_name = plugin.id.file_name();
        let new = plugin.digest.as_str();
        let both = match installed_digest(&path) {
            Some(old) => sidecar_text(&file_name, &[&old, new]),
            None => sidecar_text(&file_name, &[new]),
        };
        staging.replace(&sidecar, both.as_bytes(), 0o644)?;
        fs::rename(&plugin.file, &path).map_err(io(&path))?;
        sync_dir(&dir);
        staging.replace(&sidecar, sidecar_text(&file_name, &[new]).as_bytes(), 0o644)?;
        written.push(path);
    }
    sync_dir(&dir);
    Ok(written)
}

/// The digest of the plugin file installed at `path`, which readers may
/// have open while it is replaced: the one its sidecar lists or, when an
/// interrupted install left two, the one the file has; `None` when there
/// is none or it does not match.
fn installed_digest(path: &Path) -> Option<String> {
    match read_sidecar(path) {
        Ok(Some(digests)) if digests.len() == 1 => digests.into_iter().next(),
        Ok(Some(_)) => verified_digest(path).ok(),
        _ => None,
    }
}

fn create_dirs(dir: &Path) -> Result<(), InstallError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder.create(dir).map_err(io(dir))
}

/// Flushes a directory's entries (the renames) to disk, where that exists.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// What `remove` matches.
#[derive(Debug, Clone, Default)]
pub struct RemoveFilter {
    /// Versions to remove (all when `None`).
    pub requirement: Option<String>,
    /// Only this kind.
    pub kind: Option<PluginKind>,
    /// Only this source.
    pub source: Option<String>,
}

/// Removes every installed file of plugin `name` matching `filter`, with
/// its sidecar. Returns what was removed.
pub fn remove(
    loader: &Loader,
    name: &str,
    filter: &RemoveFilter,
) -> Result<Vec<InstalledPlugin>, InstallError> {
    let requirement = filter
        .requirement
        .as_deref()
        .map(|r| {
            VersionReq::parse(r).map_err(|e| InstallError::BadRequirement {
                requirement: r.to_owned(),
                message: e.to_string(),
            })
        })
        .transpose()?;
    // From file names alone: removing never loads a plugin.
    let named: Vec<InstalledPlugin> = loader
        .installed_files()
        .into_iter()
        .filter(|p| same_name(&p.id.name, name))
        .collect();
    let matching: Vec<InstalledPlugin> = named
        .iter()
        .filter(|p| filter.kind.is_none_or(|k| k == p.id.kind))
        .filter(|p| {
            filter
                .source
                .as_deref()
                .is_none_or(|s| rivet_loader::installed::same_source(&p.source, s))
        })
        .filter(|p| {
            requirement
                .as_ref()
                .is_none_or(|r| r.matches(&p.id.version))
        })
        .cloned()
        .collect();
    if matching.is_empty() {
        let mut text = Vec::new();
        if let Some(r) = &filter.requirement {
            text.push(format!("version `{r}`"));
        }
        if let Some(k) = filter.kind {
            text.push(format!("kind {k}"));
        }
        if let Some(s) = &filter.source {
            text.push(format!("source `{s}`"));
        }
        return Err(InstallError::NothingToRemove {
            name: name.to_owned(),
            filter: if text.is_empty() {
                String::new()
            } else {
                format!(" matching {}", text.join(", "))
            },
            installed: if named.is_empty() {
                "none".to_owned()
            } else {
                named
                    .iter()
                    .map(|p| format!("{} {} from `{}`", p.id.kind, p.id.version, p.source))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    }
    for plugin in &matching {
        // The plugin first: a sidecar without its plugin is ignored, a
        // plugin without its sidecar is refused.
        fs::remove_file(&plugin.path).map_err(io(&plugin.path))?;
        let sidecar = sidecar_path(&plugin.path);
        match fs::remove_file(&sidecar) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io(&sidecar)(e));
            }
            _ => {}
        }
        if let Some(root) = loader.install_dir() {
            remove_empty_dirs(&plugin.path, root);
        }
    }
    Ok(matching)
}

/// Removes the source directories `removed` lived in, from the innermost up
/// to (not including) `root`, as long as they are empty.
fn remove_empty_dirs(removed: &Path, root: &Path) {
    for dir in removed.ancestors().skip(1) {
        if dir == root || !dir.starts_with(root) || fs::remove_dir(dir).is_err() {
            break;
        }
    }
}
