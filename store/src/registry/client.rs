//! [`Registry`]: a blocking client for one repository, over `oci-client`.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use rivet_host::integrity::sha256_hex;

use super::{Credentials, RegistryError, Repository};

/// How long connecting to a registry may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a registry may stay silent in the middle of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How to talk to a registry.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Talk plain HTTP to a registry that is not on this machine. HTTPS is
    /// the default; plain HTTP is used without asking only for loopback
    /// registries (`localhost`, `127.0.0.1`, `[::1]`).
    pub plain_http: bool,
    /// Who to be; `None` looks the credentials up (see
    /// [`Credentials::lookup`]).
    pub credentials: Option<Credentials>,
}

impl Options {
    /// Plain HTTP allowed for every registry, or not (see
    /// [`plain_http`](Self::plain_http)).
    pub fn plain_http(mut self, plain_http: bool) -> Options {
        self.plain_http = plain_http;
        self
    }

    /// These credentials, instead of looking them up.
    pub fn credentials(mut self, credentials: Credentials) -> Options {
        self.credentials = Some(credentials);
        self
    }
}

/// A client for one OCI repository: publishes plugin packages to it
/// ([`push`](Registry::push)), and finds and downloads them
/// ([`versions`](Registry::versions), [`release`](Registry::release),
/// [`find`](Registry::find), [`download`](Registry::download)).
///
/// Every call blocks until the registry answered; each connection gives up
/// after 10 s without connecting, or 60 s of silence.
pub struct Registry {
    repository: Repository,
    auth: RegistryAuth,
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for `repository`. Nothing is sent yet.
    pub fn open(repository: &Repository, options: &Options) -> Result<Registry, RegistryError> {
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            // Fails only when a provider is installed already, which is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let credentials = match &options.credentials {
            Some(credentials) => credentials.clone(),
            None => Credentials::lookup(repository.registry())?,
        };
        let auth = match credentials {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { username, password } => RegistryAuth::Basic(username, password),
        };
        let protocol = if options.plain_http {
            ClientProtocol::Http
        } else if repository.is_loopback() {
            ClientProtocol::HttpsExcept(vec![repository.registry().to_owned()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            ..ClientConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Unreachable {
                repository: repository.to_string(),
                source: Box::new(e),
            })?;
        let client = Client::new(config);
        // Every request then authenticates as the registry asks.
        runtime.block_on(client.store_auth_if_needed(repository.registry(), &auth));
        Ok(Registry {
            repository: repository.clone(),
            auth,
            client,
            runtime,
        })
    }

    /// The repository.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// A reference to `tag` in the repository.
    pub(crate) fn tag(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.repository.registry().to_owned(),
            self.repository.path().to_owned(),
            tag.to_owned(),
        )
    }

    /// A reference to `digest` in the repository.
    pub(crate) fn digest(&self, digest: &str) -> Reference {
        Reference::with_digest(
            self.repository.registry().to_owned(),
            self.repository.path().to_owned(),
            digest.to_owned(),
        )
    }

    /// Every tag of the repository.
    pub(crate) fn tags(&self) -> Result<Vec<String>, RegistryError> {
        let reference = self.tag("latest");
        self.runtime
            .block_on(self.client.list_tags(&reference, &self.auth, None, None))
            .map(|response| response.tags)
            .map_err(|e| self.error("its tags", e))
    }

    /// The manifest or index `reference` names, as sent, and its digest
    /// (checked against the reference when that is a digest). `None` when
    /// there is none.
    pub(crate) fn manifest(
        &self,
        reference: &Reference,
        media_types: &[&str],
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
        let pulled = self.runtime.block_on(self.client.pull_manifest_raw(
            reference,
            &self.auth,
            media_types,
        ));
        match pulled {
            Ok((body, digest)) => Ok(Some((body.to_vec(), digest))),
            Err(error) => match self.error(&reference.whole(), error) {
                RegistryError::NotFound { .. } => Ok(None),
                error => Err(error),
            },
        }
    }

    /// Downloads the blob `descriptor` names into a new file `file`, at
    /// most `limit` bytes, and checks its digest.
    pub(crate) fn blob_to_file(
        &self,
        descriptor: &OciDescriptor,
        what: &str,
        file: &Path,
        limit: u64,
    ) -> Result<(), RegistryError> {
        let size = u64::try_from(descriptor.size).unwrap_or(u64::MAX);
        if size > limit {
            return Err(RegistryError::TooLarge {
                repository: self.repository.to_string(),
                what: what.to_owned(),
                size,
                limit,
            });
        }
        let out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(file)
            .map_err(|e| crate::StoreError::Io {
                path: file.to_owned(),
                source: e,
            })?;
        let writer = Bounded {
            file: out,
            written: 0,
            limit: size,
        };
        let reference = self.digest(&descriptor.digest);
        let pulled = self
            .runtime
            .block_on(self.client.pull_blob(&reference, descriptor, writer));
        pulled.map_err(|error| match error {
            OciDistributionError::IoError(e) if e.kind() == io::ErrorKind::FileTooLarge => {
                RegistryError::TooLarge {
                    repository: self.repository.to_string(),
                    what: format!("{what} (announced as {size} bytes)"),
                    size: size.saturating_add(1),
                    limit: size,
                }
            }
            error => self.error(what, error),
        })?;
        // `pull_blob` checked the digest while writing; check what is on
        // disk, which is what gets installed.
        let found = fs::File::open(file)
            .and_then(sha256_hex)
            .map(|hex| format!("sha256:{hex}"))
            .map_err(|e| crate::StoreError::Io {
                path: file.to_owned(),
                source: e,
            })?;
        if found != descriptor.digest {
            return Err(RegistryError::Digest {
                repository: self.repository.to_string(),
                what: what.to_owned(),
                expected: descriptor.digest.clone(),
                found,
            });
        }
        Ok(())
    }

    /// Uploads `data`, whose digest is `digest`, unless the repository
    /// has it already.
    pub(crate) fn push_blob(&self, data: Vec<u8>, digest: &str) -> Result<(), RegistryError> {
        let reference = self.digest(digest);
        let exists = self
            .runtime
            .block_on(self.client.blob_exists(&reference, digest));
        if exists.unwrap_or(false) {
            return Ok(());
        }
        self.runtime
            .block_on(self.client.push_blob(&reference, data, digest))
            .map(drop)
            .map_err(|e| self.error(&format!("blob {digest}"), e))
    }

    /// Uploads manifest or index `body` of media type `media_type` under
    /// `reference`.
    pub(crate) fn push_manifest(
        &self,
        reference: &Reference,
        body: Vec<u8>,
        media_type: &str,
    ) -> Result<(), RegistryError> {
        let content_type = media_type
            .parse()
            .expect("OCI media types are valid header values");
        self.runtime
            .block_on(self.client.push_manifest_raw(reference, body, content_type))
            .map(drop)
            .map_err(|e| self.error(&reference.whole(), e))
    }

    /// What `error`, from asking for `what`, means.
    fn error(&self, what: &str, error: OciDistributionError) -> RegistryError {
        use OciDistributionError as E;
        let repository = self.repository.to_string();
        let anonymous = matches!(self.auth, RegistryAuth::Anonymous);
        let not_found = |answer: String| RegistryError::NotFound {
            repository: repository.clone(),
            reference: what.to_owned(),
            answer,
        };
        let unauthorized = |answer: String| RegistryError::Unauthorized {
            repository: repository.clone(),
            anonymous,
            answer,
        };
        match error {
            E::RequestError(e) => match e.status().map(|s| s.as_u16()) {
                Some(401 | 403) => unauthorized(e.to_string()),
                Some(404) => not_found(e.to_string()),
                _ => RegistryError::Unreachable {
                    repository,
                    source: Box::new(e),
                },
            },
            E::AuthenticationFailure(answer) => unauthorized(answer),
            E::UnauthorizedError { .. } => unauthorized("401 Unauthorized".to_owned()),
            E::ImageManifestNotFoundError(answer) => not_found(answer),
            E::RegistryError { envelope, .. } => {
                let answer = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let codes = || envelope.errors.iter().map(|e| &e.code);
                if codes().any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                    unauthorized(answer)
                } else if codes().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    not_found(answer)
                } else {
                    RegistryError::Answered { repository, answer }
                }
            }
            E::ServerError { code, message, .. } => {
                let answer = format!("HTTP {code}: {}", message.trim());
                match code {
                    401 | 403 => unauthorized(answer),
                    404 => not_found(answer),
                    _ => RegistryError::Answered { repository, answer },
                }
            }
            E::DigestError(oci_client::errors::DigestError::VerificationError {
                expected,
                actual,
            }) => RegistryError::Digest {
                repository,
                what: what.to_owned(),
                expected,
                found: actual,
            },
            other => RegistryError::Answered {
                repository,
                answer: format!("something rivet cannot use ({other}) for {what}"),
            },
        }
    }
}

/// A file that takes at most `limit` bytes: more is an error of kind
/// `FileTooLarge`, so a registry cannot fill the disk by sending more than
/// the size it announced.
struct Bounded {
    file: fs::File,
    written: u64,
    limit: u64,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let total = self.written.saturating_add(buf.len() as u64);
        if total > self.limit {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "more bytes than announced",
            )));
        }
        // A blocking write to a local file, between network reads: the
        // runtime has nothing else to do meanwhile.
        self.file.write_all(buf)?;
        self.written = total;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.file.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.file.sync_all())
    }
}
