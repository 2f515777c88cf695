//! The plugin store under stress and abuse, through the real `rivet`
//! binary: reinstalls beside builds, installs killed at any moment, gzip
//! bombs and huge packages, FIFOs, devices and oversized sidecars in the
//! store, and manifests that name things wrongly. Every child process runs
//! with a time limit ([`run_bounded`]), so a hang fails the test instead of
//! blocking it.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rivet_host::integrity::sidecar_path;
use rivet_tests::cli::{Bounded, describe, run_bounded, text};
use rivet_tests::rivet;
use rivet_tests::store::{Env, SOURCE, append_files, entries, installed_name, pack, repack, resum};

/// Long enough for any one `rivet` run here on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(60);

/// Peak memory allowed to `rivet` installing a hostile or huge package.
const MAX_RSS: u64 = 100 << 20;

/// `rivet ARGS` in `env`, as a command.
fn command(env: &Env, args: &[&str]) -> Command {
    let mut command = rivet(env.home.path(), env.cwd.path());
    command.args(args);
    command
}

/// Runs `rivet ARGS` in `env` within [`LIMIT`].
fn bounded(env: &Env, args: &[&str]) -> Bounded {
    run_bounded(&mut command(env, args), LIMIT)
}

/// The 1.2.0 fixture, and the same plugin with bytes appended (still a
/// loadable library, another digest): reinstalling one over the other
/// really changes the installed file and its sidecar.
fn two_builds_of_one_version(env: &Env) -> [PathBuf; 2] {
    let plain = env.plugin("1.2.0");
    let dir = env.scratch.path().join("padded");
    fs::create_dir_all(&dir).unwrap();
    let padded = dir.join(plain.file_name().unwrap());
    let mut bytes = fs::read(&plain).unwrap();
    bytes.extend_from_slice(&[0x5a; 4096]);
    fs::write(&padded, bytes).unwrap();
    [plain, padded]
}

fn install_args(plugin: &Path) -> Vec<String> {
    [
        "plugins",
        "install",
        &plugin.to_string_lossy(),
        "--source",
        SOURCE,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Every file or directory under `dir` whose name starts with
/// `.rivet-install-`, relative.
fn install_debris(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".rivet-install-") {
            found.push(name);
        } else if entry.file_type().unwrap().is_dir() {
            found.extend(install_debris(&entry.path()));
        }
    }
    found
}

/// The entries of the staging directory, if it exists.
fn staging_entries(env: &Env) -> Vec<String> {
    fs::read_dir(env.plugins_dir().join(".staging"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn reinstalling_beside_builds_never_fails_a_build() {
    const INSTALLS: usize = 120;
    const BUILDS: usize = 200;
    let env = Env::new();
    let builds_of = two_builds_of_one_version(&env);
    env.install("1.2.0");
    let template = env.template("^1");
    let template = template.to_string_lossy();
    let installing = AtomicBool::new(true);

    let (builds, failures) = std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..INSTALLS {
                let args = install_args(&builds_of[i % 2]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let done = bounded(&env, &args);
                assert!(done.output.status.success(), "{}", describe(&done.output));
            }
            installing.store(false, Ordering::SeqCst);
        });
        let mut builds = 0;
        let mut failures = Vec::new();
        while builds < BUILDS || installing.load(Ordering::SeqCst) {
            let done = bounded(&env, &["build", &template]);
            builds += 1;
            if !done.output.status.success() {
                failures.push(describe(&done.output));
            }
        }
        (builds, failures)
    });
    eprintln!(
        "{builds} builds beside {INSTALLS} reinstalls: {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {builds} builds failed; the first:\n{}",
        failures.len(),
        failures[0]
    );
    let listing = env.ok(&["plugins", "installed"]);
    assert!(listing.contains(" ok "), "{listing}");
}

#[test]
fn installs_killed_at_any_moment_leave_a_usable_store_and_no_debris() {
    const KILLS: usize = 80;
    let env = Env::new();
    let builds_of = two_builds_of_one_version(&env);
    env.install("1.2.0");
    let template = env.template("=1.2.0");
    let template = template.to_string_lossy();
    let sidecar = sidecar_path(&env.installed_path("1.2.0"));

    // How long a whole install takes (the fastest of three, as the machine
    // may be busy), to kill the installs all along the way.
    let whole = (0..3)
        .map(|i| {
            let started = Instant::now();
            let args = install_args(&builds_of[i % 2]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(bounded(&env, &args).output.status.success());
            started.elapsed()
        })
        .min()
        .unwrap();

    let (mut interrupted, mut two_digests) = (0, 0);
    for i in 0..KILLS {
        let args = install_args(&builds_of[i % 2]);
        let mut child = command(&env, &args.iter().map(String::as_str).collect::<Vec<_>>())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // From at once to the end of a whole install, spread over the loop.
        std::thread::sleep(whole.mul_f64((i * 37 % KILLS) as f64 / KILLS as f64));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let listing = bounded(&env, &["plugins", "installed"]);
        let listing = text(&listing.output.stdout);
        let row = listing
            .lines()
            .find(|l| l.contains(" 1.2.0 "))
            .unwrap_or_else(|| panic!("kill #{i}: 1.2.0 is not listed:\n{listing}"));
        assert!(row.contains(" ok "), "kill #{i}: {row}");
        let build = bounded(&env, &["build", &template]);
        assert!(
            build.output.status.success(),
            "kill #{i}: {}",
            describe(&build.output)
        );
        if fs::read_to_string(&sidecar).unwrap().lines().count() == 2 {
            two_digests += 1;
        }
    }
    eprintln!(
        "{KILLS} installs killed along {whole:?}, {interrupted} of them before they ended: the store was ok and loadable after each; {two_digests} left a two-digest sidecar; staging held {} directories",
        staging_entries(&env).len()
    );
    assert!(
        interrupted >= KILLS / 2,
        "only {interrupted} kills interrupted an install"
    );

    env.install("1.2.0");
    assert_eq!(install_debris(&env.plugins_dir()), Vec::<String>::new());
    assert_eq!(staging_entries(&env), Vec::<String>::new());
    let file = format!("{SOURCE}/{}", installed_name("1.2.0"));
    assert_eq!(
        env.plugin_files(),
        [file.clone(), format!("{file}_SHA256SUM")]
    );
    assert_eq!(fs::read_to_string(&sidecar).unwrap().lines().count(), 1);
}

/// Writes at `path` a package holding `small` (name, bytes) and then the
/// file `big` of `len` zero bytes (a multiple of 1 MiB), streamed: nothing
/// that large is ever in memory or on disk.
fn package_with_zeros(path: &Path, small: &[(String, Vec<u8>)], big: &str, len: u64) {
    const CHUNK: u64 = 1 << 20;
    assert_eq!(len % CHUNK, 0);
    let encoder = flate2::write::GzEncoder::new(
        io::BufWriter::new(fs::File::create(path).unwrap()),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(encoder);
    append_files(&mut builder, small);
    // The big file's header, then its data in large writes (the tar
    // crate would copy it 8 KiB at a time).
    let mut header = tar::Header::new_gnu();
    header.set_path(big).unwrap();
    header.set_size(len);
    header.set_mode(0o755);
    header.set_cksum();
    let out = builder.get_mut();
    out.write_all(header.as_bytes()).unwrap();
    let chunk = vec![0; CHUNK as usize];
    for _ in 0..len / CHUNK {
        out.write_all(&chunk).unwrap();
    }
    builder
        .into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .flush()
        .unwrap();
}

#[test]
fn a_gzip_bomb_is_refused_as_too_large_with_little_memory() {
    let env = Env::new();
    let package = pack(&env, "1.2.0");
    let files = entries(&package);
    let bomb = env.scratch.path().join("bomb.tar.gz");
    // The manifest and SHA256SUMS of a real package, then its plugin as
    // 5 GiB of zeros.
    package_with_zeros(&bomb, &files[..2], &installed_name("1.2.0"), 5 << 30);
    let size = fs::metadata(&bomb).unwrap().len();

    let done = bounded(&env, &["plugins", "install", &bomb.to_string_lossy()]);
    let error = text(&done.output.stderr);
    eprintln!(
        "a {} MB package of 5 GiB of zeros: refused with a peak RSS of {:.1} MB",
        size / 1_000_000,
        done.peak_rss as f64 / 1e6
    );
    assert!(!done.output.status.success(), "{}", describe(&done.output));
    assert!(
        error.contains("too large")
            && error.contains(&bomb.display().to_string())
            && error.contains("1024 MiB"),
        "{error}"
    );
    assert!(done.peak_rss < MAX_RSS, "peak RSS {} bytes", done.peak_rss);
    assert!(env.plugin_files().is_empty(), "{:?}", env.plugin_files());
}

#[test]
fn a_large_package_is_streamed_not_held_in_memory() {
    const EXTRA: u64 = 400 << 20;
    let env = Env::new();
    let package = pack(&env, "1.2.0");
    let mut files = entries(&package);
    // A valid package with one more file, as large as a plugin may be.
    let digest = rivet_host::integrity::sha256_hex(io::repeat(0).take(EXTRA)).unwrap();
    files[1]
        .1
        .extend(format!("{digest}  extra.bin\n").into_bytes());
    let large = env.scratch.path().join("large.tar.gz");
    package_with_zeros(&large, &files, "extra.bin", EXTRA);

    let done = bounded(&env, &["plugins", "install", &large.to_string_lossy()]);
    eprintln!(
        "a valid package with a {} MiB file: installed with a peak RSS of {:.1} MB",
        EXTRA >> 20,
        done.peak_rss as f64 / 1e6
    );
    assert!(done.output.status.success(), "{}", describe(&done.output));
    assert!(done.peak_rss < MAX_RSS, "peak RSS {} bytes", done.peak_rss);
    assert!(env.installed_path("1.2.0").is_file());
    assert_eq!(staging_entries(&env), Vec::<String>::new());
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `name` is a valid NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Replaces `path` (a file or link) with what `make` puts there.
fn replace_with(path: &Path, make: impl FnOnce(&Path)) {
    fs::remove_file(path).unwrap();
    make(path);
}

/// `rivet build` (in-process and isolated) and `rivet plugins installed`
/// end, the builds failing with an error that names `named` and says
/// `what`.
fn refused_by_name(env: &Env, template: &str, named: &Path, what: &str) {
    for isolation in ["in-process", "process"] {
        let done = bounded(env, &["--isolation", isolation, "build", template]);
        let error = text(&done.output.stderr);
        assert!(!done.output.status.success(), "{}", describe(&done.output));
        assert!(
            error.contains(&named.display().to_string()) && error.contains(what),
            "{isolation}: {error}"
        );
    }
    let done = bounded(env, &["plugins", "installed"]);
    assert!(done.output.status.success(), "{}", describe(&done.output));
    let listing = text(&done.output.stdout);
    assert!(
        listing.contains("unreadable") && listing.contains(what),
        "{listing}"
    );
}

#[test]
fn fifos_devices_and_oversized_sidecars_in_the_store_are_refused_by_name() {
    let env = Env::new();
    env.install("1.2.0");
    let template = env.template("^1");
    let template = template.to_string_lossy();
    let plugin = env.installed_path("1.2.0");
    let sidecar = sidecar_path(&plugin);
    let good = fs::read(&sidecar).unwrap();

    replace_with(&sidecar, mkfifo);
    refused_by_name(&env, &template, &sidecar, "FIFO");

    replace_with(&sidecar, |path| {
        std::os::unix::fs::symlink("/dev/zero", path).unwrap()
    });
    refused_by_name(&env, &template, &sidecar, "a character device");

    replace_with(&sidecar, |path| {
        fs::write(path, vec![b'0'; 1 << 20]).unwrap()
    });
    refused_by_name(&env, &template, &sidecar, "larger than 4096 bytes");

    replace_with(&sidecar, |path| fs::write(path, &good).unwrap());
    replace_with(&plugin, mkfifo);
    refused_by_name(&env, &template, &plugin, "FIFO");

    // Reinstalling replaces what is there.
    env.install("1.2.0");
    let build = env.ok(&["build", &template]);
    assert!(build.contains("versioned 1.2.0 built"), "{build}");
}

#[test]
fn a_manifest_with_a_bad_or_repeated_name_installs_nothing() {
    let env = Env::new();
    let package = pack(&env, "1.2.0");
    let manifest = String::from_utf8(entries(&package)[0].1.clone()).unwrap();
    let plugin_table = &manifest[manifest.find("[[plugins]]").unwrap()..];
    for (case, manifest, expected) in [
        (
            "slash",
            manifest.replace("name = \"versioned\"", "name = \"a/b\""),
            "`a/b` is not a plugin name",
        ),
        (
            "twice",
            format!("{manifest}\n{plugin_table}"),
            "builder `versioned` is listed twice",
        ),
        (
            "file",
            manifest.replace("file = \"", "file = \"../"),
            "is not the name of a file at the top of the package",
        ),
    ] {
        let mut files = entries(&package);
        files[0].1 = manifest.into_bytes();
        resum(&mut files);
        let bad = env.scratch.path().join(format!("{case}.tar.gz"));
        repack(&bad, &files);
        let error = env.fails(&["plugins", "install", &bad.to_string_lossy()]);
        assert!(
            error.contains(expected)
                && error.contains("rivet-package.toml is wrong")
                && error.contains(&bad.display().to_string()),
            "{case}: {error}"
        );
        assert!(env.plugin_files().is_empty(), "{:?}", env.plugin_files());
    }
}
