//! Packing: [`pack`] checks plugin files (building plugin crates first)
//! and writes them into one package with their manifest and checksums.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rivet::Loader;
use rivet_host::installed::{check_source, platform};
use rivet_host::integrity::sha256_hex;

use crate::error::StoreError;
use crate::install::install_root;
use crate::manifest::{CHECKSUMS, MANIFEST, Manifest, ManifestPlugin};
use crate::staging::Staging;
use crate::verify::{Staged, verify_file};

/// Packs the plugins at `inputs` (built plugin files, or crate
/// directories, which are built with `cargo build --release`) into one
/// package for `source` in `out_dir` (created if missing); returns its
/// path.
///
/// Each plugin is checked as [`verify_file`] checks it, in a staging
/// directory of `loader`'s install root. The package, mode 0644 (less the
/// umask), is named after the plugins in it
/// (`plugin_builder_dir_v1.2.3_i1_linux_x86_64.tar.gz`) and appears in
/// `out_dir` by one rename, replacing a package of that name.
///
/// A release build can take minutes: `building` is called with each crate
/// directory before it is built, and cargo's progress (its stderr) goes to
/// this process's stderr.
pub fn pack(
    loader: &Loader,
    inputs: &[PathBuf],
    source: &str,
    out_dir: &Path,
    mut building: impl FnMut(&Path),
) -> Result<PathBuf, StoreError> {
    check_source(source).map_err(StoreError::BadSource)?;
    // Before any build, which may take minutes.
    fs::create_dir_all(out_dir).map_err(|e| StoreError::Pack {
        path: out_dir.to_owned(),
        message: format!("cannot create the directory to write the package in: {e}"),
    })?;
    let staging = Staging::new(&install_root(loader)?)?;
    let mut staged = Vec::new();
    for input in inputs {
        let files = if input.is_dir() {
            build_crate(input, &mut building)?
        } else {
            vec![input.clone()]
        };
        for file in files {
            staged.push(verify_file(loader, &staging, &file)?);
        }
    }
    if staged.is_empty() {
        return Err(StoreError::Pack {
            path: out_dir.to_owned(),
            message: "nothing to pack".into(),
        });
    }
    let manifest = Manifest {
        format: 1,
        source: source.to_owned(),
        platform: platform(),
        plugins: staged
            .iter()
            .map(|s| ManifestPlugin {
                file: s.id.file_name(&rivet_host::FileNames::default()),
                kind: s.id.kind.as_str().to_owned(),
                name: s.metadata.name.clone(),
                version: s.metadata.version.clone(),
                interface_version: s.metadata.interface_version.clone(),
                description: s.metadata.description.clone(),
            })
            .collect(),
    };
    let manifest_text = toml::to_string(&manifest).map_err(|e| StoreError::Pack {
        path: out_dir.to_owned(),
        message: e.to_string(),
    })?;
    let stage = |bytes: &[u8]| {
        staging
            .write(bytes, 0o644)
            .map_err(|source| StoreError::Io {
                path: out_dir.to_owned(),
                source,
            })
    };
    let (manifest_file, manifest_digest) = stage(manifest_text.as_bytes())?;
    // (name, staged file, digest, mode), in archive order.
    let mut contents = vec![(MANIFEST.to_owned(), manifest_file, manifest_digest, 0o644)];
    for s in &staged {
        contents.push((
            s.id.file_name(&rivet_host::FileNames::default()),
            s.file.clone(),
            s.digest.clone(),
            0o755,
        ));
    }
    let sums: String = contents
        .iter()
        .map(|(name, _, digest, _)| format!("{digest}  {name}\n"))
        .collect();
    let (sums_file, sums_digest) = stage(sums.as_bytes())?;
    contents.insert(1, (CHECKSUMS.to_owned(), sums_file, sums_digest, 0o644));

    let out = out_dir.join(package_file_name(&staged));
    let io_err = |source| StoreError::Io {
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
fn build_crate(dir: &Path, building: impl FnOnce(&Path)) -> Result<Vec<PathBuf>, StoreError> {
    let manifest = dir.join("Cargo.toml");
    let fail = |message: String| StoreError::Pack {
        path: dir.to_owned(),
        message,
    };
    if !manifest.is_file() {
        return Err(fail(
            "a directory to pack must be a crate (it has no Cargo.toml)".into(),
        ));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // A release build can take minutes: say so, and let cargo's progress
    // (its stderr) through.
    building(dir);
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
        )));
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
        return Err(fail("the crate builds no `cdylib` plugin library".into()));
    }
    Ok(files)
}
