//! Finding and loading plugins by interface and name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rivet_abi::HostRef;
use rivet_abi::abi_stable::std_types::RStr;

use rivet_abi::PluginModRef;
use rivet_host::discovery::{self, Scan};
use rivet_host::installed::{self, InstalledName, InstalledPlugin};
use rivet_host::integrity::{self, Verified};
use rivet_host::vetting::Verdict;
use rivet_host::{InterfaceVersion, SearchPath, compatible, is_valid_name, same_name};

use crate::host::GivenHost;
use crate::listing::{About, Listed, Listing};
use crate::plugin::{Backend, InProcess};
use crate::process::Served;
use crate::{
    Builtin, Config, HostExports, Interface, LoadError, Mode, Plugin, library, log_bridge, process,
    server, vetting,
};

/// Loads plugins for a host, in-process or isolated.
///
/// Every plugin file is opened once and judged on that descriptor before it
/// is loaded (see [`rivet_host::integrity`]): it must be a regular file,
/// match its `_SHA256SUM` sidecar when it has one, and (on Unix) neither it
/// nor the directory holding it may be writable by other users unless
/// [`Loader::allow_insecure_permissions`] says so. In-process, the library
/// is then loaded through that open descriptor (`/proc/self/fd/N` on
/// Linux), so the bytes checked are the bytes mapped.
#[derive(Debug, Clone)]
pub struct Loader {
    config: Config,
    dirs: SearchPath,
    /// The registered interfaces: names and major versions.
    kinds: Vec<(&'static str, &'static str)>,
    builtins: Vec<&'static Builtin>,
    allow_insecure: bool,
}

/// Where a plugin comes from: what [`Loader::resolve`] finds for a name.
#[derive(Debug, Clone)]
pub enum Source {
    /// A plugin file on the search path.
    File(PathBuf),
    /// An installed version: the highest compatible one under
    /// [`Config::install_dir`] (`HOME/plugins/<source>/`).
    Installed(InstalledPlugin),
    /// A plugin compiled into the host (see [`Builtin`]).
    Builtin(&'static Builtin),
}

impl Loader {
    /// A loader with this configuration.
    pub fn new(config: Config) -> Loader {
        Loader {
            dirs: config.dirs(),
            config,
            kinds: Vec::new(),
            builtins: Vec::new(),
            allow_insecure: false,
        }
    }

    /// Registers interface `I` as a kind of plugin this host uses:
    /// [`discover`](Self::discover) lists its plugins.
    pub fn register<I: Interface + ?Sized>(mut self) -> Loader {
        if !self.kinds.iter().any(|(kind, _)| *kind == I::NAME) {
            self.kinds.push((I::NAME, I::VERSION));
        }
        self
    }

    /// Registers a plugin compiled into the host (`RIVET_BUILTIN` of its
    /// crate, see [`Builtin`]): loaded when no file of its interface and
    /// name is on the search path (a file shadows it, as Packer's do).
    ///
    /// Its interface is registered too (see [`register`](Self::register)),
    /// so that [`discover`](Self::discover) and [`list`](Self::list) see
    /// the files that would shadow it.
    pub fn builtin(mut self, builtin: &'static Builtin) -> Loader {
        let interface = builtin.interface();
        if !self.kinds.iter().any(|(kind, _)| *kind == interface) {
            let version = builtin.module().interface().version.as_str();
            self.kinds.push((interface, version));
        }
        self.builtins.push(builtin);
        self
    }

    /// The registered built-in plugins, each with the file that shadows it,
    /// if any.
    pub fn builtins(&self) -> Vec<(&'static Builtin, Option<PathBuf>)> {
        self.builtins
            .iter()
            .map(|builtin| {
                let file = self
                    .find_file(builtin.interface(), builtin.name())
                    .ok()
                    .map(|(path, _)| path);
                (*builtin, file)
            })
            .collect()
    }

    /// Loads plugin files that other users could change (group- or
    /// world-writable, or owned by someone else), which are refused by
    /// default.
    pub fn allow_insecure_permissions(mut self, allow: bool) -> Loader {
        self.allow_insecure = allow;
        self
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The plugin files of the registered interfaces on the search path,
    /// loading none of them: the file used for each interface and name, the
    /// files it hides (later on the path), and the directories that could
    /// not be read.
    pub fn discover(&self) -> Scan<&'static str> {
        let names = self.config.file_names();
        let kinds = self.kind_names();
        discovery::scan(&self.dirs, |file| names.parse(file, &kinds))
    }

    /// The file of plugin `name` of interface `I`: the first directory of
    /// the search path holding `libplugin_<INTERFACE>_<NAME>.so` (whatever
    /// it is: a FIFO or a directory of that name is found, and refused by
    /// name when loaded).
    pub fn locate<I: Interface + ?Sized>(&self, name: &str) -> Result<PathBuf, LoadError> {
        if !is_valid_name(name) {
            return Err(LoadError::InvalidName(name.to_owned()));
        }
        self.find_file(I::NAME, name)
            .map(|(path, _)| path)
            .map_err(|file| LoadError::NotFound {
                interface: I::NAME.to_owned(),
                name: name.to_owned(),
                file,
                searched: self.dirs.dirs().to_vec(),
                var: self.config.path_var(),
            })
    }

    /// Where plugin `name` of interface `I` comes from: the first file of
    /// the search path named for it (see [`locate`](Self::locate)), else
    /// the highest installed version built for this platform against `I`'s
    /// major version, else a registered built-in of that interface and
    /// name. This is the one resolution [`load`](Self::load) and its
    /// variants use.
    pub fn resolve<I: Interface + ?Sized>(&self, name: &str) -> Result<Source, LoadError> {
        let not_found = match self.locate::<I>(name) {
            Ok(path) => return Ok(Source::File(path)),
            Err(error @ LoadError::NotFound { .. }) => error,
            Err(error) => return Err(error),
        };
        let major = major::<I>();
        let installed = self.installed_of(&[I::NAME]);
        let candidates =
            installed::candidates(&installed, &I::NAME.to_owned(), name, None, None, major);
        let best = self.first_truthful(&candidates, I::NAME).0;
        match (best, self.builtin_for(I::NAME, name)) {
            (Some(plugin), _) => Ok(Source::Installed(plugin)),
            (None, Some(builtin)) => Ok(Source::Builtin(builtin)),
            (None, None) => Err(not_found),
        }
    }

    /// The installed version of plugin `name` of interface `I` a host
    /// requiring `requirement` (from `source`, or from any source) uses:
    /// the highest one matching it built for this platform against `I`'s
    /// major version. Load it with [`load_file`](Self::load_file).
    pub fn resolve_version<I: Interface + ?Sized>(
        &self,
        name: &str,
        source: Option<&str>,
        requirement: &semver::VersionReq,
    ) -> Result<InstalledPlugin, LoadError> {
        let major = major::<I>();
        let installed = self.installed_of(&[I::NAME]);
        let kind = I::NAME.to_owned();
        let candidates =
            installed::candidates(&installed, &kind, name, source, Some(requirement), major);
        if let (Some(plugin), _) = self.first_truthful(&candidates, I::NAME) {
            return Ok(plugin);
        }
        let versions: Vec<String> =
            installed::candidates(&installed, &kind, name, source, None, major)
                .iter()
                .map(|plugin| plugin.id.version.to_string())
                .collect();
        Err(LoadError::NoMatchingVersion {
            interface: I::NAME.to_owned(),
            name: name.to_owned(),
            source_id: source.map(Box::from),
            requirement: requirement.to_string(),
            installed: match versions.is_empty() {
                true => "none".to_owned(),
                false => versions.join(", "),
            },
        })
    }

    /// The installed plugin files of the registered interfaces under
    /// `<dir>/<source>/` of every search-path directory and of
    /// [`Config::install_dir`], every version, platform and interface
    /// version (see [`installed::scan_search_path`]).
    pub fn installed(&self) -> Vec<InstalledPlugin> {
        self.installed_of(&self.kind_names())
    }

    /// Every plugin of the registered interfaces, without creating any:
    /// for each interface and name the source [`resolve`](Self::resolve)
    /// picks (a search-path file, else the best installed version, else a
    /// built-in) and what the plugin says of itself, or why it cannot be
    /// loaded. A file is checked as for a load (and, in-process, vetted: a
    /// listing loads no library in this process that a load would not).
    pub fn list(&self) -> Listing {
        let scan = self.discover();
        let mut plugins: Vec<Listed> = scan
            .files
            .iter()
            .map(|file| Listed {
                interface: file.kind,
                name: file.name.clone(),
                source: Source::File(file.path.clone()),
                about: self.about(&file.path, file.kind).and_then(|about| {
                    if same_name(&about.name, &file.name) {
                        return Ok(about);
                    }
                    Err(LoadError::NameMismatch {
                        path: file.path.clone(),
                        file_says: file.name.clone(),
                        plugin_says: about.name,
                    }
                    .to_string())
                }),
            })
            .collect();
        let listed = |plugins: &[Listed], kind: &str, name: &str| {
            plugins
                .iter()
                .any(|p| p.interface == kind && same_name(&p.name, name))
        };
        let installed = self.installed();
        for &(kind, version) in &self.kinds {
            let major = version_major(version);
            let token = kind.to_owned();
            for plugin in installed.iter().filter(|p| p.id.kind == kind) {
                if listed(&plugins, kind, &plugin.id.name) {
                    continue;
                }
                let candidates =
                    installed::candidates(&installed, &token, &plugin.id.name, None, None, major);
                let (best, liars) = self.first_truthful(&candidates, kind);
                for (liar, error) in liars {
                    plugins.push(Listed {
                        interface: kind,
                        name: liar.id.name.clone(),
                        source: Source::Installed(liar),
                        about: Err(error.to_string()),
                    });
                }
                if let Some(best) = best {
                    plugins.push(Listed {
                        interface: kind,
                        name: best.id.name.clone(),
                        about: self.about(&best.path, kind),
                        source: Source::Installed(best),
                    });
                }
            }
        }
        for builtin in &self.builtins {
            if !listed(&plugins, builtin.interface(), builtin.name()) {
                let label = PathBuf::from(format!("built-in plugin `{}`", builtin.name()));
                plugins.push(Listed {
                    interface: builtin.interface(),
                    name: builtin.name().to_owned(),
                    source: Source::Builtin(builtin),
                    about: About::of(&label, builtin.module(), builtin.interface())
                        .map_err(|error| error.to_string()),
                });
            }
        }
        Listing {
            plugins,
            hidden: scan.hidden,
            unreadable: scan.unreadable,
        }
    }

    /// What the plugin file at `path` says of itself as a plugin of
    /// `interface` (a registered interface's name), or why it cannot be
    /// loaded: checked as for a load, then from the scanner's verdict when
    /// files are vetted (the plugin is not created), else opened in this
    /// process.
    pub fn about(&self, path: &Path, interface: &str) -> Result<About, String> {
        let verified = self.check_file(path).map_err(|error| error.to_string())?;
        let about = match vetting::verdict(&self.config, path, &verified, interface)
            .map_err(|error| error.to_string())?
        {
            Some(Verdict::Loaded(outcome)) => outcome,
            Some(Verdict::Quarantined(message)) => Err(message),
            None => library::open(path, verified, log_bridge::host_sink())
                .and_then(|module| About::of(path, module, interface))
                .map_err(|error| error.to_string()),
        }?;
        // A plugin of another major version of the interface is listed as
        // what a load would say of it.
        match self.kinds.iter().find(|(kind, _)| *kind == interface) {
            Some(&(_, expected)) if !compatible(&about.interface_version, expected) => {
                Err(LoadError::InterfaceVersion {
                    path: path.to_owned(),
                    interface: interface.to_owned(),
                    found: about.interface_version,
                    expected: expected.to_owned(),
                }
                .to_string())
            }
            _ => Ok(about),
        }
    }

    /// The first of `candidates` (installed files of `interface`, best
    /// first) whose plugin reports the name and version its file name says,
    /// and the ones before it that report others (each with its error):
    /// such a file is ignored, as a file that lies about what it is. A
    /// candidate that cannot be described at all is taken (loading it
    /// reports why).
    fn first_truthful(
        &self,
        candidates: &[&InstalledPlugin],
        interface: &str,
    ) -> (Option<InstalledPlugin>, Vec<(InstalledPlugin, LoadError)>) {
        let mut liars = Vec::new();
        for &plugin in candidates {
            let Ok(about) = self.about(&plugin.path, interface) else {
                return (Some(plugin.clone()), liars);
            };
            let says = |field: &'static str, file_says: String, plugin_says: String| {
                LoadError::InstalledNameMismatch {
                    path: plugin.path.clone(),
                    field,
                    file_says,
                    plugin_says,
                }
            };
            let error = if !same_name(&about.name, &plugin.id.name) {
                says("name", plugin.id.name.clone(), about.name)
            } else if about.version != plugin.id.version.to_string() {
                says("version", plugin.id.version.to_string(), about.version)
            } else {
                return (Some(plugin.clone()), liars);
            };
            log::warn!("{error}");
            liars.push((plugin.clone(), error));
        }
        (None, liars)
    }

    /// The registered interfaces' names.
    fn kind_names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|(kind, _)| *kind).collect()
    }

    /// The installed plugin files of the kinds `kinds`, in every
    /// directory of the search path and the install root (see
    /// [`installed::scan_search_path`]).
    fn installed_of(&self, kinds: &[&str]) -> Vec<InstalledPlugin> {
        let root = self.config.install_dir();
        let names = self.config.file_names();
        installed::scan_search_path(self.dirs.dirs(), root.as_deref(), |file| {
            InstalledName::parse(file, |plain| {
                names
                    .parse(plain, kinds)
                    .map(|(kind, name)| (kind.to_owned(), name))
            })
        })
    }

    /// The first path of the search path holding the file of plugin `name`
    /// of kind `kind` (with that file name), or the file name looked for.
    fn find_file(&self, kind: &str, name: &str) -> Result<(PathBuf, String), String> {
        let file = self.config.file_names().file_name(kind, name);
        self.dirs
            .dirs()
            .iter()
            .map(|dir| dir.join(&file))
            .find(|path| path.metadata().is_ok())
            .map(|path| (path, file.clone()))
            .ok_or(file)
    }

    /// The registered built-in plugin `name` of interface `interface`.
    fn builtin_for(&self, interface: &str, name: &str) -> Option<&'static Builtin> {
        self.builtins
            .iter()
            .find(|builtin| builtin.interface() == interface && same_name(builtin.name(), name))
            .copied()
    }

    /// Loads plugin `name` of interface `I` in-process, without configuration.
    pub fn load<I: Interface + ?Sized>(&self, name: &str) -> Result<I::Handle, LoadError> {
        self.load_with::<I>(name, Mode::InProcess, &serde_json::Value::Null)
    }

    /// Loads plugin `name` of interface `I` in `mode`, creating it from
    /// `config` (handed to the plugin as JSON).
    pub fn load_with<I: Interface + ?Sized>(
        &self,
        name: &str,
        mode: Mode,
        config: &serde_json::Value,
    ) -> Result<I::Handle, LoadError> {
        self.load_named::<I>(name, mode, config, None)
    }

    /// Loads plugin `name` of interface `I` in `mode`, creating it from
    /// `config` and handing it `host`, the host's object for the
    /// interface's host trait (see [`HostInterface`](crate::HostInterface)): the plugin calls it
    /// in-process through a vtable made for `T`, or, isolated, over its
    /// connection while a call of the host's to the plugin (or its
    /// creation) runs. A panic in `host`'s methods is caught in the host
    /// and is an error for the plugin's call to it.
    ///
    /// Isolated, a callback must not call the plugin that made it (the
    /// connection is busy with that plugin's call).
    pub fn load_with_host<I, T>(
        &self,
        name: &str,
        mode: Mode,
        config: &serde_json::Value,
        host: Arc<T>,
    ) -> Result<I::Handle, LoadError>
    where
        I: Interface + ?Sized,
        I::Host: HostExports<T>,
        T: Send + Sync + 'static,
    {
        let host = GivenHost::new::<I::Host, T>(host, mode == Mode::InProcess);
        self.load_named::<I>(name, mode, config, Some(host))
    }

    /// Loads plugin `name` of interface `I` from where
    /// [`resolve`](Self::resolve) finds it.
    fn load_named<I: Interface + ?Sized>(
        &self,
        name: &str,
        mode: Mode,
        config: &serde_json::Value,
        host: Option<GivenHost>,
    ) -> Result<I::Handle, LoadError> {
        match self.resolve::<I>(name)? {
            Source::File(path) | Source::Installed(InstalledPlugin { path, .. }) => {
                let plugin = self.load_given::<I>(&path, mode, config, host)?;
                if !same_name(plugin.name(), name) {
                    return Err(LoadError::NameMismatch {
                        path,
                        file_says: name.to_owned(),
                        plugin_says: plugin.name().to_owned(),
                    });
                }
                Ok(I::wrap(plugin))
            }
            Source::Builtin(builtin) => self.load_builtin::<I>(builtin, mode, config, host),
        }
    }

    /// Loads the plugin library at `path` as a plugin of interface `I`.
    pub fn load_file<I: Interface + ?Sized>(
        &self,
        path: &Path,
        mode: Mode,
        config: &serde_json::Value,
    ) -> Result<I::Handle, LoadError> {
        self.load_given::<I>(path, mode, config, None).map(I::wrap)
    }

    /// Loads the plugin library at `path` as a plugin of interface `I`,
    /// handing it `host` (see [`Loader::load_with_host`]).
    pub fn load_file_with_host<I, T>(
        &self,
        path: &Path,
        mode: Mode,
        config: &serde_json::Value,
        host: Arc<T>,
    ) -> Result<I::Handle, LoadError>
    where
        I: Interface + ?Sized,
        I::Host: HostExports<T>,
        T: Send + Sync + 'static,
    {
        let host = GivenHost::new::<I::Host, T>(host, mode == Mode::InProcess);
        self.load_given::<I>(path, mode, config, Some(host))
            .map(I::wrap)
    }

    fn load_given<I: Interface + ?Sized>(
        &self,
        path: &Path,
        mode: Mode,
        config: &serde_json::Value,
        host: Option<GivenHost>,
    ) -> Result<Plugin<I>, LoadError> {
        let verified = self.check_file(path)?;
        let config = config.to_string();
        let plugin = match mode {
            Mode::InProcess => {
                vetting::vet(&self.config, path, &verified, I::NAME)?;
                load_in_process::<I>(path, verified, &config, host)?
            }
            // `Mode::Process`, and any mode added later runs isolated.
            _ => {
                let served = Served::File(Arc::new(verified.file));
                self.load_isolated::<I>(&self.config.server_path(), path, served, &config, host)?
            }
        };
        Ok(plugin)
    }

    /// Loads the built-in plugin `builtin` (in-process: it is part of the
    /// host).
    fn load_builtin<I: Interface + ?Sized>(
        &self,
        builtin: &'static Builtin,
        mode: Mode,
        config: &serde_json::Value,
        host: Option<GivenHost>,
    ) -> Result<I::Handle, LoadError> {
        let label = PathBuf::from(format!("built-in plugin `{}`", builtin.name()));
        let config = config.to_string();
        let plugin = match mode {
            Mode::InProcess => {
                let module = builtin.module();
                library::init(&label, module, log_bridge::host_sink())?;
                create_in_process::<I>(&label, module, &config, host)?
            }
            _ => {
                let Some(server) = self.config.builtin_server_path() else {
                    return Err(LoadError::BuiltinIsolated {
                        interface: builtin.interface().to_owned(),
                        name: builtin.name().to_owned(),
                        var: self.config.path_var(),
                    });
                };
                let builtin = format!("{}:{}", builtin.interface(), builtin.name());
                self.load_isolated::<I>(server, &label, Served::Builtin(builtin), &config, host)?
            }
        };
        Ok(I::wrap(plugin))
    }

    /// Serves a built-in plugin when this process was started to (by a
    /// host loading one isolated, see [`Config::builtin_server`]), returning
    /// the exit code for `main` to return; `None` otherwise. A host whose
    /// built-ins run isolated calls it first thing in `main`:
    ///
    /// ```ignore
    /// let loader = rivet::Loader::new(config).builtin(&plugin_x::RIVET_BUILTIN);
    /// if let Some(code) = loader.serve_builtin() {
    ///     return code;
    /// }
    /// ```
    pub fn serve_builtin(&self) -> Option<std::process::ExitCode> {
        server::serve_builtin(&self.builtins)
    }

    /// Opens the plugin file at `path` once and checks it on that
    /// descriptor: its type, its checksum sidecar if it has one, and its
    /// permissions (see [`Loader`]).
    fn check_file(&self, path: &Path) -> Result<Verified, LoadError> {
        let installed = path
            .file_name()
            .is_some_and(|file| installed::is_installed_name(&file.to_string_lossy()));
        let verified = integrity::open_verified(path, installed)?;
        if !self.allow_insecure {
            let root = self.config.install_dir();
            let root = root.as_deref().filter(|root| path.starts_with(root));
            integrity::check_permissions(path, &verified.file, root)?;
        }
        Ok(verified)
    }

    /// Loads what `served` says (the plugin file at `path`, or a built-in,
    /// which `path` names in messages) in its own process, started from
    /// `server`.
    fn load_isolated<I: Interface + ?Sized>(
        &self,
        server: &Path,
        path: &Path,
        served: Served,
        config: &str,
        host: Option<GivenHost>,
    ) -> Result<Plugin<I>, LoadError> {
        let callbacks = match host {
            Some(GivenHost::Process(callbacks)) => Some(callbacks),
            _ => None,
        };
        let mut started = process::start(
            server,
            path,
            served,
            config,
            callbacks,
            self.config.process_limits(),
        )?;
        let [interface, interface_version, signature] = started.interface;
        let [host, host_signature] = &started.host;
        library::check_interface::<I>(
            path,
            &library::Found {
                interface: [&interface, &interface_version, &signature],
                host: [host, host_signature],
                layouts: None,
            },
        )?;
        started.client.set_methods(signature.lines().count());
        let [name, version, description] = started.plugin;
        Ok(Plugin::new(
            name.into(),
            [version, description, interface_version],
            Backend::Process(Box::new(started.client)),
        ))
    }
}

fn load_in_process<I: Interface + ?Sized>(
    path: &Path,
    verified: Verified,
    config: &str,
    host: Option<GivenHost>,
) -> Result<Plugin<I>, LoadError> {
    let module = library::open(path, verified, log_bridge::host_sink())?;
    create_in_process::<I>(path, module, config, host)
}

/// Checks that `module` (from `path`) implements `I` and creates its
/// instance from `config`, handing it `host`.
fn create_in_process<I: Interface + ?Sized>(
    path: &Path,
    module: PluginModRef,
    config: &str,
    mut host: Option<GivenHost>,
) -> Result<Plugin<I>, LoadError> {
    let id = module.interface();
    library::check_interface::<I>(
        path,
        &library::Found {
            interface: [id.name.as_str(), id.version.as_str(), id.signature.as_str()],
            host: [id.host.as_str(), id.host_signature.as_str()],
            layouts: Some((module.vtable_layout(), module.host_layout())),
        },
    )?;
    let info = module.plugin();
    let name: Arc<str> = info.name.as_str().into();
    // The plugin owns the host's object from here (also when it fails);
    // `check_interface` checked the host vtable the plugin expects.
    let host = host
        .as_mut()
        .map(GivenHost::hand_over)
        .unwrap_or_else(HostRef::none);
    let instance = module.create()(RStr::from_str(config), host)
        .into_result()
        .map_err(|error| LoadError::Create {
            plugin: name.to_string(),
            message: error.message.into(),
        })?;
    // SAFETY: `check_interface` checked the vtable's layout against
    // `I::VTable`, and `instance` was just created by `module`.
    let backend = unsafe { InProcess::new(name.clone(), module, instance) };
    Ok(Plugin::new(
        name,
        [
            info.version.to_string(),
            info.description.to_string(),
            id.version.to_string(),
        ],
        Backend::InProcess(backend),
    ))
}

/// The major version of interface `I`.
fn major<I: Interface + ?Sized>() -> u64 {
    version_major(I::VERSION)
}

/// The major version of interface version `version`.
fn version_major(version: &str) -> u64 {
    version
        .parse::<InterfaceVersion>()
        .map_or(0, |version| version.major())
}
