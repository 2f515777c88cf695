//! Opening plugin libraries in this process and checking them.
//!
//! Many plugins share one root-module type, so abi_stable's
//! `RootModule::load_from_*` (which caches one library per type) is not used:
//! each file is opened with `lib_header_from_path` and checked on its own.
//!
//! Libraries are opened once per file and never unloaded, through the
//! descriptor that was checked (see [`rivet_host::OpenedLibraries`]).

use std::path::Path;
use std::sync::Arc;

use rivet_interface::abi_stable::library::{LibHeader, LibraryError, lib_header_from_path};
use rivet_interface::{HostServicesBox, INTERFACE_VERSION, PluginModRef};

use crate::integrity::Verified;
use crate::{LoadError, PluginMetadata};
use rivet_host::OpenedLibraries;

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

/// Libraries opened so far.
static OPENED: OpenedLibraries<Library> = OpenedLibraries::new();

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
    let library = OPENED.open(
        path,
        verified,
        |load_path| {
            lib_header_from_path(load_path).map_err(|error| match error {
                LibraryError::GetSymbolError { .. } => LoadError::NoRootModule {
                    path: path.to_owned(),
                },
                other => LoadError::NotALibrary {
                    path: path.to_owned(),
                    reason: one_line(&other.to_string()),
                },
            })
        },
        |header| finish(path, header, label, services),
    )?;
    let metadata = library.metadata();
    Ok((library, metadata))
}

/// Checks the library whose header the dynamic linker mapped and runs its
/// `init` with the services `services` builds.
fn finish(
    path: &Path,
    header: &'static LibHeader,
    label: &str,
    services: impl FnOnce(&PluginMetadata) -> HostServicesBox,
) -> Result<Library, LoadError> {
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
    Ok(library)
}

/// The host accepts plugins built against the same major interface version.
fn check_interface_version(path: &Path, found: &str) -> Result<(), LoadError> {
    if rivet_host::compatible(found, INTERFACE_VERSION) {
        return Ok(());
    }
    let host: rivet_host::InterfaceVersion = INTERFACE_VERSION
        .parse()
        .expect("the interface's version is semver");
    Err(LoadError::IncompatibleInterface {
        path: path.to_owned(),
        found: found.to_owned(),
        accepted: host.series(),
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
