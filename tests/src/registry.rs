//! A real OCI registry for the tests: Debian's `docker-registry` (CNCF
//! distribution), on a free `127.0.0.1` port, its storage in a temporary
//! directory, optionally behind htpasswd authentication. Stopped when
//! dropped.
//!
//! `.ci/run` installs it (`apt-get install docker-registry
//! apache2-utils`); without it, the tests using it fail saying so.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The program that serves the registry.
const REGISTRY: &str = "docker-registry";

/// A running registry.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its storage and configuration.
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// A registry anyone may push to and pull from.
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// A registry that wants HTTP basic authentication as `user` with
    /// `password`.
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let mut auth_section = String::new();
        if let Some((user, password)) = auth {
            let output = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .unwrap_or_else(|e| panic!("{}", missing("htpasswd", &e)));
            assert!(output.status.success(), "htpasswd failed: {output:?}");
            let htpasswd = dir.path().join("htpasswd");
            fs::write(&htpasswd, &output.stdout).unwrap();
            auth_section = format!(
                "auth:\n  htpasswd:\n    realm: rivet-tests\n    path: {}\n",
                htpasswd.display()
            );
        }
        // A port that was free a moment ago; another process may take it
        // meanwhile, so a registry that exits at once is started again.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{auth_section}",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let log = fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new(REGISTRY)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("{}", missing(REGISTRY, &e)));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if TcpStream::connect(&addr).is_ok() {
                    return Registry { child, addr, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "{REGISTRY} did not start; its log:\n{}",
            fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// The repository `path` of this registry: `127.0.0.1:PORT/path`.
    pub fn repository(&self, path: &str) -> String {
        format!("{}/{path}", self.addr)
    }

    /// The file holding blob `digest` (`sha256:…`) in the registry's
    /// storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The directory of tag `tag` of repository path `path` in the
    /// registry's storage (removing it removes the tag).
    pub fn tag_dir(&self, path: &str, tag: &str) -> PathBuf {
        self.dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(path)
            .join("_manifests/tags")
            .join(tag)
    }

    /// Stops the registry now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn missing(program: &str, error: &std::io::Error) -> String {
    format!(
        "cannot run `{program}` ({error}): the registry tests need Debian's docker-registry and apache2-utils; install them with `apt-get install docker-registry apache2-utils` (.ci/run does)"
    )
}

/// The SHA-256 of the file at `path`, as OCI writes digests.
pub fn digest_of(path: &Path) -> String {
    format!(
        "sha256:{}",
        rivet_host::integrity::sha256_hex(fs::File::open(path).unwrap()).unwrap()
    )
}
