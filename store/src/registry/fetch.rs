//! Finding and downloading releases: [`Registry::versions`],
//! [`Registry::release`], [`Registry::find`], [`Registry::download`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor};
use rivet_host::installed::platform;
use semver::{Version, VersionReq};

use super::layout::{self, ANNOTATION};
use super::repository::{tag_of, version_of};
use super::{Registry, RegistryError, Repository};
use crate::manifest::is_plain_file_name;
use crate::{Manifest, Staging};

/// A release of a repository: one version, its builds for every platform.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Release {
    /// The repository.
    pub repository: Repository,
    /// The version.
    pub version: Version,
    /// The plugins in it: `builder/dir post-processor/checksum`.
    pub plugins: String,
    /// Its builds, by platform and interface major.
    pub builds: Vec<Build>,
}

/// One package of a release: the build for one platform and interface
/// major.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Build {
    /// The platform, as `linux_x86_64`.
    pub platform: String,
    /// The interface major its plugins are built against.
    pub interface_major: u64,
    /// The digest of its manifest.
    pub manifest_digest: String,
    /// The package: its digest and size.
    pub package: OciDescriptor,
    /// The package's file name.
    pub file_name: String,
    /// The package's manifest.
    pub manifest: Manifest,
    /// The SHA-256 of each file in the package, by name, as its
    /// `SHA256SUMS` lists them (lowercase hex).
    pub sums: BTreeMap<String, String>,
}

impl Build {
    /// Whether this build is for this machine and interface major
    /// `interface_major`.
    pub fn is_for(&self, interface_major: u64) -> bool {
        self.platform == platform() && self.interface_major == interface_major
    }

    /// The file name and SHA-256 (lowercase hex) of plugin `(kind, name)`
    /// in the package, if it holds it.
    pub fn plugin_file(&self, kind: &str, name: &str) -> Option<(&str, &str)> {
        let plugin = self
            .manifest
            .plugins
            .iter()
            .find(|p| p.kind == kind && rivet_host::same_name(&p.name, name))?;
        let digest = self.sums.get(&plugin.file)?;
        Some((&plugin.file, digest))
    }
}

impl Release {
    /// The platforms it is built for, as text:
    /// `linux_aarch64 with interface 1, linux_x86_64 with interface 1`.
    pub fn platforms(&self) -> String {
        self.builds
            .iter()
            .map(|b| format!("{} with interface {}", b.platform, b.interface_major))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Its build for this machine and interface major `interface_major`.
    pub fn build_for(&self, interface_major: u64) -> Option<&Build> {
        self.builds.iter().find(|b| b.is_for(interface_major))
    }
}

impl Registry {
    /// The versions released in the repository, highest first (tags that
    /// are not versions are left out).
    pub fn versions(&self) -> Result<Vec<Version>, RegistryError> {
        let mut versions: Vec<Version> = self
            .tags()?
            .iter()
            .filter_map(|tag| version_of(tag))
            .collect();
        versions.sort_by(|a, b| b.cmp(a));
        versions.dedup();
        Ok(versions)
    }

    /// Release `version`: its index and the manifest of each build, each
    /// checked against the digest that names it.
    pub fn release(&self, version: &Version) -> Result<Release, RegistryError> {
        let repository = self.repository().to_string();
        let tag = tag_of(version);
        let not_release = |reason: String| RegistryError::NotARelease {
            repository: repository.clone(),
            reference: tag.clone(),
            reason,
        };
        let (body, _) = self
            .manifest(&self.tag(&tag), &[OCI_IMAGE_INDEX_MEDIA_TYPE])?
            .ok_or_else(|| RegistryError::NotFound {
                repository: repository.clone(),
                reference: tag.clone(),
                answer: "no such tag".to_owned(),
            })?;
        let index = layout::parse_index(&body).map_err(not_release)?;
        let plugins = layout::annotation(index.annotations.as_ref(), ANNOTATION.plugins)
            .unwrap_or_default()
            .to_owned();
        let mut builds = Vec::new();
        for entry in &index.manifests {
            if entry.media_type != OCI_IMAGE_MEDIA_TYPE {
                continue;
            }
            let Some((body, digest)) =
                self.manifest(&self.digest(&entry.digest), &[OCI_IMAGE_MEDIA_TYPE])?
            else {
                return Err(not_release(format!(
                    "its index lists manifest {}, which the registry does not have",
                    entry.digest
                )));
            };
            if digest != entry.digest {
                return Err(RegistryError::Digest {
                    repository,
                    what: format!("a manifest of {tag}"),
                    expected: entry.digest.clone(),
                    found: digest,
                });
            }
            let manifest = layout::parse_manifest(&body).map_err(not_release)?;
            let annotations = manifest.annotations.as_ref();
            let text = |key: &str| {
                layout::annotation(annotations, key)
                    .ok_or_else(|| not_release(format!("a manifest has no `{key}` annotation")))
            };
            let package_manifest: Manifest = toml::from_str(text(ANNOTATION.manifest)?)
                .map_err(|e| not_release(format!("its package manifest: {}", e.message())))?;
            let sums = text(ANNOTATION.sums)?
                .lines()
                .filter_map(|line| {
                    let (digest, name) = line.split_once(char::is_whitespace)?;
                    Some((
                        name.trim().trim_start_matches('*').to_owned(),
                        digest.to_ascii_lowercase(),
                    ))
                })
                .collect();
            let package = manifest.layers[0].clone();
            let file_name = layout::annotation(
                package.annotations.as_ref(),
                "org.opencontainers.image.title",
            )
            .filter(|name| is_plain_file_name(name) && name.ends_with(".tar.gz"))
            .map_or_else(|| format!("{}.tar.gz", tag), str::to_owned);
            builds.push(Build {
                platform: text(ANNOTATION.platform)?.to_owned(),
                interface_major: text(ANNOTATION.interface)?
                    .parse()
                    .map_err(|_| not_release("a bad interface major annotation".to_owned()))?,
                manifest_digest: digest,
                package,
                file_name,
                manifest: package_manifest,
                sums,
            });
        }
        Ok(Release {
            repository: self.repository().clone(),
            version: version.clone(),
            plugins,
            builds,
        })
    }

    /// The highest release holding plugin `(kind, name)` whose version
    /// matches `requirement`, with a build for this machine and interface
    /// major `interface_major`.
    pub fn find(
        &self,
        kind: &str,
        name: &str,
        requirement: &VersionReq,
        interface_major: u64,
    ) -> Result<Release, RegistryError> {
        let versions = self.versions()?;
        let mut seen = Vec::new();
        for version in &versions {
            if !requirement.matches(version) {
                seen.push(format!("{version} (does not match)"));
                continue;
            }
            let release = self.release(version)?;
            match release.build_for(interface_major) {
                Some(build) if build.plugin_file(kind, name).is_some() => return Ok(release),
                Some(_) => seen.push(format!("{version} (holds {})", release.plugins)),
                None => seen.push(format!("{version} (built for {})", release.platforms())),
            }
        }
        Err(RegistryError::NoMatch {
            repository: self.repository().to_string(),
            wanted: format!(
                "{kind} `{name}` `{requirement}` for {} with interface {interface_major}",
                platform()
            ),
            seen: if seen.is_empty() {
                "none".to_owned()
            } else {
                seen.join(", ")
            },
        })
    }

    /// Downloads the package of `build` into a directory of its own in
    /// `staging`, checking its size and digest, and returns its path.
    /// Nothing is installed: read it with [`read`](crate::read), which
    /// checks its `SHA256SUMS` and its plugins.
    pub fn download(
        &self,
        release: &Release,
        build: &Build,
        staging: &Staging,
    ) -> Result<PathBuf, RegistryError> {
        let file = staging.new_dir()?.join(&build.file_name);
        let what = format!("the package of {} for {}", release.version, build.platform);
        self.blob_to_file(&build.package, &what, &file, layout::MAX_PACKAGE)?;
        Ok(file)
    }
}
