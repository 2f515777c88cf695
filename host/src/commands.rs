//! Command plugins: `rivet NAME ARGS...`, and the overview `rivet` prints
//! with no arguments.

use std::io::{self, Write};

use std::sync::Arc;

use rivet_loader::{CallError, ConsoleUi, HostUi, LoadError, Loader, PluginKind};

/// A synopsis longer than this is cut in the overview (Packer's guideline).
const SYNOPSIS_WIDTH: usize = 50;

/// Why a plugin command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No command plugin of that name.
    #[error(
        "`{name}` is not a rivet command or command plugin; run `rivet` to list the commands ({source})"
    )]
    Unknown {
        /// The name typed.
        name: String,
        /// The loader's answer.
        source: Box<LoadError>,
    },
    /// The command plugin exists but could not be loaded.
    #[error(transparent)]
    Load(Box<LoadError>),
    /// The command plugin failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The UI of a command plugin: it owns the terminal, so its lines are printed
/// as they are, without the `==> plugin:` prefix of build steps.
struct CommandUi;

impl HostUi for CommandUi {
    fn say(&self, _plugin: &str, line: &str) {
        let _ = writeln!(io::stdout().lock(), "{line}");
    }

    fn message(&self, _plugin: &str, line: &str) {
        let _ = writeln!(io::stdout().lock(), "{line}");
    }

    fn error(&self, _plugin: &str, line: &str) {
        let _ = writeln!(io::stderr().lock(), "{line}");
    }

    fn progress(&self, plugin: &str, done: u64, total: u64) {
        ConsoleUi.progress(plugin, done, total);
    }
}

/// Runs command plugin `name` with `args`; returns its exit status. `--help`
/// or `-h` as the only argument prints the plugin's help instead.
pub fn run(loader: &mut Loader, name: &str, args: &[String]) -> Result<i32, CommandError> {
    loader.set_ui(Arc::new(CommandUi));
    let plugin = loader
        .load(PluginKind::Command, name)
        .map_err(|source| match source {
            LoadError::NotFound { .. } => CommandError::Unknown {
                name: name.to_owned(),
                source: Box::new(source),
            },
            other => CommandError::Load(Box::new(other)),
        })?;
    let command = plugin.command()?;
    if let [only] = args
        && (only == "--help" || only == "-h")
    {
        println!("{}", command.help()?.trim_end());
        return Ok(0);
    }
    Ok(command.run(args)?)
}

/// The usage, built-in commands and command plugins with their synopsis.
pub fn overview(loader: &Loader, builtin: &[(&str, &str)], out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "Usage: rivet [--version] [--help] <command> [<args>]\n"
    )?;
    writeln!(out, "Available commands are:")?;
    let mut rows: Vec<(String, String)> = builtin
        .iter()
        .map(|(name, about)| ((*name).to_owned(), (*about).to_owned()))
        .collect();
    let mut problems = Vec::new();
    for file in loader
        .scan()
        .files
        .into_iter()
        .filter(|f| f.kind == PluginKind::Command)
    {
        let synopsis = loader
            .load_file(&file.path, file.kind, &file.name)
            .map_err(|e| e.to_string())
            .and_then(|plugin| plugin.command().map_err(|e| e.to_string()))
            .and_then(|command| command.synopsis().map_err(|e| e.to_string()));
        match synopsis {
            Ok(text) => rows.push((file.name, cut(text.trim()))),
            Err(problem) => problems.push(problem),
        }
    }
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, about) in rows {
        writeln!(out, "    {name:<width$}  {about}")?;
    }
    for problem in problems {
        writeln!(out, "warning: {problem}")?;
    }
    Ok(())
}

fn cut(synopsis: &str) -> String {
    let line = synopsis.lines().next().unwrap_or_default();
    if line.chars().count() <= SYNOPSIS_WIDTH {
        line.to_owned()
    } else {
        let mut short: String = line.chars().take(SYNOPSIS_WIDTH - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_synopses_are_cut() {
        assert_eq!(cut("short"), "short");
        let long = "x".repeat(80);
        assert_eq!(cut(&long).chars().count(), SYNOPSIS_WIDTH);
        assert_eq!(cut("first\nsecond"), "first");
    }
}
