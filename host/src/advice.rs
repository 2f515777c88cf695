//! What `rivet` prints for a store or load error: the library's message,
//! plus the `rivet` command or setting that helps where there is one (the
//! libraries name none).

use rivet::{IntegrityError, LoadError};
use rivet_store::StoreError;
use rivet_store::registry::{PASSWORD_VAR, RegistryError, USERNAME_VAR};

/// The message of load error `error`, with the CLI's advice.
pub fn load(error: &LoadError) -> String {
    match error {
        LoadError::Integrity(
            IntegrityError::ChecksumMismatch { .. }
            | IntegrityError::MissingChecksum { .. }
            | IntegrityError::SidecarTooLarge { .. },
        )
        | LoadError::InstalledNameMismatch { .. } => format!(
            "{error} with `rivet plugins install PACKAGE_OR_FILE` (or remove it with `rivet plugins remove`)"
        ),
        LoadError::Integrity(IntegrityError::InsecurePermissions { .. }) => {
            format!("{error} (`rivet --allow-insecure-plugins`)")
        }
        LoadError::NoMatchingVersion { source_id, .. } => format!(
            "{error} with `rivet plugins install PACKAGE_OR_FILE{}`, or `rivet init TEMPLATE --from DIR`",
            source_id
                .as_deref()
                .map(|source| format!(" --source {source}"))
                .unwrap_or_default()
        ),
        _ => error.to_string(),
    }
}

/// The message of `error`, with the CLI's advice.
pub fn message(error: &StoreError) -> String {
    match error {
        StoreError::NoHome => {
            format!("{error}: set RIVET_HOME to the directory rivet may install plugins in")
        }
        StoreError::NothingToRemove { .. } => format!("{error}. See `rivet plugins installed`"),
        StoreError::Corrupt { .. } => format!("{error}, download or `rivet plugins pack` it again"),
        StoreError::BadManifest { .. } => {
            format!("{error}. Pack the package again with `rivet plugins pack`")
        }
        StoreError::WrongPlatform { .. } => {
            format!("{error} (`rivet plugins pack` on such a machine)")
        }
        _ => error.to_string(),
    }
}

/// The message of registry error `error`, with the CLI's advice.
pub fn registry(error: &RegistryError) -> String {
    match error {
        RegistryError::Unauthorized {
            anonymous: true, ..
        } => format!(
            "{error}: log in with `docker login REGISTRY`, or set {USERNAME_VAR} and {PASSWORD_VAR}"
        ),
        RegistryError::Unauthorized { .. } => format!(
            "{error}: check the user name and password ({USERNAME_VAR} and {PASSWORD_VAR}, else ~/.docker/config.json)"
        ),
        RegistryError::Unreachable { .. } => format!(
            "{error}: check the address and that the registry runs; a registry not on this machine that speaks plain HTTP needs --plain-http"
        ),
        RegistryError::NotFound { .. } => format!(
            "{error}: check the repository and version (`rivet plugins push PACKAGE REPOSITORY` publishes one)"
        ),
        RegistryError::Digest { .. } => {
            format!("{error}. Tell the registry's operator; do not use this release meanwhile")
        }
        RegistryError::Store(error) => message(error),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The messages `rivet` printed when the advice was part of the store's
    /// errors, word for word.
    #[test]
    fn advice_completes_the_store_messages() {
        let path = PathBuf::from("p.tar.gz");
        let cases = [
            (
                StoreError::NoHome,
                "no plugin directory: set RIVET_HOME to the directory rivet may install plugins in",
            ),
            (
                StoreError::NothingToRemove {
                    name: "dir".into(),
                    filter: " matching version `<2`".into(),
                    installed: "none".into(),
                },
                "no installed plugin named `dir` matching version `<2`; installed: none. See `rivet plugins installed`",
            ),
            (
                StoreError::Corrupt {
                    path: path.clone(),
                    reason: "it has no SHA256SUMS".into(),
                },
                "p.tar.gz: not a usable rivet package: it has no SHA256SUMS; the file is corrupt or truncated, download or `rivet plugins pack` it again",
            ),
            (
                StoreError::BadManifest {
                    path: path.clone(),
                    reason: "it lists no plugins".into(),
                },
                "p.tar.gz: its rivet-package.toml is wrong: it lists no plugins; nothing was installed. Pack the package again with `rivet plugins pack`",
            ),
            (
                StoreError::WrongPlatform {
                    path: path.clone(),
                    found: "linux_aarch64 with interface 1.0.0".into(),
                    expected: "linux_x86_64 with interface 1.x".into(),
                },
                "p.tar.gz: built for linux_aarch64 with interface 1.0.0, but this host is linux_x86_64 with interface 1.x; use the package built for linux_x86_64 with interface 1.x (`rivet plugins pack` on such a machine)",
            ),
            (
                StoreError::Checksum {
                    path,
                    file: "rivet-package.toml".into(),
                },
                "p.tar.gz: `rivet-package.toml` does not match its checksum in SHA256SUMS; the package was changed or damaged, get it again",
            ),
        ];
        for (error, printed) in cases {
            assert!(!error.to_string().contains("rivet plugins"), "{error}");
            assert_eq!(message(&error), printed);
        }
    }
}
