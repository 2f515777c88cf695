//! The one-line macros that turn a plugin type into a plugin library: each
//! exports the plugin as its kind's framework interface (see
//! [`framework`](crate::framework)), whose root module the loader checks
//! with abi_stable's layout checker.

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
        $crate::__export_framework!($crate::framework::BuilderPlugin, $plugin);
    };
}

/// Exports a [`Provisioner`](crate::Provisioner) as this library's plugin:
/// `rivet_interface::export_provisioner!(MyProvisioner);`
#[macro_export]
macro_rules! export_provisioner {
    ($plugin:ty) => {
        $crate::__export_framework!($crate::framework::ProvisionerPlugin, $plugin);
    };
}

/// Exports a [`PostProcessor`](crate::PostProcessor) as this library's plugin:
/// `rivet_interface::export_post_processor!(MyPostProcessor);`
#[macro_export]
macro_rules! export_post_processor {
    ($plugin:ty) => {
        $crate::__export_framework!($crate::framework::PostProcessorPlugin, $plugin);
    };
}

/// Exports a [`Command`](crate::Command) as this library's plugin:
/// `rivet_interface::export_command!(MyCommand);`
#[macro_export]
macro_rules! export_command {
    ($plugin:ty) => {
        $crate::__export_framework!($crate::framework::CommandPlugin, $plugin);
    };
}
