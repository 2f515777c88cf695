//! How a release looks in an OCI repository: media types, annotations and
//! limits, in one place.

use std::collections::BTreeMap;

use oci_client::manifest::{OciImageIndex, OciImageManifest, Platform};

use crate::Manifest;

/// The media type of a manifest's config: the package's manifest as JSON.
pub(crate) const CONFIG_MEDIA_TYPE: &str = "application/vnd.rivet.package.config.v1+json";
/// The media type of a manifest's one layer: the package.
pub(crate) const PACKAGE_MEDIA_TYPE: &str = "application/vnd.rivet.package.v1.tar+gzip";
/// The largest package downloaded or published, in bytes (as large as the
/// store unpacks).
pub(crate) const MAX_PACKAGE: u64 = 1 << 30;
/// The largest manifest or index accepted, in bytes.
pub(crate) const MAX_MANIFEST: usize = 4 << 20;

/// The annotation keys Rivet writes.
pub(crate) struct Annotations {
    /// On manifests and their index entries: the platform, `linux_x86_64`.
    pub(crate) platform: &'static str,
    /// On manifests and their index entries: the interface major, `1`.
    pub(crate) interface: &'static str,
    /// On manifests and indexes: the plugins, `builder/dir post-processor/checksum`.
    pub(crate) plugins: &'static str,
    /// On manifests: the text of the package's `rivet-package.toml`.
    pub(crate) manifest: &'static str,
    /// On manifests: the text of the package's `SHA256SUMS`.
    pub(crate) sums: &'static str,
}

/// The annotation keys Rivet writes.
pub(crate) const ANNOTATION: Annotations = Annotations {
    platform: "dev.rivet.platform",
    interface: "dev.rivet.interface-major",
    plugins: "dev.rivet.plugins",
    manifest: "dev.rivet.package.manifest",
    sums: "dev.rivet.package.sha256sums",
};

/// The plugins of a package, as annotations list them:
/// `builder/dir post-processor/checksum`, sorted.
pub(crate) fn plugin_list(manifest: &Manifest) -> String {
    let mut plugins: Vec<String> = manifest
        .plugins
        .iter()
        .map(|p| format!("{}/{}", p.kind, p.name.replace('_', "-")))
        .collect();
    plugins.sort();
    plugins.join(" ")
}

/// The major of interface version `version` (`1.0.0` → 1; 0 if it is not
/// a version, which no host matches).
pub(crate) fn interface_major(version: &str) -> u64 {
    semver::Version::parse(version).map_or(0, |v| v.major)
}

/// Annotation `key` of `annotations`.
pub(crate) fn annotation<'a>(
    annotations: Option<&'a BTreeMap<String, String>>,
    key: &str,
) -> Option<&'a str> {
    annotations?.get(key).map(String::as_str)
}

/// `body` as a Rivet release's index.
pub(crate) fn parse_index(body: &[u8]) -> Result<OciImageIndex, String> {
    if body.len() > MAX_MANIFEST {
        return Err(format!("its index is larger than {MAX_MANIFEST} bytes"));
    }
    let index: OciImageIndex =
        serde_json::from_slice(body).map_err(|e| format!("not an OCI image index: {e}"))?;
    if annotation(index.annotations.as_ref(), ANNOTATION.plugins).is_none() {
        return Err(format!(
            "its index has no `{}` annotation, so rivet did not publish it",
            ANNOTATION.plugins
        ));
    }
    Ok(index)
}

/// `body` as the manifest of a Rivet package.
pub(crate) fn parse_manifest(body: &[u8]) -> Result<OciImageManifest, String> {
    if body.len() > MAX_MANIFEST {
        return Err(format!("a manifest is larger than {MAX_MANIFEST} bytes"));
    }
    let manifest: OciImageManifest =
        serde_json::from_slice(body).map_err(|e| format!("not an OCI image manifest: {e}"))?;
    match &manifest.layers[..] {
        [layer] if layer.media_type == PACKAGE_MEDIA_TYPE => Ok(manifest),
        _ => Err(format!(
            "a manifest does not have exactly one layer of type {PACKAGE_MEDIA_TYPE}"
        )),
    }
}

/// The OCI platform (`GOOS`/`GOARCH` names) of Rivet platform
/// `linux_x86_64`, for tools other than Rivet; Rivet itself reads its own
/// annotations.
pub(crate) fn oci_platform(platform: &str) -> Option<Platform> {
    let (os, arch) = platform.split_once('_')?;
    let os = match os {
        "macos" => "darwin",
        other => other,
    };
    let architecture = match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    };
    serde_json::from_value(serde_json::json!({ "os": os, "architecture": architecture })).ok()
}
