//! The host side of vetting: scanner processes, fed one file at a time.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use super::ScanSettings;
use super::child::{SCAN_PROTOCOL, ScanEnv, ScanReply};
use crate::isolated::protocol::{read_frame, write_frame};
use crate::isolated::unix::process::describe as describe_status;
use crate::parallel::in_parallel_with;
use crate::vetting::{ScanRequest, Verdict, cannot_vet};

/// How many files one scanner loads before it is replaced, which bounds its
/// memory (1,000 small plugins in one scanner took 290 MB).
const FILES_PER_SCANNER: usize = 100;

/// Scans `requests`, one scanner process per core, each going from file to
/// file and replaced when a file kills it. The verdicts come in the
/// requests' order; `Err` says why a file could not be vetted at all (no
/// scanner could be started), which says nothing about the file.
pub(crate) fn scan(
    settings: &ScanSettings,
    requests: &[ScanRequest],
) -> Vec<Result<Verdict, String>> {
    in_parallel_with(
        requests,
        || None,
        |scanner: &mut Option<Scanner>, request| vet(settings, scanner, request),
    )
}

/// Scans the open `file` itself, not whatever its path names by now: a
/// scanner of its own gets the descriptor as its fd 3 and loads
/// `/proc/self/fd/3` (Linux). `request` names the file for messages and
/// says which plugin it must hold.
#[cfg(target_os = "linux")]
pub(crate) fn scan_open_file(
    settings: &ScanSettings,
    file: &std::fs::File,
    request: &ScanRequest,
) -> Result<Verdict, String> {
    let mut scanner =
        Scanner::start(settings, Some(file)).map_err(|why| cannot_vet(request, &why))?;
    let inherited = ScanRequest {
        path: INHERITED_FILE.into(),
        ..request.clone()
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
fn quarantined(request: &ScanRequest, what: &str) -> Verdict {
    Verdict::Quarantined(format!(
        "{}: quarantined: {what}; Rivet will not load it until the file changes: fix or \
         rebuild the plugin, or remove the file",
        request.path.display()
    ))
}

/// Vets one file with the thread's scanner, starting one when needed. A
/// file that kills a scanner which had loaded other files before is tried
/// once more in a fresh one, so a plugin that crashes its process some time
/// after loading does not get the next file quarantined.
fn vet(
    settings: &ScanSettings,
    scanner: &mut Option<Scanner>,
    request: &ScanRequest,
) -> Result<Verdict, String> {
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
            None => scanner
                .insert(Scanner::start(settings, None).map_err(|why| cannot_vet(request, &why))?),
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
enum Outcome {
    /// The scanner loaded it, or tried to and reported the error.
    Vetted(Verdict),
    /// The scanner refused it before opening it (permissions, checksum):
    /// that says nothing about what its code does, nor is it kept, as it
    /// depends on the loader's settings. The message names the file.
    Unchecked(String),
    /// Loading it ended, hung or garbled the scanner: how.
    Died(String),
}

/// What a reader thread passes on from a scanner's channel.
type Reply = Result<Option<ScanReply>, String>;

/// One scanner process.
struct Scanner {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Reply>,
    /// How many files it has loaded so far.
    loaded: usize,
}

impl Scanner {
    /// Starts a scanner and waits for its `Ready`; `file`, when given,
    /// becomes the scanner's fd 3.
    fn start(settings: &ScanSettings, file: Option<&std::fs::File>) -> Result<Scanner, String> {
        let cannot = |why: String| {
            format!(
                "cannot vet plugin files: the scanner `{}` {why}; check that \
                 rivet-plugin-server is the one built with this host",
                settings.server.display()
            )
        };
        let mut command = Command::new(&settings.server);
        ScanEnv {
            allow_insecure: settings.allow_insecure,
            install_dir: settings.install_dir.clone(),
        }
        .apply(&mut command);
        #[cfg(target_os = "linux")]
        if let Some(file) = file {
            use std::os::fd::AsRawFd;
            use std::os::unix::process::CommandExt;
            let fd = file.as_raw_fd();
            // SAFETY: between fork and exec the closure only calls `dup2`
            // or `fcntl`, which are async-signal-safe; `fd` is open in the parent (it is
            // borrowed for the whole call) and so in the child. `dup2`
            // leaves the copy without close-on-exec, so the scanner has it.
            unsafe {
                command.pre_exec(move || {
                    // `dup2` onto itself would keep close-on-exec: clear it.
                    let done = if fd == 3 {
                        libc::fcntl(3, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(fd, 3)
                    };
                    if done < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
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
                let reply = read_frame::<ScanReply>(&mut stdout).map_err(|e| e.to_string());
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
                Err(cannot(format!(
                    "did not answer as a scanner of protocol {SCAN_PROTOCOL} ({other:?})"
                )))
            }
        }
    }

    /// Has the scanner load `request`.
    fn vet(&mut self, request: &ScanRequest, timeout: Duration) -> Outcome {
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
            Ok(Ok(Some(ScanReply::Refused {
                message,
                opened: true,
            }))) => Outcome::Vetted(Verdict::Loaded(Err(message))),
            Ok(Ok(Some(ScanReply::Refused {
                message,
                opened: false,
            }))) => Outcome::Unchecked(message),
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

impl Drop for Scanner {
    /// Ends the scanner at once (between files it only waits for the next
    /// request) and reaps it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
