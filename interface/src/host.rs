//! What a plugin's steps are given to talk to the user: a [`Ui`], backed by
//! the host's [`HostServices`].

use std::sync::Arc;

use crate::PluginKind;

/// What a host does for a plugin's [`Ui`]: show its lines and progress, and
/// say where other plugins are. A host loading plugins through the
/// framework implements the [`Console`](crate::framework::Console) host
/// trait instead, which reaches the plugin's `Ui` through this trait; unit
/// tests use [`RecordingUi`](crate::testing::RecordingUi).
pub trait HostServices: Send + Sync {
    /// A normal line of output for the user.
    fn say(&self, line: &str);
    /// A secondary line (details, the output of a tool the plugin runs).
    fn message(&self, line: &str);
    /// A line reporting a problem.
    fn error(&self, line: &str);
    /// Progress of the current step: `done` out of `total` units.
    fn progress(&self, done: u64, total: u64);
    /// Where the host finds plugin `(kind, name)`: a file path or a
    /// description such as `built-in`; `None` when it has no such plugin.
    fn locate(&self, kind: PluginKind, name: &str) -> Option<String>;
}

/// The user interface a plugin's steps are given: lines for the user,
/// progress, and where other plugins are. Log records go through the `log`
/// crate instead, which the host receives.
#[derive(Clone)]
pub struct Ui {
    services: Arc<dyn HostServices>,
}

impl Ui {
    /// A UI backed by `services`.
    pub fn new(services: impl HostServices + 'static) -> Self {
        Ui {
            services: Arc::new(services),
        }
    }

    /// Shows a normal line of output.
    pub fn say(&self, line: impl AsRef<str>) {
        self.services.say(line.as_ref());
    }

    /// Shows a secondary line: details, or the output of a tool being run.
    pub fn message(&self, line: impl AsRef<str>) {
        self.services.message(line.as_ref());
    }

    /// Shows a line reporting a problem.
    pub fn error(&self, line: impl AsRef<str>) {
        self.services.error(line.as_ref());
    }

    /// Reports progress of the current step: `done` out of `total`.
    pub fn progress(&self, done: u64, total: u64) {
        self.services.progress(done, total);
    }

    /// Where the host would find plugin `(kind, name)`: a file path or a
    /// description such as `built-in`; `None` when it has no such plugin.
    pub fn locate_plugin(&self, kind: PluginKind, name: &str) -> Option<String> {
        self.services.locate(kind, name)
    }
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ui")
    }
}
