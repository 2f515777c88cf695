//! The lock file, `rivet.lock`: [`Lock`], [`Locked`], [`LockedBuild`].
//!
//! It records, for each plugin a template requires from a registry, the
//! version `init` resolved and the digests of every platform's build of
//! it, as Terraform's `.terraform.lock.hcl` does:
//!
//! ```toml
//! # Written by rivet init: the plugin versions this template uses, and the
//! # digests each platform's package must have. Commit it.
//! format = 1
//!
//! [[plugin]]
//! kind = "builder"
//! name = "dir"
//! source = "127.0.0.1:5000/acme/tools"
//! version = "1.2.3"
//!
//! [[plugin.build]]
//! platform = "linux_x86_64"
//! interface = 1
//! manifest = "sha256:…"
//! package = "sha256:…"
//! file = "sha256:…"
//! ```
//!
//! The text is deterministic: plugins sorted by source, kind and name,
//! builds by platform and interface, so that it diffs well.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Build, Release};
use crate::StoreError;
use crate::error::io;

/// The lock file's name, beside the template.
pub const LOCK_FILE: &str = "rivet.lock";

/// The largest lock file read, in bytes.
const MAX_LOCK: u64 = 4 << 20;

const HEADER: &str = "# Written by rivet init: the plugin versions this template uses, and the\n# digests each platform's package must have. Commit it.\n";

/// A lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Lock {
    /// The format (1).
    pub format: u32,
    /// The locked plugins.
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<Locked>,
}

/// One locked plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Locked {
    /// Its kind, as manifests write it (`builder`, `post-processor`).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The repository it comes from.
    pub source: String,
    /// The version resolved.
    pub version: String,
    /// The release's builds.
    #[serde(default, rename = "build")]
    pub builds: Vec<LockedBuild>,
}

/// The digests of one build of a locked plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LockedBuild {
    /// The platform, `linux_x86_64`.
    pub platform: String,
    /// The interface major.
    pub interface: u64,
    /// The digest of the build's manifest.
    pub manifest: String,
    /// The digest of its package.
    pub package: String,
    /// The digest of the plugin's file in the package (`sha256:` and hex).
    pub file: String,
}

impl Default for Lock {
    fn default() -> Lock {
        Lock {
            format: 1,
            plugins: Vec::new(),
        }
    }
}

impl Lock {
    /// The lock file at `path`; `None` if there is none.
    pub fn read(path: &Path) -> Result<Option<Lock>, StoreError> {
        let bad = |reason: String| StoreError::BadLock {
            path: path.to_owned(),
            reason,
        };
        let size = match fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
            Ok(meta) if !meta.is_file() => return Err(bad("not a file".to_owned())),
            Ok(meta) => meta.len(),
        };
        if size > MAX_LOCK {
            return Err(bad(format!("larger than {MAX_LOCK} bytes")));
        }
        let text = fs::read_to_string(path).map_err(io(path))?;
        let lock: Lock = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
        if lock.format != 1 {
            return Err(bad(format!(
                "format {} is newer than this rivet understands (1)",
                lock.format
            )));
        }
        Ok(Some(lock))
    }

    /// The lock's text: deterministic, see the [module](self) documentation.
    pub fn to_text(&self) -> String {
        let mut lock = self.clone();
        lock.plugins
            .sort_by(|a, b| (&a.source, &a.kind, &a.name).cmp(&(&b.source, &b.kind, &b.name)));
        for plugin in &mut lock.plugins {
            plugin
                .builds
                .sort_by(|a, b| (&a.platform, a.interface).cmp(&(&b.platform, b.interface)));
        }
        format!(
            "{HEADER}{}",
            toml::to_string(&lock).expect("a lock serializes")
        )
    }

    /// Writes the lock to `path`, replacing it in one rename (never half
    /// written). `path` must not be anything but a lock file: an existing
    /// file that does not read as one is left alone, and an error.
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        Lock::read(path)?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
        temp.write_all(self.to_text().as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(io(path))?;
        temp.persist(path).map_err(|e| io(path)(e.error))?;
        Ok(())
    }

    /// The entry of plugin `(kind, name)` from `source`.
    pub fn find(&self, kind: &str, name: &str, source: &str) -> Option<&Locked> {
        self.plugins.iter().find(|p| {
            p.kind == kind
                && rivet_host::same_name(&p.name, name)
                && rivet_host::installed::same_source(&p.source, source)
        })
    }
}

impl Locked {
    /// The entry recording plugin `(kind, name)` of `release`: its
    /// version, and the digests of each build that holds the plugin.
    pub fn new(kind: &str, name: &str, release: &Release) -> Locked {
        Locked {
            kind: kind.to_owned(),
            name: name.to_owned(),
            source: release.repository.to_string(),
            version: release.version.to_string(),
            builds: release
                .builds
                .iter()
                .filter_map(|build| LockedBuild::new(kind, name, build))
                .collect(),
        }
    }

    /// Its build for `platform` and interface major `interface`.
    pub fn build(&self, platform: &str, interface: u64) -> Option<&LockedBuild> {
        self.builds
            .iter()
            .find(|b| b.platform == platform && b.interface == interface)
    }
}

impl LockedBuild {
    /// The digests of plugin `(kind, name)` in `build`, if it holds it.
    pub fn new(kind: &str, name: &str, build: &Build) -> Option<LockedBuild> {
        let (_, file) = build.plugin_file(kind, name)?;
        Some(LockedBuild {
            platform: build.platform.clone(),
            interface: build.interface_major,
            manifest: build.manifest_digest.clone(),
            package: build.package.digest.clone(),
            file: format!("sha256:{file}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locked(source: &str, name: &str, platforms: &[&str]) -> Locked {
        Locked {
            kind: "builder".into(),
            name: name.into(),
            source: source.into(),
            version: "1.2.3".into(),
            builds: platforms
                .iter()
                .map(|platform| LockedBuild {
                    platform: (*platform).into(),
                    interface: 1,
                    manifest: format!("sha256:m-{platform}"),
                    package: format!("sha256:p-{platform}"),
                    file: format!("sha256:f-{platform}"),
                })
                .collect(),
        }
    }

    #[test]
    fn the_text_is_deterministic_and_reads_back() {
        let a = Lock {
            format: 1,
            plugins: vec![
                locked("b.org/x", "dir", &["linux_x86_64", "linux_aarch64"]),
                locked("a.org/x", "dir", &["linux_x86_64"]),
            ],
        };
        let mut b = a.clone();
        b.plugins.reverse();
        b.plugins[0].builds.reverse();
        assert_eq!(a.to_text(), b.to_text());
        let text = a.to_text();
        assert!(text.starts_with("# Written by rivet init"));
        assert!(text.find("a.org/x").unwrap() < text.find("b.org/x").unwrap());
        assert!(text.find("m-linux_aarch64").unwrap() < text.rfind("m-linux_x86_64").unwrap());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        a.write(&path).unwrap();
        let read = Lock::read(&path).unwrap().unwrap();
        assert_eq!(read.to_text(), text);
        assert_eq!(
            read.find("builder", "dir", "/a.org/x/").map(|l| &l.source),
            Some(&"a.org/x".to_owned())
        );
        assert!(read.find("builder", "dir", "c.org/x").is_none());
    }

    #[test]
    fn a_file_that_is_not_a_lock_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        fs::write(&path, "my notes, not a lock\n").unwrap();
        assert!(matches!(
            Lock::default().write(&path),
            Err(StoreError::BadLock { .. })
        ));
        assert_eq!(fs::read_to_string(&path).unwrap(), "my notes, not a lock\n");
    }
}
