//! Forwarding a plugin's `log` records to the host's logger.
//!
//! A plugin library links its own copy of the `log` crate, with its own
//! global logger, so records logged in a plugin would otherwise go nowhere.
//! At `init` the plugin installs a [`Bridge`] as that logger; it forwards each
//! enabled record to the host through [`HostServices::log`](crate::HostServices).

use std::sync::Arc;

use crate::host::{HostServicesBox, LogLevel};

struct Bridge {
    services: Arc<HostServicesBox>,
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let message = record.args().to_string();
            self.services.log(
                LogLevel::from(record.level()),
                record.target().into(),
                message.as_str().into(),
            );
        }
    }

    fn flush(&self) {}
}

/// Makes the host's services this library's `log` logger, at the host's level.
pub(crate) fn install(services: Arc<HostServicesBox>) {
    let level = services.log_level();
    // Fails only if this library already has a logger (it was initialised
    // before); the existing bridge then stays.
    let _ = log::set_boxed_logger(Box::new(Bridge { services }));
    log::set_max_level(level.into());
}
