//! Plugin packages: one `.tar.gz` holding plugin files, a manifest and
//! their checksums (as Cloudify's wagons hold a plugin and its metadata).
//!
//! ```text
//! plugin_builder_dir_v1.2.3_i1_linux_x86_64.tar.gz
//! ├── rivet-package.toml    the manifest
//! ├── SHA256SUMS            sha256sum format: the manifest and every plugin file
//! └── libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so
//! ```
//!
//! The manifest:
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
//!
//! Reading a package checks all of it before anything is installed: the
//! archive must decompress and unpack completely (a truncated or corrupt
//! archive is refused), hold only plain top-level files, list each of them
//! in `SHA256SUMS` with the right digest, have a manifest whose names are
//! valid and list each plugin once, be built for this platform and this
//! host's interface major, and each plugin must then load and report what
//! the manifest says.
//!
//! Memory stays small whatever a package holds: files are streamed into
//! the staging directory (see [`crate::staging`]) and hashed on the way,
//! never held whole in memory, and the tar headers are checked before any
//! data is read: a package that would unpack to more than [`MAX_UNPACKED`]
//! bytes (a "gzip bomb" of zeros, say), or whose manifest or `SHA256SUMS`
//! is larger than [`MAX_TEXT`], is refused before it is inflated.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rivet_loader::installed::{check_source, platform};
use rivet_loader::integrity::sha256_hex;
use rivet_loader::{Loader, PluginKind, is_valid_name, same_name};
use serde::{Deserialize, Serialize};

use crate::install::{self, InstallError, Staged};
use crate::staging::Staging;

/// The manifest's file name inside a package.
pub const MANIFEST: &str = "rivet-package.toml";
/// The checksum file's name inside a package.
pub const CHECKSUMS: &str = "SHA256SUMS";
/// The largest package rivet unpacks: its decompressed tar stream, in
/// bytes.
pub const MAX_UNPACKED: u64 = 1 << 30;
/// The largest manifest or `SHA256SUMS` rivet reads, in bytes.
pub const MAX_TEXT: u64 = 1 << 20;
/// The longest file name in a package (a GNU long name entry), in bytes.
const MAX_NAME: u64 = 4096;

/// Why a package cannot be made or used. Nothing was installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// The archive cannot be unpacked.
    #[error(
        "{path}: not a usable rivet package: {reason}; the file is corrupt or truncated, download or `rivet plugins pack` it again"
    )]
    Corrupt {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The package would unpack to more than rivet accepts.
    #[error(
        "{path}: too large to install: {what} would unpack it past {} MiB, the most rivet accepts; nothing was installed. Real plugin packages are far smaller, so this one is damaged or hostile (a \"gzip bomb\"): get it again from its publisher, or pack fewer plugins in it",
        .limit >> 20
    )]
    TooLarge {
        /// The package.
        path: PathBuf,
        /// What crosses the limit (`` `file` of 5120 MiB ``).
        what: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The manifest names something wrongly or twice.
    #[error(
        "{path}: its {MANIFEST} is wrong: {reason}; nothing was installed. Pack the package again with `rivet plugins pack`"
    )]
    BadManifest {
        /// The package.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file's checksum differs from SHA256SUMS.
    #[error(
        "{path}: `{file}` does not match its checksum in SHA256SUMS; the package was changed or damaged, get it again"
    )]
    Checksum {
        /// The package.
        path: PathBuf,
        /// The file inside.
        file: String,
    },
    /// The package is for another platform or interface.
    #[error(
        "{path}: built for {found}, but this host is {expected}; use the package built for {expected} (`rivet plugins pack` on such a machine)"
    )]
    WrongPlatform {
        /// The package.
        path: PathBuf,
        /// What it was built for.
        found: String,
        /// What this host needs.
        expected: String,
    },
    /// `pack` could not build or find the plugin.
    #[error("{path}: cannot pack: {message}")]
    Pack {
        /// The crate or file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The manifest of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    fn kind(&self) -> Result<PluginKind, String> {
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
    fn check(&self) -> Result<(), String> {
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
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.')
}

/// A package, read and checked, its plugins verified.
#[derive(Debug)]
pub struct Package {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its plugins, ready to install.
    pub plugins: Vec<Staged>,
}

/// Whether `path` looks like a package (by name, or by gzip magic).
pub fn is_package(path: &Path) -> bool {
    let name = path.to_string_lossy();
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        return true;
    }
    let mut magic = [0u8; 2];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == [0x1f, 0x8b]
}

/// Reads the package at `path` into `staging` and checks everything in it
/// (see the module documentation), loading each plugin in a plugin server
/// process.
pub fn read(loader: &Loader, staging: &Staging, path: &Path) -> Result<Package, InstallError> {
    let (manifest, mut files) = unpack(path, staging)?;
    let mut plugins = Vec::new();
    for entry in &manifest.plugins {
        let unpacked = files
            .remove(&entry.file)
            .ok_or_else(|| PackageError::Corrupt {
                path: path.to_owned(),
                reason: format!("the manifest lists `{}`, which is not in it", entry.file),
            })?;
        let kind = entry.kind().map_err(|reason| PackageError::BadManifest {
            path: path.to_owned(),
            reason,
        })?;
        let origin = PathBuf::from(format!("{}:{}", path.display(), entry.file));
        let staged = install::verify(
            loader,
            staging,
            &origin,
            &unpacked.file,
            unpacked.digest,
            kind,
            &entry.name,
        )?;
        let reported = &staged.metadata;
        if staged.metadata.version != entry.version
            || reported.interface_version != entry.interface_version
        {
            return Err(InstallError::Disagrees {
                path: origin,
                message: format!(
                    "the manifest says version {} (interface {}), the plugin reports {} (interface {})",
                    entry.version,
                    entry.interface_version,
                    reported.version,
                    reported.interface_version
                ),
            });
        }
        plugins.push(staged);
    }
    Ok(Package { manifest, plugins })
}

/// A file of a package, unpacked into the staging directory.
#[derive(Debug)]
pub struct Unpacked {
    /// The staged file.
    pub file: PathBuf,
    /// Its SHA-256.
    pub digest: String,
}

/// Unpacks the archive into `staging` and checks it (not the plugins):
/// the manifest and every other file by name.
pub fn unpack(
    path: &Path,
    staging: &Staging,
) -> Result<(Manifest, BTreeMap<String, Unpacked>), InstallError> {
    let corrupt = |reason: String| PackageError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let too_large = |what: String, limit: u64| PackageError::TooLarge {
        path: path.to_owned(),
        what,
        limit,
    };
    let file = fs::File::open(path).map_err(|e| corrupt(format!("cannot open it: {e}")))?;
    let decoder = flate2::read::GzDecoder::new(file);
    let mut archive = tar::Archive::new(decoder.take(MAX_UNPACKED));
    let mut files = BTreeMap::new();
    // Raw entries: the tar crate would read a GNU long name or PAX header
    // whole into memory, whatever its size.
    let entries = archive
        .entries()
        .map_err(|e| corrupt(format!("cannot read the archive: {e}")))?
        .raw(true);
    let mut long_name = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(format!("cannot read the archive: {e}")))?;
        let entry_type = entry.header().entry_type();
        let size = entry.size();
        if entry_type.is_gnu_longname() {
            if size > MAX_NAME {
                return Err(corrupt(format!("a file name is {size} bytes long")).into());
            }
            let mut name = Vec::new();
            entry
                .read_to_end(&mut name)
                .map_err(|e| corrupt(format!("cannot read the archive: {e}")))?;
            long_name = Some(
                String::from_utf8_lossy(&name)
                    .trim_end_matches('\0')
                    .to_owned(),
            );
            continue;
        }
        let entry_path = match long_name.take() {
            Some(name) => name,
            None => entry
                .path()
                .map_err(|e| corrupt(format!("bad entry name: {e}")))?
                .to_string_lossy()
                .into_owned(),
        };
        let name = entry_path.trim_start_matches("./").to_owned();
        if entry_type.is_dir() && name.is_empty() {
            continue;
        }
        if !entry_type.is_file() || !is_plain_file_name(&name) {
            return Err(corrupt(format!(
                "`{entry_path}` is not a plain top-level file; packages hold only files"
            ))
            .into());
        }
        let what = || format!("`{name}` of {} MiB", size >> 20);
        if entry.raw_file_position().saturating_add(size) > MAX_UNPACKED {
            return Err(too_large(what(), MAX_UNPACKED).into());
        }
        if (name == MANIFEST || name == CHECKSUMS) && size > MAX_TEXT {
            return Err(too_large(what(), MAX_TEXT).into());
        }
        let (file, digest) = staging
            .write(&mut entry, 0o755)
            .map_err(|e| corrupt(format!("cannot unpack `{name}`: {e}")))?;
        if files
            .insert(name.clone(), Unpacked { file, digest })
            .is_some()
        {
            return Err(corrupt(format!("`{name}` is in it twice")).into());
        }
    }
    // Read to the end so that gzip checks its trailer (length and CRC): a
    // truncated archive whose tar part happens to end cleanly is caught.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| corrupt(format!("the compressed data is damaged: {e}")))?;
    if rest.limit() == 0 {
        return Err(too_large("what follows its last file".into(), MAX_UNPACKED).into());
    }

    let text = |name: &str| -> Result<String, PackageError> {
        let unpacked = files
            .get(name)
            .ok_or_else(|| corrupt(format!("it has no {name}")))?;
        // Its size was checked against MAX_TEXT while unpacking.
        let bytes = fs::read(&unpacked.file).map_err(|e| corrupt(format!("{name}: {e}")))?;
        String::from_utf8(bytes).map_err(|_| corrupt(format!("{name} is not text")))
    };
    let sums = text(CHECKSUMS)?;
    let mut listed = BTreeMap::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (digest, name) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| corrupt(format!("bad {CHECKSUMS} line `{line}`")))?;
        let name = name.trim().trim_start_matches('*');
        listed.insert(name.to_owned(), digest.to_ascii_lowercase());
    }
    for (name, unpacked) in files.iter().filter(|(name, _)| *name != CHECKSUMS) {
        let expected = listed
            .get(name)
            .ok_or_else(|| corrupt(format!("`{name}` is not listed in {CHECKSUMS}")))?;
        if unpacked.digest != *expected {
            return Err(PackageError::Checksum {
                path: path.to_owned(),
                file: name.clone(),
            }
            .into());
        }
    }
    if let Some(missing) = listed.keys().find(|name| !files.contains_key(*name)) {
        return Err(corrupt(format!(
            "`{missing}` is listed in {CHECKSUMS} but not in the archive"
        ))
        .into());
    }

    let manifest: Manifest = toml::from_str(&text(MANIFEST)?)
        .map_err(|e| corrupt(format!("bad {MANIFEST}: {}", e.message())))?;
    files.remove(CHECKSUMS);
    files.remove(MANIFEST);
    if manifest.format != 1 {
        return Err(corrupt(format!(
            "manifest format {} is newer than this rivet understands (1); update rivet",
            manifest.format
        ))
        .into());
    }
    manifest
        .check()
        .map_err(|reason| PackageError::BadManifest {
            path: path.to_owned(),
            reason,
        })?;
    let host = rivet_interface::INTERFACE_VERSION;
    let host_series = host
        .parse::<rivet_host::InterfaceVersion>()
        .map_or_else(|_| host.to_owned(), |version| version.series());
    let expected = format!("{} with interface {host_series}", platform());
    for plugin in &manifest.plugins {
        if manifest.platform != platform()
            || !rivet_host::compatible(&plugin.interface_version, host)
        {
            return Err(PackageError::WrongPlatform {
                path: path.to_owned(),
                found: format!(
                    "{} with interface {}",
                    manifest.platform, plugin.interface_version
                ),
                expected,
            }
            .into());
        }
    }
    Ok((manifest, files))
}

/// Packs the plugins at `inputs` (built plugin files, or crate
/// directories, which are built with `cargo build --release`) into one
/// package in `out_dir`; returns its path.
pub fn pack(
    loader: &Loader,
    inputs: &[PathBuf],
    source: &str,
    out_dir: &Path,
) -> Result<PathBuf, InstallError> {
    check_source(source).map_err(InstallError::BadSource)?;
    // Before any build, which may take minutes.
    fs::create_dir_all(out_dir).map_err(|e| PackageError::Pack {
        path: out_dir.to_owned(),
        message: format!("cannot create the directory to write the package in: {e}"),
    })?;
    let staging = Staging::new(&install::install_root(loader)?)?;
    let mut staged = Vec::new();
    for input in inputs {
        let files = if input.is_dir() {
            build_crate(input)?
        } else {
            vec![input.clone()]
        };
        for file in files {
            staged.push(install::verify_file(loader, &staging, &file)?);
        }
    }
    if staged.is_empty() {
        return Err(PackageError::Pack {
            path: out_dir.to_owned(),
            message: "nothing to pack".into(),
        }
        .into());
    }
    let manifest = Manifest {
        format: 1,
        source: source.to_owned(),
        platform: platform(),
        plugins: staged
            .iter()
            .map(|s| ManifestPlugin {
                file: s.id.file_name(),
                kind: s.metadata.kind.as_str().to_owned(),
                name: s.metadata.name.clone(),
                version: s.metadata.version.clone(),
                interface_version: s.metadata.interface_version.clone(),
                description: s.metadata.description.clone(),
            })
            .collect(),
    };
    let manifest_text = toml::to_string(&manifest).map_err(|e| PackageError::Pack {
        path: out_dir.to_owned(),
        message: e.to_string(),
    })?;
    let stage = |bytes: &[u8]| {
        staging
            .write(bytes, 0o644)
            .map_err(|source| InstallError::Io {
                path: out_dir.to_owned(),
                source,
            })
    };
    let (manifest_file, manifest_digest) = stage(manifest_text.as_bytes())?;
    // (name, staged file, digest, mode), in archive order.
    let mut contents = vec![(MANIFEST.to_owned(), manifest_file, manifest_digest, 0o644)];
    for s in &staged {
        contents.push((s.id.file_name(), s.file.clone(), s.digest.clone(), 0o755));
    }
    let sums: String = contents
        .iter()
        .map(|(name, _, digest, _)| format!("{digest}  {name}\n"))
        .collect();
    let (sums_file, sums_digest) = stage(sums.as_bytes())?;
    contents.insert(1, (CHECKSUMS.to_owned(), sums_file, sums_digest, 0o644));

    let out = out_dir.join(package_file_name(&staged));
    let io_err = |source| InstallError::Io {
        path: out.clone(),
        source,
    };
    let mut temp = tempfile::Builder::new();
    temp.prefix(".rivet-pack-");
    // A package is for sharing: readable by all (less what the umask
    // takes), not the 0600 of a temporary file.
    #[cfg(unix)]
    temp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let temp = temp.tempfile_in(out_dir).map_err(io_err)?;
    {
        let encoder = flate2::write::GzEncoder::new(temp.as_file(), flate2::Compression::default());
        let mut builder = tar::Builder::new(encoder);
        for (name, file, _, mode) in &contents {
            let file = fs::File::open(file).map_err(io_err)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(file.metadata().map_err(io_err)?.len());
            header.set_mode(*mode);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, name, file)
                .map_err(io_err)?;
        }
        builder
            .into_inner()
            .and_then(|encoder| encoder.finish())
            .map_err(io_err)?;
    }
    temp.as_file().sync_all().map_err(io_err)?;
    temp.persist(&out).map_err(|e| io_err(e.error))?;
    Ok(out)
}

/// The file name of a package of `plugins` (at least one): the kind, name
/// and version of each, then the interface major and platform they share.
/// `plugin_builder_dir_v1.2.3_i1_linux_x86_64.tar.gz` for one plugin,
/// `plugins_builder_dir_v1.2.3+command_inspect_v0.1.0_i1_linux_x86_64.tar.gz`
/// for several; a list too long for a file name becomes the number of
/// plugins and a digest of the list.
fn package_file_name(plugins: &[Staged]) -> String {
    let ids: Vec<String> = plugins
        .iter()
        .map(|p| {
            let id = &p.id;
            let name = id.name.replace('-', "_");
            format!("{}_{name}_v{}", id.kind.file_token(), id.version)
        })
        .collect();
    let mut list = ids.join("+");
    if list.len() > 160 {
        let digest = sha256_hex(list.as_bytes()).unwrap_or_default();
        list = format!("{}_{}", ids.len(), digest.get(..12).unwrap_or_default());
    }
    let (interface_major, platform) = plugins
        .first()
        .map(|p| (p.id.interface_major, p.id.platform.as_str()))
        .unwrap_or_default();
    let prefix = if plugins.len() == 1 {
        "plugin"
    } else {
        "plugins"
    };
    format!("{prefix}_{list}_i{interface_major}_{platform}.tar.gz")
}

/// Builds the crate in `dir` (`cargo build --release --lib`) and returns
/// the plugin libraries it produced.
fn build_crate(dir: &Path) -> Result<Vec<PathBuf>, InstallError> {
    let manifest = dir.join("Cargo.toml");
    let fail = |message: String| PackageError::Pack {
        path: dir.to_owned(),
        message,
    };
    if !manifest.is_file() {
        return Err(
            fail("a directory to pack must be a crate (it has no Cargo.toml)".into()).into(),
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A release build can take minutes: say so, and let cargo's progress
    // (its stderr) through.
    eprintln!(
        "==> building {} with `cargo build --release`",
        dir.display()
    );
    let output = Command::new(cargo)
        .args(["build", "--release", "--lib", "--message-format=json"])
        .arg("--manifest-path")
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "`cargo build --release` failed ({}; its messages are above)",
            output.status
        ))
        .into());
    }
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact"
            || message["manifest_path"].as_str().map(Path::new)
                != manifest.canonicalize().ok().as_deref()
        {
            continue;
        }
        let is_cdylib = message["target"]["crate_types"]
            .as_array()
            .is_some_and(|types| types.iter().any(|t| t == "cdylib"));
        if !is_cdylib {
            continue;
        }
        for file in message["filenames"].as_array().into_iter().flatten() {
            if let Some(file) = file.as_str()
                && file.ends_with(std::env::consts::DLL_SUFFIX)
            {
                files.push(PathBuf::from(file));
            }
        }
    }
    if files.is_empty() {
        return Err(fail("the crate builds no `cdylib` plugin library".into()).into());
    }
    Ok(files)
}
