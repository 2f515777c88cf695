//! A plugin's `log` records, sent to the host.
//!
//! A plugin library links its own `log` with its own global logger; at
//! `init` it installs a [`Bridge`] forwarding records to the host's
//! [`LogSink`]. In-process the sink is [`to_host_logger`] (the host's `log`
//! logger); in the plugin server it writes to stderr, which the host's
//! stderr receives.

use rivet_abi::LogSink;
use rivet_abi::abi_stable::std_types::RStr;

struct Bridge(LogSink);

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let message = record.args().to_string();
            (self.0.log)(
                record.level() as u8,
                RStr::from_str(record.target()),
                RStr::from_str(&message),
            );
        }
    }

    fn flush(&self) {}
}

/// Makes `sink` this library's `log` logger at the host's level.
pub(crate) fn install(sink: LogSink) {
    // Fails only when this library already has a logger (it was initialised
    // before); that bridge stays.
    let _ = log::set_boxed_logger(Box::new(Bridge(sink)));
    log::set_max_level(level_filter(sink.max_level));
}

/// The sink of an in-process host: its own `log` logger.
pub(crate) fn host_sink() -> LogSink {
    LogSink {
        max_level: log::max_level() as u8,
        log: to_host_logger,
    }
}

/// The sink of the plugin server: stderr, at `max_level`.
pub(crate) fn stderr_sink(max_level: log::LevelFilter) -> LogSink {
    LogSink {
        max_level: max_level as u8,
        log: to_stderr,
    }
}

extern "C" fn to_host_logger(level: u8, target: RStr<'_>, message: RStr<'_>) {
    log::logger().log(
        &log::Record::builder()
            .level(level_of(level))
            .target(target.as_str())
            .args(format_args!("{}", message.as_str()))
            .build(),
    );
}

extern "C" fn to_stderr(level: u8, target: RStr<'_>, message: RStr<'_>) {
    eprintln!(
        "[{} {}] {}",
        level_of(level),
        target.as_str(),
        message.as_str()
    );
}

fn level_of(level: u8) -> log::Level {
    match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        3 => log::Level::Info,
        4 => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

fn level_filter(level: u8) -> log::LevelFilter {
    match level {
        0 => log::LevelFilter::Off,
        level => level_of(level).to_level_filter(),
    }
}
