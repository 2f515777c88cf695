//! Isolated mode on Unix: the plugin server and the host's side of it.
//!
//! The host side ([`process`]) starts `rivet-plugin-server` for one plugin
//! file, reads its handshake, and calls it over connections to its Unix
//! socket; the server side ([`server`]) loads the plugin with the ordinary
//! in-process loader and serves it.

pub(crate) mod process;
pub(crate) mod server;

pub(crate) use process::{ProcessPlugin, RemoteInstance};
pub use server::serve_plugin_process;

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rivet_interface::PluginKind;

use crate::{LoadError, Loader, PluginMetadata, integrity};
use process::ServerSettings;

/// The environment variable carrying the magic cookie.
const COOKIE_VAR: &str = "RIVET_PLUGIN_COOKIE";
/// The cookie: not a secret, only a guard against running the server by hand
/// (as go-plugin's magic cookie is).
const COOKIE_VALUE: &str = "c8e51a9b3f7d4e20-rivet-plugin";
const PROTOCOL_VAR: &str = "RIVET_PLUGIN_PROTOCOL";
const SOCKET_VAR: &str = "RIVET_PLUGIN_SOCKET";
const FILE_VAR: &str = "RIVET_PLUGIN_FILE";
const KIND_VAR: &str = "RIVET_PLUGIN_KIND";
const NAME_VAR: &str = "RIVET_PLUGIN_NAME";
const LOG_LEVEL_VAR: &str = "RIVET_PLUGIN_LOG_LEVEL";
const SEARCH_PATH_VAR: &str = "RIVET_PLUGIN_SEARCH_PATH";
const ALLOW_INSECURE_VAR: &str = "RIVET_PLUGIN_ALLOW_INSECURE";
const INSTALL_DIR_VAR: &str = "RIVET_PLUGIN_INSTALL_DIR";

/// What the host tells a plugin server through its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerEnv {
    pub(crate) host_protocol: String,
    pub(crate) socket: PathBuf,
    pub(crate) file: PathBuf,
    pub(crate) kind: PluginKind,
    pub(crate) name: String,
    pub(crate) log_level: log::LevelFilter,
    pub(crate) search_path: Vec<PathBuf>,
    /// Load files other users can write (the host's setting): the server
    /// checks permissions itself, on the file it maps.
    pub(crate) allow_insecure: bool,
    /// The host's install root, for those permission checks.
    pub(crate) install_dir: Option<PathBuf>,
}

impl ServerEnv {
    /// Sets the variables (and the cookie) on the server's command.
    pub(crate) fn apply(&self, command: &mut Command) {
        command
            .env(COOKIE_VAR, COOKIE_VALUE)
            .env(PROTOCOL_VAR, &self.host_protocol)
            .env(SOCKET_VAR, &self.socket)
            .env(FILE_VAR, &self.file)
            .env(KIND_VAR, self.kind.as_str())
            .env(NAME_VAR, &self.name)
            .env(LOG_LEVEL_VAR, self.log_level.as_str())
            .env(
                SEARCH_PATH_VAR,
                env::join_paths(&self.search_path).unwrap_or_default(),
            )
            .env(
                ALLOW_INSECURE_VAR,
                if self.allow_insecure { "1" } else { "0" },
            );
        match &self.install_dir {
            Some(dir) => command.env(INSTALL_DIR_VAR, dir),
            None => command.env_remove(INSTALL_DIR_VAR),
        };
    }

    /// Reads the variables; `None` without the cookie (run by hand) or when
    /// one is missing or invalid.
    pub(crate) fn from_env() -> Option<ServerEnv> {
        if env::var(COOKIE_VAR).ok()? != COOKIE_VALUE {
            return None;
        }
        Some(ServerEnv {
            host_protocol: env::var(PROTOCOL_VAR).ok()?,
            socket: env::var_os(SOCKET_VAR)?.into(),
            file: env::var_os(FILE_VAR)?.into(),
            kind: env::var(KIND_VAR).ok()?.parse().ok()?,
            name: env::var(NAME_VAR).ok()?,
            log_level: env::var(LOG_LEVEL_VAR).ok()?.parse().ok()?,
            search_path: env::split_paths(&env::var_os(SEARCH_PATH_VAR)?).collect(),
            allow_insecure: env::var(ALLOW_INSECURE_VAR).ok()? == "1",
            install_dir: env::var_os(INSTALL_DIR_VAR).map(PathBuf::from),
        })
    }
}

impl Loader {
    /// Starts the plugin file `path`, which must hold `(kind, name)`, in a
    /// plugin server process of its own, and asks who the plugin is.
    pub(crate) fn start_isolated(
        &self,
        path: &Path,
        kind: PluginKind,
        name: &str,
    ) -> Result<(Arc<ProcessPlugin>, PluginMetadata), LoadError> {
        // The server verifies the checksum itself, on the file it
        // maps; hashing it here too would only read it twice.
        // An early, clear error; the server checks again, on the
        // file it maps, and verifies the checksum there.
        self.check_permissions(path, &integrity::open_regular(path)?)?;
        let server = self.plugin_server()?;
        integrity::open_regular(path)?;
        ProcessPlugin::start(
            path,
            kind,
            name,
            ServerSettings {
                search_path: self.search_path.dirs().to_vec(),
                allow_insecure: self.trust.allow_insecure,
                install_dir: self.trust.install_dir.clone(),
            },
            server,
            self.process.clone(),
            self.ui.clone(),
        )
        .map_err(|message| LoadError::Isolated {
            path: path.to_owned(),
            message,
        })
    }

    /// Where the plugin server executable is looked for: the path set, else
    /// beside the host's executable.
    pub(crate) fn plugin_server_path(&self) -> PathBuf {
        match &self.process.server {
            Some(path) => path.clone(),
            None => env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join(server_file_name())))
                .unwrap_or_else(|| PathBuf::from(server_file_name())),
        }
    }

    /// The plugin server executable, when it is where it is looked for.
    pub(crate) fn plugin_server(&self) -> Result<PathBuf, LoadError> {
        let path = self.plugin_server_path();
        if path.is_file() {
            Ok(path)
        } else {
            Err(LoadError::ServerNotFound { path })
        }
    }
}

/// The file name of the plugin server executable.
fn server_file_name() -> String {
    format!("rivet-plugin-server{}", env::consts::EXE_SUFFIX)
}
