//! Removing installed plugins: [`remove`], [`RemoveFilter`].

use std::fs;
use std::path::Path;

use rivet::Loader;
use rivet_host::installed::same_source;
use rivet_host::integrity::sidecar_path;
use rivet_host::same_name;
use rivet_interface::PluginKind;
use rivet_interface::files::{InstalledPlugin, scan_installed};
use semver::VersionReq;

use crate::error::{StoreError, io};

/// Which installed versions of a plugin [`remove`] removes: all of them
/// by default.
#[derive(Debug, Clone, Default)]
pub struct RemoveFilter {
    /// Versions to remove (all when `None`).
    pub requirement: Option<String>,
    /// Only this kind.
    pub kind: Option<PluginKind>,
    /// Only this source.
    pub source: Option<String>,
}

/// Removes every installed file of plugin `name` matching `filter`, with
/// its sidecar, and the source directories this leaves empty. Plugins are
/// told apart by their file names alone: none is loaded. Returns what was
/// removed; matching nothing is [`StoreError::NothingToRemove`].
pub fn remove(
    loader: &Loader,
    name: &str,
    filter: &RemoveFilter,
) -> Result<Vec<InstalledPlugin>, StoreError> {
    let requirement = filter
        .requirement
        .as_deref()
        .map(|r| {
            VersionReq::parse(r).map_err(|e| StoreError::BadRequirement {
                requirement: r.to_owned(),
                message: e.to_string(),
            })
        })
        .transpose()?;
    // From file names alone: removing never loads a plugin.
    let root = crate::install_root(loader)?;
    let named: Vec<InstalledPlugin> = scan_installed(&root)
        .into_iter()
        .filter(|p| same_name(&p.id.name, name))
        .collect();
    let matching: Vec<InstalledPlugin> = named
        .iter()
        .filter(|p| filter.kind.is_none_or(|k| k == p.id.kind))
        .filter(|p| {
            filter
                .source
                .as_deref()
                .is_none_or(|s| same_source(&p.source, s))
        })
        .filter(|p| {
            requirement
                .as_ref()
                .is_none_or(|r| r.matches(&p.id.version))
        })
        .cloned()
        .collect();
    if matching.is_empty() {
        let mut text = Vec::new();
        if let Some(r) = &filter.requirement {
            text.push(format!("version `{r}`"));
        }
        if let Some(k) = filter.kind {
            text.push(format!("kind {k}"));
        }
        if let Some(s) = &filter.source {
            text.push(format!("source `{s}`"));
        }
        return Err(StoreError::NothingToRemove {
            name: name.to_owned(),
            filter: if text.is_empty() {
                String::new()
            } else {
                format!(" matching {}", text.join(", "))
            },
            installed: if named.is_empty() {
                "none".to_owned()
            } else {
                named
                    .iter()
                    .map(|p| format!("{} {} from `{}`", p.id.kind, p.id.version, p.source))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    }
    for plugin in &matching {
        // The plugin first: a sidecar without its plugin is ignored, a
        // plugin without its sidecar is refused.
        fs::remove_file(&plugin.path).map_err(io(&plugin.path))?;
        let sidecar = sidecar_path(&plugin.path);
        match fs::remove_file(&sidecar) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io(&sidecar)(e));
            }
            _ => {}
        }
        remove_empty_dirs(&plugin.path, &root);
    }
    Ok(matching)
}

/// Removes the source directories `removed` lived in, from the innermost up
/// to (not including) `root`, as long as they are empty.
fn remove_empty_dirs(removed: &Path, root: &Path) {
    for dir in removed.ancestors().skip(1) {
        if dir == root || !dir.starts_with(root) || fs::remove_dir(dir).is_err() {
            break;
        }
    }
}
