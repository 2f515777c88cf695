//! Commands: subcommands a plugin adds to the host's CLI.

use crate::{Error, Plugin, Ui};

/// A plugin that adds a subcommand to the host, like a Packer custom command:
/// `rivet NAME ARGS...` runs it.
pub trait Command: Plugin + Default {
    /// One short line (about 50 characters at most) listed when the host runs
    /// with no arguments.
    fn synopsis(&self) -> String;

    /// Long help, shown for `rivet NAME --help`: usage, what the command
    /// does, its options.
    fn help(&self) -> String;

    /// Runs the command with the arguments after its name; returns the exit
    /// status (0 for success, at most 255: `rivet` reports any other code
    /// and exits 255). An error is shown to the user and exits 1.
    fn run(&self, ui: &Ui, args: &[String]) -> Result<i32, Error>;
}
