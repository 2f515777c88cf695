//! `rivet plugins push | pull` and `rivet plugins install REPOSITORY@VERSION`:
//! sharing packages through OCI registries (see [`rivet_store::registry`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use rivet_store::registry::{Options, Registry, Repository};
use rivet_store::{Staging, StoreError};
use semver::Version;

use crate::advice::{message, registry as registry_message};
use crate::manage;
use crate::plugins::Plugins;

/// How to reach registries (shared by every command that does).
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Talk plain HTTP, not HTTPS, to a registry that is not on this
    /// machine (loopback registries always may)
    #[arg(long)]
    pub plain_http: bool,
}

impl NetArgs {
    /// The registry client options these arguments ask for.
    pub fn options(&self) -> Options {
        Options::default().plain_http(self.plain_http)
    }
}

/// `rivet plugins push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The package (`rivet plugins pack` makes one)
    pub package: PathBuf,
    /// The OCI repository, `host[:port]/path` (`127.0.0.1:5000/acme/tools`)
    pub repository: String,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `rivet plugins pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The release, `REPOSITORY@VERSION` (`127.0.0.1:5000/acme/tools@1.2.3`)
    pub release: String,
    /// The directory to write its packages (one per platform) into
    #[arg(long, short, default_value = ".")]
    pub output: PathBuf,
    #[command(flatten)]
    pub net: NetArgs,
}

/// `rivet plugins push`.
pub fn push(plugins: &Plugins, args: &PushArgs) -> Result<ExitCode, String> {
    let repository: Repository = args.repository.parse().map_err(|e| registry_message(&e))?;
    let registry =
        Registry::open(&repository, &args.net.options()).map_err(|e| registry_message(&e))?;
    let staging = scratch(plugins)?;
    let published = registry
        .push(&staging, &args.package)
        .map_err(|e| registry_message(&e))?;
    println!(
        "{} {repository}:{} for {} ({})",
        if published.unchanged {
            "already published:"
        } else {
            "published"
        },
        published.tag,
        published.platform,
        published.manifest
    );
    Ok(ExitCode::SUCCESS)
}

/// `rivet plugins pull`: every platform's package of a release, checked
/// against its digests, into a directory (to install offline, or to push
/// to a mirror).
pub fn pull(args: &PullArgs) -> Result<ExitCode, String> {
    let (repository, version) = parse_release(&args.release)?;
    let registry =
        Registry::open(&repository, &args.net.options()).map_err(|e| registry_message(&e))?;
    let release = registry
        .release(&version)
        .map_err(|e| registry_message(&e))?;
    fs::create_dir_all(&args.output).map_err(|e| format!("{}: {e}", args.output.display()))?;
    let staging = Staging::new(&args.output).map_err(|e| message(&e))?;
    for build in &release.builds {
        let downloaded = registry
            .download(&release, build, &staging)
            .map_err(|e| registry_message(&e))?;
        let target = args.output.join(&build.file_name);
        let verb = place(&downloaded, &target)?;
        println!("{verb} {} ({})", target.display(), build.package.digest);
    }
    Ok(ExitCode::SUCCESS)
}

/// `rivet plugins install REPOSITORY@VERSION`: the release's package for
/// this machine, checked, installed with the repository as its source.
pub fn install(plugins: &Plugins, release: &str, net: &NetArgs) -> Result<ExitCode, String> {
    let (repository, version) = parse_release(release)?;
    let registry = Registry::open(&repository, &net.options()).map_err(|e| registry_message(&e))?;
    let release = registry
        .release(&version)
        .map_err(|e| registry_message(&e))?;
    let major = rivet_interface::files::interface_major();
    let build = release.build_for(major).ok_or_else(|| {
        format!(
            "{repository}: {version} has no build for {} with interface {major} (it has: {}); build and push one on such a machine",
            rivet_host::installed::platform(),
            release.platforms()
        )
    })?;
    let root = rivet_store::install_root(plugins.loader()).map_err(|e| message(&e))?;
    let staging = Staging::new(&root).map_err(|e| message(&e))?;
    let package = registry
        .download(&release, build, &staging)
        .map_err(|e| registry_message(&e))?;
    let staged = rivet_store::read(plugins.loader(), &staging, &package)
        .map_err(|e| message(&e))?
        .plugins;
    manage::write_installed(&root, &staging, &repository.to_string(), &staged)
}

/// Whether `text` names a release (`REPOSITORY@VERSION`) rather than a
/// file.
pub fn is_release(text: &Path) -> bool {
    !text.exists()
        && text
            .to_str()
            .and_then(|t| t.rsplit_once('@'))
            .is_some_and(|(repository, _)| Repository::is_repository(repository))
}

/// `REPOSITORY@VERSION`.
fn parse_release(text: &str) -> Result<(Repository, Version), String> {
    let (repository, version) = text.rsplit_once('@').ok_or_else(|| {
        format!("`{text}` is not REPOSITORY@VERSION, like `127.0.0.1:5000/acme/tools@1.2.3`")
    })?;
    let repository = repository
        .parse::<Repository>()
        .map_err(|e| registry_message(&e))?;
    let version = Version::parse(version.trim_start_matches('v')).map_err(|e| {
        format!("`{version}` in `{text}` is not a version ({e}); write it like 1.2.3")
    })?;
    Ok((repository, version))
}

/// A staging directory for work that installs nothing: in the install
/// root when there is one, else in the temp directory.
fn scratch(plugins: &Plugins) -> Result<Staging, String> {
    let root = rivet_store::install_root(plugins.loader())
        .unwrap_or_else(|_: StoreError| std::env::temp_dir());
    Staging::new(&root).map_err(|e| message(&e))
}

/// Moves `downloaded` to `target` unless a file is there: the same file
/// is left as it is, another one is an error (never replaced).
fn place(downloaded: &Path, target: &Path) -> Result<&'static str, String> {
    if target.symlink_metadata().is_ok() {
        let digest = |path: &Path| {
            fs::File::open(path)
                .and_then(rivet_host::integrity::sha256_hex)
                .map_err(|e| format!("{}: {e}", path.display()))
        };
        if digest(target)? == digest(downloaded)? {
            return Ok("already there:");
        }
        return Err(format!(
            "{}: a different file is there already; it was left as it is. Move it away, or pull into another directory with --output",
            target.display()
        ));
    }
    fs::rename(downloaded, target).map_err(|e| format!("{}: {e}", target.display()))?;
    Ok("pulled")
}
