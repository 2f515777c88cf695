//! Rivet's benchmarks: what in-process loading buys, measured against a
//! native call, isolated mode and the raw IPC floor, all in one run.
//!
//! `cargo bench -p rivet-tests` runs every benchmark with criterion, then
//! prints the summary that BENCHMARKS.md records: the medians, the ratios
//! b/a, c/b and c/d (from the medians of this same run), memory, and which
//! targets of the brief are met. Everything runs release builds: this binary,
//! the benchmark plugins (`tests/fixtures/bench-*`, built into
//! `target/fixtures/release`) and `rivet-server` (`target/release`).
//!
//! The call rows, each for a no-op method (`run(&[])` of command `noop`) and
//! an echo that moves a payload (`provision` of provisioner `bench-echo`,
//! the payload in the artifact's `id`, 8 B and 64 KiB, the same out):
//!
//! - (a) `native`: the same two methods on a `&dyn Trait` in this binary;
//! - (b) `in_process`: the plugin loaded in-process by a framework loader,
//!   through its kind's framework interface (`rivet_interface::framework`,
//!   where an artifact crosses serialized);
//! - (c) `isolated`: the same plugin file in its own process;
//! - (d) `socketpair`: the same bytes ping-ponged over a Unix socketpair
//!   with a child process, no framing, no serialization: the IPC floor
//!   (1 byte for the no-op column).
//!
//! Rows (c) and (d) run with both processes pinned to one CPU: a message
//! then costs what the IPC costs (system calls, a context switch, the
//! framing), not a wake-up of another CPU, which on a virtual machine with
//! idle vCPUs costs tens of microseconds and would measure the hypervisor.
//! Rows `call_spread/*` measure (c) and (d) unpinned, as hosts run: both
//! sides of isolated mode spin briefly before they block, so that a call
//! needs no wake-up; the summary gives the CPU time that costs per call.
//!
//! The framework rows (`framework/*`, issue 10) do the same for an interface
//! declared with `#[rivet::interface]` (`Bench`, in `tests/bench-interface`),
//! whose plugin (`tests/fixtures/framework-bench`) is loaded through the
//! generated handle, for a no-op method (`noop()`) and `apply` over a 64 KiB
//! `&mut [u8]` (256x256 grey pixels, inverted in place):
//!
//! - (a) `native`: a `&dyn Bench` implemented in this binary, doing the same
//!   work (`rivet_tests_bench::invert`);
//! - (b) `in_process`: the generated handle, the plugin in this process;
//! - (c) `isolated`: the generated handle, the plugin in its own
//!   `rivet-server` process (stdin and stdout pipes);
//! - (d) `socketpair` as above (1 byte for the no-op, 64 KiB each way), and
//!   (e) `pipe`: the same bytes over a pair of pipes (the child's stdin and
//!   stdout), the transport isolated framework plugins use.
//!
//! (c), (d) and (e) run pinned to one CPU (`framework/*`) and unpinned
//! (`framework_spread/*`).
//!
//! Also: loading N = 1, 10, 100 distinct plugin files (check and load, in a
//! fresh host process each time), isolated start (spawn + handshake +
//! first call), discovery over 10,000 unrelated files and 10 plugins, and
//! memory (RSS added per in-process plugin, RSS of a plugin process).
//!
//! The binary also plays helper roles when run with `RIVET_BENCH_ROLE`:
//! `peer` (the echo end of the socketpair), `pipe-peer` (the echo end of the
//! pipes), `load` (a fresh host that loads
//! the plugins of one directory and prints how long it took) and `memory`
//! (a fresh host that prints the RSS its plugins add).

use std::env;
use std::fs;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkId, Criterion, SamplingMode};
use rivet::{Config, Loader, Mode, Vetting};
use rivet_interface::framework::{
    CommandPlugin, CommandPluginHandle, Creation, ProvisionerPlugin, ProvisionerPluginHandle,
};
use rivet_interface::{Artifact, Error};
use rivet_tests::{release_dir, release_fixtures_dir, target_dir};
use rivet_tests_bench::{Bench, BenchHandle, invert};

/// Selects a helper role (see the module docs).
const ROLE_VAR: &str = "RIVET_BENCH_ROLE";
/// The plugin directory of the `load` and `memory` roles.
const DIR_VAR: &str = "RIVET_BENCH_DIR";

/// The payload columns: name and size.
const PAYLOADS: [(&str, usize); 2] = [("8B", 8), ("64KiB", 64 << 10)];
/// How many plugins the load benchmarks load.
const LOAD_COUNTS: [usize; 3] = [1, 10, 100];
/// How many plugins the memory figure averages over.
const MEMORY_PLUGINS: usize = 20;
/// The image of the framework's `apply` rows: 256x256 grey pixels, 64 KiB.
const IMAGE: (u32, u32) = (256, 256);

fn main() {
    match env::var(ROLE_VAR).as_deref() {
        Ok("peer") => return peer(),
        Ok("pipe-peer") => return pipe_peer(),
        Ok("load") => return load_role(),
        Ok("memory") => return memory_role(),
        _ => {}
    }
    let benchmarking = !env::args().any(|a| a == "--test" || a == "--list");
    let started = SystemTime::now();
    let plugins = Plugins::build();
    let mut criterion = Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();
    calls(&mut criterion, &plugins);
    framework_calls(&mut criterion, &plugins);
    isolated_start(&mut criterion, &plugins);
    loads(&mut criterion, &plugins);
    discovery(&mut criterion, &plugins);
    criterion.final_summary();
    if benchmarking {
        let memory = Memory::measure(&plugins);
        let cpu = [false, true].map(|pinned| CpuCost::measure(&plugins, pinned));
        summary(started, &memory, &cpu);
    }
}

/// Where criterion keeps its results (`target/criterion`).
fn criterion_dir() -> PathBuf {
    target_dir().join("criterion")
}

/// The release builds the benchmarks use.
struct Plugins {
    noop: PathBuf,
    echo: PathBuf,
    /// The framework's `Bench` plugin.
    framework: PathBuf,
    /// The plugin server.
    server: PathBuf,
}

impl Plugins {
    fn build() -> Plugins {
        let fixtures = release_fixtures_dir();
        let plugins = Plugins {
            noop: fixtures.join(lib_name("fixture_bench_noop")),
            echo: fixtures.join(lib_name("fixture_bench_echo")),
            framework: fixtures.join(lib_name("fixture_framework_bench")),
            server: release_dir().join(format!("rivet-server{}", env::consts::EXE_SUFFIX)),
        };
        for path in [
            &plugins.noop,
            &plugins.echo,
            &plugins.framework,
            &plugins.server,
        ] {
            assert!(path.is_file(), "{} was not built", path.display());
        }
        plugins
    }

    /// A loader whose isolated plugins run the release plugin server.
    fn loader(&self) -> Loader {
        // In-process rows measure calls and warm loads, not the scanner.
        Loader::new(bench_config().server(&self.server))
    }

    fn noop(&self, loader: &Loader, mode: Mode) -> CommandPluginHandle {
        loader
            .load_file::<dyn CommandPlugin>(&self.noop, mode, &serde_json::Value::Null)
            .expect("the noop plugin loads")
    }

    fn echo(&self, loader: &Loader, mode: Mode) -> ProvisionerPluginHandle {
        let creation = serde_json::to_value(Creation::default()).expect("JSON");
        loader
            .load_file::<dyn ProvisionerPlugin>(&self.echo, mode, &creation)
            .expect("the bench-echo plugin loads")
    }

    /// The framework's `Bench` plugin, through its generated handle.
    fn bench(&self, mode: Mode) -> BenchHandle {
        Loader::new(
            Config::app("rivet-bench")
                .search_path(Vec::<PathBuf>::new())
                .server(&self.server),
        )
        .load_file::<dyn Bench>(&self.framework, mode, &serde_json::Value::Null)
        .expect("the framework bench plugin loads")
    }
}

/// The configuration of the benchmarks' loaders: no search path (plugins
/// are loaded by path) and no vetting.
fn bench_config() -> Config {
    Config::app("rivet-bench")
        .search_path(Vec::<PathBuf>::new())
        .vetting(Vetting::Off)
}

fn lib_name(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        env::consts::DLL_PREFIX,
        env::consts::DLL_SUFFIX
    )
}

/// An artifact carrying `size` bytes in its id.
fn payload(size: usize) -> Artifact {
    Artifact {
        id: "x".repeat(size),
        ..Artifact::default()
    }
}

// ---------------------------------------------------------------- (a) native

/// Row (a): the two methods as a plain trait object, with the signatures
/// hosts call on the handles (`run(Vec<String>)`, `provision(Artifact)`)
/// and the same work as the plugins: nothing, and returning the input.
trait Native {
    fn run(&self, args: Vec<String>) -> Result<i32, Error>;
    fn provision(&self, artifact: Artifact) -> Result<Artifact, Error>;
}

struct NativeImpl;

impl Native for NativeImpl {
    fn run(&self, _args: Vec<String>) -> Result<i32, Error> {
        Ok(0)
    }

    fn provision(&self, artifact: Artifact) -> Result<Artifact, Error> {
        Ok(artifact)
    }
}

/// Row (a) of the framework: `Bench` as a plain trait object, doing the
/// plugin's work.
struct NativeBench;

impl Bench for NativeBench {
    fn noop(&self) {}

    fn apply(&self, pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error> {
        invert(pixels, width, height)
    }
}

// ---------------------------------------------------------- (d) socketpair

/// Row (d): a child process (this binary, role `peer`) that echoes every
/// byte it reads on a socketpair.
struct Peer {
    child: Child,
    stream: UnixStream,
    buffer: Vec<u8>,
}

impl Peer {
    fn start() -> Peer {
        let (ours, theirs) = UnixStream::pair().expect("a socketpair");
        let child = Command::new(env::current_exe().expect("the bench binary"))
            .env(ROLE_VAR, "peer")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .spawn()
            .expect("the peer starts");
        Peer {
            child,
            stream: ours,
            buffer: vec![0; 64 << 10],
        }
    }

    /// Sends `bytes` and reads as many back.
    fn ping(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("the peer reads");
        read_back(&mut self.stream, &mut self.buffer[..bytes.len()]);
    }
}

/// Fills `buffer` from `from`.
fn read_back(from: &mut impl Read, buffer: &mut [u8]) {
    let mut got = 0;
    while got < buffer.len() {
        let n = from.read(&mut buffer[got..]).expect("the peer answers");
        assert!(n > 0, "the peer hung up");
        got += n;
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        let _ = self.child.wait();
    }
}

/// Role `peer`: echo what arrives on stdin (a socket) until it closes.
fn peer() {
    let fd = io::stdin().as_fd().try_clone_to_owned().expect("stdin");
    let mut stream = UnixStream::from(fd);
    let mut buffer = vec![0u8; 128 << 10];
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buffer[..n]).is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- (e) pipe

/// Row (e): a child process (this binary, role `pipe-peer`) that echoes
/// every byte it reads on its stdin (a pipe) to its stdout (another pipe),
/// as a framework plugin server talks to its host.
struct PipePeer {
    child: Child,
    input: Option<std::process::ChildStdin>,
    output: std::process::ChildStdout,
    buffer: Vec<u8>,
}

impl PipePeer {
    fn start() -> PipePeer {
        let mut child = Command::new(env::current_exe().expect("the bench binary"))
            .env(ROLE_VAR, "pipe-peer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the pipe peer starts");
        PipePeer {
            input: child.stdin.take(),
            output: child.stdout.take().expect("stdout is piped"),
            child,
            buffer: vec![0; 64 << 10],
        }
    }

    /// Sends `bytes` and reads as many back.
    fn ping(&mut self, bytes: &[u8]) {
        let input = self.input.as_mut().expect("open until drop");
        input.write_all(bytes).expect("the peer reads");
        read_back(&mut self.output, &mut self.buffer[..bytes.len()]);
    }
}

impl Drop for PipePeer {
    fn drop(&mut self) {
        drop(self.input.take());
        let _ = self.child.wait();
    }
}

/// Role `pipe-peer`: echo what arrives on stdin to stdout, unbuffered,
/// until stdin closes.
fn pipe_peer() {
    let mut input = fs::File::from(io::stdin().as_fd().try_clone_to_owned().expect("stdin"));
    let mut output = fs::File::from(io::stdout().as_fd().try_clone_to_owned().expect("stdout"));
    let mut buffer = vec![0u8; 128 << 10];
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if output.write_all(&buffer[..n]).is_err() {
            return;
        }
    }
}

// ------------------------------------------------------------ CPU pinning

/// While alive, the calling thread, and the processes and threads it starts,
/// run on CPU 0 only; dropping it restores the thread's former CPUs.
struct PinnedToOneCpu {
    former: libc::cpu_set_t,
}

impl PinnedToOneCpu {
    fn new() -> PinnedToOneCpu {
        // SAFETY: the sets are plain bit sets, zeroed before use; pid 0 is
        // the calling thread and the sizes are those of the sets.
        unsafe {
            let mut former: libc::cpu_set_t = std::mem::zeroed();
            let size = size_of::<libc::cpu_set_t>();
            let got = libc::sched_getaffinity(0, size, &mut former);
            assert_eq!(got, 0, "sched_getaffinity: {}", io::Error::last_os_error());
            let mut only: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut only);
            libc::CPU_SET(0, &mut only);
            let set = libc::sched_setaffinity(0, size, &only);
            assert_eq!(set, 0, "sched_setaffinity: {}", io::Error::last_os_error());
            PinnedToOneCpu { former }
        }
    }
}

impl Drop for PinnedToOneCpu {
    fn drop(&mut self) {
        // SAFETY: as in `new`; `former` came from `sched_getaffinity`.
        let set = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &self.former) };
        assert_eq!(set, 0, "sched_setaffinity: {}", io::Error::last_os_error());
    }
}

// ---------------------------------------------------------------- the calls

fn calls(c: &mut Criterion, plugins: &Plugins) {
    let loader = plugins.loader();
    let native: &dyn Native = &NativeImpl;
    let artifacts: Vec<(&str, Artifact, Vec<u8>)> = PAYLOADS
        .iter()
        .map(|&(label, size)| (label, payload(size), vec![b'x'; size]))
        .collect();

    let mut group = c.benchmark_group("call");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // (a) and (b): one thread.
    let noop_in = plugins.noop(&loader, Mode::InProcess);
    let echo_in = plugins.echo(&loader, Mode::InProcess);
    group.bench_function(BenchmarkId::new("a_native", "noop"), |b| {
        b.iter(|| black_box(native).run(black_box(Vec::new())))
    });
    group.bench_function(BenchmarkId::new("b_in_process", "noop"), |b| {
        b.iter(|| noop_in.run(black_box(Vec::new())))
    });
    for (label, artifact, _) in &artifacts {
        assert_eq!(&echo_in.provision(artifact.clone()).unwrap(), artifact);
        group.bench_function(BenchmarkId::new("a_native", label), |b| {
            b.iter(|| black_box(native).provision(black_box(artifact.clone())))
        });
        group.bench_function(BenchmarkId::new("b_in_process", label), |b| {
            b.iter(|| echo_in.provision(black_box(artifact.clone())))
        });
    }

    // (c) and (d): both processes on one CPU, so that a message costs what
    // the IPC costs, not a wake-up of another (virtual) CPU.
    {
        let _pinned = PinnedToOneCpu::new();
        isolated_rows(&mut group, plugins, &loader, &artifacts);
    }
    group.finish();

    // (c) and (d) again with the processes free to run on any CPU, as a host
    // runs by default: each message may then also wake another CPU.
    let mut group = c.benchmark_group("call_spread");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    isolated_rows(&mut group, plugins, &loader, &artifacts);
    group.finish();
}

/// Rows (c) and (d) of the four kinds' calls, in `group`: the plugins
/// isolated, and the socketpair floor, for every payload.
fn isolated_rows(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    plugins: &Plugins,
    loader: &Loader,
    artifacts: &[(&str, Artifact, Vec<u8>)],
) {
    let noop_out = plugins.noop(loader, Mode::Process);
    let echo_out = plugins.echo(loader, Mode::Process);
    let mut peer = Peer::start();
    group.bench_function(BenchmarkId::new("c_isolated", "noop"), |b| {
        b.iter(|| noop_out.run(black_box(Vec::new())))
    });
    group.bench_function(BenchmarkId::new("d_socketpair", "noop"), |b| {
        b.iter(|| peer.ping(black_box(b"x")))
    });
    for (label, artifact, bytes) in artifacts {
        assert_eq!(&echo_out.provision(artifact.clone()).unwrap(), artifact);
        group.bench_function(BenchmarkId::new("c_isolated", label), |b| {
            b.iter(|| echo_out.provision(black_box(artifact.clone())))
        });
        group.bench_function(BenchmarkId::new("d_socketpair", label), |b| {
            b.iter(|| peer.ping(black_box(bytes)))
        });
    }
}

// ------------------------------------------------------ the framework calls

/// The framework rows: a `#[rivet::interface]` trait's generated handle
/// against a native `&dyn` call of the same trait, and against the socket
/// and pipe floors (see the module docs).
fn framework_calls(c: &mut Criterion, plugins: &Plugins) {
    let native: &dyn Bench = &NativeBench;
    let (width, height) = IMAGE;
    let mut pixels: Vec<u8> = (0..width * height).map(|i| (i * 7 % 256) as u8).collect();
    let original = pixels.clone();
    let mut expected = pixels.clone();
    native.apply(&mut expected, width, height).unwrap();
    let applies = |handle: &BenchHandle| {
        let mut image = original.clone();
        handle.apply(&mut image, width, height).unwrap();
        assert_eq!(image, expected, "{:?} apply inverts", handle.mode());
    };

    let mut group = c.benchmark_group("framework");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // (a) and (b): one thread.
    let in_process = plugins.bench(rivet::Mode::InProcess);
    applies(&in_process);
    group.bench_function(BenchmarkId::new("a_native", "noop"), |b| {
        b.iter(|| black_box(native).noop())
    });
    group.bench_function(BenchmarkId::new("b_in_process", "noop"), |b| {
        b.iter(|| black_box(&in_process).noop())
    });
    group.bench_function(BenchmarkId::new("a_native", "64KiB"), |b| {
        b.iter(|| black_box(native).apply(black_box(&mut pixels), width, height))
    });
    group.bench_function(BenchmarkId::new("b_in_process", "64KiB"), |b| {
        b.iter(|| black_box(&in_process).apply(black_box(&mut pixels), width, height))
    });
    drop(in_process);

    // (c), (d) and (e): every process on one CPU, as the `call` rows.
    {
        let _pinned = PinnedToOneCpu::new();
        let isolated = plugins.bench(rivet::Mode::Process);
        applies(&isolated);
        let mut peer = Peer::start();
        let mut pipe = PipePeer::start();
        framework_ipc_rows(&mut group, &isolated, &mut pixels, &mut peer, &mut pipe);
    }
    group.finish();

    // The same unpinned: each message may also wake the other CPU.
    let mut group = c.benchmark_group("framework_spread");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let isolated = plugins.bench(rivet::Mode::Process);
    let mut peer = Peer::start();
    let mut pipe = PipePeer::start();
    framework_ipc_rows(&mut group, &isolated, &mut pixels, &mut peer, &mut pipe);
    group.finish();
}

/// Rows (c), (d) and (e) of the framework, no-op and 64 KiB.
fn framework_ipc_rows(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    isolated: &BenchHandle,
    pixels: &mut [u8],
    peer: &mut Peer,
    pipe: &mut PipePeer,
) {
    let (width, height) = IMAGE;
    let image_bytes = vec![b'x'; pixels.len()];
    group.bench_function(BenchmarkId::new("c_isolated", "noop"), |b| {
        b.iter(|| isolated.noop())
    });
    group.bench_function(BenchmarkId::new("d_socketpair", "noop"), |b| {
        b.iter(|| peer.ping(black_box(b"x")))
    });
    group.bench_function(BenchmarkId::new("e_pipe", "noop"), |b| {
        b.iter(|| pipe.ping(black_box(b"x")))
    });
    group.bench_function(BenchmarkId::new("c_isolated", "64KiB"), |b| {
        b.iter(|| isolated.apply(black_box(&mut *pixels), width, height))
    });
    group.bench_function(BenchmarkId::new("d_socketpair", "64KiB"), |b| {
        b.iter(|| peer.ping(black_box(&image_bytes)))
    });
    group.bench_function(BenchmarkId::new("e_pipe", "64KiB"), |b| {
        b.iter(|| pipe.ping(black_box(&image_bytes)))
    });
}

// ----------------------------------------------------------- isolated start

fn isolated_start(c: &mut Criterion, plugins: &Plugins) {
    let loader = plugins.loader();
    let mut group = c.benchmark_group("start");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("isolated", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let noop = plugins.noop(&loader, Mode::Process);
                noop.run(Vec::new()).expect("noop runs");
                total += start.elapsed();
                // Stopping the process is not part of starting it.
                drop(noop);
            }
            total
        })
    });
    group.finish();
}

// -------------------------------------------------------------------- loads

/// A temporary directory holding `count` copies of the noop plugin, each
/// in a directory of its own under its own name (`0/`, `1/`, ...: distinct
/// files, so each is loaded).
fn noop_copies(plugins: &Plugins, count: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let name = plugins.noop.file_name().expect("a file name");
    for i in 0..count {
        let copy = dir.path().join(i.to_string());
        fs::create_dir(&copy).expect("a directory");
        fs::copy(&plugins.noop, copy.join(name)).expect("a copy of the plugin");
    }
    dir
}

/// The noop copies of [`noop_copies`] in the directory `dir`.
fn copies_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("the copies' directory")
        .map(|entry| {
            let copy = entry.expect("a copy's directory").path();
            fs::read_dir(&copy)
                .expect("a copy's directory")
                .next()
                .expect("one copy")
                .expect("a copy")
                .path()
        })
        .collect();
    files.sort();
    files
}

/// This binary in role `role` over the plugins in `dir`; returns its stdout.
fn helper(role: &str, dir: &Path) -> String {
    let output = Command::new(env::current_exe().expect("the bench binary"))
        .env(ROLE_VAR, role)
        .env(DIR_VAR, dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("the helper runs");
    assert!(output.status.success(), "the {role} helper failed");
    String::from_utf8(output.stdout).expect("text")
}

fn loads(c: &mut Criterion, plugins: &Plugins) {
    let mut group = c.benchmark_group("load");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1));
    for count in LOAD_COUNTS {
        let dir = noop_copies(plugins, count);
        group.bench_function(BenchmarkId::new("in_process", count), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let nanos: u64 = helper("load", dir.path()).trim().parse().unwrap();
                        Duration::from_nanos(nanos)
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

/// A host loader without vetting, and the copies of the noop plugin under
/// the directory named by `RIVET_BENCH_DIR`: it measures loading a file
/// already vetted (a warm load; a host vets a file once per version of it).
fn role_loader() -> (Loader, Vec<PathBuf>) {
    let dir = PathBuf::from(env::var_os(DIR_VAR).expect("RIVET_BENCH_DIR"));
    (Loader::new(bench_config()), copies_in(&dir))
}

/// Role `load`: check and load every copy (a fresh host process, as at a
/// host's start); print the nanoseconds taken.
fn load_role() {
    let start = Instant::now();
    let (loader, files) = role_loader();
    let loaded: Vec<CommandPluginHandle> = files
        .iter()
        .map(|path| {
            loader
                .load_file::<dyn CommandPlugin>(path, Mode::InProcess, &serde_json::Value::Null)
                .expect("a copy of noop loads")
        })
        .collect();
    let elapsed = start.elapsed();
    assert!(!loaded.is_empty());
    println!("{}", elapsed.as_nanos());
}

/// Role `memory`: the RSS the first plugin adds, then the mean each further
/// one adds (loaded and called once), in KiB.
fn memory_role() {
    let (loader, files) = role_loader();
    let use_plugin = |path: &Path| {
        let plugin = loader
            .load_file::<dyn CommandPlugin>(path, Mode::InProcess, &serde_json::Value::Null)
            .expect("a copy of noop loads");
        plugin.run(Vec::new()).unwrap();
        plugin
    };
    let before = rss_kib("self");
    let first = use_plugin(&files[0]);
    let after_first = rss_kib("self");
    let rest: Vec<CommandPluginHandle> = files[1..].iter().map(|file| use_plugin(file)).collect();
    let after_rest = rss_kib("self");
    drop((first, rest));
    println!(
        "{} {}",
        after_first - before,
        (after_rest - after_first) / (files.len() as u64 - 1)
    );
}

/// VmRSS of process `pid` (or `self`), in KiB.
fn rss_kib(pid: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc is readable");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

// ---------------------------------------------------------------- discovery

fn discovery(c: &mut Criterion, plugins: &Plugins) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for i in 0..10 {
        let name = format!("libplugin_command_noop{i}{}", env::consts::DLL_SUFFIX);
        fs::copy(&plugins.noop, dir.path().join(name)).expect("a copy of the plugin");
    }
    for i in 0..10_000 {
        fs::write(dir.path().join(format!("data-{i:05}.txt")), b"").expect("a file");
    }
    let loader = Loader::new(Config::app("rivet-bench").search_path([dir.path()]))
        .register::<dyn CommandPlugin>();
    assert_eq!(loader.discover().files.len(), 10);
    let mut group = c.benchmark_group("discovery");
    group.sample_size(20);
    group.bench_function("scan_10k_files", |b| b.iter(|| loader.discover()));
    group.finish();
}

// ------------------------------------------------------------------- memory

/// Memory figures, in KiB.
struct Memory {
    first_plugin: u64,
    per_plugin: u64,
    isolated_noop: u64,
    isolated_echo: u64,
}

impl Memory {
    fn measure(plugins: &Plugins) -> Memory {
        let dir = noop_copies(plugins, MEMORY_PLUGINS + 1);
        let output = helper("memory", dir.path());
        let mut figures = output.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        let (first_plugin, per_plugin) = (figures.next().unwrap(), figures.next().unwrap());

        let loader = plugins.loader();
        let isolated_noop = {
            let noop = plugins.noop(&loader, Mode::Process);
            noop.run(Vec::new()).unwrap();
            rss_kib(&plugin_server_pid().to_string())
        };
        let isolated_echo = {
            let echo = plugins.echo(&loader, Mode::Process);
            echo.provision(payload(64 << 10)).unwrap();
            rss_kib(&plugin_server_pid().to_string())
        };
        Memory {
            first_plugin,
            per_plugin,
            isolated_noop,
            isolated_echo,
        }
    }
}

/// What an isolated no-op call costs in CPU time, on both sides, in
/// microseconds per call, measured over [`CPU_CALLS`] calls of command
/// `noop` (unpinned or pinned to one CPU).
struct CpuCost {
    pinned: bool,
    wall: f64,
    host: f64,
    server: f64,
}

/// How many calls [`CpuCost`] times: enough for the 10 ms resolution of
/// `/proc/PID/stat`.
const CPU_CALLS: u32 = 300_000;

impl CpuCost {
    fn measure(plugins: &Plugins, pinned: bool) -> CpuCost {
        let _pinned = pinned.then(PinnedToOneCpu::new);
        let loader = plugins.loader();
        let noop = plugins.noop(&loader, Mode::Process);
        for _ in 0..10_000 {
            noop.run(Vec::new()).unwrap();
        }
        let server = plugin_server_pid();
        let (wall, host, served) = (Instant::now(), thread_cpu(), process_cpu(server));
        for _ in 0..CPU_CALLS {
            noop.run(Vec::new()).unwrap();
        }
        let per_call = |seconds: f64| seconds * 1e6 / f64::from(CPU_CALLS);
        CpuCost {
            pinned,
            wall: per_call(wall.elapsed().as_secs_f64()),
            host: per_call(thread_cpu() - host),
            server: per_call(process_cpu(server) - served),
        }
    }
}

/// The CPU time (user and system) of the calling thread, in seconds.
fn thread_cpu() -> f64 {
    // SAFETY: `getrusage` fills the zeroed `rusage` it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut usage), 0);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The CPU time (user and system) of process `pid`, in seconds.
fn process_cpu(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server's stat");
    let (_, rest) = stat.rsplit_once(')').expect("`pid (comm) ...`");
    // After `comm`: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: `sysconf` reads a constant of the system.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The pid of this process's one running `rivet-server` child.
fn plugin_server_pid() -> u32 {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc") {
        let name = entry.expect("/proc entry").file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces or parentheses.
        let Some((comm, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(me) && comm.contains("rivet-server") {
            found.push(pid);
        }
    }
    assert_eq!(found.len(), 1, "one plugin server child: {found:?}");
    found[0]
}

// ------------------------------------------------------------------ summary

/// The median of benchmark `id` in nanoseconds, if it ran in this run.
fn median(started: SystemTime, id: &str) -> Option<f64> {
    let path = criterion_dir().join(id).join("new/estimates.json");
    let modified = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    if modified < started {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&fs::read(&path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "—".to_owned(),
        Some(ns) if ns < 1e3 => format!("{ns:.2} ns"),
        Some(ns) if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        Some(ns) if ns < 1e9 => format!("{:.2} ms", ns / 1e6),
        Some(ns) => format!("{:.2} s", ns / 1e9),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or("—".to_owned(), |r| format!("{r:.2}×"))
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

fn summary(started: SystemTime, memory: &Memory, costs: &[CpuCost]) {
    let columns = ["noop", "8B", "64KiB"];
    let row = |name: &str| -> Vec<Option<f64>> {
        columns
            .iter()
            .map(|column| median(started, &format!("call/{name}/{column}")))
            .collect()
    };
    let (a, b, c, d) = (
        row("a_native"),
        row("b_in_process"),
        row("c_isolated"),
        row("d_socketpair"),
    );
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());

    println!();
    println!("Rivet benchmarks: medians of this run ({cores} cores, {cpu})");
    println!();
    println!(
        "| call (median per call)          | no-op       | 8 B         | 64 KiB      |\n\
         | ------------------------------- | ----------- | ----------- | ----------- |"
    );
    for (name, values) in [
        ("(a) native `&dyn Trait`", &a),
        ("(b) in-process plugin", &b),
        ("(c) isolated plugin", &c),
        ("(d) socketpair ping-pong", &d),
    ] {
        println!(
            "| {name:<31} | {:<11} | {:<11} | {:<11} |",
            time(values[0]),
            time(values[1]),
            time(values[2])
        );
    }
    for (name, top, bottom) in [("b/a", &b, &a), ("c/b", &c, &b), ("c/d", &c, &d)] {
        let r: Vec<String> = (0..3)
            .map(|i| ratio_text(ratio(top[i], bottom[i])))
            .collect();
        println!(
            "| {name:<31} | {:<11} | {:<11} | {:<11} |",
            r[0], r[1], r[2]
        );
    }

    println!("(c) and (d): both processes pinned to one CPU.");
    let (c_spread, d_spread) = (
        median(started, "call_spread/c_isolated/8B"),
        median(started, "call_spread/d_socketpair/8B"),
    );
    println!();
    println!("| unpinned (free to use both CPUs), 8 B           | median      |");
    println!("| ----------------------------------------------- | ----------- |");
    println!("| {:<47} | {:<11} |", "(c) isolated plugin", time(c_spread));
    println!(
        "| {:<47} | {:<11} |",
        "(d) socketpair ping-pong",
        time(d_spread)
    );
    println!(
        "| {:<47} | {:<11} |",
        "c/d",
        ratio_text(ratio(c_spread, d_spread))
    );

    let framework = framework_summary(started);

    let load: Vec<Option<f64>> = LOAD_COUNTS
        .iter()
        .map(|n| median(started, &format!("load/in_process/{n}")))
        .collect();
    let start = median(started, "start/isolated");
    let scan = median(started, "discovery/scan_10k_files");
    println!();
    println!("| other                                           | median      |");
    println!("| ----------------------------------------------- | ----------- |");
    for (i, n) in LOAD_COUNTS.iter().enumerate() {
        let what = format!("load {n} in-process plugin file(s), fresh host");
        println!("| {what:<47} | {:<11} |", time(load[i]));
    }
    println!(
        "| {:<47} | {:<11} |",
        "isolated start (spawn + handshake + first call)",
        time(start)
    );
    println!(
        "| {:<47} | {:<11} |",
        "discovery: 10,000 files + 10 plugins",
        time(scan)
    );
    println!();
    println!("| memory                                          | RSS         |");
    println!("| ----------------------------------------------- | ----------- |");
    for (what, kib) in [
        (
            "first in-process plugin (with the loader's own)",
            memory.first_plugin,
        ),
        ("each further in-process plugin", memory.per_plugin),
        ("isolated process, command noop", memory.isolated_noop),
        (
            "isolated process, bench-echo after 64 KiB",
            memory.isolated_echo,
        ),
    ] {
        println!("| {what:<47} | {:<11} |", format!("{kib} KiB"));
    }
    println!();
    println!("| CPU per isolated no-op call (µs) | wall        | host CPU    | server CPU  |");
    println!("| -------------------------------- | ----------- | ----------- | ----------- |");
    for cost in costs {
        let label = if cost.pinned {
            "pinned to one CPU"
        } else {
            "unpinned"
        };
        println!(
            "| {label:<32} | {:<11.2} | {:<11.2} | {:<11.2} |",
            cost.wall, cost.host, cost.server
        );
    }

    let ms = |ns: Option<f64>| ns.map(|ns| ns / 1e6);
    let targets = [
        (
            "in-process call ≤ 1.5× native (b/a, no-op)",
            ratio(b[0], a[0]).map(|r| r <= 1.5),
        ),
        (
            "isolated call ≤ 1.5× socket floor (c/d, 8 B)",
            ratio(c[1], d[1]).map(|r| r <= 1.5),
        ),
        ("isolated start ≤ 2 ms", ms(start).map(|t| t <= 2.0)),
        ("one release load ≤ 0.3 ms", ms(load[0]).map(|t| t <= 0.3)),
        ("100 loads ≤ 30 ms", ms(load[2]).map(|t| t <= 30.0)),
        (
            "discovery over 10,000 files ≤ 20 ms",
            ms(scan).map(|t| t <= 20.0),
        ),
        (
            "isolated process RSS ≤ 4 MB",
            Some(memory.isolated_noop as f64 * 1024.0 <= 4e6),
        ),
        (
            "framework in-process ≤ 1.5× native, no-op",
            framework.in_process[0].map(|r| r <= 1.5),
        ),
        (
            "framework in-process ≤ 1.5× native, 64 KiB",
            framework.in_process[1].map(|r| r <= 1.5),
        ),
        (
            "framework isolated ≤ 1.5× socketpair, no-op",
            framework.isolated[0].map(|r| r <= 1.5),
        ),
        (
            "framework isolated ≤ 1.5× socketpair, 64 KiB",
            framework.isolated[1].map(|r| r <= 1.5),
        ),
    ];
    println!();
    println!("| target                                          | result      |");
    println!("| ----------------------------------------------- | ----------- |");
    for (what, met) in targets {
        println!("| {what:<47} | {:<11} |", verdict(met));
    }
}

/// The framework's ratios that have targets: b/a and c/d (pinned), for the
/// no-op and 64 KiB columns.
struct FrameworkRatios {
    in_process: [Option<f64>; 2],
    isolated: [Option<f64>; 2],
}

/// Prints the framework's tables (pinned, then unpinned) and returns the
/// ratios the targets are about.
fn framework_summary(started: SystemTime) -> FrameworkRatios {
    let columns = ["noop", "64KiB"];
    let row = |group: &str, name: &str| -> [Option<f64>; 2] {
        columns.map(|column| median(started, &format!("{group}/{name}/{column}")))
    };
    let (a, b) = (
        row("framework", "a_native"),
        row("framework", "b_in_process"),
    );
    let table =
        |title: &str, rows: &[(&str, [Option<f64>; 2])], ratios: &[(&str, usize, usize)]| {
            println!();
            println!("| {title:<43} | no-op       | 64 KiB      |");
            println!("| ------------------------------------------- | ----------- | ----------- |");
            for (name, values) in rows {
                println!(
                    "| {name:<43} | {:<11} | {:<11} |",
                    time(values[0]),
                    time(values[1])
                );
            }
            for &(name, top, bottom) in ratios {
                let r = [0, 1].map(|i| ratio_text(ratio(rows[top].1[i], rows[bottom].1[i])));
                println!("| {name:<43} | {:<11} | {:<11} |", r[0], r[1]);
            }
        };
    let pinned = [
        ("(a) native `&dyn Bench`", a),
        ("(b) framework in-process", b),
        ("(c) framework isolated", row("framework", "c_isolated")),
        ("(d) socketpair ping-pong", row("framework", "d_socketpair")),
        ("(e) pipe ping-pong", row("framework", "e_pipe")),
    ];
    table(
        "framework call (median per call)",
        &pinned,
        &[("b/a", 1, 0), ("c/d", 2, 3), ("c/e", 2, 4)],
    );
    println!("(c), (d) and (e): every process pinned to one CPU.");
    let spread = [
        (
            "(c) framework isolated",
            row("framework_spread", "c_isolated"),
        ),
        (
            "(d) socketpair ping-pong",
            row("framework_spread", "d_socketpair"),
        ),
        ("(e) pipe ping-pong", row("framework_spread", "e_pipe")),
    ];
    table(
        "framework, unpinned (free to use both CPUs)",
        &spread,
        &[("c/d", 0, 1), ("c/e", 0, 2)],
    );
    let c_pinned = pinned[2].1;
    let d_pinned = pinned[3].1;
    FrameworkRatios {
        in_process: [0, 1].map(|i| ratio(b[i], a[i])),
        isolated: [0, 1].map(|i| ratio(c_pinned[i], d_pinned[i])),
    }
}
