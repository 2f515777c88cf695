//! The host's side of isolated mode: a plugin server per plugin instance,
//! called over its stdin and stdout.
//!
//! The host starts `rivet-server LIBRARY` with a cookie in its environment,
//! sends [`Request::Start`] with the configuration, reads [`Hello`], then
//! sends one [`Request::Call`] per call and reads its [`Reply`]. Until the
//! hello or the reply comes, it answers each [`Response::Callback`] (the
//! plugin calling the host's object) with the host's dispatch. Calls on one
//! handle take turns. Dropping the handle closes the server's stdin, which
//! ends it.

use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rivet_abi::ErrorKind;
use rivet_abi::frame::{FrameError, read_frame, write_frame};
use rivet_abi::wire::{Hello, PROTOCOL_VERSION, Reply, Request, Response};

use crate::host::Callbacks;
use crate::{Error, LoadError};

/// The environment variable carrying the cookie.
pub(crate) const COOKIE_VAR: &str = "RIVET_SERVER_COOKIE";
/// Not a secret: a guard against running the server by hand, as go-plugin's
/// magic cookie is.
pub(crate) const COOKIE: &str = "5d0c7e1a-rivet-framework-server";
/// The environment variable carrying the host's log level.
pub(crate) const LOG_VAR: &str = "RIVET_SERVER_LOG";

/// How long a server may take to exit once its stdin is closed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// A running plugin server, serving one instance.
#[doc(hidden)]
pub struct Client {
    plugin: String,
    /// The host's object's dispatch, for callbacks (none when the host gave
    /// no object).
    callbacks: Option<Callbacks>,
    /// How many methods the plugin's interface has (its signature's lines).
    methods: u32,
    pipes: Mutex<Pipes>,
    child: Child,
}

struct Pipes {
    input: Option<BufWriter<ChildStdin>>,
    output: BufReader<ChildStdout>,
}

/// What the server said of its plugin.
pub(crate) struct Started {
    pub(crate) client: Client,
    pub(crate) interface: [String; 3],
    pub(crate) host: [String; 2],
    pub(crate) plugin: [String; 3],
}

/// Starts `server` for the library at `path` and creates its instance from
/// `config`, answering its callbacks with `callbacks`.
pub(crate) fn start(
    server: &Path,
    path: &Path,
    config: &str,
    callbacks: Option<Callbacks>,
) -> Result<Started, LoadError> {
    let mut child = Command::new(server)
        .arg(path)
        .env(COOKIE_VAR, COOKIE)
        .env(LOG_VAR, log::max_level().as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| LoadError::Spawn {
            server: server.to_owned(),
            source,
        })?;
    let pipes = Pipes {
        input: child.stdin.take().map(BufWriter::new),
        output: BufReader::new(child.stdout.take().expect("stdout is piped")),
    };
    let mut client = Client {
        plugin: path.display().to_string(),
        callbacks,
        methods: 0,
        pipes: Mutex::new(pipes),
        child,
    };
    let handshake = |source| LoadError::Handshake {
        path: path.to_owned(),
        source,
    };
    let pipes = client
        .pipes
        .get_mut()
        .unwrap_or_else(PoisonError::into_inner);
    let input = pipes.input.as_mut().expect("the input is open until drop");
    // A server that failed to load may already have exited: its answer
    // says why, so a failed write is not the error to report.
    let _ = write_frame(
        input,
        &Request::Start {
            config: config.to_owned(),
            host: client.callbacks.is_some(),
        },
    );
    let hello = match receive(pipes, client.callbacks.as_ref()).map_err(handshake)? {
        Some(Response::Hello(hello)) => Some(hello),
        Some(_) => return Err(handshake(unexpected())),
        None => None,
    };
    match hello {
        Some(Hello::Ready {
            protocol: PROTOCOL_VERSION,
            interface,
            host,
            plugin,
        }) => {
            client.plugin = plugin[0].clone();
            Ok(Started {
                client,
                interface,
                host,
                plugin,
            })
        }
        Some(Hello::Ready { protocol, .. }) => Err(LoadError::Server {
            path: path.to_owned(),
            message: format!(
                "it speaks protocol {protocol}, this host {PROTOCOL_VERSION}; use the rivet-server built with this host"
            ),
        }),
        Some(Hello::Failed { message }) => Err(LoadError::Server {
            path: path.to_owned(),
            message,
        }),
        None => Err(handshake(ended())),
    }
}

impl Client {
    /// How many methods the plugin has: a method of a later minor version
    /// of the interface than the plugin's, numbered from this on, is not
    /// called.
    pub fn methods(&self) -> u32 {
        self.methods
    }

    pub(crate) fn set_methods(&mut self, methods: usize) {
        self.methods = u32::try_from(methods).unwrap_or(u32::MAX);
    }

    /// Calls method number `index` (named `method`) with postcard `args`.
    pub fn call(&self, index: u32, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        let broken = |source| Error::Process {
            plugin: self.plugin.clone(),
            method: method.to_owned(),
            source,
        };
        let mut pipes = self.pipes.lock().unwrap_or_else(PoisonError::into_inner);
        let pipes = &mut *pipes;
        let input = pipes.input.as_mut().expect("the input is open until drop");
        write_frame(
            input,
            &Request::Call {
                method: index,
                args,
            },
        )
        .map_err(broken)?;
        match receive(pipes, self.callbacks.as_ref()).map_err(broken)? {
            Some(Response::Reply(Ok(reply))) => Ok(reply),
            Some(Response::Reply(Err((kind, message)))) => {
                Err(Error::from_plugin(&self.plugin, method, kind, message))
            }
            Some(_) => Err(broken(unexpected())),
            None => Err(broken(ended())),
        }
    }
}

/// Reads the server's next response other than a callback, answering each
/// callback before it with `callbacks` (or an error, without them).
fn receive(
    pipes: &mut Pipes,
    callbacks: Option<&Callbacks>,
) -> Result<Option<Response>, FrameError> {
    loop {
        match read_frame::<Response>(&mut pipes.output)? {
            Some(Response::Callback { method, args }) => {
                // Without callbacks the server was told there is no host
                // object, and the plugin's calls fail before they get here.
                let answer: Reply = match callbacks {
                    Some(callbacks) => callbacks(method, &args),
                    None => Err((
                        ErrorKind::Failed,
                        "this host gave the plugin no object to call".to_owned(),
                    )),
                };
                let input = pipes.input.as_mut().expect("the input is open until drop");
                write_frame(input, &Request::Answer(answer))?;
            }
            other => return Ok(other),
        }
    }
}

fn unexpected() -> FrameError {
    FrameError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the plugin server sent a message out of turn",
    ))
}

fn ended() -> FrameError {
    FrameError::Io(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the plugin server ended (the plugin crashed or exited)",
    ))
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing its stdin ends the server; one that does not end in time
        // is killed.
        drop(
            self.pipes
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .input
                .take(),
        );
        let deadline = Instant::now() + EXIT_GRACE;
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}
