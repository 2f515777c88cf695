//! Helpers for the host's child processes (Unix): how one ended, and the
//! private channel of a child whose stdout plugins may write to.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};

/// Ends this process (with `_exit`, running nothing of the plugin's) once
/// the process that started it ends: a thread checks every 100 ms whether
/// this process was reparented. A plugin server or scanner calls it first
/// thing, so that a host killed while a plugin's constructor runs (before
/// the server reads anything, and so before it could see its input end)
/// leaves no process behind. (Not `PR_SET_PDEATHSIG`: that fires when the
/// host's *thread* that started the server ends, which a host's worker
/// threads do.)
pub fn end_with_parent() {
    // SAFETY: `getppid` has no preconditions.
    let parent = unsafe { libc::getppid() };
    let (started, running) = std::sync::mpsc::channel();
    let watch = move || {
        let _ = started.send(());
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            // SAFETY: as above.
            if unsafe { libc::getppid() } != parent {
                // SAFETY: `_exit` ends the process without running
                // anything else (no destructors of the plugin's statics).
                unsafe { libc::_exit(1) };
            }
        }
    };
    match std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(watch)
    {
        // Until the thread runs its loop, it may still need locks (of the
        // dynamic linker, for thread-local storage) that a plugin's library
        // constructor, run next, holds while it runs: wait for it.
        Ok(_) => {
            let _ = running.recv();
        }
        Err(error) => eprintln!("cannot watch the host process: {error}"),
    }
}

/// The descriptor a child started with [`inherit_as_fd3`] finds its file at.
pub const INHERITED_FD: i32 = 3;

/// Has the child `command` starts inherit `file` as its descriptor 3 (and
/// only that copy of it): the child then works on the very file the
/// parent opened and checked, not on whatever its path names by then.
/// `file` must stay open until the child has started.
pub fn inherit_as_fd3(command: &mut Command, file: &File) {
    let fd = file.as_raw_fd();
    // SAFETY: between fork and exec the closure only calls `dup2` or
    // `fcntl`, which are async-signal-safe; `fd` is open in the parent
    // (the caller keeps `file` open until the child started) and so in the
    // child. `dup2` leaves the copy without close-on-exec, so the child
    // has it.
    unsafe {
        command.pre_exec(move || {
            // `dup2` onto itself would keep close-on-exec: clear it.
            let done = if fd == INHERITED_FD {
                libc::fcntl(INHERITED_FD, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, INHERITED_FD)
            };
            if done < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// How a child process ended, for messages (after "its process"):
/// `exited with status 3`, `was killed by signal 11 (SIGSEGV)`.
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGBUS => " (SIGBUS)",
                libc::SIGILL => " (SIGILL)",
                libc::SIGFPE => " (SIGFPE)",
                libc::SIGTERM => " (SIGTERM)",
                _ => "",
            };
            format!("was killed by signal {signal}{name}")
        }
        None => "ended".to_owned(),
    }
}

/// Keeps the real stdout for the host's protocol only, returning it: from
/// now on this process's fd 1 (where a plugin's `println!` goes) is its
/// stderr, so nothing a plugin prints can be mistaken for a message.
pub fn private_stdout() -> Result<File, String> {
    // SAFETY: `dup` and `dup2` are called on the process's standard
    // descriptors, which are open; the duplicate is owned by the returned
    // `File` and by nothing else.
    unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(format!(
                "cannot set up stdout: {}",
                io::Error::last_os_error()
            ));
        }
        Ok(File::from_raw_fd(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_how_the_process_ended() {
        assert_eq!(
            describe_status(ExitStatus::from_raw(3 << 8)),
            "exited with status 3"
        );
        assert_eq!(
            describe_status(ExitStatus::from_raw(libc::SIGSEGV)),
            "was killed by signal 11 (SIGSEGV)"
        );
    }
}
