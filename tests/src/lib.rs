//! Shared helpers for Rivet's integration tests.
//!
//! The tests use real files: the workspace's plugins and `rivet` binary as
//! `cargo build` makes them in `target/debug`, and the misbehaving plugins of
//! the separate fixture workspace in `tests/fixtures`, built into
//! `target/fixtures` so that they never land beside `rivet`. Both builds run
//! at most once per test process (see [`plugins_dir`] and [`fixtures_dir`]),
//! so the tests work from a clean clone where nothing is built yet.
//!
//! Tests copy plugin files into temporary directories under whatever file
//! name they need ([`install`], [`install_as`]) and watch what plugins tell
//! the user with a [`RecordingUi`].
//!
//! The modules hold what only some test files share: [`cli`] for running the
//! real `rivet` binary (with a time limit, measuring its memory), [`files`]
//! for reading back the trees and archives a build leaves, [`logger`] for
//! watching `log` records, and [`store`] for a plugin store to install
//! into.

pub mod cli;
pub mod files;
pub mod logger;
pub mod registry;
pub mod store;

use std::env;
use std::env::consts::{DLL_PREFIX, DLL_SUFFIX, EXE_SUFFIX};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The root of the Cargo workspace (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace
/// root when relative) or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The `cargo` that runs the tests (`CARGO`), else the one on `PATH`.
fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cargo build ARGS` in the workspace root, panicking with cargo's
/// output when it fails.
fn cargo_build(args: &[&str]) -> Result<(), String> {
    let output = cargo()
        .arg("build")
        .args(args)
        .current_dir(workspace_root())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo build {}` failed with {}:\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Runs `build` the first time and returns its result every time, panicking
/// (in every test that asks) when it failed.
fn once(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    build: fn() -> Result<PathBuf, String>,
) -> &'static Path {
    match cell.get_or_init(build) {
        Ok(dir) => dir,
        Err(error) => panic!("{error}"),
    }
}

/// `target/debug`, after building the workspace's libraries (the real
/// plugins) and binaries (`rivet`) once per test process.
pub fn plugins_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BUILT, || {
        cargo_build(&["--workspace", "--lib", "--bins"])?;
        Ok(target_dir().join("debug"))
    })
}

/// Runs `cargo build ARGS` on the fixture workspace (`tests/fixtures`) with
/// `target/fixtures` as its target directory, which it returns.
fn build_fixtures(args: &[&str]) -> Result<PathBuf, String> {
    let manifest = workspace_root().join("tests/fixtures/Cargo.toml");
    let target = target_dir().join("fixtures");
    let manifest = manifest.to_string_lossy();
    let target_arg = target.to_string_lossy();
    let mut all_args = vec!["--manifest-path", &manifest, "--target-dir", &target_arg];
    all_args.extend_from_slice(args);
    cargo_build(&all_args)?;
    Ok(target)
}

/// `target/fixtures/debug`, after building the fixture workspace
/// (`tests/fixtures`) once per test process.
pub fn fixtures_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BUILT, || Ok(build_fixtures(&[])?.join("debug")))
}

/// `target/release`, after building the release plugin server
/// (`rivet-server`) once per process (the benchmarks run release builds
/// only).
pub fn release_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BUILT, || {
        cargo_build(&["--release", "-p", "rivet-server"])?;
        Ok(target_dir().join("release"))
    })
}

/// `target/fixtures/release`, after building the benchmark plugins of the
/// fixture workspace (`bench-noop`, `bench-echo`, and the framework's
/// `framework-bench`) in release once per process.
pub fn release_fixtures_dir() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once(&BUILT, || {
        let target = build_fixtures(&[
            "--release",
            "-p",
            "fixture-bench-noop",
            "-p",
            "fixture-bench-echo",
            "-p",
            "fixture-framework-bench",
        ])?;
        Ok(target.join("release"))
    })
}

/// The `rivet` binary in `target/debug`, built if needed.
pub fn rivet_bin() -> PathBuf {
    plugins_dir().join(format!("rivet{EXE_SUFFIX}"))
}

/// A `rivet` command (the binary in `target/debug`, built if needed) that
/// runs in `cwd` with `RIVET_HOME` set to `home`, and without the caller's
/// `RIVET_PLUGIN_PATH`, `RIVET_LOG`, registry credentials and Docker
/// configuration (`DOCKER_CONFIG` is `home/.docker`): the user's home,
/// plugins and credentials are never touched. `cwd` is on rivet's search
/// path, so make it a directory you own.
pub fn rivet(home: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(rivet_bin());
    command
        .current_dir(cwd)
        .env("RIVET_HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env_remove("RIVET_PLUGIN_PATH")
        .env_remove("RIVET_LOG")
        .env_remove("RIVET_REGISTRY_USERNAME")
        .env_remove("RIVET_REGISTRY_PASSWORD");
    command
}

/// Copies the directory `from` (recursively, regular files only) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let file_type = entry.file_type().unwrap();
        if file_type.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if file_type.is_file() {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The built library of fixture crate `crate_name` (`panicky`,
/// `abi_mismatch`, ...): `target/fixtures/debug/libfixture_<crate_name>.so`.
pub fn fixture(crate_name: &str) -> PathBuf {
    let path = fixtures_dir().join(format!("{DLL_PREFIX}fixture_{crate_name}{DLL_SUFFIX}"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The file names of the workspace's real plugins, from the package names
/// of `plugins/*/Cargo.toml` (`plugin-builder-dir` gives
/// `libplugin_builder_dir.so`).
pub fn real_plugin_file_names() -> Vec<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(workspace_root().join("plugins")).expect("plugins/ exists") {
        let manifest = entry.expect("readable plugins/").path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        let package = text
            .lines()
            .find_map(|line| {
                let value = line.trim().strip_prefix("name")?.trim().strip_prefix('=')?;
                Some(value.trim().trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| panic!("{} names no package", manifest.display()));
        names.push(format!(
            "{DLL_PREFIX}{}{DLL_SUFFIX}",
            package.replace('-', "_")
        ));
    }
    names.sort();
    names
}

/// Copies `source` into `dir` as `file_name`, returning the new path.
pub fn install_as(source: &Path, dir: &Path, file_name: &str) -> PathBuf {
    let target = dir.join(file_name);
    fs::copy(source, &target).unwrap_or_else(|error| {
        panic!(
            "cannot copy {} to {}: {error}",
            source.display(),
            target.display()
        )
    });
    target
}

/// The framework's plugin server, which `rivet` runs isolated plugins and
/// its vetting scanner with: `target/debug/rivet-server`.
pub fn rivet_server() -> PathBuf {
    let path = plugins_dir().join(format!("rivet-server{EXE_SUFFIX}"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// What `/proc/PID/stat` shows as `rivet-server`'s command name.
pub const RIVET_SERVER_COMM: &str = "rivet-server";

/// The `rivet-server` processes whose parent is `parent` (zombies
/// included).
pub fn rivet_servers_of(parent: u32) -> Vec<ProcessInfo> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == parent && p.comm == RIVET_SERVER_COMM)
        .collect()
}

/// A process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its id.
    pub pid: u32,
    /// Its command name (at most 15 bytes).
    pub comm: String,
    /// Its state: `R`, `S`, `Z` (zombie), ...
    pub state: char,
    /// Its parent's id.
    pub ppid: u32,
}

/// Process `pid`, or `None` when there is no such process.
pub fn process_info(pid: u32) -> Option<ProcessInfo> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (COMM) STATE PPID ...`; COMM may itself hold spaces and parens.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcessInfo {
        pid,
        comm,
        state,
        ppid,
    })
}

/// Every process visible in `/proc`.
pub fn processes() -> Vec<ProcessInfo> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(process_info)
        .collect()
}

/// Whether `pid` is a process that has not ended (a zombie has ended).
pub fn is_running(pid: u32) -> bool {
    process_info(pid).is_some_and(|p| p.state != 'Z')
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes;
/// returns whether it held.
pub fn wait_until(timeout: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Compiles (with `cc`, or `$CC`) a shared library at `dir/file_name`
/// whose ELF constructor runs the C statements `body`: a hostile plugin
/// file.
pub fn build_c_library(dir: &Path, file_name: &str, body: &str) -> PathBuf {
    let source = dir.join(format!("{file_name}.c"));
    fs::write(
        &source,
        format!(
            "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n\
             __attribute__((constructor)) static void hostile(void) {{ {body} }}\n"
        ),
    )
    .unwrap();
    let library = dir.join(file_name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .status()
        .unwrap_or_else(|e| panic!("these tests build C libraries with `{cc}`: {e}"));
    assert!(status.success(), "{cc} failed on {}", source.display());
    fs::remove_file(source).unwrap();
    library
}

/// The framework configuration of application `app` the tests use:
/// searching `target/debug` (the workspace's plugins), and running
/// isolated plugins with the `rivet-server` built there, with no home
/// directory (nothing installed is found and no verdict cache is written:
/// the user's home is never read or written).
pub fn framework_config(app: &str) -> rivet::Config {
    let dir = plugins_dir();
    rivet::Config::app(app)
        .search_path([dir])
        .home(None)
        .server(dir.join(format!("rivet-server{EXE_SUFFIX}")))
}
