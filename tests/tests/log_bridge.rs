//! The log bridge: `log` records a plugin writes reach the host's logger,
//! under the target `plugin_<kind>_<name>`, filtered by the host's level.
//!
//! A process has one `log` logger, so every test that needs it lives in this
//! file (one test process) and installs the same recording logger, before
//! loading any plugin (a plugin reads the host's level when it is loaded).

use rivet_loader::PluginKind;
use rivet_tests::logger::{Logged, install_recording_logger, records_where};
use rivet_tests::{RecordingUi, build_builder, fixture, install_in_temp_dir, loader_for};

/// The records received so far with `target`.
fn records_for(target: &str) -> Vec<Logged> {
    records_where(|r| r.target == target)
}

#[test]
fn plugin_log_records_reach_the_host_logger_under_the_plugin_target() {
    install_recording_logger();
    let (dir, _path) = install_in_temp_dir(&fixture("chatty"), PluginKind::Builder, "chatty");
    let ui = RecordingUi::new();
    let loader = loader_for(&[dir.path()], &ui);

    let artifact = build_builder(&loader, "chatty", "{}", dir.path()).unwrap();
    assert_eq!(artifact.id, "chatty");

    let records = records_for("plugin_builder_chatty");
    let seen: Vec<(log::Level, &str)> = records
        .iter()
        .map(|r| (r.level, r.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (log::Level::Debug, "chatty prepared"),
            (log::Level::Info, "chatty is building"),
            (log::Level::Debug, "chatty debug detail"),
        ],
        "trace is above the host's level and must be filtered out"
    );
    // UI lines are not log records, and go to the UI.
    assert_eq!(ui.lines("builder chatty"), ["chatty says hello"]);
}

#[test]
fn a_plugin_panic_is_logged_at_debug_under_the_plugin_target() {
    install_recording_logger();
    let (dir, _path) = install_in_temp_dir(&fixture("panicky"), PluginKind::Builder, "panicky");
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = build_builder(&loader, "panicky", "{}", dir.path()).unwrap_err();
    assert!(
        matches!(error, rivet_loader::CallError::Panicked { .. }),
        "{error:?}"
    );

    let records = records_for("plugin_builder_panicky");
    assert!(
        records.iter().any(|r| r.level == log::Level::Debug
            && r.message.contains("panicky builder exploded on purpose")),
        "{records:?}"
    );
}
