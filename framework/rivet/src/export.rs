//! `rivet::export!`: the root module of a plugin library.

use std::ffi::c_void;

use rivet_abi::abi_stable::StableAbi;
use rivet_abi::abi_stable::prefix_type::{PrefixRefTrait, PrefixTypeTrait};
use rivet_abi::abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use rivet_abi::{
    ErrorKind, FRAMEWORK_ABI, HostRef, Instance, InterfaceId, LogSink, PluginInfo, PluginMod,
    PluginModRef, RError, VTablePtr,
};
use serde::de::DeserializeOwned;

use crate::boundary::guard;
use crate::host::{HostInterface, HostLink};
use crate::interface::{Exports, Interface};
use crate::{Error, log_bridge};
use rivet_abi::panic::install_panic_hook;

/// Exports a plugin type as this library's plugin for an interface.
///
/// ```ignore
/// rivet::export!(ImageFilter => Sepia);                      // Sepia: Default
/// rivet::export!(ImageFilter => Blur, create = Blur::new);   // fn new(BlurConfig) -> Result<Blur, rivet::Error>
/// rivet::export!(Worker => Fetch, create_with_host = Fetch::new); // fn new(FetchConfig, ProgressHost) -> Result<Fetch, rivet::Error>
/// ```
///
/// The first form creates the plugin with `Default` and accepts no
/// configuration (an empty object or `null`); the second parses the host's
/// JSON configuration into the function's serde argument; the third also
/// hands the function the client of the interface's host trait (host
/// callbacks: `host = Progress` gives a `ProgressHost`), which the plugin
/// keeps to call its host. The other forms drop the client. The plugin's name
/// is the crate's name without `plugin_<interface>_`
/// (`plugin-image-filter-sepia` exports `sepia`), its version and
/// description the crate's.
///
/// Invoke it once, at the crate's root. It defines the library's root
/// module under a symbol named after the crate (`rivet_root_` and the
/// crate's name), which the loader finds from the file's name
/// (`lib<crate>.so`, as Cargo names it: rename the crate, not the file),
/// and `RIVET_BUILTIN`, the same plugin for a host that compiles the crate
/// in (see [`Builtin`](crate::Builtin)).
#[macro_export]
macro_rules! export {
    ($interface:path => $plugin:ty) => {
        $crate::export!(@module $interface, $plugin, $crate::__private::create_default);
    };
    ($interface:path => $plugin:ty, create = $create:expr) => {
        $crate::export!(@module $interface, $plugin, |config: &str| {
            $crate::__private::create_from_config(config, $create)
        });
    };
    ($interface:path => $plugin:ty, create_with_host = $create:expr) => {
        impl $crate::__private::Create<dyn $interface> for $plugin {
            fn create(
                config: &str,
                host: $crate::__private::HostClient<dyn $interface>,
            ) -> ::core::result::Result<Self, $crate::Error> {
                $crate::__private::create_with_host(config, host, $create)
            }
        }
        $crate::export!(@root $interface, $plugin);
    };
    (@module $interface:path, $plugin:ty, $create:expr) => {
        impl $crate::__private::Create<dyn $interface> for $plugin {
            fn create(
                config: &str,
                _host: $crate::__private::HostClient<dyn $interface>,
            ) -> ::core::result::Result<Self, $crate::Error> {
                ($create)(config)
            }
        }
        $crate::export!(@root $interface, $plugin);
    };
    (@root $interface:path, $plugin:ty) => {
        $crate::export!(@root $interface, $plugin, name = $crate::__private::crate_plugin_name::<dyn $interface>(
            env!("CARGO_CRATE_NAME"),
        ));
    };
    // `name`: the plugin's name, a `&'static str` expression (the crate's
    // name by default, see above).
    (@root $interface:path, $plugin:ty, name = $name:expr) => {
        /// This crate's plugin, for a host that compiles it in (see
        /// `rivet::Builtin`).
        pub static RIVET_BUILTIN: $crate::Builtin = $crate::Builtin::new(|| {
            static MODULE: ::std::sync::OnceLock<$crate::__private::PluginModRef> =
                ::std::sync::OnceLock::new();
            *MODULE.get_or_init(|| {
                $crate::__private::root_module::<dyn $interface, $plugin>(
                    $name,
                    env!("CARGO_PKG_VERSION"),
                    env!("CARGO_PKG_DESCRIPTION"),
                )
            })
        });

        // The library's root module, named after the crate (the loader
        // looks for `rivet_root_` and the file's stem): unique, so that
        // several plugin crates link into one host as built-ins.
        #[doc(hidden)]
        #[unsafe(export_name = concat!("rivet_root_", env!("CARGO_CRATE_NAME")))]
        pub static RIVET_ROOT_MODULE: $crate::__private::LibHeader = {
            extern "C" fn root_module_loader() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader(|| RIVET_BUILTIN.module())
            }
            // SAFETY: `root_module_loader` returns the `PluginModRef` built
            // by `root_module`, erased by abi_stable's own loader wrapper,
            // which is what `from_constructor` requires.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::__private::PluginModRef>(
                    root_module_loader,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

/// The client of interface `I`'s host trait, as a plugin receives it.
pub type HostClient<I> = <<I as Interface>::Host as HostInterface>::Client;

/// How [`export!`](crate::export) creates a plugin of interface `I` from
/// its configuration and its host's object.
pub trait Create<I: Interface + ?Sized>: Sized {
    /// Creates the plugin from JSON text and the host trait's client.
    fn create(config: &str, host: HostClient<I>) -> Result<Self, Error>;
}

/// Creates a `Default` plugin, refusing any configuration.
pub fn create_default<T: Default>(config: &str) -> Result<T, Error> {
    match config.trim() {
        "" | "null" | "{}" => Ok(T::default()),
        _ => Err(Error::new("this plugin takes no configuration; remove it")),
    }
}

/// Parses `config` and creates the plugin with `create`.
pub fn create_from_config<C: DeserializeOwned, T>(
    config: &str,
    create: impl FnOnce(C) -> Result<T, Error>,
) -> Result<T, Error> {
    create(parse_config(config)?)
}

fn parse_config<C: DeserializeOwned>(config: &str) -> Result<C, Error> {
    serde_json::from_str(config)
        .map_err(|error| Error::new(format!("invalid configuration: {error}")))
}

/// Parses `config` and creates the plugin with `create`, handing it the
/// host trait's client.
pub fn create_with_host<C: DeserializeOwned, H, T>(
    config: &str,
    host: H,
    create: impl FnOnce(C, H) -> Result<T, Error>,
) -> Result<T, Error> {
    let config = parse_config(config)?;
    create(config, host)
}

/// Builds the root module of plugin type `T` for interface `I`; called by
/// the code [`export!`](crate::export) generates.
pub fn root_module<I: Exports<T> + ?Sized, T: Create<I> + Send + Sync + 'static>(
    name: &'static str,
    version: &'static str,
    description: &'static str,
) -> PluginModRef {
    PluginMod {
        framework_abi: FRAMEWORK_ABI,
        interface: InterfaceId {
            name: RStr::from_str(I::NAME),
            version: RStr::from_str(I::VERSION),
            signature: RStr::from_str(I::SIGNATURE),
            host: RStr::from_str(<I::Host as HostInterface>::NAME),
            host_signature: RStr::from_str(<I::Host as HostInterface>::SIGNATURE),
        },
        plugin: PluginInfo {
            name: RStr::from_str(name),
            version: RStr::from_str(version),
            description: RStr::from_str(description),
        },
        init,
        create: create::<I, T>,
        vtable: VTablePtr(I::VTABLE.to_prefix_ref().to_raw_ptr().cast::<c_void>()),
        vtable_layout: <I::VTable as StableAbi>::LAYOUT,
        host_layout: <I::Host as HostInterface>::LAYOUT,
        dispatch: dispatch::<I, T>,
        drop: drop_instance::<T>,
    }
    .leak_into_prefix()
}

/// The name of the plugin of interface `I` exported by crate `crate_name`:
/// `plugin_image_filter_sepia` → `sepia`; other crate names stay whole.
pub fn crate_plugin_name<I: Interface + ?Sized>(crate_name: &'static str) -> &'static str {
    plugin_name(crate_name, I::NAME)
}

fn plugin_name(crate_name: &'static str, interface: &str) -> &'static str {
    crate_name
        .strip_prefix("plugin_")
        .and_then(|rest| rest.strip_prefix(interface))
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|name| !name.is_empty())
        .unwrap_or(crate_name)
}

extern "C" fn init(log: LogSink) -> RResult<(), RError> {
    guard(|| {
        install_panic_hook();
        log_bridge::install(log);
        Ok(())
    })
}

extern "C" fn create<I: Interface + ?Sized, T: Create<I>>(
    config: RStr<'_>,
    host: HostRef,
) -> RResult<Instance, RError> {
    // The link owns `host` from here: dropped (released) if creation fails.
    let host =
        <I::Host as HostInterface>::connect(HostLink::new(host, <I::Host as HostInterface>::NAME));
    match guard(|| T::create(config.as_str(), host)) {
        RResult::ROk(plugin) => RResult::ROk(Instance(Box::into_raw(Box::new(plugin)).cast())),
        RResult::RErr(error) if error.kind == ErrorKind::Failed => {
            RResult::RErr(RError::new(ErrorKind::Config, error.message))
        }
        RResult::RErr(error) => RResult::RErr(error),
    }
}

extern "C" fn dispatch<I: Exports<T> + ?Sized, T: Send + Sync + 'static>(
    instance: Instance,
    method: u32,
    args: RSlice<'_, u8>,
) -> RResult<RVec<u8>, RError> {
    guard(|| {
        // SAFETY: the plugin server calls `dispatch` only with the instance
        // `create` made for this library (type `T`), one call at a time.
        let plugin = unsafe { crate::boundary::instance_mut::<T>(instance) };
        I::dispatch(plugin, method, args.as_slice()).map(RVec::from)
    })
}

extern "C" fn drop_instance<T>(instance: Instance) {
    // SAFETY: `instance` is the `Box<T>` made by `create`, handed back once.
    let plugin = unsafe { Box::from_raw(instance.0.cast::<T>()) };
    // A panicking destructor must not unwind into the host.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(plugin)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_come_from_crate_names() {
        assert_eq!(
            plugin_name("plugin_image_filter_sepia", "image_filter"),
            "sepia"
        );
        assert_eq!(plugin_name("my_sepia", "image_filter"), "my_sepia");
        assert_eq!(
            plugin_name("plugin_image_filter_", "image_filter"),
            "plugin_image_filter_"
        );
    }

    #[test]
    fn default_plugins_take_no_configuration() {
        assert!(create_default::<u8>("{}").is_ok());
        assert!(create_default::<u8>("{\"x\":1}").is_err());
    }
}
