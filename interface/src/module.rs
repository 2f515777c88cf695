//! The root module every plugin library exports, and what it hands out.

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RStr};
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings};

use crate::boundary::guard;
use crate::entry::PluginEntry;
use crate::host::HostServicesBox;
use crate::{
    BuilderBox, CommandBox, Context, Plugin, PluginKind, PostProcessorBox, ProvisionerBox, RError,
    Ui, log_bridge,
};
use rivet_abi::panic::install_panic_hook;

/// The version of this interface crate, which every plugin records at build
/// time. Hosts accept plugins of the same major version.
pub const INTERFACE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Who a plugin is: written into the plugin library at build time and read by
/// the host before anything of the plugin runs.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct PluginInfo {
    /// What the plugin does.
    pub kind: PluginKind,
    /// Its name, as written in templates.
    pub name: RStr<'static>,
    /// The plugin crate's own version.
    pub version: RStr<'static>,
    /// One line saying what it does.
    pub description: RStr<'static>,
}

/// A prepared plugin of one of the four kinds, as it crosses the boundary.
#[repr(u8)]
#[derive(StableAbi)]
pub enum PluginInstance {
    /// A prepared builder.
    Builder(BuilderBox),
    /// A prepared provisioner.
    Provisioner(ProvisionerBox),
    /// A prepared post-processor.
    PostProcessor(PostProcessorBox),
    /// A command.
    Command(CommandBox),
}

/// The root module of a plugin library.
///
/// This is a prefix type: a later minor version of the interface may add
/// fields at the end, after `prepare` (the last field every plugin has).
/// A new host reads such a field through an accessor returning an
/// `Option`, `None` for a plugin built before the field existed (abi_stable's
/// default for fields after the prefix). Removing or changing a field needs
/// a new major version.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// Who the plugin is.
    pub info: PluginInfo,
    /// Called once after loading, with the host's services; installs the log
    /// bridge and runs the plugin's [`Plugin::init`].
    pub init: extern "C" fn(services: HostServicesBox) -> RResult<(), RError>,
    /// Parses `config` (JSON text) and prepares an instance that reports to
    /// `services`; relative paths in the configuration are resolved against
    /// `base_dir`.
    #[sabi(last_prefix_field)]
    pub prepare: extern "C" fn(
        config: RStr<'_>,
        base_dir: RStr<'_>,
        services: HostServicesBox,
    ) -> RResult<PluginInstance, RError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "rivet_plugin";
    const NAME: &'static str = "rivet plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Builds the root module for plugin entry `E`; called by the code the
/// `export_*!` macros generate, with the plugin crate's version.
#[doc(hidden)]
pub fn root_module<E: PluginEntry>(version: &'static str) -> PluginModRef {
    PluginMod {
        info: PluginInfo {
            kind: E::KIND,
            name: RStr::from_str(E::Plugin::NAME),
            version: RStr::from_str(version),
            description: RStr::from_str(E::Plugin::DESCRIPTION),
        },
        init: init::<E>,
        prepare: prepare::<E>,
    }
    .leak_into_prefix()
}

extern "C" fn init<E: PluginEntry>(services: HostServicesBox) -> RResult<(), RError> {
    guard(|| {
        install_panic_hook();
        let ui = Ui::new(services);
        log_bridge::install(ui.services().clone());
        E::Plugin::init(&ui)
    })
}

extern "C" fn prepare<E: PluginEntry>(
    config: RStr<'_>,
    base_dir: RStr<'_>,
    services: HostServicesBox,
) -> RResult<PluginInstance, RError> {
    guard(|| {
        E::prepare(
            config.as_str(),
            &Context::new(base_dir.as_str()),
            Ui::new(services),
        )
    })
}
