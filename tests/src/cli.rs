//! Helpers for the tests that run the real `rivet` binary: running it with a
//! fresh home, describing its output in failure messages, and a copy of the
//! example site to build.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::{copy_dir, rivet, workspace_root};

/// `bytes` (a process's stdout or stderr) as text, lossily.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The exit status, stdout and stderr of `output`, for a failure message.
pub fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// The stdout of `output` as text, after checking that the command
/// succeeded (failing the test with [`describe`] when it did not).
pub fn success_stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", describe(output));
    text(&output.stdout)
}

/// Runs `rivet ARGS` in `cwd` with a fresh home (see [`rivet`]) and the
/// variables `env` set, returning its output.
pub fn run_rivet(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_rivet_with(cwd, args, env, |_| {})
}

/// [`run_rivet`], with `adjust` given the command after its arguments are
/// added and before the variables `env` are set (so `env` wins over it).
pub fn run_rivet_with(
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    adjust: impl FnOnce(&mut Command),
) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut command = rivet(home.path(), cwd);
    command.args(args);
    adjust(&mut command);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("rivet runs")
}

/// A copy of `examples/site` (without any `build/` left in the repo) in a
/// fresh temporary directory.
pub fn example_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = workspace_root().join("examples/site");
    for entry in ["site.toml", "www", "extra"] {
        let from = example.join(entry);
        if from.is_dir() {
            copy_dir(&from, &dir.path().join(entry));
        } else {
            fs::copy(&from, dir.path().join(entry)).unwrap();
        }
    }
    dir
}

/// The row of `rivet plugins list`'s output `stdout` that ends with the
/// plugin file name `file_name` (panicking, with the output, when none does).
pub fn plugin_row<'a>(stdout: &'a str, file_name: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.ends_with(file_name))
        .unwrap_or_else(|| panic!("no row for {file_name}:\n{stdout}"))
}
