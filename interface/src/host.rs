//! Services the host gives every plugin: a UI and a logging bridge.

use std::sync::Arc;

use abi_stable::StableAbi;
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, ROption, RStr, RString};

use crate::PluginKind;

/// The services a host hands to a plugin when it is loaded (FFI form).
///
/// Hosts implement it (the loader does so for you); plugins see it through
/// [`Ui`] and the `log` crate.
#[sabi_trait]
pub trait HostServices: Send + Sync {
    /// A normal line of output for the user.
    fn say(&self, line: RStr<'_>);
    /// A secondary line (details, the output of a tool the plugin runs).
    fn message(&self, line: RStr<'_>);
    /// A line reporting a problem.
    fn error(&self, line: RStr<'_>);
    /// Progress of the current step: `done` out of `total` units.
    fn progress(&self, done: u64, total: u64);
    /// The most verbose log level the host wants to receive.
    fn log_level(&self) -> LogLevel;
    /// One log record from the plugin; `target` is the plugin's own target.
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);
    /// Where the host would find the plugin `(kind, name)`: a file path or a
    /// description such as `built-in`; `None` when it has no such plugin.
    #[sabi(last_prefix_field)]
    fn locate(&self, kind: PluginKind, name: RStr<'_>) -> ROption<RString>;
}

/// An owned [`HostServices`] trait object, as passed to a plugin's `init`.
pub type HostServicesBox = HostServices_TO<'static, RBox<()>>;

/// A log level that crosses the plugin boundary (mirrors `log::LevelFilter`).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Logging is off.
    Off,
    /// `log::Level::Error`.
    Error,
    /// `log::Level::Warn`.
    Warn,
    /// `log::Level::Info`.
    Info,
    /// `log::Level::Debug`.
    Debug,
    /// `log::Level::Trace`.
    Trace,
}

impl From<log::Level> for LogLevel {
    fn from(level: log::Level) -> Self {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<log::LevelFilter> for LogLevel {
    fn from(filter: log::LevelFilter) -> Self {
        filter.to_level().map_or(LogLevel::Off, LogLevel::from)
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

impl LogLevel {
    /// The `log::Level` of a record at this level (`None` for `Off`).
    pub fn to_level(self) -> Option<log::Level> {
        log::LevelFilter::from(self).to_level()
    }
}

/// The user interface a plugin talks to, like Packer's `Ui`.
///
/// Lines go to the host, which shows them prefixed with the plugin's name
/// (and, in isolated mode, carries them back from the plugin's process while
/// the call runs).
#[derive(Clone)]
pub struct Ui {
    services: Arc<HostServicesBox>,
}

impl Ui {
    /// Wraps the services a host provides.
    pub fn new(services: HostServicesBox) -> Self {
        Ui {
            services: Arc::new(services),
        }
    }

    pub(crate) fn services(&self) -> &Arc<HostServicesBox> {
        &self.services
    }

    /// Shows a normal line of output.
    pub fn say(&self, line: impl AsRef<str>) {
        self.services.say(line.as_ref().into());
    }

    /// Shows a secondary line: details, or the output of a tool being run.
    pub fn message(&self, line: impl AsRef<str>) {
        self.services.message(line.as_ref().into());
    }

    /// Shows a line reporting a problem.
    pub fn error(&self, line: impl AsRef<str>) {
        self.services.error(line.as_ref().into());
    }

    /// Reports progress of the current step: `done` out of `total`.
    pub fn progress(&self, done: u64, total: u64) {
        self.services.progress(done, total);
    }

    /// Where the host would find plugin `(kind, name)`: a file path or a
    /// description such as `built-in`; `None` when it has no such plugin.
    pub fn locate_plugin(&self, kind: PluginKind, name: &str) -> Option<String> {
        self.services
            .locate(kind, name.into())
            .into_option()
            .map(String::from)
    }
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ui")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_round_trip() {
        for filter in [
            log::LevelFilter::Off,
            log::LevelFilter::Error,
            log::LevelFilter::Warn,
            log::LevelFilter::Info,
            log::LevelFilter::Debug,
            log::LevelFilter::Trace,
        ] {
            assert_eq!(log::LevelFilter::from(LogLevel::from(filter)), filter);
        }
    }
}
