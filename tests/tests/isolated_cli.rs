//! Isolated mode through the real `rivet` binary: the example site builds to
//! the same bytes in both modes (chosen by flag, by environment or per
//! step), `plugins list` shows the mode, a crashing plugin is an error
//! rather than a dead `rivet` (even when a process it forked holds its
//! pipes), a plugin's endless output line costs `rivet` little memory, and
//! plugin servers never outlive a killed `rivet`.

use std::fs;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rivet_interface::PluginKind;
use rivet_interface::files::plugin_file_name;
use rivet_tests::cli::{
    describe, example_site, plugin_row, run_bounded, run_rivet_with, success_stdout, text,
};
use rivet_tests::{
    fixture, is_running, process_info, real_plugin_file_names, rivet, rivet_servers_of, wait_until,
};

/// `rivet ARGS` in `cwd` with a fresh home, plugin output at debug level.
fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_rivet_with(cwd, args, env, |command| {
        command
            .env_remove("RIVET_ISOLATION")
            .env("RIVET_LOG", "debug");
    })
}

/// What a build of the example site leaves: `SHA256SUMS` and the archive.
#[derive(Debug, PartialEq, Eq)]
struct Result {
    sums: Vec<u8>,
    archive: Vec<u8>,
}

/// Builds the site in `site` from scratch with `args` and `env`; checks the
/// mode each step ran in (from rivet's debug log) and returns the result.
fn build(site: &Path, template: &str, args: &[&str], env: &[(&str, &str)], mode: &str) -> Result {
    let _ = fs::remove_dir_all(site.join("build"));
    let mut all_args = args.to_vec();
    all_args.extend(["build", template]);

    let output = run(site, &all_args, env);

    assert!(output.status.success(), "{}", describe(&output));
    let stderr = text(&output.stderr);
    let steps: Vec<&str> = stderr.lines().filter(|l| l.contains(": using ")).collect();
    assert_eq!(steps.len(), 5, "{}", describe(&output));
    for step in steps {
        assert!(step.ends_with(&format!("({mode})")), "{step}");
    }
    Result {
        sums: fs::read(site.join("build/site/SHA256SUMS")).unwrap(),
        archive: fs::read(site.join("build/site.tar.gz")).unwrap(),
    }
}

#[test]
fn the_example_site_builds_to_the_same_bytes_in_both_modes() {
    let site = example_site();
    // Every step isolated by the template itself.
    let template = fs::read_to_string(site.path().join("site.toml")).unwrap();
    let isolated_template = template.replace("\nplugin = ", "\nisolation = \"process\"\nplugin = ");
    assert_eq!(isolated_template.matches("isolation").count(), 5);
    fs::write(site.path().join("isolated.toml"), isolated_template).unwrap();

    let in_process = build(site.path(), "site.toml", &[], &[], "in-process");
    let by_flag = build(
        site.path(),
        "site.toml",
        &["--isolation", "process"],
        &[],
        "process",
    );
    let by_env = build(
        site.path(),
        "site.toml",
        &[],
        &[("RIVET_ISOLATION", "process")],
        "process",
    );
    let by_template = build(site.path(), "isolated.toml", &[], &[], "process");

    assert!(!in_process.sums.is_empty());
    assert!(in_process == by_flag, "--isolation process differs");
    assert!(in_process == by_env, "RIVET_ISOLATION=process differs");
    assert!(in_process == by_template, "isolation = \"process\" differs");
}

#[test]
fn rivet_plugins_list_with_isolation_process_shows_mode_process() {
    let cwd = tempfile::tempdir().unwrap();

    let output = run(
        cwd.path(),
        &["--isolation", "process", "plugins", "list"],
        &[],
    );

    let stdout = success_stdout(&output);
    for file_name in real_plugin_file_names() {
        let row = plugin_row(&stdout, &file_name);
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[3], "process", "{row}");
    }
    assert!(!stdout.contains("Broken"), "{stdout}");
}

/// A template with one builder: `misbehave` (by path) doing `action`.
fn misbehave_template(dir: &Path, action: &str, isolation: Option<&str>) -> std::path::PathBuf {
    let plugin = dir.join(plugin_file_name(PluginKind::Builder, "misbehave"));
    fs::copy(fixture("misbehave"), &plugin).unwrap();
    let isolation = isolation
        .map(|mode| format!("isolation = \"{mode}\"\n"))
        .unwrap_or_default();
    let template = dir.join("misbehave.toml");
    fs::write(
        &template,
        format!(
            "[[builders]]\nplugin = \"misbehave\"\npath = \"{}\"\n{isolation}[builders.config]\naction = \"{action}\"\n",
            plugin.display()
        ),
    )
    .unwrap();
    template
}

#[test]
fn a_crashing_isolated_plugin_fails_the_build_but_not_rivet() {
    let dir = tempfile::tempdir().unwrap();
    let template = misbehave_template(dir.path(), "segfault", Some("process"));

    let output = run(dir.path(), &["build", &template.display().to_string()], &[]);

    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("builder #1 (misbehave) crashed") && stderr.contains("SIGSEGV"),
        "{}",
        describe(&output)
    );
}

/// A plugin printing 256 MiB without a newline: `rivet` reads all of it (the
/// plugin's writes never block for good) but keeps only the start of the
/// line, so its peak memory stays far below the line's size.
#[test]
fn a_huge_output_line_costs_rivet_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let template = misbehave_template(dir.path(), "huge-line", Some("process"));
    let mut command = rivet(home.path(), dir.path());
    command.arg("build").arg(&template).env_remove("RIVET_LOG");
    let run = run_bounded(&mut command, Duration::from_secs(120));

    assert!(run.output.status.success(), "{}", describe(&run.output));
    let stderr = text(&run.output.stderr);
    let cut: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("[line cut at 65536 bytes"))
        .collect();
    assert_eq!(cut.len(), 1, "one line says it was cut");
    assert!(cut[0].starts_with("xxxx"), "{:.60}", cut[0]);
    assert!(stderr.contains("after the huge line"), "{:.2000}", stderr);
    eprintln!("rivet's peak RSS: {} KiB", run.peak_rss / 1024);
    assert!(
        run.peak_rss < 100 << 20,
        "rivet's peak RSS reached {} MiB reading a 256 MiB line",
        run.peak_rss >> 20
    );
}

/// A plugin that forks a child keeping every descriptor (its pipes to
/// `rivet` too) and then aborts: the build fails at once naming the signal,
/// not when the child ends 30 s later.
#[test]
fn a_crash_is_noticed_even_when_a_forked_child_keeps_the_pipes_open() {
    let dir = tempfile::tempdir().unwrap();
    let template = misbehave_template(dir.path(), "fork-and-abort", Some("process"));
    let home = tempfile::tempdir().unwrap();
    let mut command = rivet(home.path(), dir.path());
    command.arg("build").arg(&template);
    // The child sleeps 30 s: a build waiting for it would take that long.
    let run = run_bounded(&mut command, Duration::from_secs(25));

    assert_eq!(
        run.output.status.code(),
        Some(1),
        "{}",
        describe(&run.output)
    );
    let stderr = text(&run.output.stderr);
    assert!(
        stderr.contains("builder #1 (misbehave) crashed") && stderr.contains("SIGABRT"),
        "{}",
        describe(&run.output)
    );
}

/// Runs `rivet --isolation process build` on a template whose `misbehave`
/// step does `action`, with the variables `env` and its own `TMPDIR`; waits
/// for its plugin server and then for `ready(server, TMPDIR)`; kills `rivet`
/// (SIGKILL: no destructor, no Shutdown). The server must end within 10 s
/// and leave nothing in `TMPDIR`.
fn plugin_server_ends_when_rivet_is_killed(
    action: &str,
    env: &[(&str, &str)],
    ready: impl Fn(u32, &Path) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let template = misbehave_template(dir.path(), action, None);
    let mut command = rivet(home.path(), dir.path());
    command
        .args(["--isolation", "process", "build"])
        .arg(&template)
        .env_remove("RIVET_ISOLATION")
        .env("TMPDIR", tmp.path())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let rivet_pid = child.id();

    let mut servers = Vec::new();
    let started = wait_until(Duration::from_secs(20), || {
        servers = rivet_servers_of(rivet_pid);
        !servers.is_empty()
    });
    let server = servers.first().map(|s| s.pid);
    let ready =
        server.is_some_and(|pid| wait_until(Duration::from_secs(10), || ready(pid, tmp.path())));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(started, "rivet started no plugin server");
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert!(ready, "the plugin server never got ready to be killed");
    let server = servers[0].pid;

    let ended = wait_until(Duration::from_secs(10), || !is_running(server));
    assert!(
        ended,
        "the plugin server outlived rivet: {:?}",
        process_info(server)
    );
    // It left nothing in its temporary directory.
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");
}

#[test]
fn plugin_servers_end_when_rivet_is_killed() {
    // Killed while the plugin hangs in a call: the server has loaded the
    // plugin and serves it.
    plugin_server_ends_when_rivet_is_killed("hang", &[], |server, _| {
        let mapped = fs::read_to_string(format!("/proc/{server}/maps"))
            .is_ok_and(|maps| maps.contains("libplugin_builder_misbehave"));
        if mapped {
            // From loaded to hanging in `build`: a moment.
            std::thread::sleep(Duration::from_millis(500));
        }
        mapped
    });
}

#[test]
fn plugin_servers_end_when_rivet_is_killed_while_a_constructor_runs() {
    // Killed while the plugin's library constructor sleeps inside `dlopen`
    // (the library is mapped; the server reads nothing yet): the server
    // must not wait for the constructor to end (a minute).
    plugin_server_ends_when_rivet_is_killed(
        "ok",
        &[("MISBEHAVE_CONSTRUCTOR_SLEEP", "60")],
        |server, _| {
            let mapped = fs::read_to_string(format!("/proc/{server}/maps"))
                .is_ok_and(|maps| maps.contains("libplugin_builder_misbehave"));
            if mapped {
                // From mapped to running its constructor: a moment.
                std::thread::sleep(Duration::from_millis(300));
            }
            mapped
        },
    );
}

/// `rivet ARGS build TEMPLATE` with the variables `env`, the template's one
/// `misbehave` step doing `action`, isolated.
fn build_misbehave(action: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let template = misbehave_template(dir.path(), action, Some("process"));
    let mut all_args = args.to_vec();
    let template = template.display().to_string();
    all_args.extend(["build", &template]);
    run(dir.path(), &all_args, env)
}

#[test]
fn timeouts_too_long_to_wait_for_mean_no_limit_and_zero_is_refused() {
    const MAX: &str = "18446744073709551615";
    for (args, env) in [
        (&["--call-timeout", MAX][..], &[][..]),
        (&["--handshake-timeout", MAX], &[]),
        (
            &[],
            &[
                ("RIVET_CALL_TIMEOUT", MAX),
                ("RIVET_HANDSHAKE_TIMEOUT", MAX),
            ],
        ),
    ] {
        let output = build_misbehave("ok", args, env);
        assert!(
            output.status.success(),
            "{args:?} {env:?}: {}",
            describe(&output)
        );
    }

    for (args, env) in [
        (&["--call-timeout", "0"][..], &[][..]),
        (&["--handshake-timeout", "0"], &[]),
        (&[], &[("RIVET_CALL_TIMEOUT", "0")]),
        (&[], &[("RIVET_HANDSHAKE_TIMEOUT", "0")]),
    ] {
        let output = build_misbehave("ok", args, env);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} {env:?}: {}",
            describe(&output)
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains("give at least 1 second"), "{stderr}");
    }
}

#[test]
fn a_plugin_slower_to_load_than_the_handshake_timeout_fails_the_build_naming_it() {
    let slow = ("MISBEHAVE_CONSTRUCTOR_SLEEP", "30");
    for (args, env) in [
        (&["--handshake-timeout", "1"][..], &[slow][..]),
        (&[], &[slow, ("RIVET_HANDSHAKE_TIMEOUT", "1")]),
    ] {
        let start = Instant::now();
        let output = build_misbehave("ok", args, env);
        let took = start.elapsed();

        assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("libplugin_builder_misbehave")
                && stderr.contains("handshake timeout of 1s"),
            "{}",
            describe(&output)
        );
        // Not the default 20 s, nor the constructor's 30 s.
        assert!(took < Duration::from_secs(15), "{took:?}");
    }
}
