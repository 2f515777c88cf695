//! How a plugin runs: in the host's process or in its own.

/// How a plugin runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// In the host's process, through the interface's vtable: calls cost
    /// nanoseconds and borrowed arguments are not copied, but a crash in the
    /// plugin (not a panic: panics are caught) ends the host.
    #[default]
    InProcess,
    /// In a process of its own (the plugin server executable), over a
    /// pipe: calls cost microseconds and arguments are copied once each
    /// way, but the plugin's crash (or a call outliving the call timeout)
    /// is only an error for the call, and the next call starts a fresh
    /// process (see `Config::call_timeout` and `Config::restart_limit`).
    Process,
}
