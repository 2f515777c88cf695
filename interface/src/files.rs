//! The file names of plugins of the four kinds: plain
//! (`libplugin_builder_dir.so`) and installed
//! (`libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so`), as
//! [`rivet_host::FileNames`] and [`rivet_host::installed`] spell them with
//! [`PluginKind`] as the kind.

use std::path::Path;

use rivet_host::{FileNames, InterfaceVersion};

use crate::PluginKind;

/// What an installed plugin's file name says about it.
pub type InstalledName = rivet_host::installed::InstalledName<PluginKind>;

/// One installed plugin file.
pub type InstalledPlugin = rivet_host::installed::InstalledPlugin<PluginKind>;

/// The file name of plugin `(kind, name)`: `libplugin_builder_dir.so` on
/// Linux, each `-` of `name` written `_`.
pub fn plugin_file_name(kind: PluginKind, name: &str) -> String {
    FileNames::default().file_name(kind.file_token(), name)
}

/// The kind and name a plain plugin file name gives, if it is one.
pub fn parse_plugin_file_name(file_name: &str) -> Option<(PluginKind, String)> {
    let tokens = PluginKind::ALL.map(PluginKind::file_token);
    let (token, name) = FileNames::default().parse(file_name, &tokens)?;
    let kind = PluginKind::ALL
        .into_iter()
        .find(|kind| kind.file_token() == token)?;
    Some((kind, name))
}

/// Parses an installed plugin's file name; `None` for any other name.
pub fn parse_installed_name(file_name: &str) -> Option<InstalledName> {
    InstalledName::parse(file_name, parse_plugin_file_name)
}

/// Every installed plugin file of the four kinds below `root` (see
/// [`rivet_host::installed::scan_installed`]).
pub fn scan_installed(root: &Path) -> Vec<InstalledPlugin> {
    rivet_host::installed::scan_installed(root, parse_installed_name)
}

/// The major version of this crate's interfaces, which installed files
/// must have been built against.
pub fn interface_major() -> u64 {
    crate::INTERFACE_VERSION
        .parse::<InterfaceVersion>()
        .map_or(0, |version| version.major())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_host::installed::platform;

    #[test]
    fn plain_names_of_every_kind_round_trip() {
        for kind in PluginKind::ALL {
            let name = plugin_file_name(kind, "x");
            assert_eq!(parse_plugin_file_name(&name), Some((kind, "x".into())));
        }
        assert_eq!(parse_plugin_file_name("libplugin_hook_x.so"), None);
    }

    #[test]
    fn installed_names_of_every_kind_round_trip() {
        for kind in PluginKind::ALL {
            let id = InstalledName {
                kind,
                name: "a_b".into(),
                version: semver::Version::new(1, 2, 3),
                interface_major: interface_major(),
                platform: platform(),
            };
            let file_name = id.file_name(&FileNames::default());
            assert!(file_name.contains(kind.file_token()), "{file_name}");
            assert_eq!(parse_installed_name(&file_name), Some(id));
        }
    }
}
