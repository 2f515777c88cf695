//! Publishing: [`Registry::push`] puts a package into the repository as
//! one release per version, one manifest per platform.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use oci_client::manifest::{
    ImageIndexEntry, OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
    OciImageIndex, OciImageManifest,
};
use rivet_host::integrity::sha256_hex;
use semver::Version;

use super::layout::{self, ANNOTATION};
use super::repository::tag_of;
use super::{Registry, RegistryError, Repository};
use crate::Staging;
use crate::error::io;
use crate::package::read_any_platform;

/// What [`Registry::push`] published.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Published {
    /// The repository.
    pub repository: Repository,
    /// The release's version.
    pub version: Version,
    /// Its tag (the version, `+` written `_`).
    pub tag: String,
    /// The platform of the package (`linux_x86_64`).
    pub platform: String,
    /// The digest of the package's manifest in the registry.
    pub manifest: String,
    /// Whether the registry had exactly this package already.
    pub unchanged: bool,
}

impl Registry {
    /// Publishes the package at `package` (as [`pack`](crate::pack())
    /// makes it, for any platform) as release `VERSION` of the repository,
    /// after checking the archive as [`read`](crate::read) does (its
    /// plugins are not loaded: it may be built for another machine).
    ///
    /// The release is an OCI image index tagged with the version, holding
    /// one manifest per platform and interface major; pushing the package
    /// of another platform adds its manifest to the index. Each manifest
    /// has one layer, the package itself, and carries the package's
    /// manifest and `SHA256SUMS` as annotations (see the
    /// [module](super) documentation). A release never changes: a package
    /// for a platform the release already has is refused unless it is the
    /// very same, and every package of a release must hold the same
    /// plugins.
    pub fn push(&self, staging: &Staging, package: &Path) -> Result<Published, RegistryError> {
        let repository = self.repository().to_string();
        let unpacked = read_any_platform(staging, package)?;
        let manifest = &unpacked.manifest;
        let refuse = |version: &str, reason: String| RegistryError::Published {
            repository: repository.clone(),
            version: version.to_owned(),
            reason,
        };
        let versions: std::collections::BTreeSet<&str> = manifest
            .plugins
            .iter()
            .map(|p| p.version.as_str())
            .collect();
        let version = match versions.iter().collect::<Vec<_>>()[..] {
            [version] => Version::parse(version).map_err(|e| refuse(version, e.to_string()))?,
            _ => {
                return Err(refuse(
                    &versions.iter().copied().collect::<Vec<_>>().join(", "),
                    "its plugins have different versions, and a release is one version; pack each version on its own".to_owned(),
                ));
            }
        };
        let majors: std::collections::BTreeSet<u64> = manifest
            .plugins
            .iter()
            .map(|p| layout::interface_major(&p.interface_version))
            .collect();
        let [major] = majors.iter().copied().collect::<Vec<_>>()[..] else {
            return Err(refuse(
                &version.to_string(),
                "its plugins are built against different interface majors; pack them apart"
                    .to_owned(),
            ));
        };
        let tag = tag_of(&version);
        let plugins = layout::plugin_list(manifest);

        let size = fs::metadata(package).map_err(io(package))?.len();
        if size > layout::MAX_PACKAGE {
            return Err(RegistryError::TooLarge {
                repository,
                what: package.display().to_string(),
                size,
                limit: layout::MAX_PACKAGE,
            });
        }
        let data = fs::read(package).map_err(io(package))?;
        let layer_digest = format!("sha256:{}", sha256_hex(&data[..]).map_err(io(package))?);
        let config = serde_json::to_vec(manifest).expect("a manifest serializes");
        let config_digest = format!("sha256:{}", sha256_hex(&config[..]).map_err(io(package))?);
        let file_name = package
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();

        let mut annotations = BTreeMap::from([
            (
                "org.opencontainers.image.version".to_owned(),
                version.to_string(),
            ),
            (ANNOTATION.platform.to_owned(), manifest.platform.clone()),
            (ANNOTATION.interface.to_owned(), major.to_string()),
            (ANNOTATION.plugins.to_owned(), plugins.clone()),
            (
                ANNOTATION.manifest.to_owned(),
                unpacked.manifest_text.clone(),
            ),
            (ANNOTATION.sums.to_owned(), unpacked.sums_text.clone()),
        ]);
        annotations.insert(
            "org.opencontainers.image.source".to_owned(),
            manifest.source.clone(),
        );
        let image = OciImageManifest {
            schema_version: 2,
            media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_owned()),
            config: OciDescriptor {
                media_type: layout::CONFIG_MEDIA_TYPE.to_owned(),
                digest: config_digest.clone(),
                size: config.len() as i64,
                ..OciDescriptor::default()
            },
            layers: vec![OciDescriptor {
                media_type: layout::PACKAGE_MEDIA_TYPE.to_owned(),
                digest: layer_digest.clone(),
                size: data.len() as i64,
                annotations: Some(BTreeMap::from([(
                    "org.opencontainers.image.title".to_owned(),
                    file_name,
                )])),
                ..OciDescriptor::default()
            }],
            subject: None,
            artifact_type: None,
            annotations: Some(annotations),
        };
        let body = serde_json::to_vec(&image).expect("a manifest serializes");
        let manifest_digest = format!("sha256:{}", sha256_hex(&body[..]).map_err(io(package))?);

        // The index the release has so far, if any, checked before
        // anything is uploaded.
        let existing = self.manifest(&self.tag(&tag), &[OCI_IMAGE_INDEX_MEDIA_TYPE])?;
        let mut index = match existing {
            None => OciImageIndex {
                schema_version: 2,
                media_type: Some(OCI_IMAGE_INDEX_MEDIA_TYPE.to_owned()),
                manifests: Vec::new(),
                artifact_type: None,
                annotations: Some(BTreeMap::from([
                    (
                        "org.opencontainers.image.version".to_owned(),
                        version.to_string(),
                    ),
                    (ANNOTATION.plugins.to_owned(), plugins.clone()),
                ])),
            },
            Some((body, _)) => {
                let index =
                    layout::parse_index(&body).map_err(|reason| RegistryError::NotARelease {
                        repository: repository.clone(),
                        reference: tag.clone(),
                        reason,
                    })?;
                let theirs = layout::annotation(index.annotations.as_ref(), ANNOTATION.plugins)
                    .unwrap_or_default();
                if theirs != plugins {
                    return Err(refuse(
                        &version.to_string(),
                        format!(
                            "the release holds {theirs}, this package {plugins}; every package of a release holds the same plugins"
                        ),
                    ));
                }
                index
            }
        };
        let same_build = |entry: &ImageIndexEntry| {
            layout::annotation(entry.annotations.as_ref(), ANNOTATION.platform)
                == Some(manifest.platform.as_str())
                && layout::annotation(entry.annotations.as_ref(), ANNOTATION.interface)
                    == Some(major.to_string().as_str())
        };
        if let Some(entry) = index.manifests.iter().find(|e| same_build(e)) {
            if entry.digest == manifest_digest {
                return Ok(Published {
                    repository: self.repository().clone(),
                    version,
                    tag,
                    platform: manifest.platform.clone(),
                    manifest: manifest_digest,
                    unchanged: true,
                });
            }
            return Err(refuse(
                &version.to_string(),
                format!(
                    "it is published for {} with interface {major} already, as {}, and a published release never changes; publish a new version",
                    manifest.platform, entry.digest
                ),
            ));
        }

        self.push_blob(data, &layer_digest)?;
        self.push_blob(config, &config_digest)?;
        self.push_manifest(
            &self.digest(&manifest_digest),
            body.clone(),
            OCI_IMAGE_MEDIA_TYPE,
        )?;
        index.manifests.push(ImageIndexEntry {
            media_type: OCI_IMAGE_MEDIA_TYPE.to_owned(),
            digest: manifest_digest.clone(),
            size: body.len() as i64,
            platform: layout::oci_platform(&manifest.platform),
            annotations: Some(BTreeMap::from([
                (ANNOTATION.platform.to_owned(), manifest.platform.clone()),
                (ANNOTATION.interface.to_owned(), major.to_string()),
            ])),
            artifact_type: None,
        });
        index.manifests.sort_by(|a, b| {
            let key = |e: &ImageIndexEntry| {
                (
                    layout::annotation(e.annotations.as_ref(), ANNOTATION.platform)
                        .map(str::to_owned),
                    layout::annotation(e.annotations.as_ref(), ANNOTATION.interface)
                        .map(str::to_owned),
                )
            };
            key(a).cmp(&key(b))
        });
        let index_body = serde_json::to_vec(&index).expect("an index serializes");
        self.push_manifest(&self.tag(&tag), index_body, OCI_IMAGE_INDEX_MEDIA_TYPE)?;
        Ok(Published {
            repository: self.repository().clone(),
            version,
            tag,
            platform: manifest.platform.clone(),
            manifest: manifest_digest,
            unchanged: false,
        })
    }
}
