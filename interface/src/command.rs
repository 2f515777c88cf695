//! Commands: subcommands a plugin adds to the host's CLI.

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult, RSlice, RString};

use crate::boundary::guard;
use crate::prepared::Prepared;
use crate::{Error, Plugin, RError, Ui};

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

/// The FFI form of a [`Command`].
#[sabi_trait]
pub trait CommandAbi: Send + Sync {
    /// Runs [`Command::synopsis`].
    fn synopsis(&self) -> RResult<RString, RError>;
    /// Runs [`Command::help`].
    fn help(&self) -> RResult<RString, RError>;
    /// Runs [`Command::run`].
    #[sabi(last_prefix_field)]
    fn run(&self, args: RSlice<'_, RString>) -> RResult<i32, RError>;
}

/// An owned command, as returned across the boundary.
pub type CommandBox = CommandAbi_TO<'static, RBox<()>>;

impl<T: Command> CommandAbi for Prepared<T> {
    fn synopsis(&self) -> RResult<RString, RError> {
        guard(|| Ok(self.plugin.synopsis().into()))
    }

    fn help(&self) -> RResult<RString, RError> {
        guard(|| Ok(self.plugin.help().into()))
    }

    fn run(&self, args: RSlice<'_, RString>) -> RResult<i32, RError> {
        guard(|| {
            if args.is_empty() {
                return self.plugin.run(&self.ui, &[]);
            }
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            self.plugin.run(&self.ui, &args)
        })
    }
}
