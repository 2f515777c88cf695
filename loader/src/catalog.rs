//! Installed plugins, required versions, and listings that do not load
//! every plugin on every run.
//!
//! Plain discovery of `(kind, name)` ([`Loader::load`]) takes the first
//! unversioned `libplugin_KIND_NAME` file on the search path; only when
//! there is none does it take the highest installed version (under the
//! install root, any source, this platform, the host's interface major),
//! then a built-in plugin. Unversioned files are what a plugin author is
//! working on, so they win. A template's `[required_plugins]` entry
//! ([`Loader::load_required`]) takes the highest installed version from its
//! source that satisfies its requirement, and nothing else.
//!
//! An installed file whose name disagrees with what the plugin reports
//! (kind, name, version or interface version) is ignored with a warning and
//! the next version is tried, as Packer does.

use std::fs::File;
use std::path::{Path, PathBuf};

use rivet_interface::PluginKind;
use semver::{Version, VersionReq};

use crate::UnreadableDir;
use crate::cache::{self, ChecksumState, Entry, MetadataCache, Stamp};
use crate::discovery::{self, Shadowed};
use crate::installed::{self, InstalledName, InstalledPlugin, host_interface_major};
use crate::integrity::{self, Verified};
use crate::vetting::{ScanRequest, Verdict, Wanted};
use crate::{LoadError, Loader, Mode, Plugin, PluginMetadata, PluginSource, same_name};
use rivet_host::IntegrityError;

/// An installed plugin file and its state, as [`Loader::installed`] lists it.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The file, its source and what its name says.
    pub plugin: InstalledPlugin,
    /// How the file compares with its `_SHA256SUM` sidecar.
    pub checksum: ChecksumState,
    /// What the plugin reports about itself, or why it cannot be used.
    pub metadata: Result<PluginMetadata, String>,
}

/// A plugin a listing found usable.
#[derive(Debug, Clone)]
pub struct Listed {
    /// What it reports about itself.
    pub metadata: PluginMetadata,
    /// Its file, or built-in.
    pub source: PluginSource,
}

/// A plugin file a listing found unusable, with the reason.
#[derive(Debug, Clone)]
pub struct BrokenFile {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be used (names the file and the fix).
    pub message: String,
}

/// What [`Loader::catalog`] found: what [`Loader::load_all`] would load,
/// mostly from the metadata cache instead of loading each plugin.
#[derive(Debug, Default)]
pub struct Catalog {
    /// The plugins that would be used, in search order, then installed
    /// ones, then built-ins.
    pub plugins: Vec<Listed>,
    /// Files that cannot be used.
    pub broken: Vec<BrokenFile>,
    /// Plugins hidden by a file earlier on the search path.
    pub shadowed: Vec<Shadowed>,
    /// Directories on the search path that could not be read.
    pub unreadable: Vec<UnreadableDir>,
}

impl Loader {
    /// Loads plugin files and directories even when other users can write
    /// them (see [`crate::integrity`]). Off by default.
    pub fn allow_insecure_permissions(&mut self, allow: bool) {
        self.trust.allow_insecure = allow;
    }

    /// Where installed plugins live (`$RIVET_HOME/plugins` for
    /// [`Loader::new`]; none for [`Loader::with_search_path`]).
    pub fn set_install_dir(&mut self, dir: Option<PathBuf>) {
        self.trust.install_dir = dir;
    }

    /// The install root, if any.
    pub fn install_dir(&self) -> Option<&Path> {
        self.trust.install_dir.as_deref()
    }

    /// Where listings cache plugin metadata
    /// (`$RIVET_HOME/cache/plugins.cache` for [`Loader::new`]; none, so no
    /// cache, for [`Loader::with_search_path`]).
    pub fn set_metadata_cache(&mut self, file: Option<PathBuf>) {
        self.trust.cache_file = file;
    }

    /// Loads the highest installed version of `(kind, name)` from `source`
    /// that satisfies `requirement`, in `mode`.
    pub fn load_required(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        requirement: &VersionReq,
        mode: Mode,
    ) -> Result<Plugin, LoadError> {
        match self.load_installed(kind, name, Some(source), Some(requirement), mode)? {
            Some(plugin) => Ok(plugin),
            None => Err(self.no_matching_version(kind, name, source, requirement)),
        }
    }

    /// The installed file [`load_required`](Self::load_required) would use,
    /// found without loading plugins (from the metadata cache where it can).
    pub fn resolve_required(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        requirement: &VersionReq,
    ) -> Result<InstalledPlugin, LoadError> {
        let all = self.installed_files();
        let mut cache = cache::open(self.trust.cache_file.as_deref());
        let candidates = installed::candidates(&all, kind, name, Some(source), Some(requirement));
        self.entries(&mut cache, &requests_for(&candidates));
        let found = candidates
            .into_iter()
            .find(|p| {
                self.describe(&mut cache, &p.path, kind, name)
                    .outcome()
                    .is_ok()
            })
            .cloned();
        cache.save();
        found.ok_or_else(|| self.no_matching_version(kind, name, source, requirement))
    }

    /// Every installed plugin file under the install root (any platform),
    /// with its checksum state and metadata, from the metadata cache where
    /// the file has not changed.
    pub fn installed(&self) -> Vec<Installed> {
        let mut cache = cache::open(self.trust.cache_file.as_deref());
        let all = self.installed_files();
        let compatible: Vec<&InstalledPlugin> = all
            .iter()
            .filter(|p| p.id.is_compatible(host_interface_major()))
            .collect();
        // Every compatible file, vetted in one batch, in `all`'s order.
        let mut entries = self
            .entries(&mut cache, &requests_for(&compatible))
            .into_iter();
        let list = all
            .into_iter()
            .map(|plugin| {
                if !plugin.id.is_compatible(host_interface_major()) {
                    return Installed {
                        checksum: checksum_state(&plugin.path),
                        metadata: Err(format!(
                            "built for {} against interface {}.x; this host is {} with interface {}.x",
                            plugin.id.platform,
                            plugin.id.interface_major,
                            installed::platform(),
                            host_interface_major()
                        )),
                        plugin,
                    };
                }
                match entries.next().expect("one entry per compatible file") {
                    Ok(entry) => Installed {
                        checksum: entry.checksum.clone().unwrap_or(ChecksumState::Missing),
                        metadata: entry.outcome(),
                        plugin,
                    },
                    Err(message) => Installed {
                        checksum: checksum_state(&plugin.path),
                        metadata: Err(message),
                        plugin,
                    },
                }
            })
            .collect();
        cache.save();
        list
    }

    /// What [`load_all`](Self::load_all) would load, and what is broken or
    /// shadowed, without loading plugins whose files are unchanged since
    /// the last listing (see [`crate::cache`]).
    pub fn catalog(&self) -> Catalog {
        let scan = discovery::scan(&self.search_path);
        let mut cache = cache::open(self.trust.cache_file.as_deref());
        let installed = self.installed_files();
        // The files the listing describes (each file on the search path, and
        // the best installed version of each plugin no file hides), vetted
        // in one batch; a broken best version has the next one described
        // after it, vetted on its own.
        let mut names: Vec<(PluginKind, &str)> = Vec::new();
        for plugin in &installed {
            let (kind, name) = (plugin.id.kind, plugin.id.name.as_str());
            let hidden = scan
                .files
                .iter()
                .any(|f| f.kind == kind && same_name(&f.name, name));
            if !hidden && !names.iter().any(|(k, n)| *k == kind && same_name(n, name)) {
                names.push((kind, name));
            }
        }
        let best: Vec<&InstalledPlugin> = names
            .iter()
            .filter_map(|(kind, name)| {
                installed::candidates(&installed, *kind, name, None, None)
                    .first()
                    .copied()
            })
            .collect();
        let mut requests = requests_for(&best);
        requests.extend(scan.files.iter().map(|file| ScanRequest {
            path: file.path.clone(),
            plugin: Wanted {
                kind: file.kind,
                name: file.name.clone(),
            },
        }));
        self.entries(&mut cache, &requests);
        let mut catalog = Catalog {
            shadowed: scan.shadowed,
            unreadable: scan.unreadable,
            ..Catalog::default()
        };
        for file in &scan.files {
            match self
                .describe(&mut cache, &file.path, file.kind, &file.name)
                .outcome()
            {
                Ok(metadata) => catalog.plugins.push(Listed {
                    metadata,
                    source: PluginSource::File(file.path.clone()),
                }),
                Err(message) => catalog.broken.push(BrokenFile {
                    path: file.path.clone(),
                    message,
                }),
            }
        }

        let mut done: Vec<(PluginKind, String)> = Vec::new();
        for plugin in &installed {
            let (kind, name) = (plugin.id.kind, plugin.id.name.clone());
            if done.iter().any(|(k, n)| *k == kind && same_name(n, &name)) {
                continue;
            }
            done.push((kind, name.clone()));
            let candidates = installed::candidates(&installed, kind, &name, None, None);
            if let Some(first) = scan
                .files
                .iter()
                .find(|f| f.kind == kind && same_name(&f.name, &name))
            {
                if let Some(best) = candidates.first() {
                    catalog.shadowed.push(Shadowed {
                        kind,
                        name,
                        hidden: PluginSource::File(best.path.clone()),
                        by: first.path.clone(),
                    });
                }
                continue;
            }
            for candidate in candidates {
                match self
                    .describe(&mut cache, &candidate.path, kind, &name)
                    .outcome()
                {
                    Ok(metadata) => {
                        catalog.plugins.push(Listed {
                            metadata,
                            source: PluginSource::File(candidate.path.clone()),
                        });
                        break;
                    }
                    Err(message) => catalog.broken.push(BrokenFile {
                        path: candidate.path.clone(),
                        message,
                    }),
                }
            }
        }
        cache.save();

        for builtin in &self.builtins {
            let (kind, name) = (builtin.kind(), builtin.name());
            let by_file = catalog
                .plugins
                .iter()
                .filter_map(|p| match &p.source {
                    PluginSource::File(path) => Some((p.metadata.kind, &p.metadata.name, path)),
                    PluginSource::BuiltIn => None,
                })
                .find(|(k, n, _)| *k == kind && same_name(n, name))
                .map(|(_, _, path)| path.clone());
            match by_file {
                Some(by) => catalog.shadowed.push(Shadowed {
                    kind,
                    name: name.to_owned(),
                    hidden: PluginSource::BuiltIn,
                    by,
                }),
                None => match self.load_builtin(builtin.clone()) {
                    Ok(plugin) => catalog.plugins.push(Listed {
                        metadata: plugin.metadata().clone(),
                        source: PluginSource::BuiltIn,
                    }),
                    Err(error) => catalog.broken.push(BrokenFile {
                        path: PathBuf::from("built-in"),
                        message: error.to_string(),
                    }),
                },
            }
        }
        catalog
    }

    /// Checks the permissions of the open plugin `file` named `path` and of
    /// the directories holding the name (unless allowed).
    pub(crate) fn check_permissions(&self, path: &Path, file: &File) -> Result<(), LoadError> {
        if self.trust.allow_insecure {
            return Ok(());
        }
        let root = self
            .trust
            .install_dir
            .as_deref()
            .filter(|root| path.starts_with(root));
        Ok(integrity::check_permissions(path, file, root)?)
    }

    /// Opens a plugin file and checks it before this process loads it:
    /// permissions and, when it has or needs a sidecar, its checksum, all on
    /// the one open file that is then loaded.
    pub(crate) fn check_file(&self, path: &Path) -> Result<Verified, LoadError> {
        let verified = integrity::open_verified(path, installed_name(path).is_some())?;
        self.check_permissions(path, &verified.file)?;
        Ok(verified)
    }

    /// Loads the best installed version of `(kind, name)` (see the module
    /// documentation); `None` when no installed file is a candidate.
    pub(crate) fn load_installed(
        &self,
        kind: PluginKind,
        name: &str,
        source: Option<&str>,
        requirement: Option<&VersionReq>,
        mode: Mode,
    ) -> Result<Option<Plugin>, LoadError> {
        let all = self.installed_files();
        for candidate in installed::candidates(&all, kind, name, source, requirement) {
            match self.load_file_in(&candidate.path, kind, name, mode) {
                Ok(plugin) => return Ok(Some(plugin)),
                Err(
                    error @ (LoadError::InstalledNameMismatch { .. }
                    | LoadError::NameMismatch { .. }),
                ) => log::warn!("{error}"),
                Err(error) => return Err(error),
            }
        }
        Ok(None)
    }

    /// Every installed plugin file under the install root (any platform),
    /// from file names alone: nothing is loaded or hashed.
    pub fn installed_files(&self) -> Vec<InstalledPlugin> {
        self.trust
            .install_dir
            .as_deref()
            .map(installed::scan_installed)
            .unwrap_or_default()
    }

    fn no_matching_version(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        requirement: &VersionReq,
    ) -> LoadError {
        let all = self.installed_files();
        let versions: Vec<String> = installed::candidates(&all, kind, name, Some(source), None)
            .iter()
            .map(|p| p.id.version.to_string())
            .collect();
        LoadError::NoMatchingVersion {
            kind,
            name: name.to_owned(),
            source_id: source.to_owned(),
            requirement: requirement.to_string(),
            installed: if versions.is_empty() {
                "none".to_owned()
            } else {
                versions.join(", ")
            },
        }
    }

    /// The cache entry for the plugin file `path` (see [`Loader::entries`]);
    /// a file that cannot be vetted gets an entry saying why.
    fn describe(
        &self,
        cache: &mut MetadataCache,
        path: &Path,
        kind: PluginKind,
        name: &str,
    ) -> Entry {
        let request = ScanRequest {
            path: path.to_owned(),
            plugin: Wanted {
                kind,
                name: name.to_owned(),
            },
        };
        self.entries(cache, std::slice::from_ref(&request))
            .remove(0)
            .unwrap_or_else(|message| {
                Entry::new(Stamp::default(), None, None, Verdict::Loaded(Err(message)))
            })
    }
}

/// What vetting `plugins` (installed files) takes.
fn requests_for(plugins: &[&InstalledPlugin]) -> Vec<ScanRequest> {
    plugins
        .iter()
        .map(|plugin| ScanRequest {
            path: plugin.path.clone(),
            plugin: Wanted {
                kind: plugin.id.kind,
                name: plugin.id.name.clone(),
            },
        })
        .collect()
}

/// What an installed file's name says, if it is one.
pub(crate) fn installed_name(path: &Path) -> Option<InstalledName> {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(installed::parse_name)
}

/// How `path` compares with its sidecar, hashing it as a loader does.
pub(crate) fn checksum_state(path: &Path) -> ChecksumState {
    match integrity::verified_digest(path) {
        Ok(_) => ChecksumState::Ok,
        Err(IntegrityError::ChecksumMismatch { .. }) => ChecksumState::Mismatch,
        Err(IntegrityError::MissingChecksum { .. }) => ChecksumState::Missing,
        Err(error) => ChecksumState::Unreadable(error.to_string()),
    }
}

/// Checks that an installed file's name agrees with what the plugin
/// reports; files with plain names pass.
pub(crate) fn check_installed_name(
    path: &Path,
    reported: &PluginMetadata,
) -> Result<(), LoadError> {
    let Some(id) = installed_name(path) else {
        return Ok(());
    };
    let mismatch = |field, file_says: String, plugin_says: String| {
        Err(LoadError::InstalledNameMismatch {
            path: path.to_owned(),
            field,
            file_says,
            plugin_says,
        })
    };
    if id.kind != reported.kind {
        return mismatch("kind", id.kind.to_string(), reported.kind.to_string());
    }
    if !same_name(&id.name, &reported.name) {
        return mismatch("name", id.name, reported.name.clone());
    }
    if Version::parse(&reported.version).ok().as_ref() != Some(&id.version) {
        return mismatch("version", id.version.to_string(), reported.version.clone());
    }
    let major = reported
        .interface_version
        .parse::<rivet_host::InterfaceVersion>()
        .map(|version| version.major())
        .ok();
    if major != Some(id.interface_major) {
        return mismatch(
            "interface version",
            format!("{}.x", id.interface_major),
            reported.interface_version.clone(),
        );
    }
    Ok(())
}
