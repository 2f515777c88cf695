//! The host side of isolated mode: starting a plugin server, calling it and
//! stopping it.
//!
//! Each caller takes an idle connection to the server's socket (or opens a
//! new one), sends one request and reads until the reply, handling the UI
//! lines and log records that arrive meanwhile; so calls from many threads
//! run at once, each on its own connection, and replies never cross.

use std::collections::{HashSet, VecDeque};
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rivet_interface::{Artifact, PluginKind};

use rivet_host::lines::read_line_lossy;
use rivet_host::process::describe_status;

use super::ServerEnv;
use crate::isolated::protocol::{
    Call, FrameError, Handshake, Output, PROTOCOL_VERSION, Request, Response, UiLevel, WireError,
    parse_handshake, read_frame, write_frame,
};
use crate::isolated::{ProcessOptions, lock};
use crate::services::{HostUi, log_as, log_target};
use crate::{CallError, PluginMetadata};

/// How long a server may take to exit after being asked to, and a request
/// nobody waits on (dropping an instance) to be answered.
const GRACE: Duration = Duration::from_secs(1);

/// How long a request waits for its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patience {
    /// The call timeout; a call taking longer kills the process.
    Call,
    /// The grace period, for requests nobody waits on (dropping an
    /// instance): one taking longer is abandoned, the process left running.
    Grace,
}

/// One plugin file served by a plugin process, restarted after a crash.
pub(crate) struct ProcessPlugin {
    server_env: ServerEnv,
    server_exe: PathBuf,
    options: ProcessOptions,
    label: String,
    log_target: String,
    ui: Arc<dyn HostUi>,
    current: Mutex<Option<Arc<Server>>>,
    /// When the process was restarted, within the last restart window.
    restarts: Mutex<VecDeque<Instant>>,
    last_crash: Mutex<String>,
    next_instance: AtomicU64,
}

/// A connection to a plugin server, buffered so that a reply usually takes
/// one read.
type Connection = BufReader<UnixStream>;

/// A running plugin server.
struct Server {
    child: Mutex<Child>,
    stdin: Mutex<Option<ChildStdin>>,
    dir: PathBuf,
    socket: PathBuf,
    idle: Mutex<Vec<Connection>>,
    prepared: Mutex<HashSet<u64>>,
    dead: AtomicBool,
    next_id: AtomicU64,
    connections: Arc<Mutex<Connections>>,
}

/// Every connection opened to one server, shut down as soon as its process
/// ends (see [`watch_exit`]).
#[derive(Default)]
struct Connections {
    /// The process has ended: open no more connections.
    ended: bool,
    /// A handle on each connection (the same socket as the caller's).
    streams: Vec<UnixStream>,
}

/// What the server's own loader needs from the host's.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    /// The host's search path (for plugins' `locate`).
    pub(crate) search_path: Vec<PathBuf>,
    /// Whether files other users can write are loaded.
    pub(crate) allow_insecure: bool,
    /// The host's install root.
    pub(crate) install_dir: Option<PathBuf>,
}

impl ProcessPlugin {
    /// Starts a server for the plugin file `file` and asks who the plugin
    /// is. An error is a message saying why (naming the file).
    pub(crate) fn start(
        file: &Path,
        kind: PluginKind,
        name: &str,
        settings: ServerSettings,
        server_exe: PathBuf,
        options: ProcessOptions,
        ui: Arc<dyn HostUi>,
    ) -> Result<(Arc<ProcessPlugin>, PluginMetadata), String> {
        let plugin = Arc::new(ProcessPlugin {
            server_env: ServerEnv {
                host_protocol: PROTOCOL_VERSION.to_string(),
                socket: PathBuf::new(),
                file: file.to_owned(),
                kind,
                name: name.to_owned(),
                log_level: log::max_level(),
                search_path: settings.search_path,
                allow_insecure: settings.allow_insecure,
                install_dir: settings.install_dir,
            },
            server_exe,
            options,
            label: format!("{kind} {name}"),
            log_target: log_target(kind, name),
            ui,
            current: Mutex::new(None),
            restarts: Mutex::new(VecDeque::new()),
            last_crash: Mutex::new(String::new()),
            next_instance: AtomicU64::new(1),
        });
        let server = plugin.spawn()?;
        *lock(&plugin.current) = Some(server.clone());
        let metadata = match plugin.exchange(&server, Call::Describe) {
            Ok(Output::Metadata(m)) => PluginMetadata {
                kind: m.kind,
                name: m.name,
                version: m.version,
                description: m.description,
                interface_version: m.interface_version,
            },
            Ok(other) => return Err(format!("the plugin server answered {other:?} to describe")),
            Err(error) => return Err(error.to_string()),
        };
        Ok((plugin, metadata))
    }

    /// Prepares an instance in the plugin process.
    pub(crate) fn prepare(
        self: &Arc<Self>,
        config: &str,
        base_dir: &Path,
    ) -> Result<RemoteInstance, CallError> {
        let instance = RemoteInstance {
            id: self.next_instance.fetch_add(1, Ordering::Relaxed),
            config: config.to_owned(),
            base_dir: base_dir.to_string_lossy().into_owned(),
            plugin: self.clone(),
        };
        let server = self.server()?;
        instance.prepare_on(&server)?;
        Ok(instance)
    }

    /// The running server, starting a fresh one after a crash (up to
    /// `max_restarts` times within any `restart_window`).
    fn server(&self) -> Result<Arc<Server>, CallError> {
        let mut current = lock(&self.current);
        if let Some(server) = current.as_ref()
            && !server.dead.load(Ordering::SeqCst)
        {
            return Ok(server.clone());
        }
        let now = Instant::now();
        let window = self.options.restart_window;
        let mut restarts = lock(&self.restarts);
        restarts.retain(|at| now.duration_since(*at) < window);
        if restarts.len() >= self.options.max_restarts as usize {
            return Err(CallError::CrashLoop {
                plugin: self.label.clone(),
                restarts: restarts.len() as u32,
                seconds: window.as_secs_f64(),
                last: lock(&self.last_crash).clone(),
            });
        }
        restarts.push_back(now);
        // Drop the dead server first: its directory and socket go away.
        *current = None;
        let server = self.spawn().map_err(|message| CallError::Restart {
            plugin: self.label.clone(),
            message,
        })?;
        log::info!(
            "restarted the process of {} ({} restarts in the last {}s)",
            self.label,
            restarts.len(),
            window.as_secs_f64()
        );
        *current = Some(server.clone());
        Ok(server)
    }

    fn spawn(&self) -> Result<Arc<Server>, String> {
        let dir = private_dir()?;
        let socket = dir.join("plugin.sock");
        let server_env = ServerEnv {
            socket: socket.clone(),
            ..self.server_env.clone()
        };
        let mut command = Command::new(&self.server_exe);
        server_env.apply(&mut command);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|error| {
            let _ = std::fs::remove_dir_all(&dir);
            format!("cannot start {}: {error}", self.server_exe.display())
        })?;
        let stdin = child.stdin.take();
        let handshake = self.forward_output(&mut child);
        let connections = Arc::new(Mutex::new(Connections::default()));
        watch_exit(child.id(), connections.clone());
        let server = Server {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            dir,
            socket: socket.clone(),
            idle: Mutex::new(Vec::new()),
            prepared: Mutex::new(HashSet::new()),
            dead: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            connections,
        };
        let line = match handshake.recv_timeout(self.options.handshake_timeout) {
            Ok(line) => line,
            Err(_) => {
                let status = server.end(true);
                return Err(format!(
                    "the plugin server printed no handshake within the handshake timeout of {}s ({status}); a plugin that takes longer to load needs a longer one",
                    self.options.handshake_timeout.as_secs_f64()
                ));
            }
        };
        if line.is_empty() {
            let status = server.end(false);
            return Err(format!(
                "the plugin server exited before its handshake ({status})"
            ));
        }
        match parse_handshake(&line) {
            Ok(Handshake::Ready(path)) if Path::new(&path) == socket => Ok(Arc::new(server)),
            Ok(Handshake::Ready(path)) => {
                server.end(true);
                Err(format!(
                    "the plugin server listens on {path}, not on {}",
                    socket.display()
                ))
            }
            Ok(Handshake::Failed(message)) => {
                server.end(false);
                Err(message)
            }
            Err(error) => {
                server.end(true);
                Err(format!("the plugin server failed its handshake: {error}"))
            }
        }
    }

    /// Sends the server's stderr to the host log, as lines under the
    /// plugin's target; returns a channel that gets the first line of its
    /// stdout (the handshake), or an empty string at end of file.
    fn forward_output(&self, child: &mut Child) -> mpsc::Receiver<String> {
        if let Some(stderr) = child.stderr.take() {
            let target = self.log_target.clone();
            thread::spawn(move || log_lines(&mut BufReader::new(stderr), &target));
        }
        let (sender, receiver) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            let target = self.log_target.clone();
            thread::spawn(move || {
                let mut stdout = BufReader::new(stdout);
                let _ = sender.send(read_line_lossy(&mut stdout).unwrap_or_default());
                log_lines(&mut stdout, &target);
            });
        }
        receiver
    }

    /// One request and its reply on a connection of `server`; UI lines and
    /// log records that arrive meanwhile go to the host's UI and log.
    fn exchange(&self, server: &Server, call: Call) -> Result<Output, CallError> {
        self.exchange_with(server, call, Patience::Call)
    }

    /// [`exchange`](Self::exchange), waiting for the reply as `patience`
    /// says.
    fn exchange_with(
        &self,
        server: &Server,
        call: Call,
        patience: Patience,
    ) -> Result<Output, CallError> {
        let mut connection = match lock(&server.idle).pop() {
            Some(connection) => connection,
            None => self.connect(server)?,
        };
        let timeout = match patience {
            Patience::Call => self.options.call_timeout,
            Patience::Grace => {
                connection
                    .get_ref()
                    .set_read_timeout(Some(GRACE))
                    .map_err(|e| self.crashed(server, &e.to_string()))?;
                GRACE
            }
        };
        let id = server.next_id.fetch_add(1, Ordering::Relaxed);
        match write_frame(connection.get_mut(), &Request::Call { id, call }) {
            Ok(()) => {}
            // Refused before anything was written: the connection is clean.
            Err(error @ (FrameError::TooLarge(_) | FrameError::Malformed(_))) => {
                lock(&server.idle).push(connection);
                return Err(CallError::Failed {
                    plugin: self.label.clone(),
                    message: format!("cannot send the request: {error}"),
                });
            }
            Err(error) => return Err(self.crashed(server, &error.to_string())),
        }
        // Each read waits at most the timeout (the call timeout is set on the
        // socket once); the deadline also bounds a call that keeps sending UI
        // lines. A timeout too long for a deadline is no limit.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            match read_frame::<Response>(&mut connection) {
                Ok(Some(Response::Reply {
                    id: reply_id,
                    result,
                })) if reply_id == id => {
                    let reusable = patience == Patience::Call
                        || connection
                            .get_ref()
                            .set_read_timeout(Some(self.options.call_timeout))
                            .is_ok();
                    if reusable {
                        lock(&server.idle).push(connection);
                    }
                    return result.map_err(|error| self.plugin_error(error));
                }
                Ok(Some(Response::Reply { id: other, .. })) => {
                    return Err(self.broken(
                        server,
                        &format!("a reply to request {other} arrived for request {id}"),
                    ));
                }
                Ok(Some(Response::Ui { level, line })) => match level {
                    UiLevel::Say => self.ui.say(&self.label, &line),
                    UiLevel::Message => self.ui.message(&self.label, &line),
                    UiLevel::Error => self.ui.error(&self.label, &line),
                },
                Ok(Some(Response::Progress { done, total })) => {
                    self.ui.progress(&self.label, done, total)
                }
                Ok(Some(Response::Log {
                    level,
                    target,
                    message,
                })) => {
                    if let Some(level) = level_from_number(level) {
                        log_as(level, &target, &message);
                    }
                }
                Ok(None) => return Err(self.crashed(server, "the connection closed")),
                Err(FrameError::Io(error))
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.timed_out(server, patience));
                }
                Err(FrameError::Io(error)) => {
                    return Err(self.crashed(server, &error.to_string()));
                }
                Err(error) => return Err(self.broken(server, &error.to_string())),
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(self.timed_out(server, patience));
            }
        }
    }

    /// A new connection to `server`, whose reads time out after the call
    /// timeout, and which is shut down when the server's process ends.
    fn connect(&self, server: &Server) -> Result<Connection, CallError> {
        let stream = UnixStream::connect(&server.socket)
            .and_then(|stream| {
                stream.set_read_timeout(Some(self.options.call_timeout))?;
                Ok(stream)
            })
            .map_err(|e| self.crashed(server, &e.to_string()))?;
        let watched = stream.try_clone().and_then(|handle| {
            let mut connections = lock(&server.connections);
            if connections.ended {
                return Err(io::Error::other("the process ended"));
            }
            connections.streams.push(handle);
            Ok(())
        });
        match watched {
            Ok(()) => Ok(BufReader::new(stream)),
            Err(error) => Err(self.crashed(server, &error.to_string())),
        }
    }

    fn plugin_error(&self, error: WireError) -> CallError {
        match error.kind {
            Some(kind) => CallError::from_plugin(
                &self.label,
                rivet_interface::Error::from(rivet_interface::RError {
                    kind,
                    message: error.message.into(),
                }),
            ),
            None => CallError::Failed {
                plugin: self.label.clone(),
                message: error.message,
            },
        }
    }

    /// The process died (or dropped the connection): reap it and say how it
    /// ended.
    fn crashed(&self, server: &Server, what: &str) -> CallError {
        let status = server.end(false);
        log::debug!("{}: {what}; the process {status}", self.label);
        *lock(&self.last_crash) = status.clone();
        CallError::Crashed {
            plugin: self.label.clone(),
            status,
        }
    }

    /// A request got no reply in time: after the call timeout the process
    /// is killed; after the grace period the request is abandoned with its
    /// connection, and the process left running.
    fn timed_out(&self, server: &Server, patience: Patience) -> CallError {
        if patience == Patience::Grace {
            return CallError::Failed {
                plugin: self.label.clone(),
                message: format!(
                    "no answer within the grace period of {}s; the request was abandoned, the process left running",
                    GRACE.as_secs_f64()
                ),
            };
        }
        let status = server.end(true);
        *lock(&self.last_crash) = format!("timed out, {status}");
        CallError::Timeout {
            plugin: self.label.clone(),
            seconds: self.options.call_timeout.as_secs_f64(),
        }
    }

    fn broken(&self, server: &Server, message: &str) -> CallError {
        let status = server.end(true);
        *lock(&self.last_crash) = format!("protocol error, {status}");
        CallError::Protocol {
            plugin: self.label.clone(),
            message: message.to_owned(),
        }
    }
}

impl Server {
    /// Marks the server dead and reaps it: waits a moment for it to exit on
    /// its own unless `kill`, then kills it. Returns how it ended.
    fn end(&self, kill: bool) -> String {
        self.dead.store(true, Ordering::SeqCst);
        lock(&self.idle).clear();
        let mut child = lock(&self.child);
        if !kill {
            // A server asked to exit is gone within a fraction of a
            // millisecond: poll often at first, then back off.
            let deadline = Instant::now() + GRACE;
            let mut pause = Duration::from_micros(50);
            while Instant::now() < deadline {
                match child.try_wait() {
                    Ok(Some(status)) => return describe_status(status),
                    Ok(None) => thread::sleep(pause),
                    Err(_) => break,
                }
                pause = (pause * 2).min(Duration::from_millis(10));
            }
        }
        let _ = child.kill();
        match child.wait() {
            Ok(status) => describe_status(status),
            Err(error) => format!("could not be waited for: {error}"),
        }
    }
}

impl Drop for Server {
    /// Asks the server to exit, closes its stdin, gives it a grace period,
    /// then kills it; removes its private directory and socket.
    fn drop(&mut self) {
        if !self.dead.load(Ordering::SeqCst) {
            if let Some(mut connection) = lock(&self.idle).pop() {
                let _ = write_frame(connection.get_mut(), &Request::Shutdown);
            }
            lock(&self.stdin).take();
            self.end(false);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An instance prepared in a plugin process. After a restart it is prepared
/// again in the new process, from the same configuration.
pub(crate) struct RemoteInstance {
    id: u64,
    config: String,
    base_dir: String,
    plugin: Arc<ProcessPlugin>,
}

impl RemoteInstance {
    fn prepare_on(&self, server: &Server) -> Result<(), CallError> {
        let call = Call::Prepare {
            instance: self.id,
            config: self.config.clone(),
            base_dir: self.base_dir.clone(),
        };
        self.plugin.exchange(server, call)?;
        lock(&server.prepared).insert(self.id);
        Ok(())
    }

    /// Runs `call` (made for this instance's id) in the plugin process.
    pub(crate) fn call(&self, call: impl FnOnce(u64) -> Call) -> Result<Output, CallError> {
        let server = self.plugin.server()?;
        if !lock(&server.prepared).contains(&self.id) {
            self.prepare_on(&server)?;
        }
        self.plugin.exchange(&server, call(self.id))
    }

    /// The artifact a call returned.
    pub(crate) fn artifact(&self, output: Output) -> Result<Artifact, CallError> {
        match output {
            Output::Artifact(artifact) => Ok(artifact),
            other => Err(self.unexpected(other)),
        }
    }

    /// The text a call returned.
    pub(crate) fn text(&self, output: Output) -> Result<String, CallError> {
        match output {
            Output::Text(text) => Ok(text),
            other => Err(self.unexpected(other)),
        }
    }

    /// The exit status a call returned.
    pub(crate) fn code(&self, output: Output) -> Result<i32, CallError> {
        match output {
            Output::Code(code) => Ok(code),
            other => Err(self.unexpected(other)),
        }
    }

    fn unexpected(&self, output: Output) -> CallError {
        CallError::Protocol {
            plugin: self.plugin.label.clone(),
            message: format!("unexpected answer {output:?}"),
        }
    }
}

impl Drop for RemoteInstance {
    fn drop(&mut self) {
        let server = lock(&self.plugin.current).clone();
        if let Some(server) = server
            && !server.dead.load(Ordering::SeqCst)
            && lock(&server.prepared).remove(&self.id)
        {
            let call = Call::Drop { instance: self.id };
            if let Err(error) = self.plugin.exchange_with(&server, call, Patience::Grace) {
                log::warn!("dropping an instance: {error}");
            }
        }
    }
}

/// Shuts down every connection to server `pid` (in `connections`) once the
/// process has ended, from a thread of its own. A call waiting for a reply
/// then reads end-of-file at once: without this it would wait for every
/// process holding the server's end of the socket, a child the plugin
/// forked included, or for the call timeout.
///
/// The thread waits with `waitid(WNOWAIT)`, leaving the process to be reaped
/// (and its status read) by [`Server::end`]. When `end` reaps it first, the
/// wait fails with `ECHILD` and the thread ends just the same.
fn watch_exit(pid: u32, connections: Arc<Mutex<Connections>>) {
    thread::spawn(move || {
        loop {
            // SAFETY: an all-zero `siginfo_t` is a valid value of this plain
            // C struct, and `waitid` only writes into it, a live local.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `waitid` reads its arguments and writes `info` only;
            // WNOWAIT leaves the process unreaped, for its `Child`.
            let waited = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if waited == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        let mut connections = lock(&connections);
        connections.ended = true;
        for stream in connections.streams.drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
}

/// Logs every line of `input` under `target` until its end.
fn log_lines(input: &mut impl BufRead, target: &str) {
    while let Some(line) = read_line_lossy(input) {
        log_as(log::Level::Info, target, &line);
    }
}

/// A new directory only this user can enter, for one server's socket.
fn private_dir() -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("rivet-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(format!(
                    "cannot create a socket directory in {}: {error}",
                    base.display()
                ));
            }
        }
    }
    Err(format!(
        "cannot create a fresh socket directory in {}",
        base.display()
    ))
}

fn level_from_number(level: u8) -> Option<log::Level> {
    [
        log::Level::Error,
        log::Level::Warn,
        log::Level::Info,
        log::Level::Debug,
        log::Level::Trace,
    ]
    .into_iter()
    .find(|l| *l as u8 == level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_survive_their_numbers() {
        for level in [log::Level::Error, log::Level::Trace] {
            assert_eq!(level_from_number(level as u8), Some(level));
        }
        assert_eq!(level_from_number(0), None);
    }

    #[test]
    fn private_dirs_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_dir().unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(mode & 0o777, 0o700);
    }
}
