//! Checking a plugin file before it is installed or packed: [`Staged`],
//! [`verify_file`].
//!
//! The file is copied into the [`Staging`] directory and the copy is loaded
//! there in isolated mode, by a `rivet-plugin-server` process, so a broken
//! or hostile file can crash that process but not the program using the
//! store (without a plugin server, as on Windows, it is loaded in-process
//! from the copy, with a warning logged). What the plugin reports (kind,
//! name, version, interface version) names the installed file.

use std::fs;
use std::path::{Path, PathBuf};

use rivet_loader::installed::{InstalledName, platform};
use rivet_loader::integrity::open_regular;
use rivet_loader::{LoadError, Loader, Mode, PluginKind, PluginMetadata, parse_plugin_file_name};
use semver::Version;

use crate::error::{StoreError, io};
use crate::staging::Staging;

/// A plugin file checked and ready to be installed or packed: its staged
/// copy and what it reports about itself. The copy is removed with the
/// [`Staging`] it was checked in: install it before dropping that.
#[derive(Debug)]
pub struct Staged {
    /// The staged copy (exactly what was verified), in the staging
    /// directory.
    pub(crate) file: PathBuf,
    /// Its SHA-256.
    pub(crate) digest: String,
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
pub(crate) fn verify(
    loader: &Loader,
    staging: &Staging,
    origin: &Path,
    file: &Path,
    digest: String,
    kind: PluginKind,
    name: &str,
) -> Result<Staged, StoreError> {
    let staged = staging
        .new_dir()?
        .join(rivet_loader::plugin_file_name(kind, name));
    fs::rename(file, &staged).map_err(io(&staged))?;
    let not_a_plugin = |error: LoadError| StoreError::NotAPlugin {
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
    let disagrees = |message: String| StoreError::Disagrees {
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
/// (plain, `libplugin_KIND_NAME.so`, or installed form), into `staging` and
/// checks the copy, loading it in a plugin server process: it must be a
/// loadable plugin of that kind and name, and, for an installed name, of
/// the version and interface major the name gives.
pub fn verify_file(loader: &Loader, staging: &Staging, path: &Path) -> Result<Staged, StoreError> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let named = rivet_loader::installed::parse_name(file_name);
    let (kind, name) = match &named {
        Some(id) => (id.kind, id.name.clone()),
        None => parse_plugin_file_name(file_name).ok_or_else(|| StoreError::BadFileName {
            path: path.to_owned(),
            example: rivet_loader::plugin_file_name(PluginKind::Builder, "NAME"),
        })?,
    };
    let source = open_regular(path).map_err(|error| StoreError::NotAPlugin {
        path: path.to_owned(),
        source: Box::new(error.into()),
    })?;
    let (file, digest) = staging.write(source, 0o755).map_err(io(path))?;
    let staged = verify(loader, staging, path, &file, digest, kind, &name)?;
    if let Some(id) = named
        && (id.version != staged.id.version || id.interface_major != staged.id.interface_major)
    {
        return Err(StoreError::Disagrees {
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
