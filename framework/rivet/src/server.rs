//! The plugin server's side of isolated mode: load one plugin library,
//! create its instance, and forward each call to its generated `dispatch`.
//! It knows no interface: the library's root module is the same for all.

use std::env;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::FromRawFd;
use std::path::Path;
use std::process::ExitCode;

use rivet_abi::abi_stable::std_types::{RSlice, RStr};
use rivet_abi::frame::{read_frame, write_frame};
use rivet_abi::wire::{Hello, PROTOCOL_VERSION, Reply, Request};
use rivet_abi::{Instance, PluginModRef};

use crate::process::{COOKIE, COOKIE_VAR, LOG_VAR};
use crate::{library, log_bridge};

/// The `main` of `rivet-server`.
pub fn serve_process() -> ExitCode {
    if env::var(COOKIE_VAR).as_deref() != Ok(COOKIE) {
        eprintln!(
            "rivet-server runs a Rivet plugin in its own process for a host application; it is not meant to be executed directly"
        );
        return ExitCode::from(2);
    }
    let Some(path) = env::args_os().nth(1) else {
        eprintln!("rivet-server: no plugin library given");
        return ExitCode::from(2);
    };
    let output = match protocol_output() {
        Ok(output) => output,
        Err(error) => {
            eprintln!("rivet-server: cannot set up its output: {error}");
            return ExitCode::FAILURE;
        }
    };
    let level = env::var(LOG_VAR)
        .ok()
        .and_then(|level| level.parse().ok())
        .unwrap_or(log::LevelFilter::Warn);
    match serve(
        Path::new(&path),
        level,
        BufReader::new(io::stdin().lock()),
        BufWriter::new(output),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rivet-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The protocol's output: a duplicate of stdout, with stdout itself then
/// pointed at stderr, so that a plugin printing cannot corrupt frames.
fn protocol_output() -> io::Result<File> {
    // SAFETY: `dup` and `dup2` on the standard descriptors, which this
    // process owns; the duplicate is owned by the returned `File` alone.
    unsafe {
        let protocol = libc::dup(1);
        if protocol < 0 || libc::dup2(2, 1) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(File::from_raw_fd(protocol))
    }
}

fn serve(
    path: &Path,
    level: log::LevelFilter,
    mut input: impl Read,
    mut output: impl Write,
) -> Result<(), rivet_abi::frame::FrameError> {
    let config = match read_frame::<Request>(&mut input)? {
        Some(Request::Start { config }) => config,
        Some(Request::Call { .. }) | None => return Ok(()),
    };
    let (module, instance) = match start(path, level, &config) {
        Ok(started) => started,
        Err(message) => return write_frame(&mut output, &Hello::Failed { message }),
    };
    let id = module.interface();
    let info = module.plugin();
    write_frame(
        &mut output,
        &Hello::Ready {
            protocol: PROTOCOL_VERSION,
            interface: [id.name, id.version, id.signature].map(|s| s.to_string()),
            plugin: [info.name, info.version, info.description].map(|s| s.to_string()),
        },
    )?;
    let dispatch = module.dispatch();
    let result = loop {
        match read_frame::<Request>(&mut input) {
            Ok(Some(Request::Call { method, args })) => {
                let reply: Reply = dispatch(instance, method, RSlice::from_slice(&args))
                    .into_result()
                    .map(|bytes| bytes.into_vec())
                    .map_err(|error| (error.kind, error.message.into()));
                if let Err(error) = write_frame(&mut output, &reply) {
                    break Err(error);
                }
            }
            Ok(Some(Request::Start { .. })) | Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    module.drop()(instance);
    result
}

/// Loads the library and creates the instance; the error is the message
/// for the host.
fn start(
    path: &Path,
    level: log::LevelFilter,
    config: &str,
) -> Result<(PluginModRef, Instance), String> {
    let module =
        library::open(path, log_bridge::stderr_sink(level)).map_err(|error| error.to_string())?;
    let instance = module.create()(RStr::from_str(config))
        .into_result()
        .map_err(|error| error.message.to_string())?;
    Ok((module, instance))
}
