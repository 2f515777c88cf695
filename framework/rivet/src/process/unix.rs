//! Isolated mode on Unix (see the module documentation of `process`).

use std::collections::VecDeque;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rivet_abi::ErrorKind;
use rivet_abi::frame::{FrameError, MAX_FRAME, read_frame, write_frame};
use rivet_abi::wire::{Hello, PROTOCOL_VERSION, Reply, Request, Response};
use rivet_host::ProcessLimits;

use rivet_host::process::describe_status;

use super::wait::{Spin, grow_pipe, set_nonblocking, wait_for};
use super::{BUILTIN_VAR, COOKIE, COOKIE_VAR, LOG_VAR, Served, Started};
use crate::host::Callbacks;
use crate::{Error, LoadError, log_bridge};

/// How long a server may take to exit once its stdin is closed (or once it
/// closed its stdout) before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a server is started with, again at each restart.
struct Spec {
    server: PathBuf,
    /// The plugin file, or how messages name a built-in plugin.
    path: PathBuf,
    served: Served,
    config: String,
    limits: ProcessLimits,
}

/// Who a server said its plugin is: a restarted server must say the same.
#[derive(PartialEq, Eq)]
struct Identity {
    interface: [String; 3],
    host: [String; 2],
    plugin: [String; 3],
}

/// An isolated plugin: its current server, restarted after it ended.
#[doc(hidden)]
pub struct Client {
    /// The plugin's name.
    plugin: String,
    spec: Spec,
    identity: Identity,
    /// The host's object's dispatch, for callbacks (none when the host gave
    /// no object).
    callbacks: Option<Callbacks>,
    /// How many methods the plugin's interface has (its signature's lines).
    methods: u32,
    state: Mutex<State>,
}

struct State {
    /// The running server; `None` once it ended (until the next call).
    server: Option<Server>,
    /// When the server was restarted, within the last restart window.
    restarts: VecDeque<Instant>,
    /// How the last server ended.
    last: String,
}

/// A running plugin server.
struct Server {
    /// Shared with the watchdog, which kills it; reaped only through here.
    child: Arc<Mutex<Child>>,
    input: Option<BufWriter<ChildStdin>>,
    output: BufReader<ChildStdout>,
    /// None without a call timeout.
    watchdog: Option<Watchdog>,
    /// How long a call spins for its reply before it blocks.
    spin: Spin,
    /// How it ended, once reaped.
    ended: Option<String>,
}

/// Starts `server` for what it serves (the plugin file at `path`, or a
/// built-in plugin, which `path` then names in messages) and creates its
/// instance from `config`, answering its callbacks with `callbacks`, under
/// `limits`.
pub(crate) fn start(
    server: &Path,
    path: &Path,
    served: Served,
    config: &str,
    callbacks: Option<Callbacks>,
    limits: ProcessLimits,
) -> Result<Started, LoadError> {
    let spec = Spec {
        server: server.to_owned(),
        path: path.to_owned(),
        served,
        config: config.to_owned(),
        limits,
    };
    let (server, identity) = launch(&spec, callbacks.as_ref())?;
    let client = Client {
        plugin: identity.plugin[0].clone(),
        spec,
        identity,
        callbacks,
        methods: 0,
        state: Mutex::new(State {
            server: Some(server),
            restarts: VecDeque::new(),
            last: String::new(),
        }),
    };
    let Identity {
        interface,
        host,
        plugin,
    } = &client.identity;
    Ok(Started {
        interface: interface.clone(),
        host: host.clone(),
        plugin: plugin.clone(),
        client,
    })
}

/// Starts a server as `spec` says and reads its hello, within the
/// handshake timeout.
fn launch(spec: &Spec, callbacks: Option<&Callbacks>) -> Result<(Server, Identity), LoadError> {
    let path = &spec.path;
    let mut command = Command::new(&spec.server);
    match &spec.served {
        Served::Builtin(builtin) => {
            command.env(BUILTIN_VAR, builtin);
        }
        Served::File(file) => {
            command.arg(path).env_remove(BUILTIN_VAR);
            #[cfg(target_os = "linux")]
            {
                rivet_host::process::inherit_as_fd3(&mut command, file);
                command.env(super::FD_VAR, rivet_host::process::INHERITED_FD.to_string());
            }
            #[cfg(not(target_os = "linux"))]
            let _ = file;
        }
    }
    let mut child = command
        .env(COOKIE_VAR, COOKIE)
        .env(LOG_VAR, log::max_level().as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| LoadError::Spawn {
            server: spec.server.clone(),
            source,
        })?;
    if let Some(stderr) = child.stderr.take() {
        // Ends with the server (when its stderr closes).
        thread::spawn(move || log_bridge::relay(stderr));
    }
    let input = child.stdin.take().expect("stdin is piped");
    let output = child.stdout.take().expect("stdout is piped");
    let mut server = Server {
        child: Arc::new(Mutex::new(child)),
        input: Some(BufWriter::new(input)),
        output: BufReader::new(output),
        watchdog: None,
        spin: Spin::new(),
        ended: None,
    };
    let timeout = spec.limits.handshake_timeout;
    let hello = server.handshake(&spec.config, timeout, callbacks);
    let handshake = |source| LoadError::Handshake {
        path: path.to_owned(),
        source,
    };
    let hello = match hello {
        Ok(Some(Response::Hello(hello))) => hello,
        Ok(Some(_)) => {
            server.end(true);
            return Err(handshake(unexpected()));
        }
        Ok(None) => {
            let status = server.end(false);
            return Err(handshake(ended(&status)));
        }
        Err(FrameError::Io(error)) if error.kind() == io::ErrorKind::TimedOut => {
            server.end(true);
            return Err(LoadError::HandshakeTimeout {
                path: path.to_owned(),
                after: timeout,
            });
        }
        Err(error) => {
            server.end(true);
            return Err(handshake(error));
        }
    };
    match hello {
        Hello::Ready {
            protocol: PROTOCOL_VERSION,
            interface,
            host,
            plugin,
        } => {
            if let Some(timeout) = spec.limits.call_timeout
                && Instant::now().checked_add(timeout).is_some()
            {
                server.watchdog = Some(Watchdog::start(timeout, server.child.clone()));
            }
            Ok((
                server,
                Identity {
                    interface,
                    host,
                    plugin,
                },
            ))
        }
        Hello::Ready { protocol, .. } => Err(LoadError::Server {
            path: path.to_owned(),
            message: format!(
                "it speaks protocol {protocol}, this host {PROTOCOL_VERSION}; use the rivet-server built with this host"
            ),
        }),
        Hello::Failed { message } => Err(LoadError::Server {
            path: path.to_owned(),
            message,
        }),
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

    /// Calls method number `index` (named `method`) with postcard `args`,
    /// first starting a fresh server if the last one ended.
    pub fn call(&self, index: u32, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        let mut state = lock(&self.state);
        let state = &mut *state;
        if state.server.is_none() {
            let server = self.restart(state, method)?;
            state.server = Some(server);
        }
        let server = state.server.as_mut().expect("a server runs");
        let request = Request::Call {
            method: index,
            args,
        };
        let failure = match server.call(&request, self.callbacks.as_ref()) {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err((kind, message))) => {
                return Err(Error::from_plugin(&self.plugin, method, kind, message));
            }
            Err(failure) => failure,
        };
        let (plugin, method) = (self.plugin.clone(), method.to_owned());
        let (error, last) = match failure {
            Failure::TooLarge(bytes) => {
                return Err(Error::TooLarge {
                    plugin,
                    method,
                    bytes,
                    limit: MAX_FRAME,
                });
            }
            Failure::TimedOut(after) => {
                let status = server.end(true);
                (
                    Error::Timeout {
                        plugin,
                        method,
                        after,
                    },
                    format!("timed out after {after:?}, then {status}"),
                )
            }
            Failure::Ended => {
                let status = server.end(false);
                let last = status.clone();
                (
                    Error::Crashed {
                        plugin,
                        method,
                        status,
                    },
                    last,
                )
            }
            Failure::Broken(source) => {
                let status = server.end(true);
                (
                    Error::Process {
                        plugin,
                        method,
                        source,
                    },
                    format!("broke the protocol, then {status}"),
                )
            }
        };
        log::debug!("isolated plugin `{}`: its process {last}", self.plugin);
        state.server = None;
        state.last = last;
        Err(error)
    }

    /// A fresh server, if the restart limit allows one.
    fn restart(&self, state: &mut State, method: &str) -> Result<Server, Error> {
        let limits = &self.spec.limits;
        let now = Instant::now();
        let window = limits.restart_window;
        state.restarts.retain(|at| now.duration_since(*at) < window);
        if state.restarts.len() >= limits.max_restarts as usize {
            return Err(Error::CrashLoop {
                plugin: self.plugin.clone(),
                method: method.to_owned(),
                restarts: u32::try_from(state.restarts.len()).unwrap_or(u32::MAX),
                window,
                last: state.last.clone(),
            });
        }
        state.restarts.push_back(now);
        let failed = |source| Error::Restart {
            plugin: self.plugin.clone(),
            method: method.to_owned(),
            source: Box::new(source),
        };
        let (server, identity) = launch(&self.spec, self.callbacks.as_ref()).map_err(failed)?;
        if identity != self.identity {
            let [name, version, _] = &identity.plugin;
            let [interface, interface_version, _] = &identity.interface;
            return Err(failed(LoadError::Server {
                path: self.spec.path.clone(),
                message: format!(
                    "the file changed since it was loaded: it now holds `{name}` {version} for `{interface}` {interface_version}, not the plugin loaded; load it again"
                ),
            }));
        }
        log::info!(
            "restarted the process of isolated plugin `{}` ({} restarts in the last {window:?}; the last one {})",
            self.plugin,
            state.restarts.len(),
            state.last
        );
        Ok(server)
    }
}

/// Why a call got no reply.
enum Failure {
    /// The request does not fit in a frame: nothing was sent.
    TooLarge(usize),
    /// The call timeout passed: the watchdog killed the server.
    TimedOut(Duration),
    /// The server ended (end of file, a broken pipe).
    Ended,
    /// The server sent something that is not the protocol.
    Broken(FrameError),
}

impl Server {
    /// Sends `Start` and reads the hello, each read and write waiting at
    /// most until the handshake deadline (an I/O error `TimedOut` after it).
    fn handshake(
        &mut self,
        config: &str,
        timeout: Duration,
        callbacks: Option<&Callbacks>,
    ) -> Result<Option<Response>, FrameError> {
        let deadline = Instant::now().checked_add(timeout);
        let input = self.input.as_mut().expect("the input is open until drop");
        let (input_fd, output_fd) = (
            input.get_ref().as_raw_fd(),
            self.output.get_ref().as_raw_fd(),
        );
        set_nonblocking(input_fd, true)?;
        set_nonblocking(output_fd, true)?;
        grow_pipe(input_fd);
        grow_pipe(output_fd);
        let mut timed_input = Timed {
            io: input.get_mut(),
            fd: input_fd,
            deadline,
        };
        // A server that failed to load may already have exited: its answer
        // says why, so a failed write is not the error to report, unless it
        // is the deadline passing.
        match write_frame(
            &mut timed_input,
            &Request::Start {
                config: config.to_owned(),
                host: callbacks.is_some(),
            },
        ) {
            Err(FrameError::Io(error)) if error.kind() == io::ErrorKind::TimedOut => {
                return Err(error.into());
            }
            Err(FrameError::TooLarge(bytes)) => return Err(FrameError::TooLarge(bytes)),
            _ => {}
        }
        let mut timed_output = Timed {
            io: &mut self.output,
            fd: output_fd,
            deadline,
        };
        let hello = receive(&mut timed_input, &mut timed_output, callbacks)?;
        set_nonblocking(input_fd, false)?;
        // The output stays non-blocking: calls read it through `Watched`.
        Ok(hello)
    }

    /// Sends `request` and reads its reply, answering callbacks, under the
    /// watchdog.
    fn call(&mut self, request: &Request, callbacks: Option<&Callbacks>) -> Result<Reply, Failure> {
        let call = self.watchdog.as_mut().map(Watchdog::begin);
        let input = self.input.as_mut().expect("the input is open until drop");
        let result = match write_frame(input, request) {
            // Refused before anything was written: the connection is clean.
            Err(FrameError::TooLarge(bytes)) => Err(Failure::TooLarge(bytes)),
            Err(FrameError::Io(_)) => Err(Failure::Ended),
            Err(error) => Err(Failure::Broken(error)),
            Ok(()) => match receive(
                input,
                &mut Watched {
                    fd: self.output.get_ref().as_raw_fd(),
                    io: &mut self.output,
                    child: &self.child,
                    spin: &mut self.spin,
                },
                callbacks,
            ) {
                Ok(Some(Response::Reply(reply))) => Ok(reply),
                Ok(Some(_)) => Err(Failure::Broken(unexpected())),
                Ok(None) | Err(FrameError::Io(_)) => Err(Failure::Ended),
                Err(error) => Err(Failure::Broken(error)),
            },
        };
        if let (Some(watchdog), Some(call)) = (&self.watchdog, call)
            && !watchdog.end(call)
        {
            return Err(Failure::TimedOut(watchdog.timeout));
        }
        result
    }

    /// Ends the server and reaps it, once: closes its stdin, gives it the
    /// grace period to exit unless `kill`, then kills it. Returns how it
    /// ended.
    fn end(&mut self, kill: bool) -> String {
        if let Some(status) = &self.ended {
            return status.clone();
        }
        // The watchdog goes first: it kills only under the child's lock,
        // and only while a call runs, so nothing kills a reaped process.
        drop(self.watchdog.take());
        drop(self.input.take());
        let mut child = lock(&self.child);
        if !kill {
            // A server whose stdin closed is gone within a fraction of a
            // millisecond: poll often at first, then back off.
            let deadline = Instant::now() + EXIT_GRACE;
            let mut pause = Duration::from_micros(50);
            while Instant::now() < deadline {
                match child.try_wait() {
                    Ok(Some(status)) => return self.ended.insert(describe_status(status)).clone(),
                    Ok(None) => thread::sleep(pause),
                    Err(_) => break,
                }
                pause = (pause * 2).min(Duration::from_millis(10));
            }
        }
        let _ = child.kill();
        let status = match child.wait() {
            Ok(status) => describe_status(status),
            Err(error) => format!("could not be waited for: {error}"),
        };
        drop(child);
        self.ended.insert(status).clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Closing its stdin ends the server; one that does not end in time
        // is killed.
        self.end(false);
    }
}

/// Reads the server's next response other than a callback, answering each
/// callback before it with `callbacks` (or an error, without them).
fn receive(
    input: &mut impl Write,
    output: &mut impl Read,
    callbacks: Option<&Callbacks>,
) -> Result<Option<Response>, FrameError> {
    loop {
        match read_frame::<Response>(output)? {
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
                match write_frame(input, &Request::Answer(answer)) {
                    // Nothing was written: the plugin gets an error instead.
                    Err(FrameError::TooLarge(bytes)) => write_frame(
                        input,
                        &Request::Answer(Err((
                            ErrorKind::Failed,
                            format!(
                                "the host's answer takes {bytes} bytes, more than the {MAX_FRAME} bytes a message may carry"
                            ),
                        ))),
                    )?,
                    other => other?,
                }
            }
            other => return Ok(other),
        }
    }
}

fn unexpected() -> FrameError {
    FrameError::Io(io::Error::new(
        io::ErrorKind::InvalidData,
        "the plugin server sent a message out of turn",
    ))
}

fn ended(status: &str) -> FrameError {
    FrameError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the plugin server ended before it answered (its process {status})"),
    ))
}

// ------------------------------------------------------------ the handshake

/// A non-blocking pipe end whose reads and writes wait (`poll(2)`) until
/// it is ready, and fail with `TimedOut` once `deadline` has passed.
struct Timed<'a, T> {
    io: &'a mut T,
    fd: RawFd,
    deadline: Option<Instant>,
}

impl<T: Read> Read for Timed<'_, BufReader<T>> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.io.read(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(self.fd, libc::POLLIN, self.deadline)?;
                }
                other => return other,
            }
        }
    }
}

impl<T: Write> Write for Timed<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.io.write(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(self.fd, libc::POLLOUT, self.deadline)?;
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.io.flush()
    }
}

/// The server's non-blocking output, read during a call: waits for data,
/// and ends (as end-of-file) once the server has exited and nothing is left
/// to read, even if the pipe is still open: a process the plugin forked
/// keeps its copy of the pipe's write end, and the call must fail when the
/// server dies, not when that process ends.
struct Watched<'a, T> {
    io: &'a mut T,
    fd: RawFd,
    child: &'a Mutex<Child>,
    /// Tried before each wait.
    spin: &'a mut Spin,
}

/// How often a call waiting for its reply checks whether its server lives.
const WATCH_INTERVAL: Duration = Duration::from_millis(50);

impl<T: Read> Read for Watched<'_, BufReader<T>> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let io = &mut *self.io;
            match self.spin.until_ready(|| io.read(buf)) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    let waited = wait_for(
                        self.fd,
                        libc::POLLIN,
                        Instant::now().checked_add(WATCH_INTERVAL),
                    );
                    match waited {
                        Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                            // `try_wait` keeps the status for `Server::end`.
                            if let Ok(Some(_)) = lock(self.child).try_wait() {
                                return Ok(0);
                            }
                        }
                        other => other?,
                    }
                }
                other => return other,
            }
        }
    }
}

// -------------------------------------------------------------- the watchdog

/// A thread that kills its server when a call outlives the call timeout.
struct Watchdog {
    shared: Arc<Watch>,
    timeout: Duration,
    /// The start of the last call begun (see [`Watch::running`]).
    last: u64,
    thread: Option<JoinHandle<()>>,
}

struct Watch {
    /// When the running call began, in nanoseconds after `epoch` (at
    /// least [`FIRST_CALL`], and each call's later than the last's, so it
    /// also tells calls apart); [`IDLE`] between calls, [`KILLED`] once the
    /// watchdog took a call over.
    running: AtomicU64,
    epoch: Instant,
    stop: Mutex<bool>,
    wake: Condvar,
}

const IDLE: u64 = 0;
const KILLED: u64 = 1;
const FIRST_CALL: u64 = 2;

impl Watchdog {
    fn start(timeout: Duration, child: Arc<Mutex<Child>>) -> Watchdog {
        let shared = Arc::new(Watch {
            running: AtomicU64::new(IDLE),
            epoch: Instant::now(),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let watch = shared.clone();
        let thread = thread::Builder::new()
            .name("rivet-watchdog".to_owned())
            .stack_size(64 << 10)
            .spawn(move || watch.run(timeout, &child))
            .ok();
        if thread.is_none() {
            log::warn!("cannot start a watchdog thread: isolated calls run without a timeout");
        }
        Watchdog {
            shared,
            timeout,
            last: FIRST_CALL - 1,
            thread,
        }
    }

    /// A call begins: returns its mark for [`end`](Self::end).
    fn begin(&mut self) -> u64 {
        let now = u64::try_from(self.shared.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        let call = now.max(self.last + 1);
        self.last = call;
        self.shared.running.store(call, Ordering::Release);
        call
    }

    /// The call ends: `false` if the watchdog killed the server first (the
    /// call timed out).
    fn end(&self, call: u64) -> bool {
        self.shared
            .running
            .compare_exchange(call, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Watch {
    /// Sleeps until the running call's deadline (or, between calls, for one
    /// timeout: a call begun meanwhile ends no earlier), and kills the
    /// server if the call still runs then.
    fn run(&self, timeout: Duration, child: &Mutex<Child>) {
        let timeout = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let mut stopped = lock(&self.stop);
        while !*stopped {
            let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let running = self.running.load(Ordering::Acquire);
            let sleep = match running {
                KILLED => return,
                IDLE => timeout,
                started => {
                    let deadline = started.saturating_add(timeout);
                    if now < deadline {
                        deadline - now
                    } else {
                        // Under the child's lock, so that the caller reaps
                        // it only after the kill.
                        let child = &mut *lock(child);
                        if self
                            .running
                            .compare_exchange(started, KILLED, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                        {
                            let _ = child.kill();
                            return;
                        }
                        continue;
                    }
                }
            };
            stopped = self
                .wake
                .wait_timeout(stopped, Duration::from_nanos(sleep))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_watchdog_kills_a_call_that_outlives_the_timeout_and_only_that() {
        let child = || {
            Arc::new(Mutex::new(
                Command::new("sleep").arg("60").spawn().expect("sleep runs"),
            ))
        };
        // A call that ends in time leaves the process alone.
        let alive = child();
        let mut watchdog = Watchdog::start(Duration::from_secs(60), alive.clone());
        let call = watchdog.begin();
        assert!(watchdog.end(call));
        drop(watchdog);
        assert!(lock(&alive).try_wait().unwrap().is_none());
        let _ = lock(&alive).kill();
        let _ = lock(&alive).wait();
        // One that does not is killed, and its end says so.
        let hung = child();
        let mut watchdog = Watchdog::start(Duration::from_millis(20), hung.clone());
        let call = watchdog.begin();
        // Not `wait` under the lock: the watchdog kills under it.
        let status = loop {
            if let Some(status) = lock(&hung).try_wait().unwrap() {
                break status;
            }
            thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(!watchdog.end(call));
    }
}
