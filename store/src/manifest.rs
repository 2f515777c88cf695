//! The manifest of a package, `rivet-package.toml`: [`Manifest`],
//! [`ManifestPlugin`].
//!
//! ```toml
//! format = 1
//! source = "example.org/acme/tools"
//! platform = "linux_x86_64"
//!
//! [[plugins]]
//! file = "libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so"
//! kind = "builder"
//! name = "dir"
//! version = "1.2.3"
//! interface_version = "1.0.0"
//! description = "Copies a source directory into a fresh artifact"
//! ```

use rivet_host::installed::check_source;
use rivet_host::{is_valid_name, same_name};
use rivet_interface::PluginKind;
use serde::{Deserialize, Serialize};

/// The manifest's file name inside a package.
pub(crate) const MANIFEST: &str = "rivet-package.toml";
/// The checksum file's name inside a package.
pub(crate) const CHECKSUMS: &str = "SHA256SUMS";

/// The manifest of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Manifest {
    /// The manifest format (1).
    pub format: u32,
    /// Where the plugins come from, a path-like id.
    pub source: String,
    /// The platform the plugins are built for: `linux_x86_64`.
    pub platform: String,
    /// The plugins in the package.
    pub plugins: Vec<ManifestPlugin>,
}

/// One plugin in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ManifestPlugin {
    /// Its file in the package.
    pub file: String,
    /// Its kind (`builder`, `post-processor`, ...).
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The rivet-interface version it was built against.
    pub interface_version: String,
    /// What it does.
    pub description: String,
}

impl ManifestPlugin {
    /// Its kind, parsed.
    pub(crate) fn kind(&self) -> Result<PluginKind, String> {
        self.kind.parse().map_err(|_| {
            format!(
                "unknown plugin kind `{}`; use one of {}",
                self.kind,
                PluginKind::ALL.map(PluginKind::as_str).join(", ")
            )
        })
    }
}

impl Manifest {
    /// Checks every name the manifest gives: the source, and each plugin's
    /// file, kind and name, with no plugin or file listed twice. Returns
    /// what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        check_source(&self.source)?;
        if self.plugins.is_empty() {
            return Err("it lists no plugins".into());
        }
        for (i, plugin) in self.plugins.iter().enumerate() {
            let at = format!("plugin #{} (`{}`)", i + 1, plugin.name);
            let kind = plugin.kind().map_err(|e| format!("{at}: {e}"))?;
            if !is_valid_name(&plugin.name) {
                return Err(format!(
                    "{at}: `{}` is not a plugin name; names are letters, digits, `_` and `-`",
                    plugin.name
                ));
            }
            if !is_plain_file_name(&plugin.file) {
                return Err(format!(
                    "{at}: `{}` is not the name of a file at the top of the package",
                    plugin.file
                ));
            }
            let earlier = &self.plugins[..i];
            if let Some(same) = earlier
                .iter()
                .find(|p| p.kind == plugin.kind && same_name(&p.name, &plugin.name))
            {
                return Err(format!(
                    "{at}: {kind} `{}` is listed twice (also as `{}`); a package holds one version of each plugin",
                    plugin.name, same.name
                ));
            }
            if earlier.iter().any(|p| p.file == plugin.file) {
                return Err(format!(
                    "{at}: file `{}` is listed for two plugins",
                    plugin.file
                ));
            }
        }
        Ok(())
    }
}

/// Whether `name` names a file at the top of a package: not empty, no
/// directory separator, not hidden.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}
