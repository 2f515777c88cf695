//! What plugins print through `rivet`: the [`Console`] host trait of the
//! four kinds, written to the terminal.

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;

use rivet::Loader;
use rivet_interface::framework::Console;

use crate::plugins::{by_kind, describe, kind_of};

/// How a plugin's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A build step's: `==> builder dir: line`, errors on stderr.
    Step,
    /// A command plugin's: it owns the terminal, so its lines are printed
    /// as they are.
    Command,
}

/// The console of one loaded plugin.
pub struct CliConsole {
    label: String,
    style: Style,
    loader: Arc<Loader>,
}

impl CliConsole {
    /// The console of the plugin shown as `label`, which finds other
    /// plugins with `loader`.
    pub fn new(label: &str, style: Style, loader: Arc<Loader>) -> CliConsole {
        CliConsole {
            label: label.to_owned(),
            style,
            loader,
        }
    }
}

impl Console for CliConsole {
    fn say(&self, line: String) {
        let _ = match self.style {
            Style::Step => writeln!(io::stdout().lock(), "==> {}: {line}", self.label),
            Style::Command => writeln!(io::stdout().lock(), "{line}"),
        };
    }

    fn message(&self, line: String) {
        let _ = match self.style {
            Style::Step => writeln!(io::stdout().lock(), "    {}: {line}", self.label),
            Style::Command => writeln!(io::stdout().lock(), "{line}"),
        };
    }

    fn error(&self, line: String) {
        let _ = match self.style {
            Style::Step => writeln!(io::stderr().lock(), "==> {}: error: {line}", self.label),
            Style::Command => writeln!(io::stderr().lock(), "{line}"),
        };
    }

    fn progress(&self, done: u64, total: u64) {
        let stdout = io::stdout();
        if !stdout.is_terminal() {
            return;
        }
        let mut out = stdout.lock();
        let end = if done >= total { "\n" } else { "" };
        let _ = write!(out, "\r    {}: {done}/{total}{end}", self.label);
        let _ = out.flush();
    }

    fn locate(&self, kind: String, name: String) -> Option<String> {
        let kind = kind_of(&kind)?;
        by_kind!(kind, I => self.loader.resolve::<I>(&name))
            .ok()
            .map(|source| describe(&source))
    }
}
