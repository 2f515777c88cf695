//! Rivet's host engine: what a host needs to find and trust plugin files
//! before it loads them, for any plugin interface.
//!
//! - [`Config`]: one application's configuration, whose name drives the
//!   environment variables (`<APP>_PLUGIN_PATH`, `<APP>_HOME`), the home
//!   directory and the default [`SearchPath`].
//! - [`FileNames`]: `libplugin_KIND_NAME.so`, the kinds being the tokens a
//!   host registers (its interfaces' names).
//! - [`discovery`]: the files on a search path, the first of each kind and
//!   name used and the others hidden.
//! - [`integrity`]: every plugin file opened once and judged on that
//!   descriptor: its type, its permissions and its checksum sidecar.
//! - [`vetting`]: each new file loaded first by a scanner process, so a
//!   library whose constructor crashes, exits or hangs is quarantined
//!   instead of taking the host down.
//! - [`OpenedLibraries`]: each library loaded once per file, through the
//!   descriptor that was checked.
//!
//! Hosts use it through `rivet` (the framework), which re-exports what they
//! need.

pub mod cache;
mod config;
pub mod discovery;
mod error;
pub mod installed;
pub mod integrity;
pub mod lines;
mod mode;
mod names;
mod opened;
pub mod parallel;
#[cfg(unix)]
pub mod process;
mod search_path;
mod stamp;
mod version;
pub mod vetting;

pub use config::{Config, ProcessLimits};
pub use error::IntegrityError;
pub use mode::Mode;
pub use names::{FileNames, is_valid_name, same_name};
pub use opened::OpenedLibraries;
pub use search_path::SearchPath;
pub use stamp::Stamp;
pub use version::{InterfaceVersion, compatible};
pub use vetting::Vetting;
