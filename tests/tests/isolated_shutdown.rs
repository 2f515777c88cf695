//! Isolated mode leaves nothing behind: once a plugin handle and all its
//! instances are dropped, its server process is gone (reaped: neither a
//! zombie nor an orphan) and its private socket directory is removed.
//!
//! One test in its own file (its own test process), so that it can also
//! check that no `rivet-plugin-server` child and no `$TMPDIR/rivet-<pid>-*`
//! entry of this process is left at the end.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rivet_loader::{Artifact, Mode, Plugin, PluginKind};
use rivet_tests::{
    RecordingUi, fixture, install, isolated_loader_for, plugin_servers_of, process_env,
    process_info, wait_for_servers_for_file,
};

/// The one server serving `file`, and its socket's private directory.
fn server_of(file: &Path) -> (u32, PathBuf) {
    let servers = wait_for_servers_for_file(file);
    assert_eq!(servers.len(), 1, "{servers:?}");
    let socket = process_env(servers[0], "RIVET_PLUGIN_SOCKET").expect("a socket");
    let dir = Path::new(&socket).parent().unwrap().to_path_buf();
    assert!(Path::new(&socket).exists(), "{socket}");
    (servers[0], dir)
}

/// Asserts that `pid` is gone (not even a zombie) and `dir` removed.
fn assert_cleaned_up(what: &str, pid: u32, dir: &Path) {
    assert_eq!(
        process_info(pid),
        None,
        "{what}: the server process is still there"
    );
    assert!(!dir.exists(), "{what}: {} is left", dir.display());
}

/// This process's entries `$TMPDIR/rivet-<pid>-*`.
fn private_dirs() -> Vec<PathBuf> {
    let prefix = format!("rivet-{}-", std::process::id());
    fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

#[test]
fn dropping_the_last_handle_stops_the_server_and_removes_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let misbehave = install(
        &fixture("misbehave"),
        dir.path(),
        PluginKind::Builder,
        "misbehave",
    );
    let echo = install(
        &fixture("echo"),
        dir.path(),
        PluginKind::Provisioner,
        "echo",
    );
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let load = |kind, name| -> Plugin { loader.load_in(kind, name, Mode::Process).unwrap() };

    // 1. The plugin and its instances, dropped after use.
    let plugin = load(PluginKind::Provisioner, "echo");
    let a = plugin.prepare("{}", dir.path()).unwrap();
    let b = plugin.prepare("{}", dir.path()).unwrap();
    let input = Artifact {
        id: "x".into(),
        ..Artifact::default()
    };
    assert_eq!(a.provision(&input).unwrap().metadata["echo"], "x");
    assert_eq!(b.provision(&input).unwrap().metadata["echo"], "x");
    let (pid, socket_dir) = server_of(&echo);
    drop(plugin);
    drop(a);
    // An instance keeps the process alive after its plugin handle is gone.
    assert_eq!(b.provision(&input).unwrap().metadata["echo"], "x");
    assert_eq!(server_of(&echo).0, pid);
    drop(b);
    assert_cleaned_up("plugin, then instances", pid, &socket_dir);

    // 2. A plugin loaded and never used.
    let plugin = load(PluginKind::Provisioner, "echo");
    let (pid, socket_dir) = server_of(&echo);
    drop(plugin);
    assert_cleaned_up("an unused plugin", pid, &socket_dir);

    // 3. After a crash and a restart: the dead process was reaped and its
    // directory removed at the restart; the live one goes at the drop.
    let plugin = load(PluginKind::Builder, "misbehave");
    let marker = dir.path().join("marker");
    let crasher = plugin
        .prepare(
            &serde_json::json!({"action": "abort", "once": marker}).to_string(),
            dir.path(),
        )
        .unwrap();
    let (first, first_dir) = server_of(&misbehave);
    assert!(crasher.build().is_err());
    assert!(crasher.build().is_ok());
    assert_cleaned_up("the crashed process", first, &first_dir);
    let (second, second_dir) = server_of(&misbehave);
    drop(crasher);
    drop(plugin);
    assert_cleaned_up("after a restart", second, &second_dir);

    // 4. A hanging call that timed out: the killed process is reaped too.
    let mut loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    loader.set_call_timeout(Duration::from_millis(200));
    let plugin = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::Process)
        .unwrap();
    let (pid, socket_dir) = server_of(&misbehave);
    let hanger = plugin.prepare(r#"{"action": "hang"}"#, dir.path()).unwrap();
    assert!(hanger.build().is_err());
    assert_eq!(
        process_info(pid),
        None,
        "the timed-out process is not reaped"
    );
    // Its directory (with the socket the killed process could not remove)
    // goes with the dead server: at the next restart or the last drop.
    drop(hanger);
    drop(plugin);
    assert_cleaned_up("a timed-out process", pid, &socket_dir);

    // Nothing of this process is left.
    assert_eq!(plugin_servers_of(std::process::id()), []);
    assert_eq!(private_dirs(), Vec::<PathBuf>::new());
}
