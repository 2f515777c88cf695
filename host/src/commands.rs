//! Command plugins: `rivet NAME ARGS...`, their help, and the overview
//! `rivet` prints with no arguments.
//!
//! Every listing names a command plugin by the name it declares (its
//! `Plugin::NAME`), as `rivet plugins list` does; its file name spells each
//! `-` of that name as `_`, and either spelling runs it.

use std::io::{self, Write};

use rivet::LoadError;
use rivet_interface::framework::CommandPlugin;

use crate::plugins::{Plugins, reason};

/// A synopsis longer than this is cut in the overview (Packer's guideline).
const SYNOPSIS_WIDTH: usize = 50;

/// Why a plugin command could not run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No built-in command or command plugin of that name.
    #[error(
        "there is no command `{name}`; the commands are {available}. A command plugin is a file named `{file_name}` on the plugin search path (`rivet plugins list` shows what is found)"
    )]
    Unknown {
        /// The name typed.
        name: String,
        /// The built-in commands and command plugins, as text.
        available: String,
        /// The file a command plugin of that name would be.
        file_name: String,
        /// The loader's answer.
        #[source]
        source: Box<LoadError>,
    },
    /// The command plugin exists but could not be loaded.
    #[error("{}", crate::advice::load(.0))]
    Load(Box<LoadError>),
    /// The command plugin failed.
    #[error("command {name} {reason}", reason = reason(source))]
    Call {
        /// The command.
        name: String,
        /// Why.
        source: Box<rivet::Error>,
    },
}

/// Runs command plugin `name` with `args`; returns its exit status. `--help`
/// or `-h` as the only argument prints the plugin's help instead. When
/// there is no such plugin, the error lists the `builtin` commands and the
/// command plugins.
pub fn run(
    plugins: &Plugins,
    builtin: &[(String, String)],
    name: &str,
    args: &[String],
) -> Result<i32, CommandError> {
    let command = plugins.load_command(name).map_err(|source| match source {
        LoadError::NotFound { ref file, .. } => CommandError::Unknown {
            name: name.to_owned(),
            available: available(plugins, builtin),
            file_name: file.clone(),
            source: Box::new(source),
        },
        other => CommandError::Load(Box::new(other)),
    })?;
    let call = |source| CommandError::Call {
        name: name.to_owned(),
        source: Box::new(source),
    };
    if let [only] = args
        && (only == "--help" || only == "-h")
    {
        println!("{}", command.help().map_err(call)?.trim_end());
        return Ok(0);
    }
    command.run(args.to_vec()).map_err(call)
}

/// The usage, built-in commands and command plugins with their synopsis.
pub fn overview(
    plugins: &Plugins,
    builtin: &[(String, String)],
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "Usage: rivet [--version] [--help] <command> [<args>]\n"
    )?;
    writeln!(out, "Available commands are:")?;
    write_rows(builtin.iter().cloned(), plugins, out)
}

/// The command plugins with their synopsis, under a heading: what `rivet
/// --help` adds to the help of the built-in commands.
pub fn plugin_section(plugins: &Plugins, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "\nCommand plugins (`rivet help NAME` shows one's help):"
    )?;
    write_rows(std::iter::empty(), plugins, out)
}

/// Writes `rows`, then one row per command plugin, in aligned columns; then
/// why any command plugin cannot be used.
fn write_rows(
    rows: impl Iterator<Item = (String, String)>,
    plugins: &Plugins,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut rows: Vec<(String, String)> = rows.collect();
    let mut problems = Vec::new();
    for name in plugin_names(plugins) {
        let synopsis = plugins
            .load_command(&name)
            .map_err(|e| e.to_string())
            .and_then(|command| command.synopsis().map_err(|e| e.to_string()));
        match synopsis {
            Ok(text) => rows.push((name, cut(text.trim()))),
            Err(problem) => problems.push(problem),
        }
    }
    if rows.is_empty() {
        writeln!(out, "    (none found)")?;
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

/// The names the command plugins `plugins` finds declare (installed ones
/// and built-ins included), from their vetting verdicts: none is created.
fn plugin_names(plugins: &Plugins) -> Vec<String> {
    plugins
        .loader()
        .list()
        .plugins
        .into_iter()
        .filter(|listed| listed.interface == <dyn CommandPlugin as rivet::Interface>::NAME)
        .map(|listed| listed.about.map_or(listed.name, |about| about.name))
        .collect()
}

/// The built-in commands, then the command plugins, as `a, b and c`.
fn available(plugins: &Plugins, builtin: &[(String, String)]) -> String {
    let mut names: Vec<String> = builtin
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect();
    names.extend(plugin_names(plugins).iter().map(|name| format!("`{name}`")));
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// The status `rivet` exits with when a command plugin returns `code`: the
/// code itself when a process can exit with it (0 to 255), else 255. Codes
/// do not wrap around as the low byte, so 256 never reads as success.
pub fn exit_status(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
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

    #[test]
    fn exit_codes_outside_a_byte_become_255() {
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(3), 3);
        assert_eq!(exit_status(255), 255);
        for code in [256, 512, -1, i32::MIN, i32::MAX] {
            assert_eq!(exit_status(code), 255, "{code}");
        }
    }
}
