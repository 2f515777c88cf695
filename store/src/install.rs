//! Installing: [`write_installed`] moves checked plugins from the staging
//! directory into `<install root>/<source>/`, with their sidecars.

use std::fs;
use std::path::{Path, PathBuf};

use rivet::Loader;
use rivet_host::installed::check_source;
use rivet_host::integrity::{read_sidecar, sidecar_path, sidecar_text, verified_digest};

use crate::error::{StoreError, io};
use crate::staging::Staging;
use crate::verify::Staged;

/// The source of plugins installed without one given.
pub const DEFAULT_SOURCE: &str = "local";

/// The install root of `loader` (`HOME/plugins` of its configuration, see
/// [`rivet::Config::install_dir`]), where plugins are installed and staged.
pub fn install_root(loader: &Loader) -> Result<PathBuf, StoreError> {
    loader.config().install_dir().ok_or(StoreError::NoHome)
}

/// Moves checked plugins from `staging` (where [`verify_file`] or
/// [`read`] put them) into `<root>/<source>/`. Returns the installed
/// paths, in the order of `plugins`.
///
/// Each goes into place with its `_SHA256SUM` sidecar so that a loader,
/// which opens the plugin before reading the sidecar (see
/// [`rivet_host::integrity`]), always finds the digest of the file it
/// opened: (1) the sidecar is replaced by one listing the installed file's
/// digest and the new one, (2) the new file is renamed over the old one,
/// (3) the sidecar is replaced by one listing the new digest only. Each
/// step is one rename of a file flushed to disk, so a process killed at any
/// moment leaves the old or the new version usable, and never a
/// half-written file in the plugin directory.
///
/// [`verify_file`]: crate::verify_file
/// [`read`]: crate::read
pub fn write_installed(
    root: &Path,
    staging: &Staging,
    source: &str,
    plugins: &[Staged],
) -> Result<Vec<PathBuf>, StoreError> {
    check_source(source).map_err(StoreError::BadSource)?;
    let dir = source
        .split('/')
        .filter(|p| !p.is_empty())
        .fold(root.to_owned(), |dir, part| dir.join(part));
    create_dirs(&dir)?;
    let mut written = Vec::new();
    for plugin in plugins {
        let path = dir.join(plugin.id.file_name(&rivet_host::FileNames::default()));
        let sidecar = sidecar_path(&path);
        let file_name = plugin.id.file_name(&rivet_host::FileNames::default());
        let new = plugin.digest.as_str();
        let both = match installed_digest(&path) {
            Some(old) => sidecar_text(&file_name, &[&old, new]),
            None => sidecar_text(&file_name, &[new]),
        };
        staging.replace(&sidecar, both.as_bytes(), 0o644)?;
        fs::rename(&plugin.file, &path).map_err(io(&path))?;
        sync_dir(&dir);
        staging.replace(&sidecar, sidecar_text(&file_name, &[new]).as_bytes(), 0o644)?;
        written.push(path);
    }
    sync_dir(&dir);
    Ok(written)
}

/// The digest of the plugin file installed at `path`, which readers may
/// have open while it is replaced: the one its sidecar lists or, when an
/// interrupted install left two, the one the file has; `None` when there
/// is none or it does not match.
fn installed_digest(path: &Path) -> Option<String> {
    match read_sidecar(path) {
        Ok(Some(digests)) if digests.len() == 1 => digests.into_iter().next(),
        Ok(Some(_)) => verified_digest(path).ok(),
        _ => None,
    }
}

fn create_dirs(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder.create(dir).map_err(io(dir))
}

/// Flushes a directory's entries (the renames) to disk, where that exists.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
