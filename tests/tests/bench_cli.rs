//! `rivet bench`: the in-process vs isolated comparison on the example
//! plugins. Only the shape of the output is checked, never a timing.

use std::process::Output;

use rivet_tests::cli::success_stdout;
use rivet_tests::rivet;

/// Runs `rivet bench ARGS --seconds 0.2` with a fresh home and working
/// directory (the example plugins beside `rivet` are on its search path).
fn bench(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    rivet(home.path(), cwd.path())
        .arg("bench")
        .args(args)
        .args(["--seconds", "0.2"])
        .output()
        .expect("rivet runs")
}

fn assert_table(stdout: &str) {
    for row in [
        "isolated/in-process",
        "load / start (median)",
        "call (median)",
        "call (mean)",
        "calls timed",
    ] {
        assert!(stdout.contains(row), "no `{row}` in:\n{stdout}");
    }
}

#[test]
fn a_command_is_compared_on_its_synopsis() {
    let stdout = success_stdout(&bench(&["command", "inspect"]));
    assert!(
        stdout.starts_with("rivet bench: command inspect ("),
        "{stdout}"
    );
    assert!(stdout.contains("call measured: synopsis()"), "{stdout}");
    assert!(!stdout.contains("note:"), "{stdout}");
    assert_table(&stdout);
}

#[test]
fn a_builder_is_compared_on_creation_with_its_config() {
    let out = tempfile::tempdir().unwrap();
    let config = format!(r#"{{"output":"{}"}}"#, out.path().join("x").display());
    let stdout = success_stdout(&bench(&["builder", "dir", "--config", &config]));
    assert!(
        stdout.contains(&format!("call measured: create({config})")),
        "{stdout}"
    );
    assert!(!stdout.contains("note:"), "{stdout}");
    assert_table(&stdout);
}

#[test]
fn a_failing_creation_is_still_measured_and_said_so() {
    let stdout = success_stdout(&bench(&["builder", "dir"]));
    assert!(stdout.contains("call measured: create({})"), "{stdout}");
    assert!(
        stdout.contains("returns an error") && stdout.contains("still a full round trip"),
        "{stdout}"
    );
    assert_table(&stdout);
}

#[test]
fn unknown_plugins_and_kinds_are_errors() {
    let output = bench(&["command", "no-such-plugin"]);
    assert!(!output.status.success());
    let output = bench(&["gadget", "x"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("gadget"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
