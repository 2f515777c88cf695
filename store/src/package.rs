//! Reading plugin packages: [`Package`], [`is_package`], [`read`],
//! [`read_manifest`].
//!
//! A package is one `.tar.gz` holding plugin files, a manifest (see
//! [`Manifest`]) and their checksums (as Cloudify's wagons hold a plugin
//! and its metadata); [`pack`](crate::pack()) makes one.
//!
//! ```text
//! plugin_builder_dir_v1.2.3_i1_linux_x86_64.tar.gz
//! ├── rivet-package.toml    the manifest
//! ├── SHA256SUMS            sha256sum format: the manifest and every plugin file
//! └── libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so
//! ```
//!
//! Memory stays small whatever a package holds: files are streamed into
//! the staging directory (see [`Staging`]) and hashed on the way,
//! never held whole in memory, and the tar headers are checked before any
//! data is read: a package that would unpack to more than [`MAX_UNPACKED`]
//! bytes (a "gzip bomb" of zeros, say), or whose manifest or `SHA256SUMS`
//! is larger than [`MAX_TEXT`], is refused before it is inflated.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rivet::Loader;
use rivet_host::installed::platform;

use crate::error::StoreError;
use crate::manifest::{CHECKSUMS, MANIFEST, Manifest, is_plain_file_name};
use crate::staging::Staging;
use crate::verify::{Staged, verify};

/// The largest package the store unpacks: its decompressed tar stream, in
/// bytes.
const MAX_UNPACKED: u64 = 1 << 30;
/// The largest manifest or `SHA256SUMS` the store reads, in bytes.
const MAX_TEXT: u64 = 1 << 20;
/// The longest file name in a package (a GNU long name entry), in bytes.
const MAX_NAME: u64 = 4096;

/// A package, read and checked, its plugins verified.
#[derive(Debug)]
#[non_exhaustive]
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

/// Reads the package at `path` into `staging` and checks all of it before
/// anything is installed: the archive must decompress and unpack
/// completely (a truncated or corrupt archive is refused), hold only plain
/// top-level files, list each of them in `SHA256SUMS` with the right
/// digest, have a manifest whose names are valid and list each plugin once,
/// and be built for this platform and this host's interface major; each
/// plugin must then load, in a plugin server process, and report what the
/// manifest says. The plugins are then ready for
/// [`write_installed`](crate::write_installed).
///
/// Files are streamed to disk and hashed on the way, never held whole in
/// memory; a package that would unpack to more than 1 GiB, or whose
/// manifest or `SHA256SUMS` is larger than 1 MiB, is refused
/// ([`StoreError::TooLarge`]) as soon as a tar header says so, before
/// that file is inflated.
pub fn read(loader: &Loader, staging: &Staging, path: &Path) -> Result<Package, StoreError> {
    let Unpacked {
        manifest,
        mut files,
        ..
    } = unpack(path, staging)?;
    check_platform(path, &manifest)?;
    let mut plugins = Vec::new();
    for entry in &manifest.plugins {
        let unpacked = files
            .remove(&entry.file)
            .ok_or_else(|| StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!("the manifest lists `{}`, which is not in it", entry.file),
            })?;
        let kind = entry.kind().map_err(|reason| StoreError::BadManifest {
            path: path.to_owned(),
            reason,
        })?;
        let origin = PathBuf::from(format!("{}:{}", path.display(), entry.file));
        let staged = verify(
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
            return Err(StoreError::Disagrees {
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

/// Reads the package at `path` into `staging` and checks the archive, as
/// [`read`] does, but not the plugins, which are not loaded: returns the
/// manifest, and removes the unpacked files.
pub fn read_manifest(staging: &Staging, path: &Path) -> Result<Manifest, StoreError> {
    let unpacked = unpack_only(staging, path)?;
    check_platform(path, &unpacked.manifest)?;
    Ok(unpacked.manifest)
}

/// Reads the package at `path` into `staging` and checks the archive, as
/// [`read`] does, but neither its platform nor its plugins, which are not
/// loaded (it may be built for another machine): returns what it holds,
/// and removes the unpacked files.
pub(crate) fn read_any_platform(staging: &Staging, path: &Path) -> Result<Unpacked, StoreError> {
    unpack_only(staging, path)
}

fn unpack_only(staging: &Staging, path: &Path) -> Result<Unpacked, StoreError> {
    let unpacked = unpack(path, staging)?;
    for file in unpacked.files.values() {
        let _ = fs::remove_file(&file.file);
    }
    Ok(unpacked)
}

/// A package, unpacked into the staging directory and checked (not its
/// plugins).
#[derive(Debug)]
pub(crate) struct Unpacked {
    /// Its manifest.
    pub(crate) manifest: Manifest,
    /// The text of its manifest.
    pub(crate) manifest_text: String,
    /// The text of its `SHA256SUMS`.
    pub(crate) sums_text: String,
    /// Its other files, by name.
    files: BTreeMap<String, UnpackedFile>,
}

/// A file of a package, unpacked into the staging directory.
#[derive(Debug)]
struct UnpackedFile {
    /// The staged file.
    file: PathBuf,
    /// Its SHA-256.
    digest: String,
}

/// Unpacks the archive into `staging` and checks it (not the plugins):
/// the manifest and every other file by name.
fn unpack(path: &Path, staging: &Staging) -> Result<Unpacked, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let too_large = |what: String, limit: u64| StoreError::TooLarge {
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
                return Err(corrupt(format!("a file name is {size} bytes long")));
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
            )));
        }
        let what = || format!("`{name}` of {} MiB", size >> 20);
        if entry.raw_file_position().saturating_add(size) > MAX_UNPACKED {
            return Err(too_large(what(), MAX_UNPACKED));
        }
        if (name == MANIFEST || name == CHECKSUMS) && size > MAX_TEXT {
            return Err(too_large(what(), MAX_TEXT));
        }
        let (file, digest) = staging
            .write(&mut entry, 0o755)
            .map_err(|e| corrupt(format!("cannot unpack `{name}`: {e}")))?;
        if files
            .insert(name.clone(), UnpackedFile { file, digest })
            .is_some()
        {
            return Err(corrupt(format!("`{name}` is in it twice")));
        }
    }
    // Read to the end so that gzip checks its trailer (length and CRC): a
    // truncated archive whose tar part happens to end cleanly is caught.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())
        .map_err(|e| corrupt(format!("the compressed data is damaged: {e}")))?;
    if rest.limit() == 0 {
        return Err(too_large("what follows its last file".into(), MAX_UNPACKED));
    }

    let text = |name: &str| -> Result<String, StoreError> {
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
            return Err(StoreError::Checksum {
                path: path.to_owned(),
                file: name.clone(),
            });
        }
    }
    if let Some(missing) = listed.keys().find(|name| !files.contains_key(*name)) {
        return Err(corrupt(format!(
            "`{missing}` is listed in {CHECKSUMS} but not in the archive"
        )));
    }

    let manifest_text = text(MANIFEST)?;
    let manifest: Manifest = toml::from_str(&manifest_text)
        .map_err(|e| corrupt(format!("bad {MANIFEST}: {}", e.message())))?;
    files.remove(CHECKSUMS);
    files.remove(MANIFEST);
    if manifest.format != 1 {
        return Err(corrupt(format!(
            "manifest format {} is newer than this rivet understands (1); update rivet",
            manifest.format
        )));
    }
    manifest.check().map_err(|reason| StoreError::BadManifest {
        path: path.to_owned(),
        reason,
    })?;
    Ok(Unpacked {
        manifest,
        manifest_text,
        sums_text: sums,
        files,
    })
}

/// Checks that the package at `path`, whose manifest is `manifest`, is
/// built for this platform and this host's interface major.
fn check_platform(path: &Path, manifest: &Manifest) -> Result<(), StoreError> {
    let host = rivet_interface::INTERFACE_VERSION;
    let host_series = host
        .parse::<rivet_host::InterfaceVersion>()
        .map_or_else(|_| host.to_owned(), |version| version.series());
    let expected = format!("{} with interface {host_series}", platform());
    for plugin in &manifest.plugins {
        if manifest.platform != platform()
            || !rivet_host::compatible(&plugin.interface_version, host)
        {
            return Err(StoreError::WrongPlatform {
                path: path.to_owned(),
                found: format!(
                    "{} with interface {}",
                    manifest.platform, plugin.interface_version
                ),
                expected,
            });
        }
    }
    Ok(())
}
