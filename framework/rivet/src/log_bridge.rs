//! A plugin's `log` records, sent to the host.
//!
//! A plugin library links its own `log` with its own global logger; at
//! `init` it installs a [`Bridge`] forwarding records to the host's
//! [`LogSink`]. In-process the sink is [`to_host_logger`] (the host's `log`
//! logger); in the plugin server it writes each record to stderr as one
//! marked line, which the host reads ([`relay`]) and hands to its own
//! logger, as in-process: the plugin's other stderr output passes through
//! to the host's stderr, line by line, each line at most
//! [`MAX_LINE`](rivet_host::lines::MAX_LINE) bytes.

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
    eprintln!("{}", encode(level, target.as_str(), message.as_str()));
}

/// What starts a log record's line on a plugin server's stderr.
const MARK: &str = "\u{1}rivet-log\u{1}";
/// Between a record's fields.
const FIELD: char = '\u{1f}';
/// A newline inside a record's message.
const NEWLINE: char = '\u{1e}';

/// A log record as one line: the mark, the level, the target, the message.
fn encode(level: u8, target: &str, message: &str) -> String {
    format!(
        "{MARK}{level}{FIELD}{}{FIELD}{}",
        target.replace(['\n', FIELD], " "),
        message.replace('\n', &NEWLINE.to_string())
    )
}

/// The level, target and message of a line [`encode`] wrote.
#[cfg(unix)]
fn decode(line: &str) -> Option<(log::Level, &str, String)> {
    let mut fields = line.strip_prefix(MARK)?.splitn(3, FIELD);
    let level = fields.next()?.parse().ok()?;
    let target = fields.next()?;
    let message = fields.next()?.replace(NEWLINE, "\n");
    Some((level_of(level), target, message))
}

/// Reads a plugin server's stderr until it ends: log records go to the
/// host's logger, as an in-process plugin's do; other lines (what the
/// plugin printed) to the host's stderr.
#[cfg(unix)]
pub(crate) fn relay(stderr: impl std::io::Read) {
    let mut stderr = std::io::BufReader::new(stderr);
    while let Some(line) = rivet_host::lines::read_line_lossy(&mut stderr) {
        match decode(&line) {
            Some((level, target, message)) => log::logger().log(
                &log::Record::builder()
                    .level(level)
                    .target(target)
                    .args(format_args!("{message}"))
                    .build(),
            ),
            None => eprintln!("{line}"),
        }
    }
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn records_cross_as_one_line_each() {
        let line = encode(2, "plugin::x", "two\nlines");
        assert!(!line.contains('\n'));
        assert_eq!(
            decode(&line),
            Some((log::Level::Warn, "plugin::x", "two\nlines".to_owned()))
        );
        assert_eq!(decode("a plugin's own line"), None);
    }
}
