//! `rivet` alone: installed with `cargo install` into an empty root, with an
//! empty home and no plugin file anywhere, it builds the example site with
//! its built-in core plugins (in-process and isolated, re-executing itself
//! to serve them) to the bytes the plugin files make, and runs `inspect`;
//! a plugin file of the same kind and name shadows a built-in.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use rivet_tests::cli::{describe, example_site, reference_site_archive, success_stdout, text};
use rivet_tests::{plugins_dir, target_dir, workspace_root};

/// `rivet`, installed once per test process with `cargo install` (debug
/// profile, sharing the workspace's target directory so nothing is built
/// twice) into a root of its own: `ROOT/bin/rivet`.
fn installed_rivet() -> &'static Path {
    static INSTALLED: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &INSTALLED
        .get_or_init(|| {
            let root = tempfile::tempdir().unwrap();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let output = Command::new(cargo)
                .args(["install", "--quiet", "--debug", "--locked", "--path"])
                .arg(workspace_root().join("host"))
                .arg("--root")
                .arg(root.path())
                .arg("--target-dir")
                .arg(target_dir())
                .output()
                .expect("cargo runs");
            assert!(output.status.success(), "{}", describe(&output));
            let exe = root
                .path()
                .join("bin")
                .join(format!("rivet{}", std::env::consts::EXE_SUFFIX));
            assert!(exe.is_file(), "{} was not installed", exe.display());
            (root, exe)
        })
        .1
}

/// Runs the installed `rivet ARGS` in `cwd` with an empty home and no
/// plugin path: the only plugins are its built-ins (and files in `cwd`).
fn alone(cwd: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(installed_rivet())
        .args(args)
        .current_dir(cwd)
        .env("RIVET_HOME", home.path())
        .env_remove("RIVET_PLUGIN_PATH")
        .env_remove("RIVET_ISOLATION")
        .env_remove("RIVET_LOG")
        .output()
        .unwrap()
}

#[test]
fn installed_rivet_alone_builds_the_example_with_its_builtins_in_both_modes() {
    let bin = installed_rivet().parent().unwrap();
    let files: Vec<_> = fs::read_dir(bin).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "only rivet is installed: {files:?}");

    let expected = reference_site_archive();

    for mode in ["in-process", "process"] {
        let site = example_site();
        let stdout = success_stdout(&alone(
            site.path(),
            &["--isolation", mode, "build", "site.toml"],
        ));
        assert!(stdout.contains("Build finished"), "{mode}: {stdout}");
        assert_eq!(
            fs::read(site.path().join("build/site.tar.gz")).unwrap(),
            expected,
            "{mode}: the built-ins make other bytes than the plugin files"
        );
    }

    let site = example_site();
    let inspect = success_stdout(&alone(site.path(), &["inspect", "site.toml"]));
    assert!(inspect.contains("built-in"), "{inspect}");
}

#[test]
fn a_plugin_file_shadows_a_builtin_and_the_listing_says_which_is_used() {
    let cwd = tempfile::tempdir().unwrap();
    let list = success_stdout(&alone(cwd.path(), &["plugins", "list"]));
    let row = |list: &str, name: &str| {
        list.lines()
            .find(|line| line.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no `{name}` row:\n{list}"))
            .to_owned()
    };
    for name in ["dir", "file", "shell", "checksum", "compress", "inspect"] {
        assert!(row(&list, name).ends_with("built-in"), "{list}");
    }
    assert!(!list.contains("Shadowed"), "{list}");

    // A file of the same kind and name (in the working directory, on the
    // search path) is used instead, and the built-in is listed as hidden.
    let file_name = format!(
        "{}plugin_builder_dir{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let file = cwd.path().join(&file_name);
    fs::copy(plugins_dir().join(&file_name), &file).unwrap();
    let list = success_stdout(&alone(cwd.path(), &["plugins", "list"]));
    assert!(
        row(&list, "dir").ends_with(&file.display().to_string()),
        "{list}"
    );
    let shadowed = list
        .split_once("Shadowed plugins")
        .unwrap_or_else(|| panic!("no shadowed section:\n{list}"))
        .1;
    assert!(
        shadowed.contains("builder dir: the built-in plugin (version ")
            && shadowed.contains(&format!("is hidden by {}", file.display())),
        "{list}"
    );
    // And the file is what a build uses: a broken one fails the build.
    fs::write(&file, "not a library").unwrap();
    let site = example_site();
    fs::copy(&file, site.path().join(&file_name)).unwrap();
    let output = alone(site.path(), &["build", "site.toml"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        text(&output.stderr).contains("not a Rivet plugin library"),
        "{}",
        describe(&output)
    );
}
