//! Checking a plugin file before it is installed or packed: [`Staged`],
//! [`verify_file`].
//!
//! The file is copied into the [`Staging`] directory, and the loader says
//! what the copy is ([`Loader::about`]): checked as for a load, then loaded
//! by the loader's vetting scanner, in a process of its own, so a broken or
//! hostile file can crash that process but not the program using the store
//! (where files are not vetted, as on Windows, it is loaded in-process from
//! the copy). What the plugin reports (name, version, interface version)
//! names the installed file.

use std::fs;
use std::path::{Path, PathBuf};

use rivet::{About, Loader};
use rivet_host::installed::platform;
use rivet_host::integrity::open_regular;
use rivet_interface::PluginKind;
use rivet_interface::files::{
    InstalledName, parse_installed_name, parse_plugin_file_name, plugin_file_name,
};
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
    pub metadata: About,
    /// Its installed name.
    pub id: InstalledName,
}

impl Staged {
    /// The SHA-256 of the checked file (lowercase hex).
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// Checks that the staged file `file` (from `origin`, for messages), whose
/// SHA-256 is `digest`, is a loadable plugin `(kind, name)`, having the
/// loader describe it, and returns what it reports. The file moves to a
/// directory of its own in `staging`, under the plain file name of `(kind,
/// name)`.
pub(crate) fn verify(
    loader: &Loader,
    staging: &Staging,
    origin: &Path,
    file: &Path,
    digest: String,
    kind: PluginKind,
    name: &str,
) -> Result<Staged, StoreError> {
    let staged = staging.new_dir()?.join(plugin_file_name(kind, name));
    fs::rename(file, &staged).map_err(io(&staged))?;
    // Messages about the staged copy name the file given instead.
    let metadata = loader
        .about(&staged, kind.file_token())
        .map_err(|message| StoreError::NotAPlugin {
            path: origin.to_owned(),
            message: message.replace(&staged.display().to_string(), &origin.display().to_string()),
        })?;
    if !rivet_host::same_name(&metadata.name, name) {
        return Err(StoreError::Disagrees {
            path: origin.to_owned(),
            message: format!(
                "the file name says plugin `{name}`, the plugin reports `{}`",
                metadata.name
            ),
        });
    }
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
        kind,
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

/// Copies the plugin file at `path`, whose name says which plugin it is
/// (plain, `libplugin_KIND_NAME.so`, or installed form), into `staging` and
/// checks the copy, loading it in a plugin server process: it must be a
/// loadable plugin of that kind and name, and, for an installed name, of
/// the version and interface major the name gives.
pub fn verify_file(loader: &Loader, staging: &Staging, path: &Path) -> Result<Staged, StoreError> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let named = parse_installed_name(file_name);
    let (kind, name) = match &named {
        Some(id) => (id.kind, id.name.clone()),
        None => parse_plugin_file_name(file_name).ok_or_else(|| StoreError::BadFileName {
            path: path.to_owned(),
            example: plugin_file_name(PluginKind::Builder, "NAME"),
        })?,
    };
    let source = open_regular(path).map_err(|error| StoreError::NotAPlugin {
        path: path.to_owned(),
        message: error.to_string(),
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
