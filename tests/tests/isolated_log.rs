//! Isolated mode and the host's `log`: records a plugin logs in its own
//! process, and whatever it prints on stdout and stderr, reach the host's
//! logger under the plugin's target (`plugin_builder_misbehave`).
//!
//! A process has one `log` logger, so these tests live in their own file
//! (one test process) and share one recording logger, installed before any
//! plugin is loaded (the server's level is the host's at load time). They
//! run at the same time and share the plugin's target, so each looks for
//! messages only it produces.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use rivet_loader::{CallError, Mode, Plugin, PluginKind};
use rivet_tests::{RecordingUi, fixture, install, isolated_loader_for, wait_until};

const TARGET: &str = "plugin_builder_misbehave";

/// One record the host's logger received.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Logged {
    level: log::Level,
    target: String,
    message: String,
}

struct Recorder {
    records: Mutex<Vec<Logged>>,
}

impl log::Log for Recorder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.records.lock().unwrap().push(Logged {
                level: record.level(),
                target: record.target().to_owned(),
                message: record.args().to_string(),
            });
        }
    }

    fn flush(&self) {}
}

/// Installs the recorder as this process's logger at level debug (once).
fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<&'static Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static Recorder = Box::leak(Box::new(Recorder {
            records: Mutex::new(Vec::new()),
        }));
        log::set_logger(recorder).expect("no other logger in this test process");
        log::set_max_level(log::LevelFilter::Debug);
        recorder
    })
}

/// The records under the plugin's target whose message contains `text`.
fn plugin_records_containing(text: &str) -> Vec<Logged> {
    recorder()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target == TARGET && r.message.contains(text))
        .cloned()
        .collect()
}

/// Waits (up to 5 s: stdout and stderr are read by their own threads) for a
/// record under the plugin's target containing `text`.
fn wait_for_record(text: &str) -> Option<Logged> {
    let mut found = None;
    wait_until(Duration::from_secs(5), || {
        found = plugin_records_containing(text).into_iter().next();
        found.is_some()
    });
    found
}

fn all_plugin_messages() -> Vec<String> {
    recorder()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target == TARGET)
        .map(|r| {
            let message: String = r.message.chars().take(120).collect();
            format!("{} {message:?}", r.level)
        })
        .collect()
}

/// The `misbehave` builder in its own process (in a fresh directory, kept
/// alive by the returned guard).
fn misbehave() -> (tempfile::TempDir, Plugin) {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("misbehave"),
        dir.path(),
        PluginKind::Builder,
        "misbehave",
    );
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let plugin = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::Process)
        .unwrap_or_else(|error| panic!("{error}"));
    (dir, plugin)
}

fn build(plugin: &Plugin, config: serde_json::Value) -> Result<String, CallError> {
    let dir = PathBuf::from(".");
    let instance = plugin.prepare(&config.to_string(), &dir)?;
    instance.build().map(|artifact| artifact.id)
}

#[test]
fn log_records_of_an_isolated_plugin_reach_the_host_logger_during_the_call() {
    let (_dir, plugin) = misbehave();

    let id = build(
        &plugin,
        serde_json::json!({"action": "say", "id": "log-talker"}),
    )
    .unwrap();
    assert_eq!(id, "log-talker");

    // Log records travel on the call's connection, before the reply: they
    // are there when the call returns, no waiting needed.
    let records = plugin_records_containing("log-talker logs from the plugin process");
    assert_eq!(
        records,
        [Logged {
            level: log::Level::Info,
            target: TARGET.to_owned(),
            message: "log-talker logs from the plugin process".to_owned(),
        }]
    );
}

#[test]
fn junk_the_plugin_prints_on_stdout_and_stderr_is_logged_under_its_target() {
    let (_dir, plugin) = misbehave();

    let id = build(
        &plugin,
        serde_json::json!({"action": "garbage-output", "id": "noisy"}),
    )
    .unwrap();
    assert_eq!(id, "noisy");

    for line in [
        // A fake handshake on stdout is only a line of output.
        "RIVET-PLUGIN|1|ok|/tmp/not-the-socket",
        "junk on stdout \u{1b}[31mred\u{1b}[0m \t\r tab and CR",
        "junk on stderr \u{0}\u{7} nul and bell",
    ] {
        let record = wait_for_record(line)
            .unwrap_or_else(|| panic!("{line:?} was not logged: {:#?}", all_plugin_messages()));
        assert_eq!(record.level, log::Level::Info);
        assert_eq!(record.message, line);
    }
    let long = wait_for_record("junk on stderr: xxx").expect("the long line was logged");
    assert_eq!(long.message.len(), "junk on stderr: ".len() + 10_000);
}

#[test]
fn output_after_bytes_that_are_not_utf8_is_still_logged() {
    let (_dir, plugin) = misbehave();

    let id = build(
        &plugin,
        serde_json::json!({"action": "binary-output", "id": "binary"}),
    )
    .unwrap();
    assert_eq!(id, "binary");

    assert!(
        wait_for_record("after the binary junk").is_some(),
        "the line after the non-UTF-8 one was lost: {:#?}",
        all_plugin_messages()
    );
    assert!(
        wait_for_record("not utf-8").is_some(),
        "the non-UTF-8 line itself should be logged (lossily): {:#?}",
        all_plugin_messages()
    );
}

#[test]
fn why_a_plugin_process_died_is_in_the_host_log() {
    let (dir, plugin) = misbehave();
    let marker = dir.path().join("marker");

    let error = build(
        &plugin,
        serde_json::json!({"action": "escaping-panic", "id": "doomed", "once": marker}),
    )
    .unwrap_err();
    assert!(matches!(error, CallError::Crashed { .. }), "{error:?}");

    // The panic message the plugin printed before aborting.
    assert!(
        wait_for_record("a panic inside extern \"C\", which cannot unwind").is_some(),
        "{:#?}",
        all_plugin_messages()
    );

    // The restart is logged by the loader.
    assert_eq!(
        build(
            &plugin,
            serde_json::json!({"action": "escaping-panic", "id": "doomed", "once": marker}),
        )
        .unwrap(),
        "doomed"
    );
    let restarts: Vec<Logged> = recorder()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| {
            r.message
                .contains("restarted the process of builder misbehave")
        })
        .cloned()
        .collect();
    assert!(!restarts.is_empty(), "no restart was logged");
}
