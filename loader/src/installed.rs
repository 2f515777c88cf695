//! Installed plugins of the four kinds: versioned files under
//! `$RIVET_HOME/plugins/<source>/`, named and found as
//! [`rivet_host::installed`] says, with [`PluginKind`] as their kind.

use std::path::Path;

use rivet_host::InterfaceVersion;
use rivet_interface::PluginKind;
use semver::VersionReq;

use crate::file_name::parse_plugin_file_name;

pub use rivet_host::installed::{check_source, platform, same_source};

/// What an installed plugin's file name says about it.
pub type InstalledName = rivet_host::installed::InstalledName<PluginKind>;

/// One installed plugin file.
pub type InstalledPlugin = rivet_host::installed::InstalledPlugin<PluginKind>;

/// Parses an installed plugin's file name
/// (`libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so`); `None` for any
/// other name.
pub fn parse_name(file_name: &str) -> Option<InstalledName> {
    InstalledName::parse(file_name, parse_plugin_file_name)
}

/// The major version of the host's rivet-interface, which installed files
/// must have been built against.
pub fn host_interface_major() -> u64 {
    rivet_interface::INTERFACE_VERSION
        .parse::<InterfaceVersion>()
        .map_or(0, |version| version.major())
}

/// Every installed plugin file below `root` (see
/// [`rivet_host::installed::scan_installed`]).
pub(crate) fn scan_installed(root: &Path) -> Vec<InstalledPlugin> {
    rivet_host::installed::scan_installed(root, parse_name)
}

/// The installed files usable by this host for `(kind, name)`, best first
/// (see [`rivet_host::installed::candidates`]).
pub(crate) fn candidates<'a>(
    installed: &'a [InstalledPlugin],
    kind: PluginKind,
    name: &str,
    source: Option<&str>,
    req: Option<&VersionReq>,
) -> Vec<&'a InstalledPlugin> {
    rivet_host::installed::candidates(installed, &kind, name, source, req, host_interface_major())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_host::FileNames;

    #[test]
    fn names_of_the_four_kinds_round_trip() {
        for kind in PluginKind::ALL {
            let id = InstalledName {
                kind,
                name: "a_b".into(),
                version: semver::Version::new(1, 2, 3),
                interface_major: host_interface_major(),
                platform: platform(),
            };
            let file_name = id.file_name(&FileNames::default());
            assert!(file_name.contains(kind.file_token()), "{file_name}");
            assert_eq!(parse_name(&file_name), Some(id));
        }
    }
}
