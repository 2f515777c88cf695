//! Helpers for the tests that run the real `rivet` binary: running it with a
//! fresh home, or with a time limit while measuring its peak memory,
//! describing its output in failure messages, and a copy of the example
//! site to build.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{copy_dir, rivet, workspace_root};

/// `bytes` (a process's stdout or stderr) as text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit status, stdout and stderr of `output`, for a failure message.
pub fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// The stdout of `output` as text, after checking that the command
/// succeeded (failing the test with [`describe`] when it did not).
pub fn success_stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    text(&output.stdout)
}

/// Runs `rivet ARGS` in `cwd` with a fresh home (see [`rivet`]) and the
/// variables `env` set, returning its output.
pub fn run_rivet(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_rivet_with(cwd, args, env, |_| {})
}

/// [`run_rivet`], with `adjust` given the command after its arguments are
/// added and before the variables `env` are set (so `env` wins over it).
pub fn run_rivet_with(
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    adjust: impl FnOnce(&mut Command),
) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = rivet(home.path(), cwd);
    command.args(args);
    adjust(&mut command);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("rivet runs")
}

/// A copy of `examples/site` (without any `build/` left in the repo) in a
/// fresh temporary directory.
pub fn example_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace_root().join("examples/site");
    for entry in ["site.toml", "www", "extra"] {
        let from = example.join(entry);
        if from.is_dir() {
            copy_dir(&from, &dir.path().join(entry));
        } else {
            fs::copy(&from, dir.path().join(entry)).unwrap();
        }
    }
    dir
}

/// The archive `rivet build` (from `target/debug`, with the plugin files
/// there) makes of a fresh copy of the example site: the bytes other ways
/// of building it must give.
pub fn reference_site_archive() -> Vec<u8> {
    let reference = example_site();
    let output = rivet(reference.path(), reference.path())
        .args(["build", "site.toml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    fs::read(reference.path().join("build/site.tar.gz")).unwrap()
}

/// The row of `rivet plugins list`'s output `stdout` that ends with the
/// plugin file name `file_name` (panicking, with the output, when none does).
pub fn plugin_row<'a>(stdout: &'a str, file_name: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.ends_with(file_name))
        .unwrap_or_else(|| panic!("no row for {file_name}:\n{stdout}"))
}

/// How a process run by [`run_bounded`] ended.
#[derive(Debug)]
pub struct Bounded {
    /// Its exit status and output.
    pub output: Output,
    /// The peak resident memory of the process (and of the children it
    /// waited for), in bytes: `wait4`'s `ru_maxrss`. An upper bound: Linux
    /// counts in it the memory of the test process it was started from,
    /// as it was when the command was started.
    pub peak_rss: u64,
}

/// Runs `command` to its end with stdin closed, and returns its output and
/// peak memory. A process still running after `timeout` is killed and the
/// test fails with what it printed so far: a hang fails instead of blocking
/// the tests forever.
#[cfg(unix)]
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by `wait4`, which also gives its peak memory"
)]
pub fn run_bounded(command: &mut Command, timeout: Duration) -> Bounded {
    use std::os::unix::process::ExitStatusExt;

    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + timeout;
    let mut status = 0;
    // SAFETY: `rusage` is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: `pid` is our child, not reaped yet (std's `Child` only
        // reaps in `wait`, never called here); `status` and `usage` are
        // valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(reaped >= 0, "wait4: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        if !timed_out && Instant::now() >= deadline {
            timed_out = true;
            // SAFETY: `pid` is our child and not reaped, so it names it.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    assert!(
        !timed_out,
        "{command:?} did not end within {timeout:?}; killed it. {}",
        describe(&output)
    );
    Bounded {
        output,
        // Linux counts `ru_maxrss` in KiB.
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
    }
}
