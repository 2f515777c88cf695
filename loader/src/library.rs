//! Opening plugin libraries in this process and checking them.
//!
//! Many plugins share one root-module type, so abi_stable's
//! `RootModule::load_from_*` (which caches one library per type) is not used:
//! each file is opened with `lib_header_from_path` and checked on its own.
//!
//! Libraries are never unloaded: code and statics of a plugin may be
//! referenced by values the host still holds, and abi_stable itself never
//! unloads. A library loaded once is remembered by the identity of its file
//! (device and inode on Unix, canonical path elsewhere) and not opened or
//! initialised again. Not the path: a plugin reinstalled at the same path
//! (written to a temp file and renamed over the old one) is a new inode,
//! hence a new library, while the dynamic linker itself would hand back the
//! old mapping for the same inode anyway. The inode of a mapped library
//! cannot be reused while the process lives, since libraries stay mapped.
//!
//! A file is loaded through `/proc/self/fd/N` of the descriptor that was
//! checked (see [`crate::integrity`]). glibc's `dlopen` recognises an already-loaded
//! library by the name it was opened with before it looks at inodes, so
//! such a descriptor is kept open for the life of the process: its number,
//! and so the name, is never reused for another file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use rivet_interface::abi_stable::library::{LibraryError, lib_header_from_path};
use rivet_interface::{HostServicesBox, INTERFACE_VERSION, PluginModRef};

use crate::integrity::Verified;
use crate::{LoadError, PluginMetadata};

/// A checked, initialised plugin library.
#[derive(Clone)]
pub(crate) struct Library {
    pub(crate) module: PluginModRef,
    interface_version: Arc<str>,
}

impl Library {
    /// What the library says about its plugin.
    pub(crate) fn metadata(&self) -> PluginMetadata {
        let info = self.module.info();
        PluginMetadata {
            kind: info.kind,
            name: info.name.to_string(),
            version: info.version.to_string(),
            description: info.description.to_string(),
            interface_version: self.interface_version.to_string(),
        }
    }
}

/// Which file a library was loaded from (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

/// Libraries opened so far, each behind its own lock: two threads opening the
/// same file wait for one another (a library is initialised once), while
/// different files are opened in parallel.
static OPENED: LazyLock<Mutex<HashMap<FileId, Slot>>> = LazyLock::new(Default::default);

/// One file's library, once it has been opened.
type Slot = Arc<Mutex<Option<Library>>>;

/// Opens, checks and (the first time) initialises the plugin library at
/// `path`, loaded from `verified`, the file that was opened and checked
/// (through `/proc/self/fd/N` on Linux), not from the path again. `label` is
/// how errors name the plugin (from its file name); `services` builds the
/// services handed to its `init`.
pub(crate) fn open(
    path: &Path,
    verified: Verified,
    label: &str,
    services: impl FnOnce(&PluginMetadata) -> HostServicesBox,
) -> Result<(Library, PluginMetadata), LoadError> {
    let io_error = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    // Not the path: by now it may name another file than the one open.
    let metadata = verified.file.metadata().map_err(io_error)?;
    let id = file_id(path, &metadata).map_err(io_error)?;
    let slot = OPENED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(id)
        .or_default()
        .clone();
    let mut opened = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(library) = opened.as_ref() {
        return Ok((library.clone(), library.metadata()));
    }

    let header = lib_header_from_path(&verified.load_path(path));
    if header.is_ok() {
        // Keep the descriptor (and so the name dlopen saw) for good.
        std::mem::forget(verified.file);
    }
    let header = header.map_err(|error| match error {
        LibraryError::GetSymbolError { .. } => LoadError::NoRootModule {
            path: path.to_owned(),
        },
        other => LoadError::NotALibrary {
            path: path.to_owned(),
            reason: one_line(&other.to_string()),
        },
    })?;
    let found_version = header.version_strings().version.as_str().to_owned();
    check_interface_version(path, &found_version)?;
    let module = header
        .init_root_module::<PluginModRef>()
        .map_err(|error| match error {
            LibraryError::AbiInstability(report) => {
                let report = report.to_string();
                log::debug!("abi_stable's report for {}:\n{report}", path.display());
                LoadError::AbiMismatch {
                    path: path.to_owned(),
                    plugin: label.to_owned(),
                    host: INTERFACE_VERSION.to_owned(),
                    summary: rivet_abi::summarize_layout_report(&report),
                    report,
                }
            }
            other => LoadError::NotALibrary {
                path: path.to_owned(),
                reason: one_line(&other.to_string()),
            },
        })?;
    let library = Library {
        module,
        interface_version: found_version.into(),
    };
    let metadata = library.metadata();

    let init = module.init();
    if let Err(error) = init(services(&metadata)).into_result() {
        return Err(LoadError::InitFailed {
            path: path.to_owned(),
            plugin: metadata.name,
            message: error.message.into(),
        });
    }
    *opened = Some(library.clone());
    Ok((library, metadata))
}

#[cfg(unix)]
fn file_id(_path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<FileId> {
    use std::os::unix::fs::MetadataExt;
    Ok(FileId::Inode(metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path, _metadata: &std::fs::Metadata) -> std::io::Result<FileId> {
    Ok(FileId::Path(path.canonicalize()?))
}

/// The host accepts plugins built against the same major interface version.
fn check_interface_version(path: &Path, found: &str) -> Result<(), LoadError> {
    let major = |version: &str| version.split('.').next().map(str::to_owned);
    if major(found) == major(INTERFACE_VERSION) {
        return Ok(());
    }
    Err(LoadError::IncompatibleInterface {
        path: path.to_owned(),
        found: found.to_owned(),
        accepted: format!("{}.x", major(INTERFACE_VERSION).unwrap_or_default()),
        host: INTERFACE_VERSION.to_owned(),
    })
}

/// Collapses a multi-line message into one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_major_version_is_accepted() {
        let path = Path::new("libplugin_builder_x.so");
        assert!(check_interface_version(path, INTERFACE_VERSION).is_ok());
        let error = check_interface_version(path, "999.0.0").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("999.0.0") && text.contains("rebuild"),
            "{text}"
        );
    }
}
