//! Plugins that fail, through the real `rivet` binary, in both modes: a
//! panic in a call or at creation, an `init` that fails, a step that
//! fails. Each is an error naming the step, the plugin and the reason;
//! `rivet` itself goes on to report it.

use std::fs;
use std::path::Path;
use std::process::Output;

use rivet_tests::cli::{describe, run_rivet, text};
use rivet_tests::fixture;

const MODES: [&str; 2] = ["in-process", "process"];

/// Runs `rivet --isolation MODE build` on a template of one builder,
/// `plugin` from `file`, configured with `config` (TOML), in `dir`.
fn build_one(dir: &Path, mode: &str, plugin: &str, file: &Path, config: &str) -> Output {
    let template = dir.join("t.toml");
    fs::write(
        &template,
        format!(
            "[[builders]]\nplugin = \"{plugin}\"\npath = \"{}\"\nconfig = {config}\n",
            file.display()
        ),
    )
    .unwrap();
    run_rivet(
        dir,
        &["--isolation", mode, "build", "t.toml"],
        &[("RIVET_ISOLATION", mode)],
    )
}

/// The failed build's stderr.
fn failed(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", describe(output));
    text(&output.stderr)
}

/// Builds with `panicky` configured with `config` in both modes; each
/// build must fail saying `names` and `panic`.
fn panicky_fails(config: &str, names: &str, panic: &str) {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let file = fixture("panicky");
        let stderr = failed(&build_one(dir.path(), mode, "panicky", &file, config));
        assert!(
            stderr.contains(names) && stderr.contains(panic),
            "{mode}: {stderr}"
        );
    }
}

#[test]
fn a_panic_in_a_call_is_an_error_naming_the_step() {
    panicky_fails(
        "{}",
        "builder #1 (panicky) panicked: ",
        "panicky builder exploded on purpose",
    );
}

#[test]
fn a_panic_at_creation_is_an_error_naming_the_plugin() {
    panicky_fails(
        "{ panic_in_prepare = true }",
        "panicky",
        "panicky builder refused its config on purpose",
    );
}

#[test]
fn a_failing_init_stops_the_plugin_from_loading_saying_why() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        let file = fixture("grumpy");
        let stderr = failed(&build_one(dir.path(), mode, "grumpy", &file, "{}"));
        assert!(
            stderr.contains("grumpy needs GRUMPY_TOKEN, which is not set; set it and retry"),
            "{mode}: {stderr}"
        );
    }
}

#[test]
fn a_failing_shell_command_is_a_failure_naming_the_step_and_the_command() {
    for mode in MODES {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("www")).unwrap();
        fs::write(dir.path().join("www/index.html"), "hi").unwrap();
        fs::write(
            dir.path().join("t.toml"),
            "[[builders]]\nplugin = \"dir\"\nconfig = { source = \"www\", output = \"out\" }\n\n\
             [[provisioners]]\nplugin = \"shell\"\nconfig = { inline = [\"echo partial; exit 3\"] }\n",
        )
        .unwrap();
        let output = run_rivet(
            dir.path(),
            &["--isolation", mode, "build", "t.toml"],
            &[("RIVET_ISOLATION", mode)],
        );
        let stderr = failed(&output);
        assert!(
            stderr.contains("provisioner #1 (shell) failed: ")
                && stderr.contains("exit status 3")
                && stderr.contains("exit 3"),
            "{mode}: {stderr}"
        );
        assert!(text(&output.stdout).contains("partial"), "{mode}");
    }
}
