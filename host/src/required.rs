//! `rivet plugins required TEMPLATE` and `rivet init TEMPLATE`: what a
//! template's `[required_plugins]` ask for, what would be used, and
//! installing what is missing, from the registries the sources name
//! (pinned by `rivet.lock`), or from a local directory (`--from DIR`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rivet_host::installed::platform;
use rivet_host::same_name;
use rivet_interface::PluginKind;
use rivet_interface::files::{interface_major, parse_installed_name, parse_plugin_file_name};
use rivet_store::registry::{LOCK_FILE, Lock, Locked, LockedBuild, Registry, Release, Repository};
use rivet_store::{Staged, Staging};
use semver::{Version, VersionReq};

use crate::advice::{message, registry as registry_message};
use crate::listing::write_table;
use crate::plugins::Plugins;
use crate::registry::NetArgs;
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

/// Installs what the template at `path` requires from the registries its
/// sources name, as `rivet.lock` beside it pins it, then writes the lock
/// (when everything was found). A requirement locked already uses the
/// locked version, and the registry must serve exactly the locked digests;
/// one not locked yet (or every one, with `upgrade`) takes the highest
/// release that satisfies it. A locked version installed with the locked
/// digest needs no registry at all. Reports each step to `out`.
pub fn init_from_registries(
    plugins: &Plugins,
    path: &Path,
    net: &NetArgs,
    upgrade: bool,
    out: &mut impl Write,
) -> Result<(), String> {
    let template = Template::load(path).map_err(|e| e.to_string())?;
    let lock_path = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(LOCK_FILE);
    let old = Lock::read(&lock_path).map_err(|e| message(&e))?;
    let mut init = Init {
        plugins,
        net,
        lock_path: &lock_path,
        registries: Vec::new(),
        staging: None,
    };
    let mut lock = Lock::default();
    let mut problems = Vec::new();
    for required in &template.required {
        let label = format!("{} {} {}", required.kind, required.name, required.version);
        let locked = old.as_ref().filter(|_| !upgrade).and_then(|lock| {
            lock.find(&required.kind.to_string(), &required.name, &required.source)
        });
        match init.require(required, locked, out) {
            Ok(Some(entry)) => lock.plugins.push(entry),
            Ok(None) => {}
            Err(problem) => problems.push(format!("{label}: {problem}")),
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "cannot install every required plugin ({} was left as it is):\n  {}",
            lock_path.display(),
            problems.join("\n  ")
        ));
    }
    // No lock is written for a template that needs no registry.
    let changed = old.as_ref().map(Lock::to_text) != Some(lock.to_text());
    if changed && (old.is_some() || !lock.plugins.is_empty()) {
        lock.write(&lock_path).map_err(|e| message(&e))?;
        let _ = writeln!(out, "wrote {}", lock_path.display());
    }
    Ok(())
}

/// The state of one `init` from registries.
struct Init<'a> {
    plugins: &'a Plugins,
    net: &'a NetArgs,
    lock_path: &'a Path,
    registries: Vec<Registry>,
    staging: Option<(PathBuf, Staging)>,
}

impl Init<'_> {
    /// Meets `required`, as `locked` pins it; returns its lock entry
    /// (`None` for a source that is no registry, met by what is
    /// installed).
    fn require(
        &mut self,
        required: &Required,
        locked: Option<&Locked>,
        out: &mut impl Write,
    ) -> Result<Option<Locked>, String> {
        let kind = required.kind.to_string();
        let major = interface_major();
        let label = format!("{} {} {}", required.kind, required.name, required.version);
        let Ok(repository) = required.source.parse::<Repository>() else {
            let found = self
                .plugins
                .resolve_version(required.kind, &required.name, &required.source, &required.version)
                .map_err(|_| {
                    format!(
                        "its source `{}` is not a registry repository (`host[:port]/path`), and no installed version satisfies it; install it with `rivet plugins install FILE --source {}` or `rivet init TEMPLATE --from DIR`",
                        required.source, required.source
                    )
                })?;
            let _ = writeln!(
                out,
                "{label}: {} is installed ({})",
                found.id.version,
                found.path.display()
            );
            return Ok(None);
        };
        let lock = self.lock_path.display().to_string();
        let (entry, release) = match locked {
            Some(locked) => {
                let version = Version::parse(&locked.version)
                    .map_err(|e| format!("{lock} locks `{}`: {e}", locked.version))?;
                if !required.version.matches(&version) {
                    return Err(format!(
                        "{lock} locks {version}, which does not satisfy `{}`; run `rivet init --upgrade` to resolve it again",
                        required.version
                    ));
                }
                let build = locked.build(&platform(), major).ok_or_else(|| {
                    format!(
                        "{lock} has no digests of {version} for {} with interface {major}; run `rivet init --upgrade` to lock them",
                        platform()
                    )
                })?;
                if let Some(found) = self.installed(required, &version, build) {
                    let _ = writeln!(
                        out,
                        "{label}: {version} is installed ({}), as {lock} locks it",
                        found.display()
                    );
                    return Ok(Some(locked.clone()));
                }
                let release = self
                    .registry(&repository)?
                    .release(&version)
                    .map_err(|e| registry_message(&e))?;
                let served = LockedBuild::new(&kind, &required.name, release.build_for(major).ok_or_else(|| {
                    format!("{repository} no longer has {version} for {} with interface {major}, which {lock} locks", platform())
                })?);
                if served.as_ref() != Some(build) {
                    return Err(format!(
                        "{repository} serves {version} for {} with other digests than {lock} locks (locked: manifest {}, package {}; served: {}); the release was changed after it was locked, and nothing was installed. If you trust the change, run `rivet init --upgrade`",
                        platform(),
                        build.manifest,
                        build.package,
                        served.map_or_else(
                            || "without this plugin".to_owned(),
                            |b| format!("manifest {}, package {}", b.manifest, b.package)
                        ),
                    ));
                }
                (locked.clone(), release)
            }
            None => {
                let release = self
                    .registry(&repository)?
                    .find(&kind, &required.name, &required.version, major)
                    .map_err(|e| registry_message(&e))?;
                let entry = Locked::new(&kind, &required.name, &release);
                let build = entry
                    .build(&platform(), major)
                    .expect("find returns a release with a build for this machine");
                if let Some(found) = self.installed(required, &release.version, build) {
                    let _ = writeln!(
                        out,
                        "{label}: {} is installed ({})",
                        release.version,
                        found.display()
                    );
                    return Ok(Some(entry));
                }
                (entry, release)
            }
        };
        let build = entry
            .build(&platform(), major)
            .expect("checked above")
            .clone();
        let path = self.install(required, &repository, &release, &build)?;
        let _ = writeln!(
            out,
            "{label}: installed {} from {repository}@{}",
            path.display(),
            release.version
        );
        Ok(Some(entry))
    }

    /// The installed file of `required` at `version` whose digest is the
    /// one `build` locks, if there is one.
    fn installed(
        &self,
        required: &Required,
        version: &Version,
        build: &LockedBuild,
    ) -> Option<PathBuf> {
        let exact = VersionReq::parse(&format!("={version}")).ok()?;
        let found = self
            .plugins
            .resolve_version(required.kind, &required.name, &required.source, &exact)
            .ok()?;
        let digests = rivet_host::integrity::read_sidecar(&found.path).ok()??;
        (digests.len() == 1 && format!("sha256:{}", digests[0]) == build.file).then_some(found.path)
    }

    /// Downloads `release`'s package for this machine, checks it (digests,
    /// `SHA256SUMS`, the plugin loads and is the one `build` locks) and
    /// installs `required`'s plugin from it.
    fn install(
        &mut self,
        required: &Required,
        repository: &Repository,
        release: &Release,
        build: &LockedBuild,
    ) -> Result<PathBuf, String> {
        let loader = self.plugins.loader();
        if self.staging.is_none() {
            let root = rivet_store::install_root(loader).map_err(|e| message(&e))?;
            let staging = Staging::new(&root).map_err(|e| message(&e))?;
            self.staging = Some((root, staging));
        }
        let package_build = release
            .build_for(interface_major())
            .expect("the release has a build for this machine");
        let at = self.open(repository)?;
        let (root, staging) = self.staging.as_ref().expect("set above");
        let package = self.registries[at]
            .download(release, package_build, staging)
            .map_err(|e| registry_message(&e))?;
        let staged: Vec<Staged> = rivet_store::read(loader, staging, &package)
            .map_err(|e| message(&e))?
            .plugins
            .into_iter()
            .filter(|s| s.id.kind == required.kind && same_name(&s.metadata.name, &required.name))
            .collect();
        match &staged[..] {
            [plugin] if format!("sha256:{}", plugin.digest()) == build.file => {}
            [plugin] => {
                return Err(format!(
                    "{repository}@{}: the plugin file in the package has digest sha256:{}, but its release says {}; nothing was installed",
                    release.version,
                    plugin.digest(),
                    build.file
                ));
            }
            _ => {
                return Err(format!(
                    "{repository}@{}: the package does not hold {} `{}`; nothing was installed",
                    release.version, required.kind, required.name
                ));
            }
        }
        let written = rivet_store::write_installed(root, staging, &repository.to_string(), &staged)
            .map_err(|e| message(&e))?;
        Ok(written.into_iter().next().expect("one plugin was written"))
    }

    /// The client of `repository`, opened once.
    fn registry(&mut self, repository: &Repository) -> Result<&Registry, String> {
        let at = self.open(repository)?;
        Ok(&self.registries[at])
    }

    /// Where the client of `repository` is in `registries`, opened once.
    fn open(&mut self, repository: &Repository) -> Result<usize, String> {
        Ok(
            match self
                .registries
                .iter()
                .position(|r| r.repository() == repository)
            {
                Some(at) => at,
                None => {
                    let registry = Registry::open(repository, &self.net.options())
                        .map_err(|e| registry_message(&e))?;
                    self.registries.push(registry);
                    self.registries.len() - 1
                }
            },
        )
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
