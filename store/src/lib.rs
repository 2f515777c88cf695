//! Rivet's plugin store: checking plugin files, installing them under a
//! loader's install root, removing them, and reading and packing plugin
//! packages.
//!
//! Installed plugins live in `<install root>/<source>/` (the install root
//! is `HOME/plugins` of a [`rivet::Loader`]'s configuration,
//! see [`install_root`]), each under its installed name
//! (`libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so`) with a
//! `_SHA256SUM` sidecar, as [`rivet_host::installed`] describes.
//!
//! Installing and packing work in a [`Staging`] directory of the install
//! root:
//!
//! - [`verify_file`] copies a plugin file there and has the loader say
//!   what the copy is ([`rivet::Loader::about`]): its vetting scanner loads
//!   it in a process of its own, so a broken or hostile file crashes that
//!   process, not the caller (where files are not vetted, as on Windows,
//!   it is loaded in-process); it returns a [`Staged`] plugin, with what
//!   the plugin reports.
//! - [`read`] unpacks a package (see [`is_package`]) there and checks all
//!   of it, each plugin as [`verify_file`] does; [`read_manifest`] checks
//!   only the archive and returns its [`Manifest`].
//! - [`write_installed`] moves staged plugins into place, each in renames
//!   that never leave a half-written file or a plugin whose digest its
//!   sidecar does not list.
//!
//! [`registry`] publishes packages to OCI registries and installs from
//! them, with a lock file.
//!
//! [`remove()`] takes installed versions out again, and [`pack()`] writes
//! checked plugin files (building plugin crates first) into one package.
//! Every failure is a [`StoreError`].
//!
//! A package is one `.tar.gz`:
//!
//! ```text
//! plugin_builder_dir_v1.2.3_i1_linux_x86_64.tar.gz
//! ├── rivet-package.toml    the manifest
//! ├── SHA256SUMS            sha256sum format: the manifest and every plugin file
//! └── libplugin_builder_dir_v1.2.3_i1_linux_x86_64.so
//! ```

mod error;
mod install;
mod manifest;
mod pack;
mod package;
pub mod registry;
mod remove;
mod staging;
mod verify;

pub use error::StoreError;
pub use install::{DEFAULT_SOURCE, install_root, write_installed};
pub use manifest::{Manifest, ManifestPlugin};
pub use pack::pack;
pub use package::{Package, is_package, read, read_manifest};
pub use remove::{RemoveFilter, remove};
pub use staging::Staging;
pub use verify::{Staged, verify_file};
