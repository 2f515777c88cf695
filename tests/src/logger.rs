//! A recording `log` logger, for the tests of the log bridge.
//!
//! A process has one `log` logger, and a plugin reads the host's level when
//! it is loaded. So a test binary that watches log records calls
//! [`install_recording_logger`] before it loads any plugin; the logger is
//! installed the first time (at level debug) and every later call, from any
//! test of the same process, shares it. Test binaries that never call it keep
//! having no logger.

use std::sync::{Mutex, OnceLock};

/// One record the host's logger received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The record's level.
    pub level: log::Level,
    /// Its target (`plugin_builder_chatty`, ...).
    pub target: String,
    /// Its formatted message.
    pub message: String,
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

/// Installs the recording logger as this process's logger at level debug,
/// the first time it is called in the process; later calls do nothing.
pub fn install_recording_logger() {
    recorder();
}

/// The records received so far (by this process's recording logger, which
/// is installed if it is not yet) that `keep` accepts, in order.
pub fn records_where(mut keep: impl FnMut(&Logged) -> bool) -> Vec<Logged> {
    recorder()
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|record| keep(record))
        .cloned()
        .collect()
}
