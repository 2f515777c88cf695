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
//! - [`OpenedLibraries`]: each library loaded once per file, through the
//!   descriptor that was checked.
//!
//! Hosts use it through `rivet` (the framework), which re-exports what they
//! need.

mod config;
pub mod discovery;
mod error;
pub mod integrity;
mod mode;
mod names;
mod opened;
mod search_path;

pub use config::{Config, ProcessLimits};
pub use error::IntegrityError;
pub use mode::Mode;
pub use names::{FileNames, is_valid_name, same_name};
pub use opened::OpenedLibraries;
pub use search_path::SearchPath;
