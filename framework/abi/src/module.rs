//! The root module every framework plugin library exports.

use std::ffi::c_void;

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use abi_stable::type_layout::TypeLayout;
use abi_stable::{StableAbi, declare_root_module_statics, package_version_strings};

use crate::RError;

/// The framework's own ABI version, separate from every interface's
/// version: it changes when [`PluginMod`] or the calling conventions of the
/// generated code change, and a host refuses plugins of another one.
///
/// 2: interface vtables are abi_stable prefix types (methods can be added
/// in minor versions of an interface). 3: host callbacks (`create` takes a
/// [`HostRef`], [`PluginMod::host_layout`]).
pub const FRAMEWORK_ABI: u32 = 3;

/// Which interface a plugin implements.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct InterfaceId {
    /// The interface's name, as in plugin file names (`image_filter`).
    pub name: RStr<'static>,
    /// The interface's semver version (`1.0.0`).
    pub version: RStr<'static>,
    /// The methods' signatures as written in the trait (names and types),
    /// one line per method, compared by isolated hosts, which do not see
    /// the vtable's layout.
    pub signature: RStr<'static>,
    /// The name of the interface's host trait (`#[rivet::host]`), empty
    /// when it has none.
    pub host: RStr<'static>,
    /// The host trait's methods' signatures, as `signature`.
    pub host_signature: RStr<'static>,
}

/// Who a plugin is.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct PluginInfo {
    /// Its name, as in its file name (`sepia`).
    pub name: RStr<'static>,
    /// The plugin crate's version.
    pub version: RStr<'static>,
    /// The plugin crate's description.
    pub description: RStr<'static>,
}

/// Where a plugin sends its `log` records: the host's logger.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct LogSink {
    /// The most verbose level the host wants (`log::LevelFilter as u8`).
    pub max_level: u8,
    /// Logs one record (`log::Level as u8`, the record's target, its text).
    pub log: extern "C" fn(level: u8, target: RStr<'_>, message: RStr<'_>),
}

/// A plugin instance: a boxed plugin value owned by the host until it is
/// handed back to [`PluginMod::drop`]; or, in a [`HostRef`], the host's
/// object.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct Instance(pub *mut c_void);

// SAFETY: an `Instance` points at a plugin value or host object whose type
// is `Send + Sync` (the generated code and the loader require it of every
// plugin and host type), or at the plugin server's `Mutex`-guarded
// connection.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

/// The interface's vtable: a pointer to a `'static` abi_stable prefix type
/// (`WithMetadata<VTable>`: the vtable's field accessibility and layout,
/// then its `extern "C"` functions) whose prefix reference's layout is
/// [`PluginMod::vtable_layout`].
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct VTablePtr(pub *const c_void);

// SAFETY: a vtable is immutable static data (function pointers).
unsafe impl Send for VTablePtr {}
// SAFETY: as above.
unsafe impl Sync for VTablePtr {}

/// What a plugin is given of its host at creation: the host's object for
/// the interface's host trait (`#[rivet::host]`), in-process or through the
/// plugin server; all null when the host gave none.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct HostRef {
    /// In-process: the host's object (the pointee of an `Arc` of which the
    /// plugin owns one strong reference, handed back with `release`);
    /// isolated: the plugin server's connection to the host.
    pub object: Instance,
    /// In-process: the host trait's vtable for `object`, a pointer to an
    /// abi_stable prefix type like an interface's (see [`VTablePtr`]),
    /// whose layout the host checked against the plugin's
    /// [`PluginMod::host_layout`]; null otherwise.
    pub vtable: VTablePtr,
    /// In-process: gives the plugin's reference to `object` back.
    pub release: Option<extern "C" fn(object: Instance)>,
    /// Isolated: calls host method number `method` (in declaration order)
    /// with postcard arguments over the server's connection, and returns
    /// the postcard reply.
    pub remote: Option<
        extern "C" fn(
            object: Instance,
            method: u32,
            args: RSlice<'_, u8>,
        ) -> RResult<RVec<u8>, RError>,
    >,
}

impl HostRef {
    /// No host object.
    pub fn none() -> HostRef {
        HostRef {
            object: Instance(std::ptr::null_mut()),
            vtable: VTablePtr(std::ptr::null()),
            release: None,
            remote: None,
        }
    }
}

/// The root module of a framework plugin library, for every interface.
///
/// A prefix type: a later framework version may add fields at the end.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// [`FRAMEWORK_ABI`] as the plugin was built.
    pub framework_abi: u32,
    /// The interface the plugin implements.
    pub interface: InterfaceId,
    /// Who the plugin is.
    pub plugin: PluginInfo,
    /// Called once per process before anything else: installs the panic
    /// hook and the log bridge to `log`.
    pub init: extern "C" fn(log: LogSink) -> RResult<(), RError>,
    /// Creates an instance from its configuration (JSON text), handing it
    /// the host's object (the instance owns `host`, also when it fails).
    pub create: extern "C" fn(config: RStr<'_>, host: HostRef) -> RResult<Instance, RError>,
    /// The interface's vtable, called in-process.
    pub vtable: VTablePtr,
    /// The layout of the interface's vtable reference (its prefix type).
    pub vtable_layout: &'static TypeLayout,
    /// The layout of the host trait's vtable reference the plugin expects
    /// of a [`HostRef`] (`None` when the interface has no host trait).
    pub host_layout: Option<&'static TypeLayout>,
    /// Calls method number `method` (in declaration order) with postcard
    /// arguments and returns the postcard reply (isolated mode).
    pub dispatch: extern "C" fn(
        instance: Instance,
        method: u32,
        args: RSlice<'_, u8>,
    ) -> RResult<RVec<u8>, RError>,
    /// Drops an instance made by `create`.
    #[sabi(last_prefix_field)]
    pub drop: extern "C" fn(instance: Instance),
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "rivet_framework_plugin";
    const NAME: &'static str = "rivet framework plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
