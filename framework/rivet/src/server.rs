//! The plugin server's side of isolated mode: load one plugin library,
//! create its instance, and forward each call to its generated `dispatch`.
//! It knows no interface: the library's root module is the same for all.

use std::env;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::ffi::c_void;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rivet_abi::abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use rivet_abi::frame::{FrameError, read_frame, write_frame};
use rivet_abi::wire::{Hello, PROTOCOL_VERSION, Reply, Request, Response};
use rivet_abi::{ErrorKind, HostRef, Instance, PluginModRef, RError};

use rivet_host::integrity;

use crate::Builtin;
use crate::process::{BUILTIN_VAR, COOKIE, COOKIE_VAR, LOG_VAR};
use crate::{library, log_bridge, vetting};

/// What a server serves: a plugin file, or a built-in plugin of the host
/// whose executable it is.
enum Target<'a> {
    File(&'a Path),
    Builtin(&'static Builtin),
}

/// The `main` of `rivet-server`.
pub fn serve_process() -> ExitCode {
    serve_requested().unwrap_or_else(|| {
        eprintln!(
            "rivet-server runs a Rivet plugin in its own process for a host application; it is not meant to be executed directly"
        );
        ExitCode::from(2)
    })
}

/// Serves what this process was started to serve, when a host started it
/// as its plugin server or vetting scanner (see `Config::server`), and
/// returns the exit code for `main`; `None` otherwise, and for a built-in
/// plugin (which [`Loader::serve_builtin`](crate::Loader::serve_builtin)
/// serves). A host whose own executable is its plugin server calls it (and
/// `serve_builtin`) first thing in `main`, before reading its arguments.
pub fn serve_requested() -> Option<ExitCode> {
    if rivet_host::vetting::scan_requested() {
        return Some(vetting::serve());
    }
    if env::var(COOKIE_VAR).as_deref() != Ok(COOKIE) || env::var_os(BUILTIN_VAR).is_some() {
        return None;
    }
    Some(match env::args_os().nth(1) {
        Some(path) => serve_target(Target::File(Path::new(&path))),
        None => {
            eprintln!("rivet-server: no plugin library given");
            ExitCode::from(2)
        }
    })
}

/// Serves the built-in plugin this process was started for, if it was
/// started to serve one (see [`Loader::serve_builtin`](crate::Loader::serve_builtin)).
pub(crate) fn serve_builtin(builtins: &[&'static Builtin]) -> Option<ExitCode> {
    let wanted = env::var(BUILTIN_VAR).ok()?;
    if env::var(COOKIE_VAR).as_deref() != Ok(COOKIE) {
        return None;
    }
    let found = wanted.split_once(':').and_then(|(interface, name)| {
        builtins
            .iter()
            .find(|builtin| builtin.interface() == interface && builtin.name() == name)
    });
    Some(match found {
        Some(builtin) => serve_target(Target::Builtin(builtin)),
        None => {
            eprintln!("{wanted}: this program has no such built-in plugin to serve");
            ExitCode::from(2)
        }
    })
}

/// Serves `target` over this process's stdin and stdout.
fn serve_target(target: Target<'_>) -> ExitCode {
    #[cfg(unix)]
    rivet_host::process::end_with_parent();
    let (input, output) = match protocol_pipes() {
        Ok(pipes) => pipes,
        Err(error) => {
            eprintln!("rivet-server: cannot set up its input and output: {error}");
            return ExitCode::FAILURE;
        }
    };
    let level = env::var(LOG_VAR)
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    // Requests are read spinning briefly before blocking (see
    // `process::wait`), as the host reads replies.
    #[cfg(unix)]
    let input = match crate::process::wait::SpinningPipe::new(input) {
        Ok(input) => input,
        Err(error) => {
            eprintln!("rivet-server: cannot set up its input: {error}");
            return ExitCode::FAILURE;
        }
    };
    match serve(
        &target,
        level,
        BufReader::new(input),
        BufWriter::new(output),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rivet-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The protocol's input and output: duplicates of stdin and stdout that
/// the plugin's child processes do not inherit (close-on-exec), with stdin
/// itself then pointed at `/dev/null` and stdout at stderr, so that a
/// plugin printing cannot corrupt frames, and a process the plugin starts
/// can neither read the host's requests nor keep the pipes open after the
/// server ended (the host sees the end of a server that crashed, or that
/// it killed, when the pipes close).
#[cfg(unix)]
fn protocol_pipes() -> io::Result<(File, File)> {
    use std::os::fd::{AsRawFd, FromRawFd};

    let null = File::open("/dev/null")?;
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` and `dup2` on the standard
    // descriptors, which this process owns, and on `null`, which lives
    // through the calls; each duplicate is owned by the returned `File`
    // alone.
    unsafe {
        let input = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3);
        if input < 0 {
            return Err(io::Error::last_os_error());
        }
        let input = File::from_raw_fd(input);
        let output = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if output < 0 {
            return Err(io::Error::last_os_error());
        }
        let output = File::from_raw_fd(output);
        if libc::dup2(null.as_raw_fd(), 0) < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((input, output))
    }
}

/// Isolated mode is Unix-only (see `process`): no host starts a server
/// here, so a server run by hand says so.
#[cfg(not(unix))]
fn protocol_pipes() -> io::Result<(File, File)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "plugins run isolated on Unix only",
    ))
}

/// The server's connection to the host, shared by the request loop and
/// the plugin's callbacks (which may come from any of the plugin's
/// threads); leaked, so that a plugin's client can never outlive it.
struct Connection {
    input: Box<dyn Read + Send>,
    output: Box<dyn Write + Send>,
    /// Whether the host is waiting for a reply (to a call or to `Start`),
    /// and so answers callbacks.
    listening: bool,
}

type Shared = Mutex<Connection>;

fn lock(connection: &Shared) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

fn serve(
    target: &Target<'_>,
    level: log::LevelFilter,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> Result<(), FrameError> {
    let connection: &'static Shared = Box::leak(Box::new(Mutex::new(Connection {
        input: Box::new(input),
        output: Box::new(output),
        listening: false,
    })));
    let (config, host) = match read_frame::<Request>(&mut lock(connection).input)? {
        Some(Request::Start { config, host }) => (config, host),
        Some(_) | None => return Ok(()),
    };
    let host = if host {
        HostRef {
            object: Instance(std::ptr::from_ref(connection).cast_mut().cast::<c_void>()),
            remote: Some(remote),
            ..HostRef::none()
        }
    } else {
        HostRef::none()
    };
    lock(connection).listening = true;
    let started = start(target, level, &config, host);
    let mut guard = lock(connection);
    guard.listening = false;
    let (module, instance) = match started {
        Ok(started) => started,
        Err(message) => {
            return write_frame(
                &mut guard.output,
                &Response::Hello(Hello::Failed { message }),
            );
        }
    };
    let id = module.interface();
    let info = module.plugin();
    write_frame(
        &mut guard.output,
        &Response::Hello(Hello::Ready {
            protocol: PROTOCOL_VERSION,
            interface: [id.name, id.version, id.signature].map(|s| s.to_string()),
            host: [id.host, id.host_signature].map(|s| s.to_string()),
            plugin: [info.name, info.version, info.description].map(|s| s.to_string()),
        }),
    )?;
    drop(guard);
    let dispatch = module.dispatch();
    let result = loop {
        let request = {
            let mut guard = lock(connection);
            let request = read_frame::<Request>(&mut guard.input);
            guard.listening = matches!(request, Ok(Some(Request::Call { .. })));
            request
        };
        match request {
            Ok(Some(Request::Call { method, args })) => {
                // The plugin runs without the lock: its callbacks take it.
                let reply: Reply = dispatch(instance, method, RSlice::from_slice(&args))
                    .into_result()
                    .map(|bytes| bytes.into_vec())
                    .map_err(|error| (error.kind, error.message.into()));
                let mut guard = lock(connection);
                guard.listening = false;
                if let Err(error) = write_frame(&mut guard.output, &Response::Reply(reply)) {
                    break Err(error);
                }
            }
            Ok(Some(Request::Start { .. } | Request::Answer(_))) | Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    module.drop()(instance);
    result
}

/// A plugin's call to its host's object: a callback request to the host,
/// then its answer, under the connection's lock (so that callbacks from
/// several of the plugin's threads take turns).
extern "C" fn remote(
    object: Instance,
    method: u32,
    args: RSlice<'_, u8>,
) -> RResult<RVec<u8>, RError> {
    // SAFETY: `object` is the leaked `'static` connection `serve` made this
    // `HostRef` with.
    let connection = unsafe { &*object.0.cast_const().cast::<Shared>() };
    let mut guard = lock(connection);
    if !guard.listening {
        return RResult::RErr(RError::new(
            ErrorKind::Failed,
            "an isolated plugin can call its host only while the host calls it (during a method or its creation)",
        ));
    }
    let connection = &mut *guard;
    let sent = write_frame(
        &mut connection.output,
        &Response::Callback {
            method,
            args: args.to_vec(),
        },
    );
    let answer = sent.and_then(|()| read_frame::<Request>(&mut connection.input));
    match answer {
        Ok(Some(Request::Answer(Ok(bytes)))) => RResult::ROk(RVec::from(bytes)),
        Ok(Some(Request::Answer(Err((kind, message))))) => {
            RResult::RErr(RError::new(kind, message))
        }
        Ok(_) => RResult::RErr(RError::new(
            ErrorKind::Protocol,
            "the host did not answer the callback",
        )),
        Err(error) => RResult::RErr(RError::new(
            ErrorKind::Failed,
            format!("the connection to the host failed: {error}"),
        )),
    }
}

/// The plugin file `path`: the host's checked file when it handed it over
/// (descriptor 3, see `process::FD_VAR`), else opened here; either way
/// checked against its sidecar.
fn inherited_or_opened(path: &Path) -> Result<integrity::Verified, rivet_host::IntegrityError> {
    #[cfg(target_os = "linux")]
    if env::var(crate::process::FD_VAR)
        .is_ok_and(|fd| fd == rivet_host::process::INHERITED_FD.to_string())
    {
        use std::os::fd::FromRawFd;
        // SAFETY: the host started this process with its open plugin file
        // as descriptor 3 (`inherit_as_fd3`) and says so in `FD_VAR`;
        // nothing else in this process owns descriptor 3.
        let file = unsafe { File::from_raw_fd(rivet_host::process::INHERITED_FD) };
        return integrity::verify_inherited(file, path);
    }
    integrity::open_verified(path, false)
}

/// Loads the library (or initialises the built-in plugin) and creates the
/// instance, handing it `host`; the error is the message for the host.
fn start(
    target: &Target<'_>,
    level: log::LevelFilter,
    config: &str,
    host: HostRef,
) -> Result<(PluginModRef, Instance), String> {
    let module = match target {
        Target::File(path) => {
            // The host checked the file before starting this server; the
            // checksum is checked again on the descriptor loaded here, so
            // what runs is what the sidecar lists even if the file was
            // swapped in between.
            let verified = inherited_or_opened(path).map_err(|error| error.to_string())?;
            library::open(path, verified, log_bridge::stderr_sink(level))
                .map_err(|error| error.to_string())?
        }
        Target::Builtin(builtin) => {
            let module = builtin.module();
            let label = PathBuf::from(format!("built-in plugin `{}`", builtin.name()));
            library::init(&label, module, log_bridge::stderr_sink(level))
                .map_err(|error| error.to_string())?;
            module
        }
    };
    let instance = module.create()(RStr::from_str(config), host)
        .into_result()
        .map_err(|error| error.message.to_string())?;
    Ok((module, instance))
}
