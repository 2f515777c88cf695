//! Isolated mode through the loader: plugins in their own
//! `rivet-plugin-server` process. Crashes, hangs and garbage in the plugin
//! process are errors for one call; the next call gets a fresh process; the
//! test process lives through all of it.
//!
//! Each test copies its plugin into its own temporary directory, so the
//! servers of one test are told apart from the others' (which run at the
//! same time) by the `RIVET_PLUGIN_FILE` in their environment.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rivet_loader::{Artifact, CallError, Instance, LoadError, Loader, Mode, Plugin, PluginKind};
use rivet_tests::{
    RecordingUi, UiEvent, fixture, install_in_temp_dir, is_running, isolated_loader_for,
    plugin_server, process_env, servers_for_file, wait_for_servers_for_file,
};
use tempfile::TempDir;

const LABEL: &str = "builder misbehave";

/// A temporary directory holding the `misbehave` builder, and its file.
fn misbehave_dir() -> (TempDir, PathBuf) {
    install_in_temp_dir(&fixture("misbehave"), PluginKind::Builder, "misbehave")
}

/// The `misbehave` builder, loaded in its own process by `loader`.
fn load_misbehave(loader: &Loader) -> Plugin {
    let plugin = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::Process)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(plugin.mode(), Mode::Process);
    plugin
}

/// The `misbehave` builder in its own directory, loaded in its own process.
/// The fields drop in order: the plugin first, the directory last.
struct Misbehave {
    plugin: Plugin,
    loader: Loader,
    ui: Arc<RecordingUi>,
    file: PathBuf,
    dir: TempDir,
}

/// [`misbehave_dir`], and the builder loaded by an isolated loader that
/// searches that directory, reports to a new [`RecordingUi`] and was set up
/// by `configure` before the load.
fn loaded_misbehave_with(configure: impl FnOnce(&mut Loader)) -> Misbehave {
    let (dir, file) = misbehave_dir();
    let ui = RecordingUi::new();
    let mut loader = isolated_loader_for(&[dir.path()], &ui);
    configure(&mut loader);
    let plugin = load_misbehave(&loader);
    Misbehave {
        plugin,
        loader,
        ui,
        file,
        dir,
    }
}

/// [`loaded_misbehave_with`] a loader left as it is.
fn loaded_misbehave() -> Misbehave {
    loaded_misbehave_with(|_| {})
}

/// The `echo` provisioner in a fresh directory, loaded in its own process:
/// the directory, the installed file and the plugin.
fn isolated_echo() -> (TempDir, PathBuf, Plugin) {
    let (dir, file) = install_in_temp_dir(&fixture("echo"), PluginKind::Provisioner, "echo");
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let plugin = loader
        .load_in(PluginKind::Provisioner, "echo", Mode::Process)
        .unwrap();
    (dir, file, plugin)
}

/// An instance of `misbehave` that does `action` on every build.
fn instance(plugin: &Plugin, action: &str, id: &str, base: &Path) -> Instance {
    let config = serde_json::json!({"action": action, "id": id}).to_string();
    plugin
        .prepare(&config, base)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// An instance of `misbehave` that does `action` on its first build only
/// (it leaves the file `marker` behind), and builds normally after that.
fn instance_once(plugin: &Plugin, action: &str, id: &str, marker: &Path) -> Instance {
    let config = serde_json::json!({"action": action, "id": id, "once": marker}).to_string();
    plugin
        .prepare(&config, Path::new("."))
        .unwrap_or_else(|error| panic!("{error}"))
}

/// The one server process serving `file` (waiting a little for a server
/// that is still starting to show up in /proc).
fn the_server(file: &Path) -> u32 {
    let servers = wait_for_servers_for_file(file);
    assert_eq!(
        servers.len(),
        1,
        "servers for {}: {servers:?}",
        file.display()
    );
    servers[0]
}

/// A crash of kind `action` fails the call with `Crashed`, naming the plugin
/// and how the process ended; the same instance works on the next call (in
/// a fresh process), and so does another instance of the same plugin.
fn crash_then_recover(action: &str, expected_status: &str) {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let marker = dir.path().join("crashed-once");
    let crasher = instance_once(plugin, action, "crasher", &marker);
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
    let first_server = the_server(file);

    let error = crasher.build().unwrap_err();

    match &error {
        CallError::Crashed { plugin, status } => {
            assert_eq!(plugin, LABEL);
            assert!(status.contains(expected_status), "{action}: {status}");
        }
        other => panic!("{action}: expected Crashed, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains(LABEL) && message.contains(expected_status),
        "{message}"
    );
    assert!(marker.exists(), "the plugin did not run");
    assert!(!is_running(first_server), "the crashed process still runs");

    // The next call on the same instance runs in a fresh process.
    assert_eq!(crasher.build().unwrap().id, "crasher");
    let second_server = the_server(file);
    assert_ne!(second_server, first_server);
    // The other instance is prepared again in the new process.
    assert_eq!(steady.build().unwrap().id, "steady");
    assert_eq!(the_server(file), second_server);
}

#[test]
fn an_abort_is_a_crash_of_one_call() {
    crash_then_recover("abort", "SIGABRT");
}

#[test]
fn a_segfault_is_a_crash_of_one_call() {
    crash_then_recover("segfault", "SIGSEGV");
}

#[test]
fn an_exit_is_a_crash_of_one_call() {
    crash_then_recover("exit", "status 7");
}

#[test]
fn a_panic_that_cannot_be_caught_is_a_crash_of_one_call() {
    crash_then_recover("escaping-panic", "SIGABRT");
}

/// The plugin forks a child that keeps every descriptor, the server's end
/// of the connection included, and sleeps 30 s; then the server aborts. The
/// socket stays open, but the host watches the process: the call fails as a
/// crash at once, not when the child exits (nor at the call timeout).
#[test]
fn a_crash_is_noticed_even_when_a_forked_child_keeps_the_connection_open() {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let forker = instance(plugin, "fork-and-abort", "forker", dir.path());
    let server = the_server(file);

    let start = Instant::now();
    let error = forker.build().unwrap_err();
    let took = start.elapsed();

    match &error {
        CallError::Crashed { plugin, status } => {
            assert_eq!(plugin, LABEL);
            assert!(status.contains("SIGABRT"), "{status}");
        }
        other => panic!("expected Crashed, got {other:?}"),
    }
    assert!(took < Duration::from_secs(10), "noticed after {took:?}");
    assert!(!is_running(server));
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
}

/// An instance whose destructor hangs: dropping it waits the grace period
/// (1 s), not the call timeout, and neither kills the process nor holds up
/// the other instances.
#[test]
fn dropping_an_instance_whose_destructor_hangs_waits_only_the_grace_period() {
    let loaded = loaded_misbehave_with(|loader| loader.set_call_timeout(Duration::from_secs(30)));
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let hanger = instance(plugin, "hang-on-drop", "hanger", dir.path());
    assert_eq!(hanger.build().unwrap().id, "hanger");
    let server = the_server(file);

    let start = Instant::now();
    drop(hanger);
    let took = start.elapsed();

    assert!(took < Duration::from_secs(10), "the drop took {took:?}");
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
    assert!(is_running(server), "a healthy plugin process was killed");
    assert_eq!(the_server(file), server);
}

#[test]
fn a_plugin_that_always_crashes_ends_in_a_crash_loop() {
    let loaded =
        loaded_misbehave_with(|loader| loader.set_restart_limit(2, Duration::from_secs(600)));
    let Misbehave { plugin, dir, .. } = &loaded;
    let crasher = instance(plugin, "abort", "crasher", dir.path());

    // The first process, then two restarts: three crashes.
    for call in 1..=3 {
        match crasher.build() {
            Err(CallError::Crashed { plugin, status }) => {
                assert_eq!(plugin, LABEL);
                assert!(status.contains("SIGABRT"), "call {call}: {status}");
            }
            other => panic!("call {call}: expected Crashed, got {other:?}"),
        }
    }
    // Then no more restarts, for any instance of the plugin.
    for _ in 0..2 {
        match crasher.build() {
            Err(CallError::CrashLoop {
                plugin,
                restarts,
                seconds,
                last,
            }) => {
                assert_eq!(plugin, LABEL);
                assert_eq!(restarts, 2);
                assert_eq!(seconds, 600.0);
                assert!(last.contains("SIGABRT"), "{last}");
            }
            other => panic!("expected CrashLoop, got {other:?}"),
        }
    }
    let error = plugin
        .prepare(r#"{"action": "ok"}"#, dir.path())
        .unwrap_err();
    assert!(matches!(error, CallError::CrashLoop { .. }), "{error:?}");
    assert!(error.to_string().contains(LABEL), "{error}");
}

/// The restart limit counts within a window: a plugin in a crash loop is
/// refused for now, and restarted again once its restarts are older than
/// the window (a long-running host does not lose it for good).
#[test]
fn a_crash_loop_ends_when_the_restart_window_has_passed() {
    const WINDOW: Duration = Duration::from_secs(4);
    let loaded = loaded_misbehave_with(|loader| loader.set_restart_limit(1, WINDOW));
    let Misbehave { plugin, dir, .. } = &loaded;
    let crasher = instance(plugin, "abort", "crasher", dir.path());
    let crashed = |result: Result<Artifact, CallError>| match result {
        Err(CallError::Crashed { .. }) => {}
        other => panic!("expected Crashed, got {other:?}"),
    };

    // The first process, then one restart.
    crashed(crasher.build());
    crashed(crasher.build());
    match crasher.build() {
        Err(error @ CallError::CrashLoop { .. }) => {
            assert!(error.to_string().contains("within 4s"), "{error}");
        }
        other => panic!("expected CrashLoop, got {other:?}"),
    }

    thread::sleep(WINDOW);
    // Restarted again, crashing again: which counts as a restart again.
    crashed(crasher.build());
    let error = plugin
        .prepare(r#"{"action": "ok"}"#, dir.path())
        .unwrap_err();
    assert!(matches!(error, CallError::CrashLoop { .. }), "{error:?}");
}

#[test]
fn a_hanging_call_times_out_and_its_process_is_killed() {
    let loaded =
        loaded_misbehave_with(|loader| loader.set_call_timeout(Duration::from_millis(500)));
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let hanger = instance(plugin, "hang", "hanger", dir.path());
    let server = the_server(file);

    let start = Instant::now();
    let error = hanger.build().unwrap_err();
    let took = start.elapsed();

    match &error {
        CallError::Timeout { plugin, seconds } => {
            assert_eq!(plugin, LABEL);
            assert_eq!(*seconds, 0.5);
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!is_running(server), "the hanging process was not killed");
    assert!(servers_for_file(file).is_empty());

    // The plugin is usable again through a fresh process.
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
}

#[test]
fn a_call_timeout_too_long_for_a_deadline_means_no_limit() {
    let loaded = loaded_misbehave_with(|loader| loader.set_call_timeout(Duration::MAX));
    let Misbehave { plugin, dir, .. } = &loaded;

    let steady = instance(plugin, "ok", "steady", dir.path());

    assert_eq!(steady.build().unwrap().id, "steady");
}

/// Garbage written to the host's connection: the call fails quickly with a
/// protocol error (or a crash) and the process is killed.
fn garbage_on_the_socket(action: &str) {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let scribbler = instance(plugin, action, "scribbler", dir.path());
    let server = the_server(file);

    let start = Instant::now();
    let error = scribbler.build().unwrap_err();
    let took = start.elapsed();

    match &error {
        CallError::Protocol { plugin, .. } | CallError::Crashed { plugin, .. } => {
            assert_eq!(plugin, LABEL);
        }
        other => panic!("{action}: expected Protocol, got {other:?}"),
    }
    assert!(
        matches!(error, CallError::Protocol { .. }),
        "{action}: garbage should be a protocol error: {error:?}"
    );
    // The plugin sleeps 5 s after scribbling: the host must not wait for it.
    assert!(took < Duration::from_secs(3), "{action}: {took:?}");
    assert!(!is_running(server), "{action}: the process was not killed");
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
}

#[test]
fn a_huge_frame_length_on_the_socket_is_a_protocol_error() {
    garbage_on_the_socket("garbage-socket");
}

#[test]
fn an_undecodable_frame_on_the_socket_is_a_protocol_error() {
    garbage_on_the_socket("garbage-frame");
}

#[test]
fn junk_on_the_plugin_s_stdout_and_stderr_does_not_break_the_call() {
    let loaded = loaded_misbehave();
    let Misbehave { plugin, dir, .. } = &loaded;

    let noisy = instance(plugin, "garbage-output", "noisy", dir.path());
    for _ in 0..3 {
        assert_eq!(noisy.build().unwrap().id, "noisy");
    }
}

/// Bytes that are not UTF-8 on the plugin's stderr must not stop the host
/// from reading it: if the host stops, the pipe closes and the plugin's
/// next `println!` fails with EPIPE (a panic in the plugin).
#[test]
fn bytes_that_are_not_utf8_on_stderr_do_not_break_later_output() {
    let loaded = loaded_misbehave();
    let Misbehave { plugin, dir, .. } = &loaded;
    let binary = instance(plugin, "binary-output", "binary", dir.path());
    let noisy = instance(plugin, "garbage-output", "noisy", dir.path());

    assert_eq!(binary.build().unwrap().id, "binary");
    // Give the host's reader time to see the junk before printing again.
    thread::sleep(Duration::from_millis(200));

    match noisy.build() {
        Ok(artifact) => assert_eq!(artifact.id, "noisy"),
        Err(error) => panic!(
            "printing after non-UTF-8 output failed (the host stopped reading the plugin's stderr): {error}"
        ),
    }
}

#[test]
fn ui_lines_reach_the_host_ui_during_an_isolated_call() {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin, ui, dir, ..
    } = &loaded;
    let talker = instance(plugin, "say", "talker", dir.path());

    assert_eq!(talker.build().unwrap().id, "talker");

    assert_eq!(
        ui.events(LABEL),
        [
            UiEvent::Say("talker says one".into()),
            UiEvent::Message("talker says two".into()),
            UiEvent::Error("talker says three".into()),
        ]
    );
    assert_eq!(ui.plugins(), [LABEL]);
}

#[test]
fn bad_configuration_is_a_config_error_in_isolated_mode_too() {
    let loaded = loaded_misbehave();
    let Misbehave { plugin, dir, .. } = &loaded;

    let error = plugin
        .prepare(r#"{"action": "fly"}"#, dir.path())
        .unwrap_err();

    match error {
        CallError::Config { plugin, message } => {
            assert_eq!(plugin, LABEL);
            assert!(message.contains("unknown action `fly`"), "{message}");
        }
        other => panic!("expected Config, got {other:?}"),
    }
}

#[test]
fn one_instance_serves_many_threads_and_replies_never_cross() {
    const THREADS: usize = 8;
    const CALLS: usize = 1_000;
    let (dir, _file, plugin) = isolated_echo();
    let echo = Arc::new(plugin.prepare("{}", dir.path()).unwrap());

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let echo = echo.clone();
            thread::spawn(move || {
                let mut counts = Vec::with_capacity(CALLS);
                for i in 0..CALLS {
                    let id = format!("t{t}-call{i}");
                    let input = Artifact {
                        id: id.clone(),
                        root: PathBuf::from(format!("/nowhere/{t}/{i}")),
                        files: vec![format!("file-{t}-{i}")],
                        ..Artifact::default()
                    };
                    let output = echo
                        .provision(&input)
                        .unwrap_or_else(|error| panic!("{id}: {error}"));
                    assert_eq!(output.id, id);
                    assert_eq!(output.root, input.root);
                    assert_eq!(output.files, input.files);
                    assert_eq!(output.metadata["echo"], id);
                    counts.push(output.metadata["calls"].parse::<usize>().unwrap());
                }
                counts
            })
        })
        .collect();
    let counts: BTreeSet<usize> = workers
        .into_iter()
        .flat_map(|worker| worker.join().unwrap())
        .collect();

    // Every call ran exactly once, in one process (the count never restarted).
    assert_eq!(counts, (1..=THREADS * CALLS).collect::<BTreeSet<_>>());
}

#[test]
fn the_server_run_by_hand_says_what_it_is_and_fails() {
    let output = Command::new(plugin_server())
        .env_remove("RIVET_PLUGIN_COOKIE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();

    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Rivet plugin server"), "{stderr}");
    assert!(stderr.contains("not meant to be run directly"), "{stderr}");
    assert!(output.stdout.is_empty(), "{output:?}");
}

/// Writes an executable shell script, retrying the load while another
/// thread's fork still holds the file open for writing (ETXTBSY).
fn fake_server(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-server");
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn load_with_retry(loader: &Loader, kind: PluginKind, name: &str) -> Result<Plugin, LoadError> {
    for _ in 0..50 {
        match loader.load_in(kind, name, Mode::Process) {
            Err(LoadError::Isolated { message, .. }) if message.contains("Text file busy") => {
                thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
    loader.load_in(kind, name, Mode::Process)
}

#[test]
fn a_server_speaking_another_protocol_version_is_refused_naming_both() {
    let (dir, file) = misbehave_dir();
    let server = fake_server(
        dir.path(),
        "echo 'RIVET-PLUGIN|99|ok|/nowhere'\nexec sleep 30",
    );
    let mut loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    loader.set_plugin_server(&server);

    let start = Instant::now();
    let error = load_with_retry(&loader, PluginKind::Builder, "misbehave").unwrap_err();

    match &error {
        LoadError::Isolated { path, message } => {
            assert_eq!(path, &file);
            assert!(message.contains("protocol 99"), "{message}");
            assert!(message.contains("this host speaks 1"), "{message}");
        }
        other => panic!("expected Isolated, got {other:?}"),
    }
    assert!(
        error.to_string().contains(&file.display().to_string()),
        "{error}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_server_printing_no_handshake_is_refused() {
    let (dir, _file) = misbehave_dir();
    let server = fake_server(dir.path(), "echo 'hello, I am not a plugin server'");
    let mut loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    loader.set_plugin_server(&server);

    let error = load_with_retry(&loader, PluginKind::Builder, "misbehave").unwrap_err();

    match &error {
        LoadError::Isolated { message, .. } => {
            assert!(message.contains("handshake"), "{message}");
            assert!(message.contains("hello, I am not"), "{message}");
        }
        other => panic!("expected Isolated, got {other:?}"),
    }
}

#[test]
fn a_missing_server_is_reported_before_anything_starts() {
    let (dir, _file) = misbehave_dir();
    let mut loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let missing = dir.path().join("no-such-server");
    loader.set_plugin_server(&missing);

    let error = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::Process)
        .unwrap_err();

    assert!(
        matches!(&error, LoadError::ServerNotFound { path } if path == &missing),
        "{error:?}"
    );
}

#[test]
fn a_file_the_server_cannot_load_is_an_isolated_load_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir
        .path()
        .join(rivet_loader::plugin_file_name(PluginKind::Builder, "junk"));
    fs::write(&junk, "this is text, not a library\n").unwrap();
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader
        .load_in(PluginKind::Builder, "junk", Mode::Process)
        .unwrap_err();

    match &error {
        LoadError::Isolated { path, message } => {
            assert_eq!(path, &junk);
            assert!(
                message.contains(&junk.display().to_string()),
                "the server's message should name the file: {message}"
            );
            assert!(
                message.contains("not a loadable plugin library"),
                "{message}"
            );
        }
        other => panic!("expected Isolated, got {other:?}"),
    }
    assert!(servers_for_file(&junk).is_empty());
}

#[test]
fn a_client_sending_an_oversized_frame_is_cut_off_and_others_are_served() {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin, file, dir, ..
    } = &loaded;
    let steady = instance(plugin, "ok", "steady", dir.path());
    assert_eq!(steady.build().unwrap().id, "steady");
    let server = the_server(file);
    let socket = process_env(server, "RIVET_PLUGIN_SOCKET").expect("the server's socket");
    let socket_dir = Path::new(&socket).parent().unwrap();
    let expected_prefix = format!("rivet-{}-", std::process::id());
    assert!(
        socket_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&expected_prefix),
        "{socket}"
    );
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(socket_dir), 0o700, "{socket}");
    assert_eq!(mode(Path::new(&socket)), 0o600, "{socket}");

    let mut intruder = UnixStream::connect(&socket).unwrap();
    intruder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    intruder.write_all(&u32::MAX.to_le_bytes()).unwrap();
    let mut buffer = [0u8; 64];
    let read = intruder.read(&mut buffer);
    assert!(
        matches!(read, Ok(0)),
        "the server should close the connection: {read:?}"
    );

    // A well-sized frame that is not a request: cut off too.
    let mut intruder = UnixStream::connect(&socket).unwrap();
    intruder
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    intruder.write_all(&[3, 0, 0, 0, 0xff, 0xff, 0xff]).unwrap();
    let read = intruder.read(&mut buffer);
    assert!(matches!(read, Ok(0)), "{read:?}");

    // The server still serves the host.
    assert!(is_running(server));
    assert_eq!(steady.build().unwrap().id, "steady");
    assert_eq!(the_server(file), server);
}

#[test]
fn isolated_plugins_report_their_metadata_like_in_process_ones() {
    let loaded = loaded_misbehave();
    let Misbehave {
        plugin: isolated,
        loader,
        ..
    } = &loaded;
    let local = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::InProcess)
        .unwrap();

    assert_eq!(isolated.metadata(), local.metadata());
    assert_eq!(isolated.source(), local.source());
    assert_eq!(local.mode(), Mode::InProcess);
    // `Loader::load` follows the loader's mode.
    assert_eq!(
        loader
            .load(PluginKind::Builder, "misbehave")
            .unwrap()
            .mode(),
        Mode::Process
    );
}

/// Not a test: the cost of isolation. Run with
/// `cargo test -p rivet-tests --test isolated -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_isolated_load_and_call_costs() {
    const RUNS: usize = 200;
    let (dir, _file) = misbehave_dir();
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let median = |mut times: Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };

    let mut loads = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let plugin = load_misbehave(&loader);
        loads.push(start.elapsed());
        drop(plugin);
    }
    let plugin = load_misbehave(&loader);
    let ok = instance(&plugin, "ok", "ok", dir.path());
    ok.build().unwrap();
    let mut calls = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        ok.build().unwrap();
        calls.push(start.elapsed());
    }
    let local = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::InProcess)
        .unwrap();
    let local_ok = instance(&local, "ok", "ok", dir.path());
    let mut local_calls = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        local_ok.build().unwrap();
        local_calls.push(start.elapsed());
    }
    println!(
        "median of {RUNS}: load_in(Process) {:?}, isolated build {:?}, in-process build {:?}",
        median(loads),
        median(calls),
        median(local_calls)
    );
}

/// A request too large for one frame (64 MiB) is the host's own problem: the
/// call fails, but the plugin did not crash and its process is not killed.
#[test]
fn a_request_too_large_for_a_frame_fails_without_killing_the_plugin() {
    let (dir, file, plugin) = isolated_echo();
    let echo = plugin.prepare("{}", dir.path()).unwrap();
    let small = Artifact {
        id: "small".into(),
        ..Artifact::default()
    };
    assert_eq!(echo.provision(&small).unwrap().id, "small");
    let server = the_server(&file);
    let mut huge = small.clone();
    huge.metadata.insert("blob".into(), "x".repeat(65 << 20));

    let error = echo.provision(&huge).unwrap_err();

    assert!(
        !matches!(error, CallError::Crashed { .. }),
        "the plugin did not crash, the request was too large: {error}"
    );
    assert!(error.to_string().contains("exceeds"), "{error}");
    assert!(is_running(server), "a healthy plugin process was killed");
    assert_eq!(echo.provision(&small).unwrap().id, "small");
    assert_eq!(the_server(&file), server);
}
