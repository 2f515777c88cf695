//! A loaded plugin, behind an interface's typed handle.

use std::sync::Arc;

use rivet_abi::abi_stable::std_types::RResult;
use rivet_abi::{Instance, PluginModRef, RError};

use crate::process::Client;
use crate::{Error, Interface, Mode};

/// A loaded plugin of interface `I`. The interface's handle
/// (`ImageFilterHandle`) derefs to it, for what the plugin says of itself.
pub struct Plugin<I: Interface + ?Sized> {
    name: Arc<str>,
    version: String,
    description: String,
    backend: Backend<I>,
}

/// How a plugin is called.
#[doc(hidden)]
pub enum Backend<I: Interface + ?Sized> {
    /// Through its vtable, in this process.
    InProcess(InProcess<I>),
    /// Through its plugin server.
    Process(Client),
}

/// An instance in this process, dropped through its library.
#[doc(hidden)]
pub struct InProcess<I: Interface + ?Sized> {
    plugin: Arc<str>,
    module: PluginModRef,
    instance: Instance,
    vtable: &'static I::VTable,
}

impl<I: Interface + ?Sized> InProcess<I> {
    /// # Safety
    ///
    /// `vtable` must be `module`'s vtable, checked to have the layout of
    /// `I::VTable`, and `instance` an instance `module` created.
    pub(crate) unsafe fn new(plugin: Arc<str>, module: PluginModRef, instance: Instance) -> Self {
        // SAFETY: the caller checked the vtable's layout against `I::VTable`;
        // it is `'static` data of a library that is never unloaded.
        let vtable = unsafe { &*module.vtable().0.cast::<I::VTable>() };
        InProcess {
            plugin,
            module,
            instance,
            vtable,
        }
    }

    /// The interface's vtable.
    pub fn vtable(&self) -> &'static I::VTable {
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
        version: String,
        description: String,
        backend: Backend<I>,
    ) -> Self {
        Plugin {
            name,
            version,
            description,
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
