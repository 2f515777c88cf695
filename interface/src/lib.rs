//! The four kinds of `rivet` plugins, for plugin authors and hosts.
//!
//! A plugin is a `cdylib` crate that implements [`Plugin`] and one kind
//! trait ([`Builder`], [`Provisioner`], [`PostProcessor`] or [`Command`]) with
//! plain Rust types, then exports itself with one macro line:
//!
//! ```ignore
//! rivet_interface::export_builder!(MyBuilder);
//! ```
//!
//! The macro exports the plugin as its kind's framework interface
//! ([`framework`]: `BuilderPlugin`, ...), which a host loads with a
//! `rivet::Loader`, in-process or isolated, and checks with abi_stable's
//! layout checker. Configuration arrives as JSON, parsed into the plugin's
//! serde `Config` (errors are [`ErrorKind::Config`]); panics are caught at
//! the boundary; the plugin's `log` records reach the host.
//!
//! # Versioning
//!
//! This crate's version is the version of the four interfaces
//! ([`INTERFACE_VERSION`]), recorded in every plugin. A host accepts plugins
//! built against the same major version; a minor version may only add
//! methods at the end of an interface (see the framework's evolution rules).

mod artifact;
mod builder;
mod command;
mod config;
mod error;
mod export;
pub mod files;
pub mod framework;
mod host;
mod kind;
mod output;
mod paths;
mod plugin;
mod post_processor;
mod provisioner;
pub mod testing;

pub use artifact::Artifact;
pub use builder::Builder;
pub use command::Command;
pub use error::{Error, ErrorKind};
pub use host::{HostServices, Ui};
pub use kind::{PluginKind, UnknownKind};
pub use output::{OUTPUT_MARKER, OutputDir, Staging, output_created};
pub use paths::normalize;
pub use plugin::{Context, Plugin};
pub use post_processor::PostProcessor;
pub use provisioner::Provisioner;

/// The version of this crate: the version of the four kinds' interfaces,
/// which every plugin records at build time. Hosts accept plugins of the
/// same major version.
pub const INTERFACE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[doc(hidden)]
pub use rivet as __rivet;

/// The README's Rust examples (writing a plugin, embedding the four kinds),
/// compiled and run as doc tests so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
