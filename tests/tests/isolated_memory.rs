//! Isolated mode costs bounded memory whatever a plugin process sends: a
//! line of output without end, or frame headers announcing the largest frame
//! and nothing after them.
//!
//! The tests measure from `/proc`, so they live in their own test process:
//! the host's peak RSS is this process's.

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rivet_loader::{Mode, Plugin, PluginKind};
use rivet_tests::logger::{install_recording_logger, records_where};
use rivet_tests::{
    RecordingUi, fixture, install_in_temp_dir, isolated_loader_for, process_env, status_kib,
    wait_for_servers_for_file, wait_until,
};
use tempfile::TempDir;

const MIB: u64 = 1024;

/// The `misbehave` builder in its own process, the directory holding it and
/// the pid of its server.
fn misbehave() -> (TempDir, Plugin, u32) {
    let (dir, file) = install_in_temp_dir(&fixture("misbehave"), PluginKind::Builder, "misbehave");
    let loader = isolated_loader_for(&[dir.path()], &RecordingUi::new());
    let plugin = loader
        .load_in(PluginKind::Builder, "misbehave", Mode::Process)
        .unwrap_or_else(|error| panic!("{error}"));
    let servers = wait_for_servers_for_file(&file);
    assert_eq!(servers.len(), 1, "{servers:?}");
    (dir, plugin, servers[0])
}

/// A plugin printing 256 MiB without a newline: the host reads all of it
/// (the plugin's writes never block for good) but keeps only the start of
/// the line, so its peak RSS grows by far less than the line.
#[test]
fn a_huge_output_line_costs_the_host_little_memory() {
    install_recording_logger();
    let (dir, plugin, _server) = misbehave();
    let me = std::process::id();
    // Reset this process's peak RSS (VmHWM) to its current RSS.
    fs::write("/proc/self/clear_refs", "5").expect("clear_refs is writable");
    let before = status_kib(me, "VmRSS").unwrap();

    let printer = plugin
        .prepare(r#"{"action": "huge-line", "id": "printer"}"#, dir.path())
        .unwrap();
    assert_eq!(printer.build().unwrap().id, "printer");
    let after_line = |r: &rivet_tests::logger::Logged| r.message == "after the huge line";
    assert!(
        wait_until(Duration::from_secs(30), || !records_where(after_line)
            .is_empty()),
        "the line after the huge one never reached the host's log"
    );

    let growth = status_kib(me, "VmHWM").unwrap().saturating_sub(before);
    eprintln!("host peak RSS growth reading a 256 MiB line: {growth} KiB");
    assert!(
        growth < 64 * MIB,
        "the host's peak RSS grew by {} MiB reading a 256 MiB line",
        growth / MIB
    );
    let cut = records_where(|r| r.message.contains("[line cut at"));
    assert_eq!(cut.len(), 1, "one record says the line was cut");
    assert!(cut[0].message.starts_with("xxxx"), "{:.40}", cut[0].message);
}

/// Connections that announce the largest frame (64 MiB) and send 1,000
/// bytes of it: the server reads them all but allocates for what arrived,
/// not for what was announced. Its data segment (VmData, which counts
/// allocations whether or not their pages were touched yet) stays small.
#[test]
fn frame_headers_alone_cost_the_server_little_memory() {
    const CONNECTIONS: usize = 16;
    const SENT: usize = 1_000;
    let (_dir, _plugin, server) = misbehave();
    let socket = process_env(server, "RIVET_PLUGIN_SOCKET").expect("the server's socket");
    let before = status_kib(server, "VmData").unwrap();

    // The protocol's limit: 64 MiB.
    let mut frame = (64u32 << 20).to_le_bytes().to_vec();
    frame.extend(std::iter::repeat_n(0u8, SENT));
    let intruders: Vec<UnixStream> = (0..CONNECTIONS)
        .map(|_| {
            let mut intruder = UnixStream::connect(&socket).unwrap();
            intruder.write_all(&frame).unwrap();
            intruder
        })
        .collect();
    // Wait until the server has read every byte sent (nothing is left in
    // the sockets' queues): by then, it has allocated whatever it does.
    let unread = |stream: &UnixStream| {
        let mut queued: libc::c_int = 0;
        // SAFETY: TIOCOUTQ writes one int through the pointer, which points
        // to a live local; the descriptor is an open socket.
        let result = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
        assert_eq!(result, 0, "{}", std::io::Error::last_os_error());
        queued
    };
    assert!(
        wait_until(Duration::from_secs(10), || intruders
            .iter()
            .all(|s| unread(s) == 0)),
        "the server did not read what was sent"
    );

    let growth = status_kib(server, "VmData").unwrap().saturating_sub(before);
    eprintln!("server VmData growth after {CONNECTIONS} frame headers: {growth} KiB");
    assert!(
        growth < 256 * MIB,
        "{CONNECTIONS} frame headers grew the server's data by {} MiB",
        growth / MIB
    );
}
