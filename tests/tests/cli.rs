//! The real `rivet` binary: building the example template, listing plugins,
//! failing cleanly, command plugins and logging. Every run has `RIVET_HOME`
//! in a temporary directory and its working directory in another.

use std::fs;

use rivet_interface::PluginKind;
use rivet_interface::files::plugin_file_name;
use rivet_tests::cli::{describe, example_site, plugin_row, run_rivet, success_stdout, text};
use rivet_tests::files::{tree, unpack};
use rivet_tests::{fixture, install_as, real_plugin_file_names, rivet};

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
        let (kind, name) = rivet_interface::files::parse_plugin_file_name(&file_name).unwrap();
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
        &fixture("builder_v2"),
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
        junk_line.contains("not a Rivet plugin library"),
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
        stderr.contains("no plugin `nosuch` for interface `post_processor`"),
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
fn rivet_log_debug_prints_plugin_log_lines_with_the_plugin_crate_target() {
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
        line("INFO  fixture_chatty]", "chatty is building"),
        "{stderr}"
    );
    assert!(
        line("DEBUG fixture_chatty]", "chatty debug detail"),
        "{stderr}"
    );
    assert!(!stderr.contains("chatty trace detail"), "{stderr}");

    // Without RIVET_LOG, plugin records below warn are not shown.
    let quiet = run_rivet(dir.path(), &["build", "t.toml"], &[]);
    assert!(quiet.status.success(), "{}", describe(&quiet));
    assert!(
        !text(&quiet.stderr).contains("fixture_chatty"),
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

/// A fresh home with command `hello-cmd` installed by `rivet plugins
/// install` (so not beside `rivet` nor on the search path), and a working
/// directory; `rivet ARGS` runs there.
struct HelloHome {
    home: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

impl HelloHome {
    fn new() -> HelloHome {
        let setup = HelloHome {
            home: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
        };
        let file = install_as(
            &fixture("hello_cmd"),
            setup.cwd.path(),
            &plugin_file_name(PluginKind::Command, "hello-cmd"),
        );
        success_stdout(&setup.run(&["plugins", "install", &file.to_string_lossy()]));
        fs::remove_file(&file).unwrap();
        setup
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        rivet(self.home.path(), self.cwd.path())
            .args(args)
            .output()
            .expect("rivet runs")
    }
}

/// The row of `listing` (the output of `rivet`, `rivet --help` or `rivet
/// plugins list`) naming `name` as a whole word, if any.
fn row_naming<'a>(listing: &'a str, name: &str) -> Option<&'a str> {
    listing
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == name))
}

#[test]
fn installed_command_plugins_are_listed_under_their_own_name_and_have_help() {
    let setup = HelloHome::new();

    let overview = success_stdout(&setup.run(&[]));
    let row = row_naming(&overview, "hello-cmd")
        .unwrap_or_else(|| panic!("`rivet` does not list hello-cmd:\n{overview}"));
    assert!(row.contains("Says hello, exits with CODE"), "{row}");
    assert!(!overview.contains("hello_cmd"), "{overview}");

    let help = success_stdout(&setup.run(&["--help"]));
    let row = row_naming(&help, "hello-cmd")
        .unwrap_or_else(|| panic!("`rivet --help` does not list hello-cmd:\n{help}"));
    assert!(row.contains("Says hello, exits with CODE"), "{row}");

    let help = success_stdout(&setup.run(&["help", "hello-cmd"]));
    assert!(help.starts_with("Usage: rivet hello-cmd [CODE]"), "{help}");
    let help = success_stdout(&setup.run(&["help", "build"]));
    assert!(help.contains("Usage: rivet build"), "{help}");

    // `rivet plugins list` names it the same way; its file has `_`.
    let list = success_stdout(&setup.run(&["plugins", "list"]));
    let row = row_naming(&list, "hello-cmd")
        .unwrap_or_else(|| panic!("`rivet plugins list` does not name hello-cmd:\n{list}"));
    assert!(row.contains("libplugin_command_hello_cmd_v"), "{row}");
    assert!(row_naming(&list, "hello_cmd").is_none(), "{list}");

    // Either spelling runs it.
    for name in ["hello-cmd", "hello_cmd"] {
        assert_eq!(success_stdout(&setup.run(&[name])), "hello\n");
    }
}

#[test]
fn a_command_s_exit_code_is_rivet_s_status_and_one_out_of_range_is_255_with_a_warning() {
    let setup = HelloHome::new();

    let output = setup.run(&["hello-cmd", "7"]);
    assert_eq!(output.status.code(), Some(7), "{}", describe(&output));
    assert!(text(&output.stderr).is_empty(), "{}", describe(&output));

    for code in ["256", "-1", "100000"] {
        let output = setup.run(&["hello-cmd", code]);
        assert_eq!(output.status.code(), Some(255), "{}", describe(&output));
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("returned exit code {code}"))
                && stderr.contains("rivet exits with 255"),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_command_is_named_with_the_commands_there_are() {
    let setup = HelloHome::new();

    let output = setup.run(&["nosuch", "x"]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: there is no command `nosuch`;"),
        "{stderr}"
    );
    for command in ["`build`", "`plugins`", "`inspect`", "`hello-cmd`"] {
        assert!(stderr.contains(command), "{command}: {stderr}");
    }
    assert!(!stderr.contains("template"), "{stderr}");
}

#[test]
fn the_build_summary_has_one_line_per_artifact() {
    let site = example_site();
    // The example without its last step, `compress`: the final artifact is
    // the site directory itself, many files.
    let template = fs::read_to_string(site.path().join("site.toml")).unwrap();
    let (without_compress, _) = template
        .split_once("# Pack the site")
        .expect("the example packs the site last");
    fs::write(site.path().join("dir.toml"), without_compress).unwrap();

    for (template, expected) in [
        ("site.toml", "site.tar.gz: BUILD/site.tar.gz".to_owned()),
        ("dir.toml", "site: BUILD/site (5 files)".to_owned()),
    ] {
        let output = run_rivet(site.path(), &["build", template], &[]);
        let stdout = success_stdout(&output);
        let summary: Vec<&str> = stdout.lines().filter(|l| l.starts_with("-->")).collect();
        let build = site.path().join("build").canonicalize().unwrap();
        let expected = format!(
            "--> {}",
            expected.replace("BUILD", &build.to_string_lossy())
        );
        assert_eq!(summary, [expected.as_str()], "{template}:\n{stdout}");
    }
}

#[test]
fn a_bad_configuration_is_reported_once_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("t.toml"),
        "[[builders]]\nplugin = \"dir\"\nconfig = { output = \"out\", sorce = \"www\" }\n",
    )
    .unwrap();

    let output = run_rivet(dir.path(), &["build", "t.toml"], &[]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    assert!(
        line.starts_with(
            "error: t.toml: builder #1 (dir) rejected its configuration: unknown field `sorce`"
        ),
        "{line}"
    );
    for layer in ["dir", "configuration"] {
        assert_eq!(line.matches(layer).count(), 1, "{layer} twice: {line}");
    }
}
