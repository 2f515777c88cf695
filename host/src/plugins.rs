//! The plugins `rivet` uses: its four kinds, declared as framework
//! interfaces in [`rivet_interface::framework`], found and loaded by one
//! [`rivet::Loader`] like any other host's plugins.
//!
//! [`by_kind!`] runs a piece of code generic over the interface for a kind
//! known only at run time (from a template or the command line).

use std::path::Path;
use std::sync::Arc;

use rivet::{Interface, LoadError, Loader, Mode, Source};
use rivet_host::installed::{self, InstalledPlugin};
use rivet_host::same_name;
use rivet_interface::PluginKind;
use rivet_interface::framework::{
    BuilderPlugin, CommandPlugin, Console, Creation, PostProcessorPlugin, ProvisionerPlugin,
};

use crate::console::{CliConsole, Style};

/// The handle of a builder.
pub type Builder = <dyn BuilderPlugin as Interface>::Handle;
/// The handle of a provisioner.
pub type Provisioner = <dyn ProvisionerPlugin as Interface>::Handle;
/// The handle of a post-processor.
pub type PostProcessor = <dyn PostProcessorPlugin as Interface>::Handle;
/// The handle of a command plugin.
pub type Command = <dyn CommandPlugin as Interface>::Handle;

/// Runs `$body` with `$I` the interface of plugin kind `$kind`.
macro_rules! by_kind {
    ($kind:expr, $I:ident => $body:expr) => {
        match $kind {
            rivet_interface::PluginKind::Builder => {
                type $I = dyn rivet_interface::framework::BuilderPlugin;
                $body
            }
            rivet_interface::PluginKind::Provisioner => {
                type $I = dyn rivet_interface::framework::ProvisionerPlugin;
                $body
            }
            rivet_interface::PluginKind::PostProcessor => {
                type $I = dyn rivet_interface::framework::PostProcessorPlugin;
                $body
            }
            rivet_interface::PluginKind::Command => {
                type $I = dyn rivet_interface::framework::CommandPlugin;
                $body
            }
        }
    };
}
pub(crate) use by_kind;

/// The kind whose framework interface is named `interface` (`builder`,
/// `post_processor`, ...).
pub fn kind_of(interface: &str) -> Option<PluginKind> {
    PluginKind::ALL
        .into_iter()
        .find(|kind| kind.file_token() == interface)
}

/// `rivet`'s loader of its four kinds, with the core plugins built in (a
/// file of the same kind and name shadows each), and the mode plugins run
/// in unless a step says otherwise.
pub struct Plugins {
    loader: Arc<Loader>,
    mode: Mode,
}

/// Which file of a plugin a step uses.
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    /// The one [`Loader::resolve`] finds.
    Resolved,
    /// This file.
    File(&'a Path),
    /// The highest installed version matching `requirement` (from
    /// `source`).
    Required {
        /// The required source.
        source: &'a str,
        /// The required versions.
        requirement: &'a semver::VersionReq,
    },
}

/// A loaded step of a build.
pub enum Step {
    /// A builder.
    Builder(Builder),
    /// A provisioner.
    Provisioner(Provisioner),
    /// A post-processor.
    PostProcessor(PostProcessor),
}

impl Plugins {
    /// The four kinds and the built-in plugins over `loader`'s
    /// configuration, plugins running in `mode` by default.
    pub fn new(loader: Loader, mode: Mode) -> Plugins {
        let loader = loader
            .register::<dyn BuilderPlugin>()
            .register::<dyn ProvisionerPlugin>()
            .register::<dyn PostProcessorPlugin>()
            .register::<dyn CommandPlugin>()
            .builtin(&plugin_builder_dir::RIVET_BUILTIN)
            .builtin(&plugin_provisioner_file::RIVET_BUILTIN)
            .builtin(&plugin_provisioner_shell::RIVET_BUILTIN)
            .builtin(&plugin_post_processor_checksum::RIVET_BUILTIN)
            .builtin(&plugin_post_processor_compress::RIVET_BUILTIN)
            .builtin(&plugin_command_inspect::RIVET_BUILTIN);
        Plugins {
            loader: Arc::new(loader),
            mode,
        }
    }

    /// Serves a built-in plugin isolated when this process was started to
    /// (see [`Loader::serve_builtin`]): the exit code for `main`.
    pub fn serve_builtin(&self) -> Option<std::process::ExitCode> {
        self.loader.serve_builtin()
    }

    /// The loader.
    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The mode plugins run in unless a step says otherwise.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Where plugin `name` of `kind` comes from.
    pub fn resolve(&self, kind: PluginKind, name: &str) -> Result<Source, LoadError> {
        by_kind!(kind, I => self.loader.resolve::<I>(name))
    }

    /// The installed file of plugin `name` of `kind` that `requirement`
    /// (from `source`) uses.
    pub fn resolve_version(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        requirement: &semver::VersionReq,
    ) -> Result<InstalledPlugin, LoadError> {
        by_kind!(kind, I => self.loader.resolve_version::<I>(name, Some(source), requirement))
    }

    /// Loads plugin `name` of `kind` as a build step: from `pick`, in
    /// `mode`, created from `creation`, its output printed as the step
    /// `label`'s.
    pub fn load_step(
        &self,
        kind: PluginKind,
        name: &str,
        pick: Pick<'_>,
        mode: Mode,
        creation: &Creation,
        label: &str,
    ) -> Result<Step, LoadError> {
        let config = serde_json::to_value(creation).unwrap_or_default();
        let console = Arc::new(CliConsole::new(label, Style::Step, self.loader.clone()));
        match kind {
            PluginKind::Builder => self
                .load::<dyn BuilderPlugin>(name, pick, mode, &config, console)
                .map(Step::Builder),
            PluginKind::Provisioner => self
                .load::<dyn ProvisionerPlugin>(name, pick, mode, &config, console)
                .map(Step::Provisioner),
            // A template's steps are never commands: they load as the
            // post-processors they come after.
            PluginKind::PostProcessor | PluginKind::Command => self
                .load::<dyn PostProcessorPlugin>(name, pick, mode, &config, console)
                .map(Step::PostProcessor),
        }
    }

    /// Loads command plugin `name` (in the default mode); its output is
    /// the command's own.
    pub fn load_command(&self, name: &str) -> Result<Command, LoadError> {
        let console = Arc::new(CliConsole::new(
            &format!("command {name}"),
            Style::Command,
            self.loader.clone(),
        ));
        let config = serde_json::Value::Null;
        self.load::<dyn CommandPlugin>(name, Pick::Resolved, self.mode, &config, console)
    }

    fn load<I>(
        &self,
        name: &str,
        pick: Pick<'_>,
        mode: Mode,
        config: &serde_json::Value,
        console: Arc<CliConsole>,
    ) -> Result<I::Handle, LoadError>
    where
        I: Interface<Host = dyn Console> + ?Sized,
    {
        let loader = &self.loader;
        match pick {
            Pick::Resolved => loader.load_with_host::<I, _>(name, mode, config, console),
            Pick::File(path) => loader.load_file_with_host::<I, _>(path, mode, config, console),
            Pick::Required {
                source,
                requirement,
            } => {
                let plugin = loader.resolve_version::<I>(name, Some(source), requirement)?;
                loader.load_file_with_host::<I, _>(&plugin.path, mode, config, console)
            }
        }
    }
}

/// Where `source` is, for people: a file's path, or `built-in`.
pub fn describe(source: &Source) -> String {
    match source {
        Source::File(path) => path.display().to_string(),
        Source::Installed(plugin) => plugin.path.display().to_string(),
        Source::Builtin(_) => "built-in".to_owned(),
    }
}

/// What went wrong in a plugin call, to read after whatever names the
/// plugin (`builder #1 (dir) failed: …`).
pub fn reason(error: &rivet::Error) -> String {
    match error {
        rivet::Error::Failed { message, .. } | rivet::Error::Message(message) => {
            format!("failed: {message}")
        }
        rivet::Error::Panicked { message, .. } => format!("panicked: {message}"),
        rivet::Error::Crashed { status, .. } => {
            format!("crashed: its process {status}; the next call starts a fresh one")
        }
        rivet::Error::Timeout { after, .. } => format!(
            "did not answer within {}s; its process was killed (raise --call-timeout if it needs longer)",
            after.as_secs_f64()
        ),
        rivet::Error::CrashLoop {
            restarts,
            window,
            last,
            ..
        } => format!(
            "crashed again after {restarts} restarts within {}s; not restarting it until that many seconds have passed since the first of them (last: {last}). Fix the plugin, or run it in-process to debug it",
            window.as_secs_f64()
        ),
        rivet::Error::Restart { source, .. } => {
            format!("could not be restarted in a fresh process: {source}")
        }
        rivet::Error::Process { source, .. } => format!(
            "sent something that is not the plugin protocol ({source}); its process was killed"
        ),
        other => format!("failed: {other}"),
    }
}

impl Plugins {
    /// Whether installed `plugin` can be used by this host, or why not
    /// (naming the file): built for this platform and the interface's
    /// major version, checked and vetted as for a load, and reporting the
    /// name and version its file name says.
    pub fn usable(&self, plugin: &InstalledPlugin) -> Result<(), String> {
        let path = plugin.path.display();
        let kind = kind_of(&plugin.id.kind)
            .ok_or_else(|| format!("{path}: `{}` is not a plugin kind", plugin.id.kind))?;
        let major = by_kind!(kind, I => interface_major::<I>());
        if !plugin.id.is_compatible(major) {
            return Err(format!(
                "{path}: built for {} against interface {}.x; this host is {} with interface {major}.x",
                plugin.id.platform,
                plugin.id.interface_major,
                installed::platform(),
            ));
        }
        let about = self.loader.about(&plugin.path, &plugin.id.kind)?;
        if !same_name(&about.name, &plugin.id.name) {
            return Err(format!(
                "{path}: its file name says plugin `{}`, the plugin says `{}`; reinstall it with `rivet plugins install`",
                plugin.id.name, about.name
            ));
        }
        if about.version != plugin.id.version.to_string() {
            return Err(format!(
                "{path}: its file name says version {}, the plugin says {}; reinstall it with `rivet plugins install`",
                plugin.id.version, about.version
            ));
        }
        Ok(())
    }
}

/// The major version of interface `I`.
fn interface_major<I: Interface + ?Sized>() -> u64 {
    semver::Version::parse(I::VERSION).map_or(0, |version| version.major)
}
