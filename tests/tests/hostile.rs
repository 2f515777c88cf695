//! Hostile plugin files: shared libraries whose ELF constructors crash,
//! exit, abort, hang or print a fake handshake, built here from C with `cc`
//! and named like plugins. Each is vetted in a scanner process and
//! quarantined with its reason; the real plugins beside them still list and
//! build, and `rivet` itself never dies or exits 0 because of them.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use rivet_host::integrity::{sha256_hex, sidecar_path};
use rivet_interface::PluginKind;
use rivet_interface::files::plugin_file_name;
use rivet_tests::cli::{describe, example_site, text};
use rivet_tests::{build_c_library, rivet, rivet_bin, rivet_server};

/// The hostile constructors: plugin name, C body of the constructor, what
/// the listing (and an in-process build) must say about the file, and what
/// an isolated build must say.
const HOSTILE: &[(&str, &str, &str, &str)] = &[
    ("segv", "*(volatile int *)0 = 1;", "SIGSEGV", "SIGSEGV"),
    (
        "exits",
        "exit(0);",
        "exited with status 0",
        "exited with status 0",
    ),
    (
        "quits",
        "_exit(3);",
        "exited with status 3",
        "exited with status 3",
    ),
    ("aborts", "abort();", "SIGABRT", "SIGABRT"),
    (
        "sleeps",
        "sleep(60);",
        "did not finish within 2 s",
        "handshake timeout",
    ),
    (
        "fake",
        "printf(\"RIVET-PLUGIN|1|ok|/tmp/nothing\\n\"); fflush(stdout);",
        "not a Rivet plugin",
        "not a Rivet plugin",
    ),
];

/// The scan timeout the tests give `rivet`, in seconds.
const SCAN_TIMEOUT: &str = "2";

/// Builds the hostile libraries into a new directory, as builders.
fn hostile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, ..) in HOSTILE {
        build_c_library(
            dir.path(),
            &plugin_file_name(PluginKind::Builder, name),
            body,
        );
    }
    dir
}

/// `rivet ARGS` in `cwd` with `home` as RIVET_HOME, the hostile directory
/// on the plugin path and a short scan timeout.
fn run(home: &Path, cwd: &Path, hostile: &Path, args: &[&str]) -> Output {
    rivet(home, cwd)
        .args(args)
        .env("RIVET_PLUGIN_PATH", hostile)
        .env("RIVET_SCAN_TIMEOUT", SCAN_TIMEOUT)
        .output()
        .unwrap()
}

/// The line of `output` (stdout then stderr) naming `file`.
fn line_for(output: &Output, file: &str) -> String {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    all.lines()
        .find(|line| line.contains(file))
        .unwrap_or_else(|| panic!("nothing about {file}:\n{}", describe(output)))
        .to_owned()
}

#[test]
fn listing_reports_each_hostile_file_and_every_good_plugin() {
    let hostile = hostile_dir();
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let output = run(
        home.path(),
        cwd.path(),
        hostile.path(),
        &["plugins", "list"],
    );
    // The sleeping constructor is given 2 s, not its 60.
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );

    assert!(output.status.success(), "{}", describe(&output));
    let stdout = text(&output.stdout);
    for good in ["dir", "file", "shell", "checksum", "compress", "inspect"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.split_whitespace().nth(1) == Some(good)),
            "{good} is not listed:\n{stdout}"
        );
    }
    for (name, _, reason, _) in HOSTILE {
        let line = line_for(&output, &plugin_file_name(PluginKind::Builder, name));
        assert!(line.contains(reason), "{name}: {line}");
    }
}

/// A warm listing needs no scanner: it runs with a scanner that cannot start
/// and says the same. (`rivet` and the scanner are copied so one can be
/// broken.)
#[test]
fn a_warm_listing_starts_no_scanner() {
    let hostile = hostile_dir();
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let rivet_copy = bin.path().join(rivet_bin().file_name().unwrap());
    let server_copy = bin.path().join(rivet_server().file_name().unwrap());
    fs::copy(rivet_bin(), &rivet_copy).unwrap();
    fs::copy(rivet_server(), &server_copy).unwrap();
    let list = || {
        Command::new(&rivet_copy)
            .args(["plugins", "list"])
            .current_dir(bin.path())
            .env("RIVET_HOME", home.path())
            .env("RIVET_PLUGIN_PATH", hostile.path())
            .env("RIVET_SCAN_TIMEOUT", SCAN_TIMEOUT)
            .env_remove("RIVET_LOG")
            .output()
            .unwrap()
    };

    let cold = list();
    assert!(cold.status.success(), "{}", describe(&cold));
    // A scanner that cannot start (were it missing, `rivet` would scan
    // with its own executable).
    let mut perms = fs::metadata(&server_copy).unwrap().permissions();
    fs::write(&server_copy, b"").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    fs::set_permissions(&server_copy, perms).unwrap();
    let warm = list();
    assert!(warm.status.success(), "{}", describe(&warm));
    assert_eq!(text(&warm.stdout), text(&cold.stdout));
    let segv = plugin_file_name(PluginKind::Builder, "segv");
    assert!(line_for(&warm, &segv).contains("SIGSEGV"));

    // A file that changes is scanned again: without a scanner, it cannot be.
    let sleeps = hostile
        .path()
        .join(plugin_file_name(PluginKind::Builder, "sleeps"));
    build_c_library(
        hostile.path(),
        sleeps.file_name().unwrap().to_str().unwrap(),
        "sleep(61);",
    );
    let changed = list();
    assert!(
        line_for(&changed, sleeps.to_str().unwrap()).contains("did not start"),
        "{}",
        describe(&changed)
    );
}

#[test]
fn builds_not_using_them_succeed_and_builds_using_one_fail_with_the_reason() {
    let hostile = hostile_dir();
    let home = tempfile::tempdir().unwrap();
    let site = example_site();
    let output = run(
        home.path(),
        site.path(),
        hostile.path(),
        &["build", "site.toml"],
    );
    assert!(output.status.success(), "{}", describe(&output));

    for mode in ["in-process", "process"] {
        for (name, _, in_process, isolated) in HOSTILE {
            let reason = if mode == "process" {
                isolated
            } else {
                in_process
            };
            let template = site.path().join(format!("{name}.toml"));
            fs::write(
                &template,
                format!("[[builders]]\nplugin = \"{name}\"\nconfig = {{}}\n"),
            )
            .unwrap();
            let output = run(
                home.path(),
                site.path(),
                hostile.path(),
                &[
                    "--isolation",
                    mode,
                    "--handshake-timeout",
                    SCAN_TIMEOUT,
                    "build",
                    template.to_str().unwrap(),
                ],
            );
            assert_eq!(
                output.status.code(),
                Some(1),
                "{mode} {name}\n{}",
                describe(&output)
            );
            let stderr = text(&output.stderr);
            assert!(stderr.contains(name), "{mode} {name}: {stderr}");
            assert!(stderr.contains(reason), "{mode} {name}: {stderr}");
        }
    }
}

/// An installed plugin that crashes when loaded: `plugins installed` lists
/// it as quarantined and `plugins remove` removes it, neither loading it in
/// `rivet`.
#[test]
fn installed_and_remove_never_load_a_plugin_in_rivet() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let source_dir = home.path().join("plugins/local");
    fs::create_dir_all(&source_dir).unwrap();
    let file_name = format!(
        "libplugin_builder_segv_v1.0.0_i1_{}_{}.so",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let installed = build_c_library(&source_dir, &file_name, "*(volatile int *)0 = 1;");
    let digest = sha256_hex(fs::File::open(&installed).unwrap()).unwrap();
    fs::write(sidecar_path(&installed), format!("{digest}  {file_name}\n")).unwrap();
    let empty = tempfile::tempdir().unwrap();

    let output = run(
        home.path(),
        cwd.path(),
        empty.path(),
        &["plugins", "installed"],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let line = line_for(&output, &file_name);
    assert!(
        line.contains("SIGSEGV") || text(&output.stdout).contains("SIGSEGV"),
        "{}",
        describe(&output)
    );

    let output = run(
        home.path(),
        cwd.path(),
        empty.path(),
        &["plugins", "remove", "segv"],
    );
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!installed.exists());
    assert!(!sidecar_path(&installed).exists());
}

/// A refusal that depends on the loader's settings (permissions) is not
/// kept as a verdict: listed without `--allow-insecure-plugins`, the file
/// still builds with it.
#[test]
fn a_refusal_for_permissions_is_not_kept() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let plugin = dir
        .path()
        .join(plugin_file_name(PluginKind::Builder, "versioned"));
    fs::copy(rivet_tests::fixture("versioned_1_2_0"), &plugin).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o775)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let site = example_site();

    // The listing's scanner refuses it (its directory is group-writable).
    let list = run(home.path(), site.path(), dir.path(), &["plugins", "list"]);
    assert!(
        line_for(&list, "writable by its group").contains(dir.path().to_str().unwrap()),
        "{}",
        describe(&list)
    );
    let template = site.path().join("t.toml");
    fs::write(
        &template,
        format!(
            "[[builders]]\nplugin = \"versioned\"\npath = {:?}\nconfig = {{}}\n",
            plugin.display()
        ),
    )
    .unwrap();
    let refused = run(home.path(), site.path(), dir.path(), &["build", "t.toml"]);
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    let allowed = run(
        home.path(),
        site.path(),
        dir.path(),
        &["--allow-insecure-plugins", "build", "t.toml"],
    );
    assert!(allowed.status.success(), "{}", describe(&allowed));
}
