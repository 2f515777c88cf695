//! The host side of vetting: scanner processes, fed one file at a time.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use rivet_abi::frame::{read_frame, write_frame};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::child::{SCAN_PROTOCOL, ScanReply, select_scan_mode};
use crate::parallel::in_parallel_with;
use crate::process::describe_status;
use crate::vetting::{Refusal, ScanRequest, ScanSettings, Verdict, cannot_vet};

/// How many files one scanner loads before it is replaced, which bounds its
/// memory (1,000 small plugins in one scanner took 290 MB).
const FILES_PER_SCANNER: usize = 100;

/// Scans `requests`, one scanner process per core, each going from file to
/// file and replaced when a file kills it. The verdicts come in the
/// requests' order; `Err` says why a file could not be vetted at all (no
/// scanner could be started), which says nothing about the file.
pub fn scan<P: Serialize + Sync, M: DeserializeOwned + Send + 'static>(
    settings: &ScanSettings,
    requests: &[ScanRequest<P>],
) -> Vec<Result<Verdict<M>, String>> {
    in_parallel_with(
        requests,
        || None,
        |scanner: &mut Option<Scanner<M>>, request| vet(settings, scanner, request),
    )
}

/// Scans the open `file` itself, not whatever its path names by now: a
/// scanner of its own gets the descriptor as its fd 3 and loads
/// `/proc/self/fd/3` (Linux). `request` names the file for messages and
/// says which plugin it must hold.
#[cfg(target_os = "linux")]
pub(super) fn scan_open_file<P: Serialize + Clone, M: DeserializeOwned + Send + 'static>(
    settings: &ScanSettings,
    file: &std::fs::File,
    request: &ScanRequest<P>,
) -> Result<Verdict<M>, String> {
    let mut scanner =
        Scanner::start(settings, Some(file)).map_err(|why| cannot_vet(&request.path, &why))?;
    let inherited = ScanRequest {
        path: INHERITED_FILE.into(),
        plugin: request.plugin.clone(),
    };
    // The scanner's messages name the file as it saw it.
    let named = |message: String| message.replace(INHERITED_FILE, &request.path.to_string_lossy());
    match scanner.vet(&inherited, settings.timeout) {
        Outcome::Vetted(Verdict::Loaded(outcome)) => Ok(Verdict::Loaded(outcome.map_err(named))),
        Outcome::Vetted(verdict) => Ok(verdict),
        Outcome::Unchecked(message) => Err(named(message)),
        Outcome::Died(what) => Ok(quarantined(request, &what)),
    }
}

/// Where a scanner started by [`scan_open_file`] finds its file.
#[cfg(target_os = "linux")]
const INHERITED_FILE: &str = "/proc/self/fd/3";

/// The verdict for a file that killed, hung or garbled a scanner.
fn quarantined<P, M>(request: &ScanRequest<P>, what: &str) -> Verdict<M> {
    Verdict::Quarantined(format!(
        "{}: quarantined: {what}; it will not be loaded until the file changes: fix or \
         rebuild the plugin, or remove the file",
        request.path.display()
    ))
}

/// Vets one file with the thread's scanner, starting one when needed. A
/// file that kills a scanner which had loaded other files before is tried
/// once more in a fresh one, so a plugin that crashes its process some time
/// after loading does not get the next file quarantined.
fn vet<P: Serialize, M: DeserializeOwned + Send + 'static>(
    settings: &ScanSettings,
    scanner: &mut Option<Scanner<M>>,
    request: &ScanRequest<P>,
) -> Result<Verdict<M>, String> {
    if scanner
        .as_ref()
        .is_some_and(|s| s.loaded >= FILES_PER_SCANNER)
    {
        // Every library it loaded stays mapped: start afresh now and then.
        scanner.take();
    }
    for attempt in 0..2 {
        let current = match scanner {
            Some(current) => current,
            None => scanner.insert(
                Scanner::start(settings, None).map_err(|why| cannot_vet(&request.path, &why))?,
            ),
        };
        let fresh = current.loaded == 0;
        match current.vet(request, settings.timeout) {
            Outcome::Vetted(verdict) => return Ok(verdict),
            Outcome::Unchecked(message) => return Err(message),
            Outcome::Died(what) => {
                // Dropping it kills what is left of it.
                scanner.take();
                if fresh || attempt == 1 {
                    return Ok(quarantined(request, &what));
                }
            }
        }
    }
    unreachable!("the second attempt always returns")
}

/// What loading one file in a scanner came to.
enum Outcome<M> {
    /// The scanner loaded it, or tried to and reported the error.
    Vetted(Verdict<M>),
    /// The scanner refused it before opening it (permissions, checksum):
    /// that says nothing about what its code does, nor is it kept, as it
    /// depends on the loader's settings. The message names the file.
    Unchecked(String),
    /// Loading it ended, hung or garbled the scanner: how.
    Died(String),
}

/// What a reader thread passes on from a scanner's channel.
type Reply<M> = Result<Option<ScanReply<M>>, String>;

/// One scanner process.
struct Scanner<M> {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Reply<M>>,
    /// How many files it has loaded so far.
    loaded: usize,
}

impl<M: DeserializeOwned + Send + 'static> Scanner<M> {
    /// Starts a scanner and waits for its `Ready`; `file`, when given,
    /// becomes the scanner's fd 3.
    fn start(settings: &ScanSettings, file: Option<&std::fs::File>) -> Result<Scanner<M>, String> {
        let cannot = |why: String| {
            format!(
                "cannot vet plugin files: the scanner `{}` {why}; check that \
                 it is the plugin server built with this host",
                settings.server.display()
            )
        };
        let mut command = Command::new(&settings.server);
        select_scan_mode(&mut command);
        command.envs(settings.env.iter().map(|(name, value)| (name, value)));
        #[cfg(target_os = "linux")]
        if let Some(file) = file {
            crate::process::inherit_as_fd3(&mut command, file);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = file;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| cannot(format!("did not start ({error})")))?;
        let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
            (Some(stdin), Some(stdout)) => (stdin, stdout),
            _ => unreachable!("both were piped"),
        };
        let (sender, replies) = mpsc::channel();
        thread::spawn(move || {
            let mut stdout = stdout;
            loop {
                let reply = read_frame::<ScanReply<M>>(&mut stdout).map_err(|e| e.to_string());
                let last = !matches!(reply, Ok(Some(_)));
                if sender.send(reply).is_err() || last {
                    return;
                }
            }
        });
        let scanner = Scanner {
            child,
            stdin,
            replies,
            loaded: 0,
        };
        match scanner.replies.recv_timeout(settings.timeout) {
            Ok(Ok(Some(ScanReply::Ready {
                protocol: SCAN_PROTOCOL,
            }))) => Ok(scanner),
            other => {
                drop(scanner);
                let answer = match other {
                    Ok(Ok(Some(ScanReply::Ready { protocol }))) => format!("protocol {protocol}"),
                    Ok(Ok(Some(_))) => "a reply before `Ready`".to_owned(),
                    Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => "it ended".to_owned(),
                    Ok(Err(garbage)) => garbage,
                    Err(RecvTimeoutError::Timeout) => "no answer in time".to_owned(),
                };
                Err(cannot(format!(
                    "did not answer as a scanner of protocol {SCAN_PROTOCOL} ({answer})"
                )))
            }
        }
    }

    /// Has the scanner load `request`.
    fn vet<P: Serialize>(&mut self, request: &ScanRequest<P>, timeout: Duration) -> Outcome<M> {
        let sent = write_frame(&mut self.stdin, request)
            .map_err(|e| e.to_string())
            .and_then(|()| self.stdin.flush().map_err(|e| e.to_string()));
        let reply = match sent {
            Ok(()) => self.replies.recv_timeout(timeout),
            // It died before reading: its status tells why.
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        self.loaded += 1;
        match reply {
            Ok(Ok(Some(ScanReply::Loaded(metadata)))) => {
                Outcome::Vetted(Verdict::Loaded(Ok(metadata)))
            }
            Ok(Ok(Some(ScanReply::Refused(Refusal {
                message,
                opened: true,
            })))) => Outcome::Vetted(Verdict::Loaded(Err(message))),
            Ok(Ok(Some(ScanReply::Refused(Refusal {
                message,
                opened: false,
            })))) => Outcome::Unchecked(message),
            Ok(Ok(Some(ScanReply::Ready { .. }))) => Outcome::Died(
                "loading it garbled the scanner's replies (a second `Ready`)".to_owned(),
            ),
            Ok(Err(garbage)) => Outcome::Died(format!(
                "loading it garbled the scanner's replies ({garbage})"
            )),
            Ok(Ok(None)) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().map(describe_status);
                Outcome::Died(format!(
                    "loading it ended the plugin scanner process ({}): a library \
                     constructor or the plugin's `init` crashes or exits",
                    status.unwrap_or_else(|e| e.to_string())
                ))
            }
            Err(RecvTimeoutError::Timeout) => Outcome::Died(format!(
                "loading it did not finish within {} s: a library constructor or the \
                 plugin's `init` hangs; if it is only slow, raise the scan timeout",
                timeout.as_secs_f64()
            )),
        }
    }
}

impl<M> Drop for Scanner<M> {
    /// Ends the scanner at once (between files it only waits for the next
    /// request) and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
