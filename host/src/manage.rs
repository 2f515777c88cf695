//! The plugin management commands: `rivet plugins install | installed |
//! remove | required | pack` and `rivet init`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use rivet_interface::PluginKind;
use rivet_store::{DEFAULT_SOURCE, RemoveFilter, Staging};

use crate::advice::message;
use crate::plugins::Plugins;
use crate::registry::{self, NetArgs};
use crate::{listing, required};

/// `rivet plugins install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A built plugin file (`libplugin_KIND_NAME.so`), a package
    /// (`.tar.gz`), or a release in a registry (`REPOSITORY@VERSION`)
    pub path: PathBuf,
    /// Where it comes from, a path-like id (`example.org/acme/tools`);
    /// default: the package's source, else `local`
    #[arg(long)]
    pub source: Option<String>,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `rivet plugins remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The plugin's name
    pub name: String,
    /// Only versions matching this requirement (`< 2`, `=1.2.3`); default: all
    pub version: Option<String>,
    /// Only this kind
    #[arg(long)]
    pub kind: Option<PluginKind>,
    /// Only this source
    #[arg(long)]
    pub source: Option<String>,
}

/// `rivet plugins pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// Plugin crate directories (built with `cargo build --release`) or built plugin files
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The source recorded in the package
    #[arg(long, default_value = DEFAULT_SOURCE)]
    pub source: String,
    /// Where to write the package
    #[arg(long, short, default_value = ".")]
    pub output: PathBuf,
}

/// `rivet init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The template whose [required_plugins] to install
    pub template: PathBuf,
    /// Install from this directory of packages and built plugin files
    /// instead of the registries the sources name (offline; no lock file)
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Resolve every requirement again (the highest matching release) and
    /// rewrite rivet.lock, instead of the versions it locks
    #[arg(long, conflicts_with = "from")]
    pub upgrade: bool,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `rivet plugins install`.
pub fn install(plugins: &Plugins, args: &InstallArgs) -> Result<ExitCode, String> {
    if registry::is_release(&args.path) {
        if args.source.is_some() {
            return Err(
                "--source: a release from a registry is installed with its repository as its source"
                    .to_owned(),
            );
        }
        return registry::install(plugins, &args.path.to_string_lossy(), &args.net);
    }
    let root = rivet_store::install_root(plugins.loader()).map_err(|e| message(&e))?;
    let staging = Staging::new(&root).map_err(|e| message(&e))?;
    let (source, staged) = if rivet_store::is_package(&args.path) {
        let package =
            rivet_store::read(plugins.loader(), &staging, &args.path).map_err(|e| message(&e))?;
        let source = args.source.clone().unwrap_or(package.manifest.source);
        (source, package.plugins)
    } else {
        let staged = rivet_store::verify_file(plugins.loader(), &staging, &args.path)
            .map_err(|e| message(&e))?;
        let source = args
            .source
            .clone()
            .unwrap_or_else(|| DEFAULT_SOURCE.to_owned());
        (source, vec![staged])
    };
    write_installed(&root, &staging, &source, &staged)
}

/// Installs the checked plugins `staged` from `source` and says so.
pub(crate) fn write_installed(
    root: &std::path::Path,
    staging: &Staging,
    source: &str,
    staged: &[rivet_store::Staged],
) -> Result<ExitCode, String> {
    let written =
        rivet_store::write_installed(root, staging, source, staged).map_err(|e| message(&e))?;
    for (path, plugin) in written.iter().zip(staged) {
        println!(
            "installed {} {} {} from `{source}`: {}",
            plugin.id.kind,
            plugin.metadata.name,
            plugin.metadata.version,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `rivet plugins installed`.
pub fn installed(plugins: &Plugins) -> Result<ExitCode, String> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    listing::installed(plugins, &mut out)
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// `rivet plugins remove`.
pub fn remove(plugins: &Plugins, args: &RemoveArgs) -> Result<ExitCode, String> {
    let filter = RemoveFilter {
        requirement: args.version.clone(),
        kind: args.kind,
        source: args.source.clone(),
    };
    let removed =
        rivet_store::remove(plugins.loader(), &args.name, &filter).map_err(|e| message(&e))?;
    for plugin in removed {
        println!(
            "removed {} {} {} from `{}`: {}",
            plugin.id.kind,
            plugin.id.name,
            plugin.id.version,
            plugin.source,
            plugin.path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `rivet plugins required`: fails when a requirement is not met.
pub fn required(plugins: &Plugins, template: &std::path::Path) -> Result<ExitCode, String> {
    let met = required::show(plugins, template, &mut io::stdout().lock())?;
    Ok(if met {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rivet plugins pack`.
pub fn pack(plugins: &Plugins, args: &PackArgs) -> Result<ExitCode, String> {
    let building = |dir: &std::path::Path| {
        eprintln!(
            "==> building {} with `cargo build --release`",
            dir.display()
        );
    };
    let out = rivet_store::pack(
        plugins.loader(),
        &args.paths,
        &args.source,
        &args.output,
        building,
    )
    .map_err(|e| message(&e))?;
    println!("packed {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `rivet init`.
pub fn init(plugins: &Plugins, args: &InitArgs) -> Result<ExitCode, String> {
    let out = &mut io::stdout().lock();
    match &args.from {
        Some(from) => required::init(plugins, &args.template, from, out)?,
        None => {
            required::init_from_registries(plugins, &args.template, &args.net, args.upgrade, out)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
