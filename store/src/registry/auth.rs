//! [`Credentials`]: who to be at a registry, from the environment or
//! Docker's configuration file.

use std::env;
use std::fmt;
use std::fs;
use std::path::PathBuf;

use base64::Engine;
use serde::Deserialize;

use super::RegistryError;

/// The environment variable holding the user name for every registry.
pub const USERNAME_VAR: &str = "RIVET_REGISTRY_USERNAME";
/// The environment variable holding the password (or token) for every
/// registry.
pub const PASSWORD_VAR: &str = "RIVET_REGISTRY_PASSWORD";

/// The largest Docker configuration file read, in bytes.
const MAX_DOCKER_CONFIG: u64 = 1 << 20;

/// Who to be at a registry.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// Nobody: anonymous access.
    #[default]
    Anonymous,
    /// A user name and password (or token), sent with HTTP basic
    /// authentication or exchanged for a bearer token, as the registry
    /// asks.
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => {
                write!(f, "Basic({username:?}, <password>)")
            }
        }
    }
}

impl Credentials {
    /// The credentials for `registry` (`host[:port]`) from the usual
    /// places, first found wins:
    ///
    /// 1. `RIVET_REGISTRY_USERNAME` and `RIVET_REGISTRY_PASSWORD` (both
    ///    set), for every registry;
    /// 2. the `auths` entry for `registry` in Docker's configuration file,
    ///    `$DOCKER_CONFIG/config.json` or else `~/.docker/config.json`, as
    ///    `docker login` writes it (`auth`, base64 of `user:password`, or
    ///    `username` and `password`);
    /// 3. else [`Credentials::Anonymous`].
    ///
    /// Docker credential helpers (`credsStore`, `credHelpers`) are not run.
    pub fn lookup(registry: &str) -> Result<Credentials, RegistryError> {
        if let (Ok(username), Ok(password)) = (env::var(USERNAME_VAR), env::var(PASSWORD_VAR)) {
            return Ok(Credentials::Basic { username, password });
        }
        let Some(path) = docker_config() else {
            return Ok(Credentials::Anonymous);
        };
        let bad = |reason: String| RegistryError::Credentials {
            path: path.clone(),
            reason,
        };
        let text = match fs::metadata(&path) {
            Err(_) => return Ok(Credentials::Anonymous),
            Ok(meta) if meta.len() > MAX_DOCKER_CONFIG => {
                return Err(bad(format!("larger than {MAX_DOCKER_CONFIG} bytes")));
            }
            Ok(_) => fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?,
        };
        let config: DockerConfig = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let entry = config.auths.iter().find(|(key, _)| {
            let key = key
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            key.split('/').next() == Some(registry)
        });
        let Some((_, entry)) = entry else {
            return Ok(Credentials::Anonymous);
        };
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| bad(format!("the `auth` of `{registry}` is not base64: {e}")))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| bad(format!("the `auth` of `{registry}` is not text")))?;
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                bad(format!(
                    "the `auth` of `{registry}` is not `user:password` in base64"
                ))
            })?;
            return Ok(Credentials::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        match (&entry.username, &entry.password) {
            (Some(username), Some(password)) => Ok(Credentials::Basic {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => Ok(Credentials::Anonymous),
        }
    }

    /// Whether these are actual credentials.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credentials::Anonymous)
    }
}

/// Docker's configuration file, if there is a place for one.
fn docker_config() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    env::home_dir().map(|home| home.join(".docker").join("config.json"))
}

/// What Rivet reads of Docker's configuration file.
#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}
