//! Plugin file names: `libplugin_KIND_NAME.so` and its platform variants.
//!
//! The library prefix and suffix come from `std::env::consts` (`lib` and
//! `.so` on Linux, `lib` and `.dylib` on macOS, no prefix and `.dll` on
//! Windows); `plugin` is the default [`FileNames::prefix`]. KIND is a token
//! a host registers (an interface's name, such as `image_filter`); kinds are
//! matched longest first, so NAME may itself contain `_`. Library names
//! cannot contain `-` (Cargo turns it into `_`), so a `-` in a plugin name
//! is written `_` in its file name, and the two spellings name the same
//! plugin (see [`same_name`]).

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};

/// How a host names its plugin files: `{DLL_PREFIX}{prefix}_{KIND}_{NAME}{DLL_SUFFIX}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    prefix: String,
}

impl Default for FileNames {
    fn default() -> Self {
        FileNames::new("plugin")
    }
}

impl FileNames {
    /// File names starting with `prefix` (after the platform's library prefix).
    pub fn new(prefix: &str) -> FileNames {
        FileNames {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix: `plugin` unless the host chose another.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The file name of plugin `name` of kind `kind` on this platform
    /// (`libplugin_builder_dir.so` on Linux).
    pub fn file_name(&self, kind: &str, name: &str) -> String {
        format!(
            "{DLL_PREFIX}{}_{kind}_{}{DLL_SUFFIX}",
            self.prefix,
            name.replace('-', "_")
        )
    }

    /// The kind (one of `kinds`) and name a file name stands for, or `None`
    /// when it does not follow the pattern (such files are not plugins).
    pub fn parse<'k>(&self, file_name: &str, kinds: &[&'k str]) -> Option<(&'k str, String)> {
        let stem = file_name
            .strip_prefix(DLL_PREFIX)?
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('_')?
            .strip_suffix(DLL_SUFFIX)?;
        let mut kinds = kinds.to_vec();
        kinds.sort_by_key(|kind| std::cmp::Reverse(kind.len()));
        kinds.into_iter().find_map(|kind| {
            let name = stem.strip_prefix(kind)?.strip_prefix('_')?;
            is_valid_name(name).then(|| (kind, name.to_owned()))
        })
    }
}

/// Whether two plugin names are the same plugin: equal once every `-` is
/// read as `_` (`amazon-ebs` is `amazon_ebs`).
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (matches!(x, b'-' | b'_') && matches!(y, b'-' | b'_')))
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

    const KINDS: [&str; 4] = ["builder", "provisioner", "post_processor", "command"];

    fn file(stem: &str) -> String {
        format!("{DLL_PREFIX}{stem}{DLL_SUFFIX}")
    }

    #[test]
    fn parses_every_kind() {
        let names = FileNames::default();
        for kind in KINDS {
            let name = names.file_name(kind, "x");
            assert_eq!(names.parse(&name, &KINDS), Some((kind, "x".into())));
        }
    }

    #[test]
    fn longer_kinds_are_matched_first() {
        let names = FileNames::default();
        assert_eq!(
            names.parse(
                &file("plugin_post_processor_compress"),
                &["post", "post_processor"]
            ),
            Some(("post_processor", "compress".into()))
        );
    }

    #[test]
    fn the_prefix_is_the_hosts() {
        let names = FileNames::new("imagine");
        assert_eq!(
            names.file_name("filter", "sepia"),
            file("imagine_filter_sepia")
        );
        assert_eq!(
            names.parse(&file("imagine_filter_sepia"), &["filter"]),
            Some(("filter", "sepia".into()))
        );
        assert_eq!(names.parse(&file("plugin_filter_sepia"), &["filter"]), None);
    }

    #[test]
    fn dashes_in_names_are_underscores_in_files() {
        assert_eq!(
            FileNames::default().file_name("builder", "amazon-ebs"),
            file("plugin_builder_amazon_ebs")
        );
        assert!(same_name("amazon-ebs", "amazon_ebs"));
        assert!(!same_name("amazon-ebs", "amazonebs"));
        assert!(!same_name("a", "b"));
    }

    #[test]
    fn names_may_contain_underscores() {
        assert_eq!(
            FileNames::default().parse(&file("plugin_builder_amazon_ebs"), &KINDS),
            Some(("builder", "amazon_ebs".into()))
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
            assert_eq!(FileNames::default().parse(&other, &KINDS), None, "{other}");
        }
    }
}
