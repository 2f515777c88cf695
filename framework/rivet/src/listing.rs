//! What a host can load: every plugin of its registered interfaces, where
//! it comes from and what it says of itself, without creating any.

use std::path::Path;

use rivet_abi::PluginModRef;
use rivet_host::discovery::{HiddenFile, UnreadableDir};
use serde::{Deserialize, Serialize};

use crate::{LoadError, Source};

/// What a plugin says of itself (its library's root module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct About {
    /// The interface it implements.
    pub interface: String,
    /// Its name.
    pub name: String,
    /// Its crate's version.
    pub version: String,
    /// Its crate's description.
    pub description: String,
    /// The version of the interface it was built against.
    pub interface_version: String,
}

impl About {
    /// What `module` (from `path`) says of itself, if it implements
    /// `interface`.
    pub(crate) fn of(
        path: &Path,
        module: PluginModRef,
        interface: &str,
    ) -> Result<About, LoadError> {
        let id = module.interface();
        if id.name.as_str() != interface {
            return Err(LoadError::WrongInterface {
                path: path.to_owned(),
                found: id.name.to_string(),
                expected: interface.to_owned(),
            });
        }
        let info = module.plugin();
        Ok(About {
            interface: id.name.to_string(),
            name: info.name.to_string(),
            version: info.version.to_string(),
            description: info.description.to_string(),
            interface_version: id.version.to_string(),
        })
    }
}

/// One plugin a host can load by name, as [`Loader::list`](crate::Loader::list) finds it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Listed {
    /// The interface (kind) its name is for.
    pub interface: &'static str,
    /// Its name.
    pub name: String,
    /// Where it comes from: the one [`Loader::resolve`](crate::Loader::resolve) picks.
    pub source: Source,
    /// What it says of itself, or why it cannot be loaded (the message
    /// names the file and what to do).
    pub about: Result<About, String>,
}

/// Every plugin of a host's registered interfaces.
#[derive(Debug)]
#[non_exhaustive]
pub struct Listing {
    /// One per interface and name, in search order: files of the search
    /// path, then installed versions, then built-ins.
    pub plugins: Vec<Listed>,
    /// Files of the search path hidden by an earlier one of the same name.
    pub hidden: Vec<HiddenFile<&'static str>>,
    /// Search-path directories that could not be read.
    pub unreadable: Vec<UnreadableDir>,
}
