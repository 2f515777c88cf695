//! Installed plugins: versioned files under `$RIVET_HOME/plugins/<source>/`.
//!
//! An installed plugin file is named
//! `libplugin_KIND_NAME_v<VERSION>_i<INTERFACE MAJOR>_<OS>_<ARCH>.so`, for
//! example `libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so` (prefix and
//! suffix as for plain plugin files on each platform, see
//! [`FileNames`]). It still starts with `libplugin_KIND_NAME`; the suffix is
//! parsed from the right, so NAME may contain `_`: VERSION is a semver
//! version (which never contains `_`), the interface major is a number, OS
//! is `std::env::consts::OS` (no `_`) and ARCH is `std::env::consts::ARCH`
//! (which may contain `_`, as `x86_64`).
//!
//! The directory between the install root (`HOME/plugins`, see
//! [`Config::install_dir`](crate::Config::install_dir)) and the file is the
//! plugin's source, a path-like id such as `example.org/acme/tools` (or a
//! registry repository, `127.0.0.1:5000/acme/tools`); several versions of
//! one plugin live side by side in it. Every installed file has a
//! `<file>_SHA256SUM` sidecar (see [`crate::integrity`]). Hosts look for
//! installed files under `<dir>/<source>/` of every search-path directory
//! too, as Packer does (see [`scan_search_path`]).
//!
//! A kind is any [`Kind`]: the token of a registered interface (a
//! `String`), or a host's own kind type.

use std::cmp::Reverse;
use std::env::consts::{ARCH, DLL_PREFIX, DLL_SUFFIX, OS};
use std::fs;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};

use crate::{FileNames, same_name};

/// How deep below the install root plugin files are looked for (a source
/// such as `example.org/acme/tools` is three levels).
const MAX_SOURCE_DEPTH: usize = 8;

/// This platform as installed file names write it: `linux_x86_64`.
pub fn platform() -> String {
    format!("{OS}_{ARCH}")
}

/// A kind of plugin, as installed file names write it.
pub trait Kind: Clone + PartialEq {
    /// Its token in file names: `builder`, `post_processor`, `image_filter`.
    fn file_token(&self) -> &str;
}

impl Kind for String {
    fn file_token(&self) -> &str {
        self
    }
}

/// What an installed plugin's file name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledName<K = String> {
    /// The plugin's kind.
    pub kind: K,
    /// The plugin's name (as written in the file name: `-` is `_`).
    pub name: String,
    /// The plugin's version.
    pub version: Version,
    /// The major version of the interface it was built against.
    pub interface_major: u64,
    /// The platform it was built for, as `linux_x86_64`.
    pub platform: String,
}

impl<K: Kind> InstalledName<K> {
    /// The file name for this plugin:
    /// `libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so` for `names`' prefix
    /// `plugin`.
    pub fn file_name(&self, names: &FileNames) -> String {
        let plain = names.file_name(self.kind.file_token(), &self.name);
        let stem = plain
            .strip_suffix(DLL_SUFFIX)
            .expect("plugin file names end with the platform's suffix");
        format!(
            "{stem}_v{}_i{}_{}{DLL_SUFFIX}",
            self.version, self.interface_major, self.platform
        )
    }

    /// Parses an installed plugin's file name: the versioned part from the
    /// right, then the plain file name it starts with
    /// (`libplugin_KIND_NAME.so`) with `plain` (for example
    /// [`FileNames::parse`] with a host's kinds); `None` for any other name
    /// (including plain `libplugin_KIND_NAME.so` names).
    pub fn parse(
        file_name: &str,
        plain: impl Fn(&str) -> Option<(K, String)>,
    ) -> Option<InstalledName<K>> {
        let stem = file_name
            .strip_prefix(DLL_PREFIX)?
            .strip_suffix(DLL_SUFFIX)?;
        let tokens: Vec<&str> = stem.split('_').collect();
        // From the right: the last `v<semver>` token followed by `i<major>`,
        // an OS token and a non-empty arch.
        (1..tokens.len().saturating_sub(3)).rev().find_map(|at| {
            let version = Version::parse(tokens[at].strip_prefix('v')?).ok()?;
            let major = tokens[at + 1].strip_prefix('i')?;
            if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let interface_major = major.parse().ok()?;
            let os = tokens[at + 2];
            let arch = tokens[at + 3..].join("_");
            if os.is_empty() || arch.is_empty() {
                return None;
            }
            let (kind, name) = plain(&format!(
                "{DLL_PREFIX}{}{DLL_SUFFIX}",
                tokens[..at].join("_")
            ))?;
            Some(InstalledName {
                kind,
                name,
                version,
                interface_major,
                platform: format!("{os}_{arch}"),
            })
        })
    }

    /// Whether this file is usable by a host of interface major version
    /// `interface_major` on this platform.
    pub fn is_compatible(&self, interface_major: u64) -> bool {
        self.platform == platform() && self.interface_major == interface_major
    }
}

/// Whether `file_name` is an installed (versioned) plugin file's name,
/// which must have a checksum sidecar.
pub fn is_installed_name(file_name: &str) -> bool {
    let file = file_name.strip_prefix(DLL_PREFIX).unwrap_or(file_name);
    let stem = file.strip_suffix(DLL_SUFFIX).unwrap_or(file);
    plain_stem(file_name).len() < stem.len()
}

/// The stem of plugin file `file_name` without its installed version part
/// (`libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so` → `plugin_builder_dir`),
/// or its plain stem (`libplugin_builder_dir.so` → `plugin_builder_dir`).
pub fn plain_stem(file_name: &str) -> &str {
    let file = file_name.strip_prefix(DLL_PREFIX).unwrap_or(file_name);
    let stem = file.strip_suffix(DLL_SUFFIX).unwrap_or(file);
    let installed = InstalledName::<String>::parse(file_name, |plain| {
        let stem = plain.strip_prefix(DLL_PREFIX)?.strip_suffix(DLL_SUFFIX)?;
        Some((String::new(), stem.to_owned()))
    });
    match installed {
        Some(id) => &stem[..id.name.len()],
        None => stem,
    }
}

/// One installed plugin file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPlugin<K = String> {
    /// Its source: the directory below the install root, with `/`
    /// separators (`example.org/acme/tools`); empty when the file lies
    /// directly in the install root.
    pub source: String,
    /// What its file name says.
    pub id: InstalledName<K>,
    /// The file.
    pub path: PathBuf,
}

/// Every installed plugin file below `root` whose name `parse` reads (see
/// [`InstalledName::parse`]), for any platform and interface version,
/// sorted by source, kind, name and version (highest first). Missing or
/// unreadable directories yield nothing.
pub fn scan_installed<K: Kind>(
    root: &Path,
    parse: impl Fn(&str) -> Option<InstalledName<K>>,
) -> Vec<InstalledPlugin<K>> {
    let mut found = Vec::new();
    walk(root, String::new(), 0, &parse, &mut found);
    sort(&mut found);
    found
}

/// Every installed plugin file of the search path `dirs` and the install
/// root `install_root`, as Packer looks for them: in `<dir>/<source>/` of
/// every directory of `dirs`, in order, then of `install_root` when it is
/// not one of them. The install root is walked as [`scan_installed`]
/// does; in the other directories, which are anything (the working
/// directory, the program's), only sources that start with a host name
/// (`example.org/…`, `127.0.0.1:5000/…`, `localhost/…`) or are `local` are
/// looked in, so that a build tree is never walked. A plugin version found
/// in two directories is the first one's. Sorted as [`scan_installed`]
/// sorts.
pub fn scan_search_path<K: Kind>(
    dirs: &[PathBuf],
    install_root: Option<&Path>,
    parse: impl Fn(&str) -> Option<InstalledName<K>>,
) -> Vec<InstalledPlugin<K>> {
    let mut found = Vec::new();
    let mut walked = Vec::new();
    for dir in dirs.iter().map(PathBuf::as_path).chain(install_root) {
        if walked.contains(&dir) {
            continue;
        }
        walked.push(dir);
        let mut here = Vec::new();
        if Some(dir) == install_root {
            walk(dir, String::new(), 0, &parse, &mut here);
        } else {
            walk_sources(dir, &parse, &mut here);
        }
        for plugin in here {
            let seen = found.iter().any(|p: &InstalledPlugin<K>| {
                same_source(&p.source, &plugin.source) && p.id == plugin.id
            });
            if !seen {
                found.push(plugin);
            }
        }
    }
    sort(&mut found);
    found
}

/// The installed files of `dir` (a search-path directory, not the install
/// root) in its host-like source directories (see [`scan_search_path`]).
fn walk_sources<K>(
    dir: &Path,
    parse: &impl Fn(&str) -> Option<InstalledName<K>>,
    found: &mut Vec<InstalledPlugin<K>>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let host_like = !name.starts_with('.')
            && (name.contains(['.', ':']) || name == "localhost" || name == "local");
        if host_like && entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&entry.path(), name.to_owned(), 1, parse, found);
        }
    }
}

fn sort<K: Kind>(found: &mut [InstalledPlugin<K>]) {
    found.sort_by(|a, b| {
        (
            &a.source,
            a.id.kind.file_token(),
            &a.id.name,
            Reverse(&a.id.version),
        )
            .cmp(&(
                &b.source,
                b.id.kind.file_token(),
                &b.id.name,
                Reverse(&b.id.version),
            ))
    });
}

fn walk<K>(
    dir: &Path,
    source: String,
    depth: usize,
    parse: &impl Fn(&str) -> Option<InstalledName<K>>,
    found: &mut Vec<InstalledPlugin<K>>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        // Temp files of an install in progress and hidden directories.
        if file_name.starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if depth < MAX_SOURCE_DEPTH {
                let source = if source.is_empty() {
                    file_name.to_owned()
                } else {
                    format!("{source}/{file_name}")
                };
                walk(&entry.path(), source, depth + 1, parse, found);
            }
        } else if let Some(id) = parse(file_name) {
            found.push(InstalledPlugin {
                source: source.clone(),
                id,
                path: entry.path(),
            });
        }
    }
}

/// The installed files usable for `(kind, name)` (this platform, interface
/// major version `interface_major`, `source` when given, the version
/// matching `req` when given), best first: highest version, then by source.
pub fn candidates<'a, K: Kind>(
    installed: &'a [InstalledPlugin<K>],
    kind: &K,
    name: &str,
    source: Option<&str>,
    req: Option<&VersionReq>,
    interface_major: u64,
) -> Vec<&'a InstalledPlugin<K>> {
    let mut matching: Vec<&InstalledPlugin<K>> = installed
        .iter()
        .filter(|p| p.id.kind == *kind && same_name(&p.id.name, name))
        .filter(|p| p.id.is_compatible(interface_major))
        .filter(|p| source.is_none_or(|s| same_source(&p.source, s)))
        .filter(|p| req.is_none_or(|r| r.matches(&p.id.version)))
        .collect();
    matching.sort_by(|a, b| {
        b.id.version
            .cmp(&a.id.version)
            .then_with(|| a.source.cmp(&b.source))
    });
    matching
}

/// Whether two sources are the same, ignoring leading, trailing and doubled
/// `/`.
pub fn same_source(a: &str, b: &str) -> bool {
    split_source(a) == split_source(b)
}

fn split_source(source: &str) -> Vec<String> {
    source
        .split(['/', '\\'])
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks that `source` can be a directory path below the install root:
/// non-empty `/`-separated parts of ASCII letters, digits, `.`, `_` and
/// `-`, none of them starting with `.`; the first may end in a registry's
/// port (`127.0.0.1:5000/acme/tools`). Returns what is wrong.
pub fn check_source(source: &str) -> Result<(), String> {
    let parts = split_source(source);
    if parts.is_empty() {
        return Err("a source cannot be empty; use something like `example.org/acme/tools`".into());
    }
    for (i, part) in parts.iter().enumerate() {
        // A registry's port: `127.0.0.1:5000/acme/tools`.
        let part = match part.split_once(':') {
            Some((host, port))
                if i == 0 && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            _ => part.as_str(),
        };
        if part.is_empty() || part.starts_with('.') {
            return Err(format!(
                "`{source}`: source parts cannot start with `.`; use something like `example.org/acme/tools`"
            ));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(format!(
                "`{source}`: sources are ASCII letters, digits, `.`, `_`, `-` and `/`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [&str; 4] = ["builder", "provisioner", "post_processor", "command"];
    const MAJOR: u64 = 1;

    fn file(stem: &str) -> String {
        format!("{DLL_PREFIX}{stem}{DLL_SUFFIX}")
    }

    fn parse(file_name: &str) -> Option<InstalledName> {
        InstalledName::parse(file_name, |plain| {
            FileNames::default()
                .parse(plain, &KINDS)
                .map(|(kind, name)| (kind.to_owned(), name))
        })
    }

    fn id(kind: &str, name: &str, version: &str) -> InstalledName {
        InstalledName {
            kind: kind.to_owned(),
            name: name.into(),
            version: Version::parse(version).unwrap(),
            interface_major: 1,
            platform: "linux_x86_64".into(),
        }
    }

    #[test]
    fn names_round_trip() {
        for (kind, name, version) in [
            ("builder", "dir", "1.2.3"),
            ("post_processor", "amazon_ebs", "0.1.0-beta.2+build.7"),
            ("command", "my_v1_tool", "10.0.0"),
            ("provisioner", "x_v1_i1", "2.0.0"),
        ] {
            let id = id(kind, name, version);
            let file_name = id.file_name(&FileNames::default());
            assert_eq!(parse(&file_name), Some(id), "{file_name}");
        }
        let custom = FileNames::new("imagine");
        let id = id("filter", "sepia", "1.0.0");
        assert_eq!(
            id.file_name(&custom),
            file("imagine_filter_sepia_v1.0.0_i1_linux_x86_64")
        );
    }

    #[test]
    fn the_documented_example_parses() {
        let parsed = parse(&file("plugin_builder_dir_v1.2.3_i1_linux_x86_64")).unwrap();
        assert_eq!(parsed, id("builder", "dir", "1.2.3"));
        let parsed = parse(&file("plugin_post_processor_a_b_v2.0.0_i3_macos_aarch64")).unwrap();
        assert_eq!(parsed.kind, "post_processor");
        assert_eq!(parsed.name, "a_b");
        assert_eq!(parsed.interface_major, 3);
        assert_eq!(parsed.platform, "macos_aarch64");
    }

    #[test]
    fn plain_stems_drop_the_installed_part() {
        assert_eq!(
            plain_stem(&file("plugin_builder_my_v1_tool_v1.2.3_i1_linux_x86_64")),
            "plugin_builder_my_v1_tool"
        );
        assert_eq!(
            plain_stem(&file("plugin_builder_dir")),
            "plugin_builder_dir"
        );
        assert!(is_installed_name(&file(
            "plugin_builder_dir_v1.2.3_i1_linux_x86_64"
        )));
        assert!(!is_installed_name(&file("plugin_builder_dir")));
    }

    #[test]
    fn plain_and_malformed_names_are_not_installed_names() {
        for other in [
            file("plugin_builder_dir"),
            file("plugin_builder_dir_v1.2_i1_linux_x86_64"),
            file("plugin_builder_dir_v1.2.3_linux_x86_64"),
            file("plugin_builder_dir_v1.2.3_i_linux_x86_64"),
            file("plugin_builder_dir_v1.2.3_i1_linux"),
            file("plugin_builder_v1.2.3_i1_linux_x86_64"),
            file("plugin_hook_dir_v1.2.3_i1_linux_x86_64"),
            format!("{}.tmp", file("plugin_builder_dir_v1.2.3_i1_linux_x86_64")),
        ] {
            assert_eq!(parse(&other), None, "{other}");
        }
    }

    fn installed(source: &str, kind: &str, name: &str, version: &str) -> InstalledPlugin {
        let mut id = id(kind, name, version);
        id.platform = platform();
        id.interface_major = MAJOR;
        InstalledPlugin {
            source: source.into(),
            path: PathBuf::from(format!(
                "/p/{source}/{}",
                id.file_name(&FileNames::default())
            )),
            id,
        }
    }

    #[test]
    fn the_highest_matching_version_wins() {
        let all = vec![
            installed("a.org/x", "builder", "dir", "1.2.0"),
            installed("a.org/x", "builder", "dir", "1.10.0"),
            installed("a.org/x", "builder", "dir", "2.0.0"),
            installed("b.org/y", "builder", "dir", "1.5.0"),
            installed("a.org/x", "provisioner", "dir", "9.0.0"),
        ];
        let req = VersionReq::parse(">= 1.2, < 2").unwrap();
        let versions = |source: Option<&str>, req: Option<&VersionReq>| -> Vec<String> {
            candidates(&all, &"builder".to_owned(), "dir", source, req, MAJOR)
                .iter()
                .map(|p| p.id.version.to_string())
                .collect()
        };
        assert_eq!(versions(Some("a.org/x"), Some(&req)), ["1.10.0", "1.2.0"]);
        assert_eq!(
            versions(Some("/a.org//x/"), Some(&req)),
            ["1.10.0", "1.2.0"]
        );
        assert_eq!(versions(None, Some(&req)), ["1.10.0", "1.5.0", "1.2.0"]);
        assert_eq!(versions(None, None)[0], "2.0.0");
        let none = VersionReq::parse(">= 3").unwrap();
        assert!(versions(None, Some(&none)).is_empty());
    }

    #[test]
    fn other_platforms_and_interfaces_are_not_candidates() {
        let mut foreign = installed("s", "builder", "dir", "3.0.0");
        foreign.id.platform = "plan9_mips".into();
        let mut old = installed("s", "builder", "dir", "4.0.0");
        old.id.interface_major = MAJOR + 1;
        let ok = installed("s", "builder", "dir", "1.0.0");
        let all = vec![foreign, old, ok];
        let found = candidates(&all, &"builder".to_owned(), "dir", None, None, MAJOR);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id.version.to_string(), "1.0.0");
    }

    #[test]
    fn sources_are_checked() {
        assert!(check_source("example.org/acme/tools").is_ok());
        assert!(check_source("local").is_ok());
        assert!(check_source("").is_err());
        assert!(check_source("a/../b").is_err());
        assert!(check_source("a/b c").is_err());
        assert!(check_source("127.0.0.1:5000/acme/tools").is_ok());
        assert!(check_source("a/b:5000").is_err());
        assert!(check_source("a:/b").is_err());
        assert!(check_source("a:b/c").is_err());
        assert!(check_source(":5000/c").is_err());
    }
}
