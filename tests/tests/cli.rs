//! The real `rivet` binary: building the example template, listing plugins,
//! failing cleanly, command plugins and logging. Every run has `RIVET_HOME`
//! in a temporary directory and its working directory in another.

use std::fs;

use rivet_loader::{PluginKind, plugin_file_name};
use rivet_tests::cli::{describe, example_site, plugin_row, run_rivet, success_stdout, text};
use rivet_tests::files::{tree, unpack};
use rivet_tests::{fixture, install_as, real_plugin_file_names};

#[test]
fn rivet_build_builds_the_example_site_reproducibly() {
    let site = example_site();

    let output = run_rivet(site.path(), &["build", "site.toml"], &[]);

    assert!(output.status.success(), "{}", describe(&output));
    let root = site.path().join("build/site");
    let files: Vec<String> = tree(&root).into_keys().collect();
    assert_eq!(
        files,
        [
            "SHA256SUMS",
            "build-info.txt",
            "css/main.css",
            "index.html",
            "robots.txt"
        ],
        "{}",
        describe(&output)
    );
    assert_eq!(
        fs::read(root.join("robots.txt")).unwrap(),
        fs::read(site.path().join("extra/robots.txt")).unwrap()
    );
    let info = fs::read_to_string(root.join("build-info.txt")).unwrap();
    assert!(
        info.starts_with("site: Rivet example site\nartifact: site\n"),
        "{info}"
    );
    let archive = site.path().join("build/site.tar.gz");
    assert_eq!(unpack(&archive), tree(&root));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("Build finished"), "{stdout}");
    assert!(
        stdout.contains(&archive.canonicalize().unwrap().display().to_string()),
        "{stdout}"
    );

    // A second build gives the same archive, byte for byte.
    let first = fs::read(&archive).unwrap();
    let output = run_rivet(site.path(), &["build", "site.toml"], &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        fs::read(&archive).unwrap() == first,
        "the second archive differs"
    );
}

#[test]
fn rivet_plugins_list_shows_the_real_plugins() {
    let cwd = tempfile::tempdir().unwrap();

    let output = run_rivet(cwd.path(), &["plugins", "list"], &[]);

    let stdout = success_stdout(&output);
    for file_name in real_plugin_file_names() {
        let row = plugin_row(&stdout, &file_name);
        let (kind, name) = rivet_loader::parse_plugin_file_name(&file_name).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..2], [kind.as_str(), name.as_str()], "{row}");
        assert!(row.contains("in-process"), "{row}");
    }
    assert!(!stdout.contains("Broken"), "{stdout}");
}

#[test]
fn rivet_plugins_list_shows_a_broken_file_with_the_reason() {
    let cwd = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    let junk = extra
        .path()
        .join(plugin_file_name(PluginKind::Builder, "junk"));
    fs::write(&junk, "not a library").unwrap();
    install_as(
        &fixture("interface_v2"),
        extra.path(),
        &plugin_file_name(PluginKind::Builder, "future"),
    );

    let output = run_rivet(
        cwd.path(),
        &["plugins", "list"],
        &[("RIVET_PLUGIN_PATH", &extra.path().display().to_string())],
    );

    let stdout = text(&output.stdout);
    let broken = stdout
        .split_once("Broken plugins")
        .unwrap_or_else(|| panic!("no broken section:\n{}", describe(&output)))
        .1;
    let junk_line = broken
        .lines()
        .find(|line| line.contains(&junk.display().to_string()))
        .unwrap_or_else(|| panic!("junk is not listed:\n{stdout}"));
    assert!(
        junk_line.contains("not a loadable plugin library"),
        "{junk_line}"
    );
    assert!(
        broken
            .lines()
            .any(|l| l.contains("libplugin_builder_future") && l.contains("2.0.0")),
        "{stdout}"
    );
    // The good plugins are still listed.
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with("libplugin_builder_dir.so")),
        "{stdout}"
    );
}

#[test]
fn a_template_naming_a_missing_plugin_fails_clearly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("www")).unwrap();
    fs::write(dir.path().join("www/index.html"), "hi").unwrap();
    fs::write(
        dir.path().join("t.toml"),
        r#"
[[builders]]
plugin = "dir"
config = { source = "www", output = "build/site" }

[[post-processors]]
plugin = "nosuch"
"#,
    )
    .unwrap();

    let output = run_rivet(dir.path(), &["build", "t.toml"], &[]);

    assert!(!output.status.success(), "{}", describe(&output));
    assert_ne!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no post-processor plugin named `nosuch`"),
        "{stderr}"
    );
    assert!(stderr.contains("t.toml"), "the template is named: {stderr}");
    assert!(
        stderr.contains("libplugin_post_processor_nosuch"),
        "{stderr}"
    );
    let mut left: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["t.toml", "www"], "nothing is written");
}

#[test]
fn rivet_without_arguments_lists_the_command_plugins_with_their_synopsis() {
    let cwd = tempfile::tempdir().unwrap();

    let output = run_rivet(cwd.path(), &[], &[]);

    let stdout = success_stdout(&output);
    let inspect = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("inspect "))
        .unwrap_or_else(|| panic!("no inspect command:\n{stdout}"));
    assert!(
        inspect.contains("Show a template's steps and their plugin files"),
        "{inspect}"
    );
    for builtin in ["build", "plugins"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(builtin)),
            "{builtin}: {stdout}"
        );
    }
}

#[test]
fn rivet_inspect_help_prints_the_command_s_help() {
    let cwd = tempfile::tempdir().unwrap();

    let output = run_rivet(cwd.path(), &["inspect", "--help"], &[]);

    let stdout = success_stdout(&output);
    assert!(
        stdout.starts_with("Usage: rivet inspect TEMPLATE"),
        "{stdout}"
    );
    assert!(stdout.contains("--help"), "{stdout}");
}

#[test]
fn rivet_log_debug_prints_plugin_log_lines_with_the_plugin_target() {
    let dir = tempfile::tempdir().unwrap();
    install_as(&fixture("chatty"), dir.path(), "chatty-dev.so");
    fs::write(
        dir.path().join("t.toml"),
        "[[builders]]\nplugin = \"chatty\"\npath = \"chatty-dev.so\"\n",
    )
    .unwrap();

    let output = run_rivet(dir.path(), &["build", "t.toml"], &[("RIVET_LOG", "debug")]);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = text(&output.stderr);
    let line = |target: &str, message: &str| {
        stderr
            .lines()
            .any(|l| l.contains(target) && l.ends_with(message))
    };
    assert!(
        line("INFO  plugin_builder_chatty]", "chatty is building"),
        "{stderr}"
    );
    assert!(
        line("DEBUG plugin_builder_chatty]", "chatty debug detail"),
        "{stderr}"
    );
    assert!(!stderr.contains("chatty trace detail"), "{stderr}");

    // Without RIVET_LOG, plugin records below warn are not shown.
    let quiet = run_rivet(dir.path(), &["build", "t.toml"], &[]);
    assert!(quiet.status.success(), "{}", describe(&quiet));
    assert!(
        !text(&quiet.stderr).contains("plugin_builder_chatty"),
        "{}",
        describe(&quiet)
    );
}

/// The example plugins themselves should say what they do at debug level,
/// so that `RIVET_LOG=debug rivet build` shows each plugin's work under its
/// own target.
#[test]
fn rivet_log_debug_shows_the_example_plugins_own_log_lines() {
    let site = example_site();

    let output = run_rivet(
        site.path(),
        &["build", "site.toml"],
        &[("RIVET_LOG", "debug")],
    );

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = text(&output.stderr);
    let targets: Vec<&str> = [
        "plugin_builder_dir",
        "plugin_provisioner_file",
        "plugin_provisioner_shell",
        "plugin_post_processor_checksum",
        "plugin_post_processor_compress",
    ]
    .into_iter()
    .filter(|target| !stderr.contains(&format!(" {target}]")))
    .collect();
    assert!(
        targets.is_empty(),
        "no log line from {targets:?}:\n{stderr}"
    );
}
