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
use std::time::Duration;

use rivet_loader::{CallError, Mode, Plugin, PluginKind};
use rivet_tests::logger::{Logged, install_recording_logger, records_where};
use rivet_tests::{RecordingUi, fixture, install_in_temp_dir, isolated_loader_for, wait_until};

const TARGET: &str = "plugin_builder_misbehave";

/// The records under the plugin's target whose message contains `text`.
fn plugin_records_containing(text: &str) -> Vec<Logged> {
    records_where(|r| r.target == TARGET && r.message.contains(text))
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
    records_where(|r| r.target == TARGET)
        .iter()
        .map(|r| {
            let message: String = r.message.chars().take(120).collect();
            format!("{} {message:?}", r.level)
        })
        .collect()
}

/// The `misbehave` builder in its own process (in a fresh directory, kept
/// alive by the returned guard).
fn misbehave() -> (tempfile::TempDir, Plugin) {
    install_recording_logger();
    let (dir, _path) = install_in_temp_dir(&fixture("misbehave"), PluginKind::Builder, "misbehave");
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

/// Builds `plugin` doing `action` under the id `id`, checking that the build
/// succeeds and returns the artifact `id`.
fn build_as(plugin: &Plugin, action: &str, id: &str) {
    let built = build(plugin, serde_json::json!({"action": action, "id": id})).unwrap();
    assert_eq!(built, id);
}

#[test]
fn log_records_of_an_isolated_plugin_reach_the_host_logger_during_the_call() {
    let (_dir, plugin) = misbehave();

    build_as(&plugin, "say", "log-talker");

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

    build_as(&plugin, "garbage-output", "noisy");

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

    build_as(&plugin, "binary-output", "binary");

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
    let restarts: Vec<Logged> = records_where(|r| {
        r.message
            .contains("restarted the process of builder misbehave")
    });
    assert!(!restarts.is_empty(), "no restart was logged");
}
