//! The CLI's logger: records at or above `RIVET_LOG`'s level, on stderr.
//!
//! Plugin records arrive through the log bridge with the plugin's target
//! (`plugin_builder_dir`), as Packer prefixes plugin logs with the plugin's
//! name when `PACKER_LOG` is set.

use std::io::Write;
use std::time::Instant;

/// The environment variable choosing the log level.
pub const LOG_VAR: &str = "RIVET_LOG";

struct StderrLogger {
    start: Instant,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let elapsed = self.start.elapsed().as_secs_f64();
            let _ = writeln!(
                std::io::stderr().lock(),
                "[{elapsed:9.3}s {:<5} {}] {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

/// Installs the logger at the level named by `RIVET_LOG` (`off`, `error`,
/// `warn`, `info`, `debug`, `trace`; `warn` when unset). Returns a warning
/// when the variable holds something else.
pub fn init() -> Option<String> {
    let (level, warning) = match std::env::var(LOG_VAR) {
        Err(_) => (log::LevelFilter::Warn, None),
        Ok(text) => match text.trim().parse::<log::LevelFilter>() {
            Ok(level) => (level, None),
            Err(_) => (
                log::LevelFilter::Warn,
                Some(format!(
                    "{LOG_VAR}={text:?} is not a log level; expected off, error, warn, info, debug or trace; using warn"
                )),
            ),
        },
    };
    if log::set_boxed_logger(Box::new(StderrLogger {
        start: Instant::now(),
    }))
    .is_ok()
    {
        log::set_max_level(level);
    }
    warning
}
