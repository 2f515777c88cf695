//! The four kinds as framework interfaces: the `rivet` CLI's plugin
//! interface declared with `#[rivet::interface]`, as any host declares its
//! own.
//!
//! Every plugin exported with [`export_builder!`](crate::export_builder),
//! [`export_provisioner!`](crate::export_provisioner),
//! [`export_post_processor!`](crate::export_post_processor) or
//! [`export_command!`](crate::export_command) also exports its kind's
//! interface here ([`BuilderPlugin`], [`ProvisionerPlugin`],
//! [`PostProcessorPlugin`], [`CommandPlugin`]), adapted by [`Framework`]:
//! the same file (`libplugin_builder_dir.so`, whose kinds are these
//! interfaces' names) loads through a framework `rivet::Loader`, in-process
//! or isolated, and, compiled into a host, as a built-in. The plugin's
//! [`Ui`] then talks to the host through the [`Console`] host trait, and its
//! configuration arrives as a [`Creation`].

use std::any::TypeId;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::config::parse_config;
use crate::{
    Artifact, Builder, Command, Context, Error, HostServices, PluginKind, PostProcessor,
    Provisioner, Ui,
};

/// What a plugin of the four kinds asks of its host: the services behind
/// its [`Ui`].
#[rivet::host]
pub trait Console {
    /// A normal line of output for the user.
    fn say(&self, line: String);
    /// A secondary line (details, the output of a tool the plugin runs).
    fn message(&self, line: String);
    /// A line reporting a problem.
    fn error(&self, line: String);
    /// Progress of the current step: `done` out of `total` units.
    fn progress(&self, done: u64, total: u64);
    /// Where the host finds plugin `name` of kind `kind` (`builder`, ...):
    /// a file path or a description such as `built-in`.
    fn locate(&self, kind: String, name: String) -> Option<String>;
}

/// A builder: makes an artifact from nothing but its configuration.
#[rivet::interface(version = "1.0.0", name = "builder", host = Console)]
pub trait BuilderPlugin {
    /// Builds the artifact.
    fn build(&self) -> Result<Artifact, rivet::Error>;
}

/// A provisioner: changes an artifact.
#[rivet::interface(version = "1.0.0", name = "provisioner", host = Console)]
pub trait ProvisionerPlugin {
    /// Provisions `artifact`, returning it as it is now.
    fn provision(&self, artifact: Artifact) -> Result<Artifact, rivet::Error>;
}

/// A post-processor: turns an artifact into another.
#[rivet::interface(version = "1.0.0", name = "post_processor", host = Console)]
pub trait PostProcessorPlugin {
    /// Post-processes `input` into a new artifact.
    fn post_process(&self, input: Artifact) -> Result<Artifact, rivet::Error>;
}

/// A command: a `rivet` subcommand.
#[rivet::interface(version = "1.0.0", name = "command", host = Console)]
pub trait CommandPlugin {
    /// One line saying what it does.
    fn synopsis(&self) -> String;
    /// Its full help text.
    fn help(&self) -> String;
    /// Runs it with its arguments, returning its exit code.
    fn run(&self, args: Vec<String>) -> Result<i32, rivet::Error>;
}

/// What a host hands a plugin of the four kinds when it creates one (as
/// JSON): the step's configuration and the directory its relative paths
/// are relative to (a [`Context`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Creation {
    /// The `config` table of the step (`null` or `{}` when it has none).
    pub config: serde_json::Value,
    /// The template's directory.
    pub base_dir: PathBuf,
}

/// A plugin of one of the four kinds as its framework interface: the
/// plugin, and the [`Ui`] its methods are given.
pub struct Framework<P> {
    plugin: P,
    ui: Ui,
}

impl<P> Framework<P> {
    /// The [`Ui`] whose services are `console`'s.
    fn ui(console: ConsoleHost) -> Ui {
        Ui::new(Bridge(console))
    }
}

/// The configuration of `creation`, parsed as the plugin's type, with the
/// messages of an in-process load.
fn configured<C: serde::de::DeserializeOwned>(creation: &Creation) -> Result<C, Error> {
    let json = match &creation.config {
        serde_json::Value::Null => String::new(),
        config => config.to_string(),
    };
    parse_config(&json)
}

/// Creates plugins of a configured kind from their [`Creation`].
macro_rules! configured {
    ($kind:ident, $interface:ident) => {
        impl<T: $kind> rivet::__private::Create<dyn $interface> for Framework<T> {
            fn create(config: &str, console: ConsoleHost) -> Result<Self, rivet::Error> {
                let creation: Creation = serde_json::from_str(config)
                    .map_err(|error| rivet::Error::new(format!("invalid creation: {error}")))?;
                let ui = Self::ui(console);
                let plugin = (|| {
                    init_once::<T>(&ui)?;
                    T::prepare(configured(&creation)?, &Context::new(&creation.base_dir))
                })()
                .map_err(framework_error)?;
                Ok(Framework { plugin, ui })
            }
        }
    };
}

configured!(Builder, BuilderPlugin);
configured!(Provisioner, ProvisionerPlugin);
configured!(PostProcessor, PostProcessorPlugin);

impl<T: Command> rivet::__private::Create<dyn CommandPlugin> for Framework<T> {
    fn create(_config: &str, console: ConsoleHost) -> Result<Self, rivet::Error> {
        let ui = Self::ui(console);
        init_once::<T>(&ui).map_err(framework_error)?;
        Ok(Framework {
            plugin: T::default(),
            ui,
        })
    }
}

impl<T: Builder> BuilderPlugin for Framework<T> {
    fn build(&self) -> Result<Artifact, rivet::Error> {
        self.plugin.build(&self.ui).map_err(framework_error)
    }
}

impl<T: Provisioner> ProvisionerPlugin for Framework<T> {
    fn provision(&self, artifact: Artifact) -> Result<Artifact, rivet::Error> {
        self.plugin
            .provision(&self.ui, artifact)
            .map_err(framework_error)
    }
}

impl<T: PostProcessor> PostProcessorPlugin for Framework<T> {
    fn post_process(&self, input: Artifact) -> Result<Artifact, rivet::Error> {
        self.plugin
            .post_process(&self.ui, input)
            .map_err(framework_error)
    }
}

impl<T: Command> CommandPlugin for Framework<T> {
    fn synopsis(&self) -> String {
        self.plugin.synopsis()
    }

    fn help(&self) -> String {
        self.plugin.help()
    }

    fn run(&self, args: Vec<String>) -> Result<i32, rivet::Error> {
        self.plugin.run(&self.ui, &args).map_err(framework_error)
    }
}

/// Runs `T::init` the first time a plugin of type `T` is created in this
/// process ("once, when the host loads the plugin", as its documentation
/// says), and gives its outcome every time after. By type, as a host may
/// have several plugins compiled in.
fn init_once<T: crate::Plugin>(ui: &Ui) -> Result<(), Error> {
    static DONE: LazyLock<Mutex<HashMap<TypeId, Result<(), Error>>>> =
        LazyLock::new(Default::default);
    let mut done = DONE.lock().unwrap_or_else(PoisonError::into_inner);
    done.entry(TypeId::of::<T>())
        .or_insert_with(|| T::init(ui))
        .clone()
}

/// A plugin's error as the framework carries it: its message, the kind
/// (configuration or failure) written as the `rivet` CLI writes it.
fn framework_error(error: Error) -> rivet::Error {
    rivet::Error::new(error.to_string())
}

/// The [`HostServices`] of a plugin created by a framework host: its
/// [`Console`]. Log records go to the `log` crate, which the framework
/// bridges to the host for every interface.
struct Bridge(ConsoleHost);

impl HostServices for Bridge {
    fn say(&self, line: &str) {
        // A failed call to the host (it went away) has no one to tell.
        let _ = self.0.say(line.to_owned());
    }

    fn message(&self, line: &str) {
        let _ = self.0.message(line.to_owned());
    }

    fn error(&self, line: &str) {
        let _ = self.0.error(line.to_owned());
    }

    fn progress(&self, done: u64, total: u64) {
        let _ = self.0.progress(done, total);
    }

    fn locate(&self, kind: PluginKind, name: &str) -> Option<String> {
        self.0
            .locate(kind.file_token().to_owned(), name.to_owned())
            .ok()
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::INTERFACE_VERSION;
    use rivet::Interface;

    #[test]
    fn the_framework_interfaces_are_the_four_kinds_at_this_crates_version() {
        let interfaces = [
            (
                <dyn BuilderPlugin as Interface>::NAME,
                <dyn BuilderPlugin as Interface>::VERSION,
            ),
            (
                <dyn ProvisionerPlugin as Interface>::NAME,
                <dyn ProvisionerPlugin as Interface>::VERSION,
            ),
            (
                <dyn PostProcessorPlugin as Interface>::NAME,
                <dyn PostProcessorPlugin as Interface>::VERSION,
            ),
            (
                <dyn CommandPlugin as Interface>::NAME,
                <dyn CommandPlugin as Interface>::VERSION,
            ),
        ];
        let kinds = [
            PluginKind::Builder,
            PluginKind::Provisioner,
            PluginKind::PostProcessor,
            PluginKind::Command,
        ];
        for ((name, version), kind) in interfaces.into_iter().zip(kinds) {
            assert_eq!((name, version), (kind.file_token(), INTERFACE_VERSION));
        }
    }
}
