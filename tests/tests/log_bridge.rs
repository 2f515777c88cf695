//! The log bridge: `log` records a plugin writes reach the host's logger,
//! under the target `plugin_<kind>_<name>`, filtered by the host's level.
//!
//! A process has one `log` logger, so every test that needs it lives in this
//! file (one test process) and installs the same recording logger, before
//! loading any plugin (a plugin reads the host's level when it is loaded).

use std::sync::{Mutex, OnceLock};

use rivet_loader::PluginKind;
use rivet_tests::{RecordingUi, fixture, install, loader_for};

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

/// The records received so far with `target`.
fn records_for(target: &str) -> Vec<Logged> {
    recorder()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.target == target)
        .cloned()
        .collect()
}

#[test]
fn plugin_log_records_reach_the_host_logger_under_the_plugin_target() {
    recorder();
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("chatty"),
        dir.path(),
        PluginKind::Builder,
        "chatty",
    );
    let ui = RecordingUi::new();
    let loader = loader_for(&[dir.path()], &ui);

    let artifact = loader
        .load(PluginKind::Builder, "chatty")
        .unwrap()
        .prepare("{}", dir.path())
        .unwrap()
        .build()
        .unwrap();
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
    recorder();
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("panicky"),
        dir.path(),
        PluginKind::Builder,
        "panicky",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader
        .load(PluginKind::Builder, "panicky")
        .unwrap()
        .prepare("{}", dir.path())
        .unwrap()
        .build()
        .unwrap_err();
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
