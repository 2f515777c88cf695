//! [`Repository`]: an OCI repository's address, `host[:port]/path`, and
//! how versions are written as its tags.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use semver::Version;

use super::RegistryError;

/// An OCI repository: `registry.example.org/acme/tools`,
/// `127.0.0.1:5000/acme/tools`.
///
/// The first part is the registry, a host name (with a `.`, or
/// `localhost`) or an IP address, with an optional port; the rest is the
/// repository's path in it, lowercase as the OCI distribution
/// specification requires. The same text is a plugin source: plugins
/// installed from the repository live in `<install root>/<host[:port]>/<path>/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    registry: String,
    path: String,
}

impl Repository {
    /// The registry: `host` or `host:port`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository's path in the registry: `acme/tools`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the registry is this machine (`localhost`, `127.0.0.0/8`,
    /// `::1`), where plain HTTP is allowed without asking.
    pub fn is_loopback(&self) -> bool {
        let host = host_of(&self.registry);
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether `source` (a plugin source, as a template writes it) names a
    /// repository, that is, starts with a registry: `example.org/acme/tools`
    /// does, `local` does not.
    pub fn is_repository(source: &str) -> bool {
        source.parse::<Repository>().is_ok()
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

impl FromStr for Repository {
    type Err = RegistryError;

    fn from_str(text: &str) -> Result<Repository, RegistryError> {
        let bad = |reason: &str| RegistryError::BadRepository {
            given: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (registry, path) = text
            .split_once('/')
            .ok_or_else(|| bad("it has no path after the registry"))?;
        if !is_registry(registry) {
            return Err(bad(
                "it does not start with a registry (a host name with a `.`, `localhost` or an IP address, and an optional `:port`)",
            ));
        }
        let parts: Vec<&str> = path.split('/').collect();
        if parts.iter().any(|part| !is_path_part(part)) {
            return Err(bad(
                "its path parts must be lowercase letters, digits and single `.`, `_`, `__` or `-` between them",
            ));
        }
        Ok(Repository {
            registry: registry.to_ascii_lowercase(),
            path: path.to_owned(),
        })
    }
}

/// The tag of `version`: the version itself, with `+` (not allowed in
/// tags) written `_`, as Helm does.
pub(crate) fn tag_of(version: &Version) -> String {
    version.to_string().replace('+', "_")
}

/// The version tag `tag` stands for, if it is one (see [`tag_of`]).
pub(crate) fn version_of(tag: &str) -> Option<Version> {
    Version::parse(&tag.replace('_', "+")).ok()
}

fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry.split_once(']').map_or(registry, |(host, _)| host);
    }
    registry.rsplit_once(':').map_or(registry, |(host, _)| host)
}

fn is_registry(registry: &str) -> bool {
    let (host, port) = if registry.starts_with('[') {
        match registry.split_once(']') {
            Some((host, rest)) => (&host[1..], rest.strip_prefix(':')),
            None => return false,
        }
    } else {
        match registry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if port.is_some_and(|port| port.is_empty() || port.parse::<u16>().is_err()) {
        return false;
    }
    if registry.starts_with('[') {
        return host.parse::<IpAddr>().is_ok();
    }
    let labels_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    labels_ok && (host.contains('.') || host.eq_ignore_ascii_case("localhost") || port.is_some())
}

/// An OCI path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_part(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &part[start..i];
        if !(separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-'))
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_parse() {
        let repository: Repository = "127.0.0.1:5000/acme/tools".parse().unwrap();
        assert_eq!(repository.registry(), "127.0.0.1:5000");
        assert_eq!(repository.path(), "acme/tools");
        assert!(repository.is_loopback());
        assert_eq!(repository.to_string(), "127.0.0.1:5000/acme/tools");
        let repository: Repository = "registry.example.org/acme/tools".parse().unwrap();
        assert!(!repository.is_loopback());
        assert!("localhost/a".parse::<Repository>().unwrap().is_loopback());
        assert!("[::1]:5000/a".parse::<Repository>().unwrap().is_loopback());
        assert!(
            !"10.0.0.1:5000/a"
                .parse::<Repository>()
                .unwrap()
                .is_loopback()
        );
        assert!(Repository::is_repository("example.org/acme/tools"));
        assert!(Repository::is_repository("example.org/a_b/c-d/e.f/g__h"));
    }

    #[test]
    fn other_texts_are_not_repositories() {
        for text in [
            "local",
            "tools/acme",
            "example.org",
            "example.org/",
            "example.org/Acme",
            "example.org/a//b",
            "example.org/a/../b",
            "example.org/-a",
            "example.org:port/a",
            "example.org:70000/a",
            "exa_mple.org/a",
            "[::1/a",
        ] {
            assert!(text.parse::<Repository>().is_err(), "{text}");
        }
    }

    #[test]
    fn versions_round_trip_through_tags() {
        for text in ["1.2.3", "0.1.0-beta.2", "1.0.0+build.7", "2.0.0-rc.1+x"] {
            let version = Version::parse(text).unwrap();
            let tag = tag_of(&version);
            assert!(!tag.contains('+'));
            assert_eq!(version_of(&tag), Some(version));
        }
        assert_eq!(version_of("latest"), None);
    }
}
