//! The host side of the services every plugin receives: UI and logging.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use rivet_interface::abi_stable::sabi_trait::TD_Opaque;
use rivet_interface::abi_stable::std_types::{ROption, RStr, RString};
use rivet_interface::{HostServices, HostServices_TO, HostServicesBox, LogLevel, PluginKind};

/// Where a host shows what plugins tell the user.
///
/// `plugin` is the plugin's label, such as `builder dir`. Implement it to put
/// plugin output into your own UI; [`ConsoleUi`] prints to the terminal.
pub trait HostUi: Send + Sync {
    /// A normal line.
    fn say(&self, plugin: &str, line: &str);
    /// A secondary line: details, output of a tool the plugin runs.
    fn message(&self, plugin: &str, line: &str);
    /// A line reporting a problem.
    fn error(&self, plugin: &str, line: &str);
    /// Progress of the plugin's current step.
    fn progress(&self, plugin: &str, done: u64, total: u64);
}

/// A [`HostUi`] for terminals, in Packer's style: `==> builder dir: line` on
/// stdout for normal lines, indented details, errors on stderr. Progress is
/// drawn on one updating line when stdout is a terminal, and not shown
/// otherwise (logs and pipes get no progress noise).
#[derive(Debug, Default)]
pub struct ConsoleUi;

impl HostUi for ConsoleUi {
    fn say(&self, plugin: &str, line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "==> {plugin}: {line}");
    }

    fn message(&self, plugin: &str, line: &str) {
        let _ = writeln!(std::io::stdout().lock(), "    {plugin}: {line}");
    }

    fn error(&self, plugin: &str, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "==> {plugin}: error: {line}");
    }

    fn progress(&self, plugin: &str, done: u64, total: u64) {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return;
        }
        let mut out = stdout.lock();
        let end = if done >= total { "\n" } else { "" };
        let _ = write!(out, "\r    {plugin}: {done}/{total}{end}");
        let _ = out.flush();
    }
}

/// Answers a plugin's question "where would the host find plugin X?".
pub(crate) trait Locate: Send + Sync {
    /// A file path or `built-in`, or `None`.
    fn locate(&self, kind: PluginKind, name: &str) -> Option<String>;
}

/// The services given to one plugin: its label, its log target, the host UI
/// and a way to locate other plugins.
pub(crate) struct Services {
    label: String,
    log_target: String,
    ui: Arc<dyn HostUi>,
    locator: Arc<dyn Locate>,
}

impl Services {
    /// The FFI services object for plugin `(kind, name)`.
    pub(crate) fn for_plugin(
        kind: PluginKind,
        name: &str,
        ui: Arc<dyn HostUi>,
        locator: Arc<dyn Locate>,
    ) -> HostServicesBox {
        let services = Services {
            label: format!("{kind} {name}"),
            log_target: log_target(kind, name),
            ui,
            locator,
        };
        HostServices_TO::from_value(services, TD_Opaque)
    }
}

/// The log target of a plugin's records: `plugin_builder_dir`.
pub(crate) fn log_target(kind: PluginKind, name: &str) -> String {
    format!("plugin_{}_{}", kind.file_token(), name.replace('-', "_"))
}

/// Runs host code called back from a plugin. A panic must not unwind into the
/// plugin (abi_stable would abort the process), so it is caught and logged.
fn shield<T>(what: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|_| {
        log::error!("the host's {what} panicked while serving a plugin; ignoring it");
        fallback
    })
}

impl HostServices for Services {
    fn say(&self, line: RStr<'_>) {
        shield("UI", (), || self.ui.say(&self.label, line.as_str()));
    }

    fn message(&self, line: RStr<'_>) {
        shield("UI", (), || self.ui.message(&self.label, line.as_str()));
    }

    fn error(&self, line: RStr<'_>) {
        shield("UI", (), || self.ui.error(&self.label, line.as_str()));
    }

    fn progress(&self, done: u64, total: u64) {
        shield("UI", (), || self.ui.progress(&self.label, done, total));
    }

    fn log_level(&self) -> LogLevel {
        log::max_level().into()
    }

    fn log(&self, level: LogLevel, _target: RStr<'_>, message: RStr<'_>) {
        if let Some(level) = level.to_level() {
            shield("logger", (), || {
                log_as(level, &self.log_target, message.as_str())
            });
        }
    }

    fn locate(&self, kind: PluginKind, name: RStr<'_>) -> ROption<RString> {
        shield("plugin locator", None, || {
            self.locator.locate(kind, name.as_str())
        })
        .map(RString::from)
        .into()
    }
}

/// Logs `message` to the host's logger under `target` (a plugin's target,
/// such as `plugin_builder_dir`), if the host's logger wants it.
pub(crate) fn log_as(level: log::Level, target: &str, message: &str) {
    let logger = log::logger();
    let metadata = log::Metadata::builder().level(level).target(target).build();
    if level <= log::max_level() && logger.enabled(&metadata) {
        logger.log(
            &log::Record::builder()
                .metadata(metadata)
                .args(format_args!("{message}"))
                .build(),
        );
    }
}
