//! `rivet plugins required TEMPLATE` and `rivet init TEMPLATE --from DIR`:
//! what a template's `[required_plugins]` ask for, what would be used, and
//! installing what is missing from a local directory (never the network).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rivet_host::same_name;
use rivet_interface::PluginKind;
use rivet_interface::files::{interface_major, parse_installed_name, parse_plugin_file_name};
use rivet_store::{Staged, Staging};
use semver::Version;

use crate::advice::message;
use crate::listing::write_table;
use crate::plugins::Plugins;
use crate::template::{Required, Template};

/// Prints each requirement of the template at `path` and the installed
/// file that would be used (or why none would). Returns whether every
/// requirement is met.
pub fn show(plugins: &Plugins, path: &Path, out: &mut impl Write) -> Result<bool, String> {
    let template = Template::load(path).map_err(|e| e.to_string())?;
    if template.required.is_empty() {
        writeln!(out, "{} has no [required_plugins].", path.display())
            .map_err(|e| e.to_string())?;
        return Ok(true);
    }
    let mut all_met = true;
    let mut problems = Vec::new();
    let rows: Vec<[String; 6]> = template
        .required
        .iter()
        .map(|r| {
            let (version, file) =
                match plugins.resolve_version(r.kind, &r.name, &r.source, &r.version) {
                    Ok(found) => (
                        found.id.version.to_string(),
                        found.path.display().to_string(),
                    ),
                    Err(error) => {
                        all_met = false;
                        problems.push(error.to_string());
                        ("-".to_owned(), "MISSING".to_owned())
                    }
                };
            [
                r.kind.to_string(),
                r.name.clone(),
                r.source.clone(),
                r.version.to_string(),
                version,
                file,
            ]
        })
        .collect();
    let write = |out: &mut dyn Write| -> io::Result<()> {
        let mut buffer = Vec::new();
        write_table(
            &mut buffer,
            ["KIND", "NAME", "SOURCE", "REQUIRED", "USED", "FILE"],
            &rows,
        )?;
        out.write_all(&buffer)?;
        for problem in &problems {
            writeln!(out, "\n{problem}")?;
        }
        Ok(())
    };
    write(out).map_err(|e| e.to_string())?;
    Ok(all_met)
}

/// Installs every requirement of the template at `path` that no installed
/// version meets, from the packages and plugin files in `from`. Reports
/// each step to `out`.
pub fn init(
    plugins: &Plugins,
    path: &Path,
    from: &Path,
    out: &mut impl Write,
) -> Result<(), String> {
    let loader = plugins.loader();
    let template = Template::load(path).map_err(|e| e.to_string())?;
    let root = rivet_store::install_root(loader).map_err(|e| message(&e))?;
    let staging = Staging::new(&root).map_err(|e| message(&e))?;
    let offers = offers(loader, &staging, from)?;
    let mut missing = Vec::new();
    for required in &template.required {
        if let Ok(found) = plugins.resolve_version(
            required.kind,
            &required.name,
            &required.source,
            &required.version,
        ) {
            let _ = writeln!(
                out,
                "{} {} {}: {} is installed ({})",
                required.kind,
                required.name,
                required.version,
                found.id.version,
                found.path.display()
            );
            continue;
        }
        let best = offers
            .iter()
            .filter(|o| o.matches(required))
            .max_by(|a, b| a.version.cmp(&b.version));
        let Some(best) = best else {
            let seen: Vec<String> = offers
                .iter()
                .filter(|o| o.kind == required.kind && same_name(&o.name, &required.name))
                .map(|o| format!("{} in {}", o.version, o.origin.display()))
                .collect();
            missing.push(format!(
                "{} `{}` {}: nothing in {} satisfies it (found: {})",
                required.kind,
                required.name,
                required.version,
                from.display(),
                if seen.is_empty() {
                    "none".to_owned()
                } else {
                    seen.join(", ")
                }
            ));
            continue;
        };
        let staged: Vec<Staged> = match &best.what {
            Offer::File => {
                vec![
                    rivet_store::verify_file(loader, &staging, &best.origin)
                        .map_err(|e| message(&e))?,
                ]
            }
            Offer::Package => rivet_store::read(loader, &staging, &best.origin)
                .map_err(|e| message(&e))?
                .plugins
                .into_iter()
                .filter(|s| {
                    s.id.kind == required.kind && same_name(&s.metadata.name, &required.name)
                })
                .collect(),
        };
        let written = rivet_store::write_installed(&root, &staging, &required.source, &staged)
            .map_err(|e| message(&e))?;
        for path in written {
            let _ = writeln!(
                out,
                "{} {} {}: installed {} from {}",
                required.kind,
                required.name,
                required.version,
                path.display(),
                best.origin.display()
            );
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "cannot install every required plugin:\n  {}",
            missing.join("\n  ")
        ))
    }
}

enum Offer {
    File,
    Package,
}

/// A plugin available in the `--from` directory.
struct Offered {
    kind: PluginKind,
    name: String,
    version: Version,
    origin: PathBuf,
    what: Offer,
}

impl Offered {
    fn matches(&self, required: &Required) -> bool {
        self.kind == required.kind
            && same_name(&self.name, &required.name)
            && required.version.matches(&self.version)
    }
}

/// What the directory `from` offers: every plugin in its packages (whose
/// archives are checked; a bad one is skipped with a warning) and every
/// plugin file (plain ones are loaded in a plugin server to learn their
/// version).
fn offers(loader: &rivet::Loader, staging: &Staging, from: &Path) -> Result<Vec<Offered>, String> {
    let entries = fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut offers = Vec::new();
    for path in paths {
        if !path.is_file() {
            continue;
        }
        if rivet_store::is_package(&path) {
            // Only the manifest is needed here: do not keep a copy of
            // every package on disk.
            match rivet_store::read_manifest(staging, &path) {
                Ok(manifest) => {
                    for plugin in manifest.plugins {
                        let (Ok(kind), Ok(version)) =
                            (plugin.kind.parse(), Version::parse(&plugin.version))
                        else {
                            continue;
                        };
                        offers.push(Offered {
                            kind,
                            name: plugin.name,
                            version,
                            origin: path.clone(),
                            what: Offer::Package,
                        });
                    }
                }
                Err(error) => eprintln!("warning: skipping {}", message(&error)),
            }
            continue;
        }
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(id) = parse_installed_name(file_name) {
            if id.is_compatible(interface_major()) {
                offers.push(Offered {
                    kind: id.kind,
                    name: id.name,
                    version: id.version,
                    origin: path.clone(),
                    what: Offer::File,
                });
            }
        } else if parse_plugin_file_name(file_name).is_some() {
            match rivet_store::verify_file(loader, staging, &path) {
                Ok(staged) => offers.push(Offered {
                    kind: staged.id.kind,
                    name: staged.id.name,
                    version: staged.id.version,
                    origin: path.clone(),
                    what: Offer::File,
                }),
                Err(error) => eprintln!("warning: skipping {}", message(&error)),
            }
        }
    }
    Ok(offers)
}
