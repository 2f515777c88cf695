//! Discovers, checks and loads Rivet plugins.
//!
//! A host asks a [`Loader`] for a plugin by `(kind, name)`. The loader finds
//! the file `libplugin_KIND_NAME.so` (see [`plugin_file_name`]) on its
//! [`SearchPath`], checks it (interface version, abi_stable's layout check,
//! the declared kind and name), initialises it with the host's services and
//! returns a [`Plugin`] handle. [`Plugin::prepare`] turns the user's
//! configuration into an [`Instance`], whose methods run the plugin.
//!
//! Bad files are [`LoadError`]s naming the file and the fix, panics inside
//! plugins come back as [`CallError::Panicked`], and [`Loader::load_all`]
//! loads every good plugin even when others are broken. On Unix, before a
//! file is loaded in the host, a scanner process loads it first ([`Vetting`]), so a
//! library whose constructor crashes, exits or hangs is quarantined instead
//! of taking the host down. What vetting cannot catch is a plugin that
//! misbehaves later, in a call: in-process, a plugin that aborts or
//! segfaults takes the host with it; run such plugins isolated.
//!
//! Plugins run in one of two [`Mode`]s. In-process (the default), plugin
//! libraries are loaded into the host process and never unloaded. Isolated
//! ([`Mode::Process`], Unix only), each plugin file runs in its own
//! `rivet-plugin-server` process (see [`serve_plugin_process`]) and is
//! called over a Unix socket through the same [`Plugin`] and [`Instance`]
//! API; a crash or hang there is an error for one call, not for the host.

mod builtin;
pub mod cache;
mod catalog;
mod discovery;
mod error;
mod file_name;
pub mod installed;
mod isolated;
mod library;
mod loader;
mod plugin;
mod services;
mod vetting;

pub use builtin::BuiltinPlugin;
pub use cache::ChecksumState;
pub use catalog::{BrokenFile, Catalog, Installed, Listed};
pub use discovery::{PluginFile, Scan, Shadowed};
pub use error::{CallError, CallReason, LoadError};
pub use file_name::{parse_plugin_file_name, plugin_file_name};
pub use installed::{InstalledName, InstalledPlugin};
pub use isolated::serve_plugin_process;
pub use loader::{Broken, Discovery, Loader};
pub use plugin::{Instance, Mode, Plugin, PluginMetadata, PluginSource};
pub use rivet_host::discovery::UnreadableDir;
pub use rivet_host::{SearchPath, integrity, is_valid_name, same_name};
pub use services::{ConsoleUi, HostUi};
pub use vetting::{DEFAULT_SCAN_TIMEOUT, Vetting};

pub use rivet_interface::{Artifact, PluginKind};

/// The README's Rust examples (writing a plugin, embedding the loader),
/// compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
