//! The handle a host holds for a loaded plugin, and prepared instances.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rivet_interface::abi_stable::std_types::{RSlice, RString};
use rivet_interface::{Artifact, Context, PluginInstance, PluginKind, PluginModRef, RArtifact, Ui};

use crate::CallError;
use crate::builtin::BuiltinPlugin;
use crate::isolated::protocol::Call;
use crate::isolated::{ProcessPlugin, RemoteInstance};
use crate::services::{HostUi, Locate, Services};

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginMetadata {
    /// What it does.
    pub kind: PluginKind,
    /// Its name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line saying what it does.
    pub description: String,
    /// The rivet-interface version it was built against.
    pub interface_version: String,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// A library file.
    File(PathBuf),
    /// Compiled into the host.
    BuiltIn,
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::File(path) => write!(f, "{}", path.display()),
            PluginSource::BuiltIn => f.write_str("built-in"),
        }
    }
}

/// How a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Loaded into the host process: calls cost nanoseconds, but a crash in
    /// the plugin is a crash of the host.
    #[default]
    InProcess,
    /// In its own process, called over a Unix socket: calls cost
    /// microseconds, and a crash or hang is an error for one call. Unix
    /// only: elsewhere loading a plugin in this mode fails with
    /// [`LoadError::IsolationUnsupported`](crate::LoadError::IsolationUnsupported).
    Process,
}

impl Mode {
    /// The name users write: `in-process` or `process`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::InProcess => "in-process",
            Mode::Process => "process",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in-process" => Ok(Mode::InProcess),
            "process" => Ok(Mode::Process),
            other => Err(format!(
                "`{other}` is not an isolation mode; use `in-process` or `process`"
            )),
        }
    }
}

#[derive(Clone)]
enum Backend {
    Library(PluginModRef),
    BuiltIn(Arc<BuiltinPlugin>),
    Process(Arc<ProcessPlugin>),
}

/// A loaded, checked plugin, ready to prepare instances.
///
/// Cheap to clone. The same handle serves plugin files and built-in plugins.
#[derive(Clone)]
pub struct Plugin {
    metadata: Arc<PluginMetadata>,
    source: PluginSource,
    backend: Backend,
    ui: Arc<dyn HostUi>,
    locator: Arc<dyn Locate>,
}

impl Plugin {
    pub(crate) fn from_library(
        module: PluginModRef,
        metadata: PluginMetadata,
        path: PathBuf,
        ui: Arc<dyn HostUi>,
        locator: Arc<dyn Locate>,
    ) -> Self {
        Plugin {
            metadata: Arc::new(metadata),
            source: PluginSource::File(path),
            backend: Backend::Library(module),
            ui,
            locator,
        }
    }

    pub(crate) fn from_builtin(
        builtin: Arc<BuiltinPlugin>,
        ui: Arc<dyn HostUi>,
        locator: Arc<dyn Locate>,
    ) -> Self {
        Plugin {
            metadata: Arc::new(builtin.metadata.clone()),
            source: PluginSource::BuiltIn,
            backend: Backend::BuiltIn(builtin),
            ui,
            locator,
        }
    }

    pub(crate) fn from_process(
        process: Arc<ProcessPlugin>,
        metadata: PluginMetadata,
        path: PathBuf,
        ui: Arc<dyn HostUi>,
        locator: Arc<dyn Locate>,
    ) -> Self {
        Plugin {
            metadata: Arc::new(metadata),
            source: PluginSource::File(path),
            backend: Backend::Process(process),
            ui,
            locator,
        }
    }

    /// What the plugin says about itself.
    pub fn metadata(&self) -> &PluginMetadata {
        &self.metadata
    }

    /// Where it was loaded from.
    pub fn source(&self) -> &PluginSource {
        &self.source
    }

    /// How it runs.
    pub fn mode(&self) -> Mode {
        match self.backend {
            Backend::Process(_) => Mode::Process,
            Backend::Library(_) | Backend::BuiltIn(_) => Mode::InProcess,
        }
    }

    /// `kind name`, as messages name it: `builder dir`.
    pub fn label(&self) -> String {
        format!("{} {}", self.metadata.kind, self.metadata.name)
    }

    /// Prepares an instance from `config` (JSON text; `{}` for none), with
    /// relative paths resolved against `base_dir`. Bad configuration is
    /// reported here, before any work is done.
    pub fn prepare(&self, config: &str, base_dir: &Path) -> Result<Instance, CallError> {
        let label = self.label();
        let services = || {
            Services::for_plugin(
                self.metadata.kind,
                &self.metadata.name,
                self.ui.clone(),
                self.locator.clone(),
            )
        };
        let local = match &self.backend {
            Backend::Library(module) => {
                let base_dir = base_dir.to_string_lossy();
                (module.prepare())(config.into(), base_dir.as_ref().into(), services())
                    .into_result()
                    .map_err(rivet_interface::Error::from)
            }
            Backend::BuiltIn(builtin) => {
                builtin.prepare(config, &Context::new(base_dir), Ui::new(services()))
            }
            Backend::Process(process) => {
                return Ok(Instance {
                    label: label.into(),
                    kind: self.metadata.kind,
                    inner: Inner::Remote(process.prepare(config, base_dir)?),
                });
            }
        }
        .map_err(|error| CallError::from_plugin(&label, error))?;
        Ok(Instance {
            label: label.into(),
            kind: self.metadata.kind,
            inner: Inner::Local(local),
        })
    }

    /// A command plugin's instance (commands take no configuration).
    pub fn command(&self) -> Result<Instance, CallError> {
        self.prepare("{}", Path::new("."))
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("metadata", &self.metadata)
            .field("source", &self.source)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

/// A prepared plugin: call the method of its kind.
///
/// Methods take `&self` and instances are `Send + Sync`, so one instance may
/// be called from several threads.
pub struct Instance {
    label: Arc<str>,
    kind: PluginKind,
    inner: Inner,
}

enum Inner {
    Local(PluginInstance),
    Remote(RemoteInstance),
}

impl Instance {
    /// The plugin, as `kind name`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs a builder.
    pub fn build(&self) -> Result<Artifact, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::Builder(builder)) => {
                self.artifact(builder.build().into_result())
            }
            Inner::Remote(remote) if self.kind == PluginKind::Builder => {
                remote.artifact(remote.call(|instance| Call::Build { instance })?)
            }
            _ => Err(self.wrong_kind("build an artifact")),
        }
    }

    /// Runs a provisioner on `artifact`, returning the changed artifact.
    pub fn provision(&self, artifact: &Artifact) -> Result<Artifact, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::Provisioner(provisioner)) => {
                self.artifact(provisioner.provision(&artifact.into()).into_result())
            }
            Inner::Remote(remote) if self.kind == PluginKind::Provisioner => {
                remote.artifact(remote.call(|instance| Call::Provision {
                    instance,
                    artifact: artifact.clone(),
                })?)
            }
            _ => Err(self.wrong_kind("provision an artifact")),
        }
    }

    /// Runs a post-processor on `input`, returning the artifact it made.
    pub fn post_process(&self, input: &Artifact) -> Result<Artifact, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::PostProcessor(post_processor)) => {
                self.artifact(post_processor.post_process(&input.into()).into_result())
            }
            Inner::Remote(remote) if self.kind == PluginKind::PostProcessor => {
                remote.artifact(remote.call(|instance| Call::PostProcess {
                    instance,
                    artifact: input.clone(),
                })?)
            }
            _ => Err(self.wrong_kind("post-process an artifact")),
        }
    }

    /// A command's one-line synopsis.
    pub fn synopsis(&self) -> Result<String, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::Command(command)) => {
                self.text(command.synopsis().into_result())
            }
            Inner::Remote(remote) if self.kind == PluginKind::Command => {
                remote.text(remote.call(|instance| Call::Synopsis { instance })?)
            }
            _ => Err(self.wrong_kind("give a synopsis")),
        }
    }

    /// A command's long help.
    pub fn help(&self) -> Result<String, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::Command(command)) => {
                self.text(command.help().into_result())
            }
            Inner::Remote(remote) if self.kind == PluginKind::Command => {
                remote.text(remote.call(|instance| Call::Help { instance })?)
            }
            _ => Err(self.wrong_kind("give help")),
        }
    }

    /// Runs a command with `args`, returning its exit status.
    pub fn run(&self, args: &[String]) -> Result<i32, CallError> {
        match &self.inner {
            Inner::Local(PluginInstance::Command(command)) => {
                let result = if args.is_empty() {
                    command.run(RSlice::EMPTY)
                } else {
                    let args: Vec<RString> = args.iter().map(|a| a.as_str().into()).collect();
                    command.run(RSlice::from_slice(&args))
                };
                result.into_result().map_err(|e| self.error(e))
            }
            Inner::Remote(remote) if self.kind == PluginKind::Command => {
                remote.code(remote.call(|instance| Call::Run {
                    instance,
                    args: args.to_vec(),
                })?)
            }
            _ => Err(self.wrong_kind("run as a command")),
        }
    }

    fn artifact(
        &self,
        result: Result<RArtifact, rivet_interface::RError>,
    ) -> Result<Artifact, CallError> {
        result
            .map(|a| Artifact::from(&a))
            .map_err(|e| self.error(e))
    }

    fn text(&self, result: Result<RString, rivet_interface::RError>) -> Result<String, CallError> {
        result.map(String::from).map_err(|e| self.error(e))
    }

    fn error(&self, error: rivet_interface::RError) -> CallError {
        CallError::from_plugin(&self.label, error.into())
    }

    fn wrong_kind(&self, operation: &'static str) -> CallError {
        CallError::WrongKind {
            plugin: self.label.to_string(),
            kind: self.kind,
            operation,
        }
    }
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("plugin", &self.label)
            .finish_non_exhaustive()
    }
}
