//! Plugins compiled into the host: the same plugin crates, linked as
//! libraries instead of loaded from files.

use std::fmt;

use rivet_abi::PluginModRef;

/// A plugin compiled into the host. [`export!`](crate::export) defines one
/// in every plugin crate, `RIVET_BUILTIN` at the crate's root; a host that
/// depends on the crate (whose `[lib]` has `crate-type = ["cdylib",
/// "rlib"]`) registers it with [`Loader::builtin`](crate::Loader::builtin).
/// A file of the same interface and name on the search path shadows it.
pub struct Builtin {
    module: fn() -> PluginModRef,
}

impl Builtin {
    /// The plugin whose root module `module` returns; used by
    /// [`export!`](crate::export).
    #[doc(hidden)]
    pub const fn new(module: fn() -> PluginModRef) -> Builtin {
        Builtin { module }
    }

    /// Its root module, as its library exports it (used by
    /// [`export!`](crate::export) and the loader).
    #[doc(hidden)]
    pub fn module(&self) -> PluginModRef {
        (self.module)()
    }

    /// The interface it implements.
    pub fn interface(&self) -> &'static str {
        self.module().interface().name.as_str()
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        self.module().plugin().name.as_str()
    }

    /// Its version.
    pub fn version(&self) -> &'static str {
        self.module().plugin().version.as_str()
    }
}

impl fmt::Debug for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builtin")
            .field("interface", &self.interface())
            .field("name", &self.name())
            .field("version", &self.version())
            .finish()
    }
}
