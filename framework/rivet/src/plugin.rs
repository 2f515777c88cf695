//! A loaded plugin, behind an interface's typed handle.

use std::sync::Arc;

use rivet_abi::abi_stable::std_types::RResult;
use rivet_abi::{Instance, PluginModRef, RError};

use crate::host::vtable_from_raw;
use crate::process::Client;
use crate::{Error, Interface, Mode};

/// A loaded plugin of interface `I`. The interface's handle
/// (`ImageFilterHandle`) derefs to it, for what the plugin says of itself.
pub struct Plugin<I: Interface + ?Sized> {
    name: Arc<str>,
    version: String,
    description: String,
    interface_version: String,
    backend: Backend<I>,
}

/// How a plugin is called.
#[doc(hidden)]
pub enum Backend<I: Interface + ?Sized> {
    /// Through its vtable, in this process.
    InProcess(InProcess<I>),
    /// Through its plugin server.
    Process(Box<Client>),
}

/// An instance in this process, dropped through its library.
#[doc(hidden)]
pub struct InProcess<I: Interface + ?Sized> {
    plugin: Arc<str>,
    module: PluginModRef,
    instance: Instance,
    vtable: I::VTable,
}

impl<I: Interface + ?Sized> InProcess<I> {
    /// # Safety
    ///
    /// `module`'s vtable must have been checked to be compatible with
    /// `I::VTable` (see `library::check_interface`), and `instance` must be
    /// an instance `module` created.
    pub(crate) unsafe fn new(plugin: Arc<str>, module: PluginModRef, instance: Instance) -> Self {
        // SAFETY: the vtable pointer is the `WithMetadata` of the plugin's
        // prefix-type vtable (`export!` stores `to_raw_ptr` of it), `'static`
        // data of a library that is never unloaded; the caller checked its
        // layout against `I::VTable`'s, so `I::VTable`'s accessors read the
        // fields both have, and report the ones the plugin lacks as missing
        // from the field accessibility the plugin's vtable carries.
        let vtable = unsafe { vtable_from_raw::<I::VTable>(module.vtable().0) };
        InProcess {
            plugin,
            module,
            instance,
            vtable,
        }
    }

    /// The interface's vtable.
    pub fn vtable(&self) -> I::VTable {
        self.vtable
    }

    /// The instance, for the vtable's functions.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// The result of a vtable call to `method`, its error naming the plugin.
    pub fn finish<T>(&self, method: &str, result: RResult<T, RError>) -> Result<T, Error> {
        result.into_result().map_err(|error| {
            Error::from_plugin(&self.plugin, method, error.kind, error.message.into())
        })
    }
}

impl<I: Interface + ?Sized> Drop for InProcess<I> {
    fn drop(&mut self) {
        self.module.drop()(self.instance);
    }
}

impl<I: Interface + ?Sized> Plugin<I> {
    pub(crate) fn new(
        name: Arc<str>,
        [version, description, interface_version]: [String; 3],
        backend: Backend<I>,
    ) -> Self {
        Plugin {
            name,
            version,
            description,
            interface_version,
            backend,
        }
    }

    /// The plugin's name (`sepia`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin crate's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The plugin crate's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The version of the interface the plugin was built against (the
    /// same major version as the host's; its minor version says which
    /// methods it has).
    pub fn interface_version(&self) -> &str {
        &self.interface_version
    }

    /// The error for calling `method`, added in interface version `since`,
    /// on this plugin, built against an earlier version.
    #[doc(hidden)]
    pub fn unsupported(&self, method: &str, since: &str) -> Error {
        Error::Unsupported {
            plugin: self.name.to_string(),
            interface: I::NAME.to_owned(),
            found: self.interface_version.clone(),
            method: method.to_owned(),
            since: since.to_owned(),
        }
    }

    /// How the plugin runs.
    pub fn mode(&self) -> Mode {
        match self.backend {
            Backend::InProcess(_) => Mode::InProcess,
            Backend::Process(_) => Mode::Process,
        }
    }

    #[doc(hidden)]
    pub fn backend(&self) -> &Backend<I> {
        &self.backend
    }
}
