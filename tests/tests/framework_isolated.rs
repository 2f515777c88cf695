//! The framework's isolated mode under failure, with real plugins: a call
//! that hangs times out, a crash fails its call, and the next call runs on
//! a fresh server (up to the restart limit); a server that never answers
//! fails the load within the handshake timeout; a hostile frame length is
//! refused.
//!
//! The limits here are generous (seconds for calls that would otherwise
//! take ten minutes): these tests assert what happened, never how fast.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rivet::{Config, Error, LoadError, Loader, Mode};
use rivet_tests::{fixture, framework_config};
use rivet_tests_probe::{Assets, Probe, ProbeHandle, Worker};
use serde_json::json;

/// A hanging call sleeps this long: far beyond every timeout here.
const HANG_MS: u64 = 600_000;

fn config() -> Config {
    framework_config("imagine")
}

fn probe(config: Config) -> ProbeHandle {
    Loader::new(config)
        .load_file::<dyn Probe>(&fixture("framework_probe"), Mode::Process, &json!(null))
        .unwrap()
}

/// Whether process `pid` runs: it exists and is not a zombie (one that
/// ended and is not reaped yet).
fn running(pid: u32) -> bool {
    // `PID (COMMAND) STATE ...`; the command may hold spaces and parentheses.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
    })
}

#[test]
fn a_call_outliving_the_call_timeout_fails_its_server_is_killed_and_the_next_call_runs_on_a_fresh_one()
 {
    let after = Duration::from_secs(2);
    let probe = probe(config().call_timeout(Some(after)));
    let first = probe.pid().unwrap();
    assert_eq!(probe.sleep_ms(10).unwrap(), 10, "a call within the limit");

    let error = probe.sleep_ms(HANG_MS).unwrap_err();

    assert!(
        matches!(&error, Error::Timeout { plugin, method, after: limit }
            if plugin == "fixture_framework_probe" && method == "sleep_ms" && *limit == after),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("fixture_framework_probe")
            && text.contains("`sleep_ms`")
            && text.contains("2s")
            && text.contains("Config::call_timeout"),
        "{text}"
    );
    assert!(!running(first), "the timed-out server {first} still runs");
    let second = probe.pid().unwrap();
    assert_ne!(second, first, "the next call runs on a fresh server");
    assert_eq!(probe.sleep_ms(10).unwrap(), 10);
}

#[test]
fn a_crash_fails_that_call_and_the_next_call_runs_on_a_fresh_server() {
    let probe = probe(config());
    let first = probe.pid().unwrap();

    let error = probe.abort_now().unwrap_err();

    assert!(
        matches!(&error, Error::Crashed { plugin, method, status }
            if plugin == "fixture_framework_probe" && method == "abort_now" && status.contains("SIGABRT")),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("the next call starts a fresh one"),
        "{error}"
    );
    let second = probe.pid().unwrap();
    assert_ne!(second, first);

    let error = probe.exit_now(3).unwrap_err();
    assert!(
        matches!(&error, Error::Crashed { status, .. } if status == "exited with status 3"),
        "{error:?}"
    );
    assert_ne!(probe.pid().unwrap(), second);
}

#[test]
fn a_restarted_plugin_keeps_its_configuration_and_its_host_object() {
    #[derive(Default)]
    struct Store;
    impl Assets for Store {
        fn progress(&self, _done: u64, _total: u64) {}
        fn read_asset(&self, path: &str) -> Result<Vec<u8>, Error> {
            Ok(format!("asset {path}").into_bytes())
        }
    }
    let worker = Loader::new(config())
        .load_file_with_host::<dyn Worker, Store>(
            &fixture("framework_worker"),
            Mode::Process,
            &json!({"prefix": "> "}),
            Arc::new(Store),
        )
        .unwrap();
    assert_eq!(worker.work("a").unwrap(), "> ASSET A (7 bytes)");

    let error = worker.work("abort!").unwrap_err();

    assert!(matches!(error, Error::Crashed { .. }), "{error:?}");
    assert_eq!(worker.work("b").unwrap(), "> ASSET B (7 bytes)");
}

#[test]
fn a_plugin_that_keeps_crashing_is_not_restarted_beyond_the_limit() {
    let probe = probe(config().restart_limit(2, Duration::from_secs(600)));
    let mut pids = vec![probe.pid().unwrap()];
    for _ in 0..2 {
        assert!(matches!(
            probe.abort_now().unwrap_err(),
            Error::Crashed { .. }
        ));
        // A restart, within the limit.
        pids.push(probe.pid().unwrap());
    }
    assert!(matches!(
        probe.abort_now().unwrap_err(),
        Error::Crashed { .. }
    ));

    let error = probe.pid().unwrap_err();

    assert!(
        matches!(&error, Error::CrashLoop { plugin, method, restarts: 2, window, last }
            if plugin == "fixture_framework_probe" && method == "pid"
                && *window == Duration::from_secs(600) && last.contains("SIGABRT")),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("keeps crashing") && text.contains("Config::restart_limit"),
        "{text}"
    );
    // Still refused: no server was started for the refused call.
    assert!(matches!(
        probe.sleep_ms(1).unwrap_err(),
        Error::CrashLoop { .. }
    ));
    pids.dedup();
    assert_eq!(pids.len(), 3, "{pids:?}");
}

#[test]
fn a_timeout_counts_as_a_restart() {
    let probe = probe(
        config()
            .call_timeout(Some(Duration::from_secs(2)))
            .restart_limit(0, Duration::from_secs(600)),
    );
    assert!(matches!(
        probe.sleep_ms(HANG_MS).unwrap_err(),
        Error::Timeout { .. }
    ));

    let error = probe.pid().unwrap_err();

    assert!(
        matches!(&error, Error::CrashLoop { restarts: 0, last, .. } if last.contains("timed out")),
        "{error:?}"
    );
}

/// Writes an executable shell script `name` holding `body` into `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Kills the process whose id the file `pid_file` holds, if it is there.
fn kill_from(pid_file: &Path) {
    if let Ok(pid) = fs::read_to_string(pid_file)
        && let Ok(pid) = pid.trim().parse::<libc::pid_t>()
    {
        // SAFETY: a signal to a process this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

#[test]
fn a_server_that_never_answers_fails_the_load_within_the_handshake_timeout_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleeper.pid");
    // Reads nothing and says nothing; the `sleep` it leaves behind holds
    // both pipes even once the script is killed.
    let server = script(
        dir.path(),
        "silent-server",
        &format!("sleep 600 &\necho $! > '{}'\nwait", pid_file.display()),
    );
    let file = fixture("framework_probe");
    let after = Duration::from_secs(2);
    let loader = Loader::new(config().server(&server).handshake_timeout(after));
    // A configuration larger than a pipe holds: the host's write of it
    // blocks on a server that never reads, and must time out too.
    let large = json!({"padding": "x".repeat(1 << 20)});

    for config in [json!(null), large] {
        let error = loader
            .load_file::<dyn Probe>(&file, Mode::Process, &config)
            .err()
            .expect("a silent server loaded a plugin");

        assert!(
            matches!(&error, LoadError::HandshakeTimeout { path, after: limit }
                if *path == file && *limit == after),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&file.display().to_string())
                && text.contains("Config::handshake_timeout"),
            "{text}"
        );
        kill_from(&pid_file);
    }
}

#[test]
fn a_hostile_frame_length_is_refused_without_waiting_for_it() {
    let dir = tempfile::tempdir().unwrap();
    // Announces a 2 GiB frame (0x7fffffff, little-endian), then hangs.
    let server = script(
        dir.path(),
        "hostile-server",
        r"printf '\377\377\377\177'; exec sleep 600",
    );
    let loader = Loader::new(
        config()
            .server(&server)
            .handshake_timeout(Duration::from_secs(600)),
    );

    let error = loader
        .load_file::<dyn Probe>(&fixture("framework_probe"), Mode::Process, &json!(null))
        .err()
        .expect("a hostile server loaded a plugin");

    assert!(
        matches!(&error, LoadError::Handshake { source, .. }
            if source.to_string().contains("a frame of 2147483647 bytes exceeds the limit")),
        "{error:?}"
    );
}

#[test]
fn a_process_the_plugin_started_does_not_hold_a_crashed_call_up() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    // No call timeout: only the pipes closing can end the call.
    let probe = probe(config().call_timeout(None));

    let error = probe
        .spawn_then_abort(300, pid_file.display().to_string())
        .unwrap_err();

    let sleeper: u32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let still_running = running(sleeper);
    kill_from(&pid_file);
    assert!(matches!(error, Error::Crashed { .. }), "{error:?}");
    assert!(
        still_running,
        "the call waited for the plugin's child {sleeper} to end"
    );
    assert!(probe.pid().is_ok());
}

/// The server runs the very file the host checked (Linux: handed over as
/// its descriptor 3), at the first start and at every restart: a file put
/// in its place meanwhile (here a library of another crate, which the
/// server would refuse) changes nothing for the running handle.
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_the_file_the_host_checked_even_when_the_path_changes() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir
        .path()
        .join(fixture("framework_probe").file_name().unwrap());
    fs::copy(fixture("framework_probe"), &copy).unwrap();
    let probe = Loader::new(config())
        .load_file::<dyn Probe>(&copy, Mode::Process, &json!(null))
        .unwrap();
    let other = dir.path().join("other.so");
    fs::copy(fixture("framework_worker"), &other).unwrap();
    fs::rename(&other, &copy).unwrap();

    assert!(matches!(
        probe.abort_now().unwrap_err(),
        Error::Crashed { .. }
    ));
    // The restart loads the checked file, not the library now at the path.
    assert_eq!(probe.sleep_ms(1).unwrap(), 1);
}
