//! What `#[interface]` implements for each interface.

use rivet_abi::abi_stable::StableAbi;
use rivet_abi::abi_stable::prefix_type::PrefixRefTrait;

use crate::Plugin;
use crate::host::HostInterface;

/// A plugin interface: implemented by `#[rivet::interface]` for `dyn Trait`,
/// which is how a host names an interface (`loader.load::<dyn ImageFilter>`).
pub trait Interface: 'static {
    /// A reference to the `#[repr(C)]` table of `extern "C"` functions
    /// plugins export: an abi_stable prefix type, whose methods added in
    /// later minor versions older plugins lack.
    #[doc(hidden)]
    type VTable: PrefixRefTrait + StableAbi + Copy + 'static;
    /// The typed handle the host calls (`ImageFilterHandle`).
    type Handle;
    /// The interface's host trait (`dyn Progress` for `host = Progress`),
    /// `()` without one.
    type Host: HostInterface + ?Sized;
    /// The interface's name in plugin file names (`image_filter`).
    const NAME: &'static str;
    /// The interface's version (`1.0.0`).
    const VERSION: &'static str;
    /// The methods' signatures as text, one line per method, compared for
    /// isolated plugins.
    #[doc(hidden)]
    const SIGNATURE: &'static str;
    /// Wraps a loaded plugin in the typed handle.
    #[doc(hidden)]
    fn wrap(plugin: Plugin<Self>) -> Self::Handle;
}

/// Interface `Self` exported by plugin type `T`: implemented by
/// `#[rivet::interface]` for every `T: Trait + Send + Sync + 'static`.
pub trait Exports<T: Send + Sync + 'static>: Interface {
    /// The vtable whose functions call `T`'s methods.
    const VTABLE: Self::VTable;
    /// Calls method number `method` of `plugin` with postcard `args`;
    /// returns the postcard reply (the value, then each `&mut [u8]`
    /// argument).
    fn dispatch(plugin: &mut T, method: u32, args: &[u8]) -> Result<Vec<u8>, crate::Error>;
}
