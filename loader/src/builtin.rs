//! Plugins compiled into the host, served like plugin files.

use std::fmt;
use std::sync::OnceLock;

use rivet_interface::{Context, Error, Plugin as _, PluginEntry, PluginInstance, PluginKind, Ui};

use crate::PluginMetadata;

/// A plugin built into the host (the seeds' "hardcoded" plugins): no file,
/// but the same [`Plugin`](crate::Plugin) handle as a loaded one.
///
/// ```
/// use rivet_interface::{AsCommand, Command, Error, Plugin, Ui};
/// use rivet_loader::{BuiltinPlugin, Loader};
///
/// #[derive(Default)]
/// struct Version;
/// impl Plugin for Version {
///     const NAME: &'static str = "version";
///     const DESCRIPTION: &'static str = "Prints the host's version";
/// }
/// impl Command for Version {
///     fn synopsis(&self) -> String { "Print the version".into() }
///     fn help(&self) -> String { "Usage: host version".into() }
///     fn run(&self, ui: &Ui, _args: &[String]) -> Result<i32, Error> {
///         ui.say(env!("CARGO_PKG_VERSION"));
///         Ok(0)
///     }
/// }
///
/// let mut loader = Loader::new();
/// loader.register(BuiltinPlugin::new::<AsCommand<Version>>(env!("CARGO_PKG_VERSION")));
/// ```
pub struct BuiltinPlugin {
    pub(crate) metadata: PluginMetadata,
    init: fn(&Ui) -> Result<(), Error>,
    prepare: fn(&str, &Context, Ui) -> Result<PluginInstance, Error>,
    initialised: OnceLock<Result<(), String>>,
}

impl BuiltinPlugin {
    /// A built-in plugin for entry `E` (such as `AsBuilder<MyBuilder>`), with
    /// the given version (usually the host's own).
    pub fn new<E: PluginEntry>(version: &str) -> Self {
        BuiltinPlugin {
            metadata: PluginMetadata {
                kind: E::KIND,
                name: E::Plugin::NAME.to_owned(),
                version: version.to_owned(),
                description: E::Plugin::DESCRIPTION.to_owned(),
                interface_version: rivet_interface::INTERFACE_VERSION.to_owned(),
            },
            init: E::init,
            prepare: E::instantiate,
            initialised: OnceLock::new(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> PluginKind {
        self.metadata.kind
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Runs the plugin's `init` the first time; later calls give the first
    /// result.
    pub(crate) fn init(&self, ui: impl FnOnce() -> Ui) -> Result<(), String> {
        self.initialised
            .get_or_init(|| (self.init)(&ui()).map_err(|e| e.message().to_owned()))
            .clone()
    }

    pub(crate) fn prepare(
        &self,
        config: &str,
        context: &Context,
        ui: Ui,
    ) -> Result<PluginInstance, Error> {
        (self.prepare)(config, context, ui)
    }
}

impl fmt::Debug for BuiltinPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinPlugin")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}
