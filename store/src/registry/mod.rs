//! Sharing packages through OCI registries: the engine Helm charts,
//! Homebrew bottles and WebAssembly components are shared with, run by
//! every cloud and by Debian's `docker-registry` on a laptop.
//!
//! A [`Repository`] (`registry.example.org/acme/tools`) holds releases of
//! plugin packages, one per version:
//!
//! ```text
//! tag 1.2.3 ──▶ image index             annotations: dev.rivet.plugins = "builder/dir"
//!               ├── manifest (linux_x86_64, interface 1)
//!               │   ├── config: the package's manifest as JSON
//!               │   │           (application/vnd.rivet.package.config.v1+json)
//!               │   ├── layer:  the package, .tar.gz
//!               │   │           (application/vnd.rivet.package.v1.tar+gzip)
//!               │   └── annotations: dev.rivet.platform, dev.rivet.interface-major,
//!               │       dev.rivet.package.manifest (rivet-package.toml),
//!               │       dev.rivet.package.sha256sums (SHA256SUMS)
//!               └── manifest (linux_aarch64, interface 1) …
//! ```
//!
//! A version's `+` is written `_` in its tag. Index entries also carry the
//! OCI platform (`linux`/`amd64`), for other tools.
//!
//! [`Registry::push`] publishes a package; [`Registry::find`] resolves a
//! requirement to the highest matching release built for this machine,
//! [`Registry::download`] fetches its package into a [`Staging`](crate::Staging)
//! directory, checking size and digest, for [`read`](crate::read) to check
//! and [`write_installed`](crate::write_installed) to install. Every
//! manifest is checked against the digest that names it, and the package
//! against its manifest's, before anything is installed. [`Lock`] is the
//! lock file recording what was resolved.
//!
//! HTTPS is the default; plain HTTP only for a registry on this machine or
//! when [`Options::plain_http`] says so. Credentials come from
//! [`Credentials::lookup`].

mod auth;
mod client;
mod error;
mod fetch;
mod layout;
mod lock;
mod publish;
mod repository;

pub use auth::{Credentials, PASSWORD_VAR, USERNAME_VAR};
pub use client::{Options, Registry};
pub use error::RegistryError;
pub use fetch::{Build, Release};
pub use lock::{LOCK_FILE, Lock, Locked, LockedBuild};
pub use publish::Published;
pub use repository::Repository;
