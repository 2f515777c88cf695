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

impl Mode {
    /// The name users write: `in-process` or `process`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::InProcess => "in-process",
            Mode::Process => "process",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// Reads `in-process` or `process`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "in-process" => Ok(Mode::InProcess),
            "process" => Ok(Mode::Process),
            other => Err(format!(
                "`{other}` is not an isolation mode; use `in-process` or `process`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Mode;

    #[test]
    fn modes_read_back_as_written() {
        for mode in [Mode::InProcess, Mode::Process] {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
        }
        assert!(
            "isolated"
                .parse::<Mode>()
                .unwrap_err()
                .contains("in-process")
        );
    }
}
