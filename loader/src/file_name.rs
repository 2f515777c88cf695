//! Plugin file names: `libplugin_TYPE_NAME.so` and its platform variants.
//!
//! The prefix and suffix come from `std::env::consts` (`lib` and `.so` on
//! Linux, `lib` and `.dylib` on macOS, no prefix and `.dll` on Windows).
//! TYPE is a [`PluginKind`] file token (`post_processor` for
//! `post-processor`); kinds are matched longest first so NAME may itself
//! contain `_`. Library names cannot contain `-` (Cargo turns it into `_`),
//! so a `-` in a plugin name is written `_` in its file name, and the two
//! spellings name the same plugin (see [`same_name`]).

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};

use rivet_interface::PluginKind;

/// The file name of plugin `(kind, name)` on this platform:
/// `libplugin_builder_dir.so` on Linux.
pub fn plugin_file_name(kind: PluginKind, name: &str) -> String {
    format!(
        "{DLL_PREFIX}plugin_{}_{}{DLL_SUFFIX}",
        kind.file_token(),
        name.replace('-', "_")
    )
}

/// Whether two plugin names are the same plugin: equal once every `-` is
/// read as `_` (`amazon-ebs` is `amazon_ebs`).
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
}

/// The `(kind, name)` a file name stands for, or `None` when the name does
/// not follow the pattern (such files are not plugins and are ignored).
pub fn parse_plugin_file_name(file_name: &str) -> Option<(PluginKind, String)> {
    let stem = file_name
        .strip_prefix(DLL_PREFIX)?
        .strip_prefix("plugin_")?
        .strip_suffix(DLL_SUFFIX)?;
    PluginKind::ALL.into_iter().find_map(|kind| {
        let name = stem.strip_prefix(kind.file_token())?.strip_prefix('_')?;
        is_valid_name(name).then(|| (kind, name.to_owned()))
    })
}

/// Whether `name` can be a plugin name: non-empty ASCII letters, digits, `_`
/// and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(stem: &str) -> String {
        format!("{DLL_PREFIX}{stem}{DLL_SUFFIX}")
    }

    #[test]
    fn parses_every_kind() {
        for kind in PluginKind::ALL {
            let name = plugin_file_name(kind, "x");
            assert_eq!(parse_plugin_file_name(&name), Some((kind, "x".into())));
        }
    }

    #[test]
    fn post_processor_is_matched_before_shorter_kinds() {
        assert_eq!(
            parse_plugin_file_name(&file("plugin_post_processor_compress")),
            Some((PluginKind::PostProcessor, "compress".into()))
        );
    }

    #[test]
    fn dashes_in_names_are_underscores_in_files() {
        assert_eq!(
            plugin_file_name(PluginKind::Builder, "amazon-ebs"),
            file("plugin_builder_amazon_ebs")
        );
        assert!(same_name("amazon-ebs", "amazon_ebs"));
        assert!(!same_name("amazon-ebs", "amazonebs"));
        assert!(!same_name("a", "b"));
    }

    #[test]
    fn names_may_contain_underscores() {
        assert_eq!(
            parse_plugin_file_name(&file("plugin_builder_amazon_ebs")),
            Some((PluginKind::Builder, "amazon_ebs".into()))
        );
    }

    #[test]
    fn other_files_are_not_plugins() {
        for other in [
            "README.md".to_string(),
            file("plugin_builder_"),
            file("plugin_hook_x"),
            file("plugin_builderdir"),
            file("other_builder_dir"),
            format!("{}.txt", file("plugin_builder_dir")),
            file("plugin_builder_a b"),
        ] {
            assert_eq!(parse_plugin_file_name(&other), None, "{other}");
        }
    }
}
