//! The one-line macros that turn a plugin type into a plugin library.
//!
//! Each macro generates the library's root module: a `#[no_mangle]` static
//! holding abi_stable's `LibHeader`, exactly what abi_stable's
//! `#[export_root_module]` attribute generates, written out here so that
//! plugin crates need no direct dependency on abi_stable. Each also exports
//! the plugin as its kind's framework interface (see
//! [`framework`](crate::framework)), under a symbol of its own.

/// The symbol abi_stable looks up in a library to find its root module.
/// The export macros spell it literally (attributes need a literal); a test
/// checks it against abi_stable's constant.
#[doc(hidden)]
#[macro_export]
macro_rules! __root_module_symbol {
    () => {
        "_1as_0lib_1header_0root_bmodule_bloader"
    };
}

/// Generates the root module of a plugin library for a [`PluginEntry`](crate::PluginEntry).
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($entry:ty) => {
        #[doc(hidden)]
        #[unsafe(export_name = $crate::__root_module_symbol!())]
        pub static RIVET_PLUGIN_ROOT_MODULE: $crate::__private::LibHeader = {
            extern "C" fn root_module_loader() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader(|| {
                    $crate::root_module::<$entry>(env!("CARGO_PKG_VERSION"))
                })
            }
            // SAFETY: `root_module_loader` returns the `PluginModRef` built by
            // `root_module`, erased by abi_stable's own loader wrapper, which
            // is what `from_constructor` requires.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::PluginModRef>(
                    root_module_loader,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

/// Exports `$plugin`, adapted by [`Framework`](crate::framework::Framework),
/// as its kind's framework interface `$interface` (see
/// [`framework`](crate::framework)) under the name it declares
/// ([`Plugin::NAME`](crate::Plugin::NAME)): the framework's root module,
/// named after the crate, and `RIVET_BUILTIN`, for a host compiling it in.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_framework {
    ($interface:path, $plugin:ty) => {
        $crate::__rivet::export!(
            @root $interface,
            $crate::framework::Framework<$plugin>,
            name = <$plugin as $crate::Plugin>::NAME
        );
    };
}

/// Exports a [`Builder`](crate::Builder) as this library's plugin:
/// `rivet_interface::export_builder!(MyBuilder);`
#[macro_export]
macro_rules! export_builder {
    ($plugin:ty) => {
        $crate::__export_plugin!($crate::AsBuilder<$plugin>);
        $crate::__export_framework!($crate::framework::BuilderPlugin, $plugin);
    };
}

/// Exports a [`Provisioner`](crate::Provisioner) as this library's plugin:
/// `rivet_interface::export_provisioner!(MyProvisioner);`
#[macro_export]
macro_rules! export_provisioner {
    ($plugin:ty) => {
        $crate::__export_plugin!($crate::AsProvisioner<$plugin>);
        $crate::__export_framework!($crate::framework::ProvisionerPlugin, $plugin);
    };
}

/// Exports a [`PostProcessor`](crate::PostProcessor) as this library's plugin:
/// `rivet_interface::export_post_processor!(MyPostProcessor);`
#[macro_export]
macro_rules! export_post_processor {
    ($plugin:ty) => {
        $crate::__export_plugin!($crate::AsPostProcessor<$plugin>);
        $crate::__export_framework!($crate::framework::PostProcessorPlugin, $plugin);
    };
}

/// Exports a [`Command`](crate::Command) as this library's plugin:
/// `rivet_interface::export_command!(MyCommand);`
#[macro_export]
macro_rules! export_command {
    ($plugin:ty) => {
        $crate::__export_plugin!($crate::AsCommand<$plugin>);
        $crate::__export_framework!($crate::framework::CommandPlugin, $plugin);
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_symbol_is_abi_stables() {
        assert_eq!(
            __root_module_symbol!(),
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
