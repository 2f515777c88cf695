//! The plugin server: one plugin file, loaded in-process by the ordinary
//! loader, served to a host over a Unix socket.
//!
//! The host starts the server with a magic cookie and its parameters in the
//! environment. The server loads the plugin (with every check of an
//! in-process load), binds the socket the host named (in a private
//! directory), prints the handshake line and serves each connection on its
//! own thread, one request at a time. It exits when the host sends
//! [`Request::Shutdown`] or when its stdin reaches end-of-file, which happens
//! when the host process ends for any reason: plugin servers never outlive
//! their host.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::thread;

use rivet_interface::ErrorKind;

use super::ServerEnv;
use rivet_host::process::private_stdout;

use crate::isolated::lock;
use crate::isolated::protocol::{
    Call, FrameError, MAX_FRAME, Output, PROTOCOL_VERSION, Request, Response, UiLevel, WireError,
    WireMetadata, handshake_line, read_frame, write_frame,
};
use crate::{CallError, HostUi, Instance, Loader, Plugin, SearchPath};

/// Printed when the server is run by hand, without the host's cookie.
const NOT_FOR_PEOPLE: &str = "\
This program is a Rivet plugin server. It is not meant to be run directly:
a Rivet host (such as `rivet`) starts it to run a plugin in its own process
when the plugin is used with isolation = \"process\" (or RIVET_ISOLATION=process).
Put plugin files (libplugin_TYPE_NAME.so) on the plugin search path and run
`rivet plugins list` to see them.";

/// Runs the plugin server; the whole `main` of `rivet-plugin-server`.
pub fn serve_plugin_process() -> ExitCode {
    if rivet_host::vetting::scan_requested() {
        return crate::vetting::scanner::serve();
    }
    let Some(server_env) = ServerEnv::from_env() else {
        eprintln!("{NOT_FOR_PEOPLE}");
        return ExitCode::from(2);
    };
    let _ = SOCKET.set(server_env.socket.clone());
    let code = match serve(server_env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rivet-plugin-server: {message}");
            ExitCode::FAILURE
        }
    };
    remove_socket();
    code
}

/// The socket the host named, removed (with its private directory) by
/// whichever way the server ends.
static SOCKET: OnceLock<PathBuf> = OnceLock::new();

/// Removes the socket and the private directory the host made for it (when
/// empty), so nothing is left behind even when the host died.
fn remove_socket() {
    if let Some(socket) = SOCKET.get() {
        let _ = fs::remove_file(socket);
        if let Some(dir) = socket.parent() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Ends the server at once, from any thread: removes the socket and its
/// directory, then `_exit`s. Not `exit`, which runs the process's exit
/// handlers and waits on the dynamic loader's lock: a plugin whose library
/// constructor is still running inside `dlopen` holds that lock, and the
/// server would live as long as the constructor does.
fn exit_now(code: i32) -> ! {
    remove_socket();
    // SAFETY: `_exit` ends the process without running any of its code
    // (no exit handlers, no destructors), so no invariant of this process
    // can be observed broken afterwards; the host reaps it.
    unsafe { libc::_exit(code) }
}

fn serve(spec: ServerEnv) -> Result<(), String> {
    let handshake = private_stdout()?;
    exit_when_host_ends();
    if spec.host_protocol != PROTOCOL_VERSION.to_string() {
        let message = format!(
            "the host speaks plugin protocol {}, this rivet-plugin-server speaks {PROTOCOL_VERSION}; use the server built with the host",
            spec.host_protocol
        );
        announce(handshake, &handshake_line(Err(&message)))?;
        return Err(message);
    }

    let sinks = Arc::new(Sinks::default());
    if log::set_boxed_logger(Box::new(ForwardLogger {
        sinks: sinks.clone(),
    }))
    .is_ok()
    {
        log::set_max_level(spec.log_level);
    }
    let mut loader = Loader::with_search_path(spec.search_path.iter().collect::<SearchPath>());
    // Permissions and checksum are checked here, on the file this process
    // opens and maps, as the host would.
    loader.allow_insecure_permissions(spec.allow_insecure);
    loader.set_install_dir(spec.install_dir.clone());
    // This process is the isolation: no scanner before it.
    loader.set_vetting(crate::Vetting::Off);
    loader.set_ui(Arc::new(RoutedUi {
        sinks: sinks.clone(),
    }));
    let plugin = match loader.load_file(&spec.file, spec.kind, &spec.name) {
        Ok(plugin) => plugin,
        Err(error) => {
            announce(handshake, &handshake_line(Err(&error.to_string())))?;
            return Err(error.to_string());
        }
    };

    let listener = UnixListener::bind(&spec.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", spec.socket.display()))?;
    fs::set_permissions(&spec.socket, fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", spec.socket.display()))?;
    announce(
        handshake,
        &handshake_line(Ok(&spec.socket.to_string_lossy())),
    )?;

    let shared = Arc::new(Shared {
        plugin,
        instances: Mutex::new(HashMap::new()),
        sinks,
    });
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let shared = shared.clone();
                thread::spawn(move || serve_connection(&shared, stream));
            }
            Err(error) => log::warn!("accepting a connection failed: {error}"),
        }
    }
    Ok(())
}

fn announce(mut out: fs::File, line: &str) -> Result<(), String> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the handshake: {e}"))
}

/// The host holds the other end of our stdin; end-of-file means the host is
/// gone (or dropped the plugin), and the server ends at once, even when a
/// plugin call is hanging or the plugin's library constructor is running.
///
/// Returns once the watching thread runs: a thread that starts while
/// `dlopen` runs a constructor blocks in its own start-up (registering its
/// thread-local destructors takes the dynamic loader's lock) until the
/// constructor ends.
fn exit_when_host_ends() {
    let started = Arc::new(Barrier::new(2));
    let watcher_started = started.clone();
    thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        watcher_started.wait();
        let mut buffer = [0u8; 64];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => exit_now(0),
                Ok(_) => {}
            }
        }
    });
    started.wait();
}

struct Shared {
    plugin: Plugin,
    instances: Mutex<HashMap<u64, Arc<Instance>>>,
    sinks: Arc<Sinks>,
}

type Writer = Arc<Mutex<UnixStream>>;

fn serve_connection(shared: &Shared, stream: UnixStream) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let writer: Writer = Arc::new(Mutex::new(writer));
    let mut reader = io::BufReader::new(stream);
    loop {
        match read_frame::<Request>(&mut reader) {
            Ok(None) => return,
            Ok(Some(Request::Shutdown)) => exit_now(0),
            Ok(Some(Request::Call { id, call })) => {
                let result = {
                    let _active = shared.sinks.enter(writer.clone());
                    handle(shared, call)
                };
                if send_reply(&writer, id, result).is_err() {
                    return;
                }
            }
            Err(error) => {
                log::error!("closing a connection from the host: {error}");
                return;
            }
        }
    }
}

/// Sends the reply to request `id`. A reply too large for a frame is refused
/// before anything is written, and replaced by an error saying so.
fn send_reply(
    writer: &Writer,
    id: u64,
    result: Result<Output, WireError>,
) -> Result<(), FrameError> {
    let mut writer = lock(writer);
    match write_frame(&mut *writer, &Response::Reply { id, result }) {
        Err(FrameError::TooLarge(size)) => {
            let error = WireError {
                kind: Some(ErrorKind::Failed),
                message: format!(
                    "the result ({size} bytes) is larger than the plugin protocol's limit of {MAX_FRAME} bytes"
                ),
            };
            write_frame(
                &mut *writer,
                &Response::Reply {
                    id,
                    result: Err(error),
                },
            )
        }
        other => other,
    }
}

fn handle(shared: &Shared, call: Call) -> Result<Output, WireError> {
    let instance = |id: u64| {
        lock(&shared.instances)
            .get(&id)
            .cloned()
            .ok_or_else(|| WireError {
                kind: None,
                message: format!("no prepared instance {id} in the plugin server"),
            })
    };
    match call {
        Call::Describe => {
            let m = shared.plugin.metadata();
            Ok(Output::Metadata(WireMetadata {
                kind: m.kind,
                name: m.name.clone(),
                version: m.version.clone(),
                description: m.description.clone(),
                interface_version: m.interface_version.clone(),
            }))
        }
        Call::Prepare {
            instance: id,
            config,
            base_dir,
        } => {
            let prepared = shared
                .plugin
                .prepare(&config, Path::new(&base_dir))
                .map_err(wire_error)?;
            lock(&shared.instances).insert(id, Arc::new(prepared));
            Ok(Output::Unit)
        }
        Call::Drop { instance: id } => {
            // Dropped outside the lock: a plugin's slow destructor must not
            // hold up the calls of other connections.
            let instance = lock(&shared.instances).remove(&id);
            drop(instance);
            Ok(Output::Unit)
        }
        Call::Build { instance: id } => instance(id)?
            .build()
            .map(Output::Artifact)
            .map_err(wire_error),
        Call::Provision {
            instance: id,
            artifact,
        } => instance(id)?
            .provision(&artifact)
            .map(Output::Artifact)
            .map_err(wire_error),
        Call::PostProcess {
            instance: id,
            artifact,
        } => instance(id)?
            .post_process(&artifact)
            .map(Output::Artifact)
            .map_err(wire_error),
        Call::Synopsis { instance: id } => instance(id)?
            .synopsis()
            .map(Output::Text)
            .map_err(wire_error),
        Call::Help { instance: id } => instance(id)?.help().map(Output::Text).map_err(wire_error),
        Call::Run { instance: id, args } => instance(id)?
            .run(&args)
            .map(Output::Code)
            .map_err(wire_error),
    }
}

fn wire_error(error: CallError) -> WireError {
    let (kind, message) = match error {
        CallError::Config { message, .. } => (Some(ErrorKind::Config), message),
        CallError::Failed { message, .. } => (Some(ErrorKind::Failed), message),
        CallError::Panicked { message, .. } => (Some(ErrorKind::Panicked), message),
        other => (None, other.to_string()),
    };
    WireError { kind, message }
}

/// Where UI lines and log records go: the connection of the call running on
/// this thread, else the most recent connection in a call (lines from a
/// plugin's own threads), else stderr.
#[derive(Default)]
struct Sinks {
    active: Mutex<Vec<(u64, Writer)>>,
    next_token: Mutex<u64>,
}

thread_local! {
    static CURRENT: RefCell<Option<Writer>> = const { RefCell::new(None) };
}

struct Active<'a> {
    sinks: &'a Sinks,
    token: u64,
}

impl Sinks {
    fn enter(&self, writer: Writer) -> Active<'_> {
        let token = {
            let mut next = lock(&self.next_token);
            *next += 1;
            *next
        };
        CURRENT.with(|current| *current.borrow_mut() = Some(writer.clone()));
        lock(&self.active).push((token, writer));
        Active { sinks: self, token }
    }

    fn send(&self, message: &Response, fallback: impl FnOnce() -> String) {
        let writer = CURRENT
            .with(|current| current.borrow().clone())
            .or_else(|| lock(&self.active).last().map(|(_, w)| w.clone()));
        let sent = writer.is_some_and(|w| write_frame(&mut *lock(&w), message).is_ok());
        if !sent {
            let _ = writeln!(io::stderr().lock(), "{}", fallback());
        }
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = None);
        lock(&self.sinks.active).retain(|(token, _)| *token != self.token);
    }
}

struct RoutedUi {
    sinks: Arc<Sinks>,
}

impl RoutedUi {
    fn line(&self, level: UiLevel, line: &str) {
        let message = Response::Ui {
            level,
            line: line.to_owned(),
        };
        self.sinks.send(&message, || line.to_owned());
    }
}

impl HostUi for RoutedUi {
    fn say(&self, _plugin: &str, line: &str) {
        self.line(UiLevel::Say, line);
    }

    fn message(&self, _plugin: &str, line: &str) {
        self.line(UiLevel::Message, line);
    }

    fn error(&self, _plugin: &str, line: &str) {
        self.line(UiLevel::Error, line);
    }

    fn progress(&self, _plugin: &str, done: u64, total: u64) {
        self.sinks.send(&Response::Progress { done, total }, || {
            format!("progress {done}/{total}")
        });
    }
}

struct ForwardLogger {
    sinks: Arc<Sinks>,
}

impl log::Log for ForwardLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let message = Response::Log {
                level: record.level() as u8,
                target: record.target().to_owned(),
                message: record.args().to_string(),
            };
            self.sinks.send(&message, || {
                format!("[{} {}] {}", record.level(), record.target(), record.args())
            });
        }
    }

    fn flush(&self) {}
}
