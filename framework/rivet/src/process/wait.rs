//! Waiting on a pipe, on Unix: `poll(2)` with a deadline, and [`Spin`],
//! the bounded, adaptive spin both sides of isolated mode run before they
//! block.
//!
//! A blocked reader is woken by the kernel when the other side writes; on
//! a machine whose other CPUs are idle (and, in a VM, halted) that wake-up
//! costs tens of microseconds per direction, more than the rest of a small
//! call. So a side waiting for the other's message first keeps trying to
//! read it for a short while, yielding the CPU between tries (so that a
//! peer sharing this CPU, as when both are pinned to one, runs meanwhile),
//! and only then blocks. The while adapts to how long the other side takes:
//! it doubles (up to [`MAX_SPIN`]) each time the message came while
//! spinning and halves (down to [`MIN_SPIN`]) each time it did not, so a
//! plugin whose calls are slow, or a server idle between calls, soon spins
//! for next to nothing.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::thread;
use std::time::{Duration, Instant};

/// The longest one wait spins before it blocks.
pub(crate) const MAX_SPIN: Duration = Duration::from_micros(50);
/// The shortest: a spin never stops for good, so it can grow again.
pub(crate) const MIN_SPIN: Duration = Duration::from_micros(2);

/// A bounded, adaptive spin (see the [module](self) documentation).
#[derive(Debug)]
pub(crate) struct Spin {
    budget: Duration,
}

impl Spin {
    /// A spin starting at the longest budget.
    pub(crate) fn new() -> Spin {
        Spin { budget: MAX_SPIN }
    }

    /// Runs `attempt` (a non-blocking read) until it does not fail with
    /// `WouldBlock` or the budget is spent, yielding the CPU between tries;
    /// returns its last result.
    pub(crate) fn until_ready<T>(
        &mut self,
        mut attempt: impl FnMut() -> io::Result<T>,
    ) -> io::Result<T> {
        let start = Instant::now();
        loop {
            match attempt() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if start.elapsed() >= self.budget {
                        self.budget = (self.budget / 2).max(MIN_SPIN);
                        return Err(error);
                    }
                    thread::yield_now();
                }
                other => {
                    if other.is_ok() {
                        self.budget = (self.budget * 2).min(MAX_SPIN);
                    }
                    return other;
                }
            }
        }
    }
}

/// A pipe read end made non-blocking, whose reads spin (see [`Spin`]) and
/// then wait without a deadline: what the server reads requests from.
pub(crate) struct SpinningPipe {
    file: File,
    spin: Spin,
}

impl SpinningPipe {
    /// `file`, made non-blocking.
    pub(crate) fn new(file: File) -> io::Result<SpinningPipe> {
        set_nonblocking(file.as_raw_fd(), true)?;
        Ok(SpinningPipe {
            file,
            spin: Spin::new(),
        })
    }
}

impl Read for SpinningPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let file = &mut self.file;
            match self.spin.until_ready(|| file.read(buf)) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(self.file.as_raw_fd(), libc::POLLIN, None)?;
                }
                other => return other,
            }
        }
    }
}

/// Waits until `fd` has `events` (or an error or hang-up, which the next
/// read or write reports), failing with `TimedOut` at `deadline`.
pub(crate) fn wait_for(
    fd: RawFd,
    events: libc::c_short,
    deadline: Option<Instant>,
) -> io::Result<()> {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // Rounded up: never a busy loop of zero-millisecond polls.
                libc::c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX)
            }
        };
        let mut pollfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`, a live local that `poll` writes.
        match unsafe { libc::poll(&mut pollfd, 1, timeout) } {
            0 => {}
            n if n > 0 => return Ok(()),
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}

/// The pipe capacity asked for: a 64 KiB message (the default capacity)
/// then goes through in one write, without the writer waiting for the
/// reader to drain the pipe.
const PIPE_CAPACITY: libc::c_int = 1 << 20;

/// Asks for a larger capacity of the pipe `fd` is an end of (Linux;
/// elsewhere, and when refused, as by `/proc/sys/fs/pipe-max-size`, the
/// pipe keeps its capacity, which only costs speed).
pub(crate) fn grow_pipe(fd: RawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: `fcntl(F_SETPIPE_SZ)` on a pipe end the caller owns; it
    // changes only the pipe's capacity, and its failure is harmless.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_CAPACITY);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

pub(crate) fn set_nonblocking(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    // SAFETY: `fcntl` on a descriptor the caller owns (a pipe end), reading
    // and setting its status flags.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if libc::fcntl(fd, libc::F_SETFL, flags) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
