//! [`RegistryError`]: why talking to a registry failed.

use std::path::PathBuf;

use crate::StoreError;

/// Why publishing to or installing from an OCI registry failed.
///
/// Each names the repository and says what the registry answered; nothing
/// is installed, and nothing in the repository changed, unless the
/// variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The text is not a repository address.
    #[error(
        "`{given}` is not a registry repository: {reason}; write it like `registry.example.org/acme/tools` or `127.0.0.1:5000/acme/tools`"
    )]
    BadRepository {
        /// What was given.
        given: String,
        /// What is wrong.
        reason: String,
    },
    /// Docker's configuration file, where credentials were looked for,
    /// cannot be read.
    #[error("{path}: cannot read registry credentials: {reason}")]
    Credentials {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The registry could not be reached (no answer, refused, no such
    /// host, TLS failed).
    #[error("{repository}: the registry is unreachable: {source}")]
    Unreachable {
        /// The repository.
        repository: String,
        /// The connection error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The registry refused the credentials given, or wants some.
    #[error("{repository}: the registry refused access ({answer}){}", if *.anonymous { ", and no credentials were given" } else { " to the credentials given" })]
    Unauthorized {
        /// The repository.
        repository: String,
        /// Whether the request was anonymous.
        anonymous: bool,
        /// What the registry answered.
        answer: String,
    },
    /// The repository, or the version asked for in it, does not exist.
    #[error("{repository}: the registry has no `{reference}` ({answer})")]
    NotFound {
        /// The repository.
        repository: String,
        /// The tag or digest asked for.
        reference: String,
        /// What the registry answered.
        answer: String,
    },
    /// The registry answered with another error.
    #[error("{repository}: the registry answered {answer}")]
    Answered {
        /// The repository.
        repository: String,
        /// What it answered.
        answer: String,
    },
    /// What the registry sent does not have the digest it should have: it
    /// was changed or damaged in the registry or on the way.
    #[error(
        "{repository}: {what} has digest {found} but should have {expected}; it was changed or damaged in the registry or on the way, nothing was installed"
    )]
    Digest {
        /// The repository.
        repository: String,
        /// What was checked (`the package of 1.2.3 for linux_x86_64`).
        what: String,
        /// The digest expected.
        expected: String,
        /// The digest found.
        found: String,
    },
    /// What the registry holds under a Rivet tag is not what Rivet
    /// publishes.
    #[error("{repository}: `{reference}` is not a rivet plugin release: {reason}")]
    NotARelease {
        /// The repository.
        repository: String,
        /// The tag or digest.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// A blob or manifest is larger than Rivet accepts.
    #[error("{repository}: {what} is {size} bytes, more than the {limit} rivet accepts")]
    TooLarge {
        /// The repository.
        repository: String,
        /// What.
        what: String,
        /// Its size as announced.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// No version in the repository satisfies the requirement for this
    /// platform.
    #[error("{repository}: no release has {wanted} (versions: {seen})")]
    NoMatch {
        /// The repository.
        repository: String,
        /// What was looked for: `` builder `dir` `>= 1.2` for linux_x86_64
        /// with interface 1 ``.
        wanted: String,
        /// What the repository offers, and why each was not taken.
        seen: String,
    },
    /// Publishing would change a release already published.
    #[error("{repository}: cannot publish {version}: {reason}; nothing was changed")]
    Published {
        /// The repository.
        repository: String,
        /// The version.
        version: String,
        /// Why.
        reason: String,
    },
    /// The package cannot be published or installed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
