//! The stable ABI between Rivet hosts and plugins.
//!
//! A Rivet plugin is a `cdylib` crate that implements [`Plugin`] and one kind
//! trait ([`Builder`], [`Provisioner`], [`PostProcessor`] or [`Command`]) with
//! plain Rust types, then exports itself with one macro line:
//!
//! ```ignore
//! rivet_interface::export_builder!(MyBuilder);
//! ```
//!
//! The macro generates the library's root module ([`PluginMod`]), checked by
//! the host with abi_stable's layout checker, and FFI glue that:
//! - passes configuration as JSON text, parsed into the plugin's serde
//!   `Config` struct (errors come back as [`ErrorKind::Config`]);
//! - catches every panic at the boundary and returns it as an error value
//!   ([`ErrorKind::Panicked`]), so the host process lives;
//! - installs a bridge that sends the plugin's `log` records to the host.
//!
//! # Versioning
//!
//! This crate is versioned with semver, and that version is the interface
//! version recorded in every plugin. A host accepts plugins built against the
//! same major version:
//! - a **minor** version may add fields at the *end* of prefix types (the root
//!   module [`PluginMod`] and the `#[sabi_trait]` vtables such as
//!   [`BuilderAbi`]), new items, and new host services at the end of
//!   [`HostServices`]; old plugins keep loading, and hosts read the new fields
//!   as optional;
//! - anything else (changing or removing a field or method, changing a type
//!   that crosses the boundary such as [`RArtifact`], adding a [`PluginKind`])
//!   needs a new **major** version, and plugins must be rebuilt.
//!
//! abi_stable checks the layout of everything reachable from the root module
//! at load time, so a plugin that breaks these rules is refused, not run.

// `#[sabi_trait]` expands to impl blocks inside constants, which this lint
// flags; they are abi_stable's generated code, not ours.
#![allow(non_local_definitions)]

mod artifact;
mod boundary;
mod builder;
mod command;
mod entry;
mod error;
mod export;
pub mod files;
pub mod framework;
mod host;
mod kind;
mod log_bridge;
mod module;
mod output;
mod paths;
mod plugin;
mod post_processor;
mod prepared;
mod provisioner;
pub mod testing;

pub use artifact::{Artifact, RArtifact};
pub use builder::{Builder, BuilderAbi, BuilderAbi_TO, BuilderBox};
pub use command::{Command, CommandAbi, CommandAbi_TO, CommandBox};
pub use entry::{AsBuilder, AsCommand, AsPostProcessor, AsProvisioner, PluginEntry};
pub use error::{Error, ErrorKind, RError};
pub use host::{HostServices, HostServices_TO, HostServicesBox, LogLevel, Ui};
pub use kind::{PluginKind, UnknownKind};
pub use module::{
    INTERFACE_VERSION, PluginInfo, PluginInstance, PluginMod, PluginModRef, root_module,
};
pub use output::{OUTPUT_MARKER, OutputDir, Staging, output_created};
pub use paths::normalize;
pub use plugin::{Context, Plugin};
pub use post_processor::{PostProcessor, PostProcessorAbi, PostProcessorAbi_TO, PostProcessorBox};
pub use provisioner::{Provisioner, ProvisionerAbi, ProvisionerAbi_TO, ProvisionerBox};

/// What the export macros and hosts need from abi_stable, re-exported so
/// neither has to depend on it directly.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };
}

/// abi_stable, re-exported for hosts (the loader) that check and call plugin
/// libraries. Plugin authors never need it.
pub use abi_stable;
#[doc(hidden)]
pub use rivet as __rivet;

/// The README's Rust examples (writing a plugin, embedding the four kinds),
/// compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
