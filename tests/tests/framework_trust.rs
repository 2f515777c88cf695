//! The framework's loader finds and trusts plugin files as the `rivet` CLI
//! does, for any interface: the search path the application's name drives
//! (`<APP>_HOME`, `<APP>_PLUGIN_PATH`), discovery with hidden files, and
//! every file opened once and judged on that descriptor (its type, its
//! checksum sidecar, its permissions), in both modes, and vetted in a
//! scanner process before it is loaded in-process.

use std::env::consts::EXE_SUFFIX;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use imagine_interface::ImageFilter;
use std::time::Duration;

use rivet::{Config, IntegrityError, LoadError, Loader, Mode, Vetting};
use rivet_tests::{build_c_library, fixture, plugins_dir};
use serde_json::json;

const MODES: [Mode; 2] = [Mode::InProcess, Mode::Process];

fn sepia() -> PathBuf {
    plugins_dir().join(
        Config::app("imagine")
            .file_names()
            .file_name("image_filter", "sepia"),
    )
}

/// A loader searching only `dir`, with the `rivet-server` of `target/debug`.
fn loader_in(dir: &Path) -> Loader {
    Loader::new(
        Config::app("imagine")
            .search_path([dir])
            .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}"))),
    )
}

/// A private directory (mode 0700) holding a copy of sepia's file.
fn dir_with_sepia() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(sepia().file_name().unwrap());
    fs::copy(sepia(), &file).unwrap();
    (dir, file)
}

fn load(loader: &Loader, name: &str, mode: Mode) -> Result<(), LoadError> {
    loader
        .load_with::<dyn ImageFilter>(name, mode, &json!(null))
        .map(drop)
}

#[test]
fn a_fifo_or_a_directory_named_like_a_plugin_is_refused_by_name_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let names = Config::app("imagine");
    let fifo = dir
        .path()
        .join(names.file_names().file_name("image_filter", "fifo"));
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let subdir = dir
        .path()
        .join(names.file_names().file_name("image_filter", "subdir"));
    fs::create_dir(&subdir).unwrap();
    let loader = loader_in(dir.path());
    for mode in MODES {
        let error = load(&loader, "fifo", mode).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, LoadError::Integrity(IntegrityError::NotAFile { .. }))
                && text.starts_with(&fifo.display().to_string())
                && text.contains("FIFO"),
            "{mode:?}: {text}"
        );
        let text = load(&loader, "subdir", mode).unwrap_err().to_string();
        assert!(
            text.starts_with(&subdir.display().to_string()) && text.contains("a directory"),
            "{mode:?}: {text}"
        );
    }
}

#[test]
fn a_file_that_does_not_match_its_checksum_sidecar_is_refused_in_both_modes() {
    let (dir, file) = dir_with_sepia();
    let mut sidecar = file.clone().into_os_string();
    sidecar.push("_SHA256SUM");
    let digest = rivet_host::integrity::sha256_hex(fs::File::open(&file).unwrap()).unwrap();
    let loader = loader_in(dir.path());

    fs::write(&sidecar, format!("{}  x\n", "0".repeat(64))).unwrap();
    for mode in MODES {
        let error = load(&loader, "sepia", mode).unwrap_err();
        assert!(
            matches!(
                &error,
                LoadError::Integrity(IntegrityError::ChecksumMismatch { found, .. }) if *found == digest
            ),
            "{mode:?}: {error}"
        );
    }
    fs::write(&sidecar, format!("{digest}  x\n")).unwrap();
    for mode in MODES {
        load(&loader, "sepia", mode).unwrap();
    }
}

#[test]
fn a_plugin_others_can_replace_is_refused_unless_allowed() {
    let (dir, file) = dir_with_sepia();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o775)).unwrap();
    for mode in MODES {
        let text = load(&loader_in(dir.path()), "sepia", mode)
            .unwrap_err()
            .to_string();
        assert!(
            text.starts_with(&dir.path().display().to_string())
                && text.contains("writable by its group")
                && text.contains("chmod go-w"),
            "{mode:?}: {text}"
        );
        let allowed = loader_in(dir.path()).allow_insecure_permissions(true);
        load(&allowed, "sepia", mode).unwrap();
    }
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let text = load(&loader_in(dir.path()), "sepia", Mode::InProcess)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with(&file.display().to_string()) && text.contains("world-writable"),
        "{text}"
    );
}

#[test]
fn discovery_lists_the_registered_interfaces_plugins_and_what_they_hide() {
    let (first, sepia_first) = dir_with_sepia();
    let (second, sepia_second) = dir_with_sepia();
    let other = second.path().join("libplugin_probe_x.so");
    fs::copy(fixture("framework_probe"), &other).unwrap();
    fs::write(second.path().join("notes.txt"), "not a plugin").unwrap();

    let loader = Loader::new(Config::app("imagine").search_path([first.path(), second.path()]));
    assert!(
        loader.discover().files.is_empty(),
        "no interface registered"
    );
    let scan = loader.register::<dyn ImageFilter>().discover();
    let found: Vec<_> = scan
        .files
        .iter()
        .map(|f| (f.kind, f.name.as_str(), f.path.clone()))
        .collect();
    assert_eq!(found, [("image_filter", "sepia", sepia_first.clone())]);
    assert_eq!(scan.hidden.len(), 1);
    assert_eq!(
        (&scan.hidden[0].file.path, &scan.hidden[0].by),
        (&sepia_second, &sepia_first)
    );
}

/// The application's name drives the environment: `imagine --list` (a copy
/// of the example host, alone in a directory) finds filters in
/// `$IMAGINE_HOME/plugins` before those in `$IMAGINE_PLUGIN_PATH`, and
/// lists the file and the built-in `sepia` it hides.
#[test]
fn the_apps_home_and_path_variables_are_searched_in_order() {
    let bin = tempfile::tempdir().unwrap();
    let imagine = bin.path().join(format!("imagine{EXE_SUFFIX}"));
    fs::copy(plugins_dir().join(format!("imagine{EXE_SUFFIX}")), &imagine).unwrap();
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join("plugins")).unwrap();
    let (path_dir, in_path) = dir_with_sepia();
    let in_home = home
        .path()
        .join("plugins")
        .join(in_path.file_name().unwrap());
    fs::copy(&in_path, &in_home).unwrap();
    let cwd = tempfile::tempdir().unwrap();

    let output = Command::new(&imagine)
        .arg("--list")
        .current_dir(cwd.path())
        .env("IMAGINE_HOME", home.path())
        .env("IMAGINE_PLUGIN_PATH", path_dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            format!("sepia\t{}", in_home.display()),
            format!(
                "sepia\t{}\thidden by {}",
                in_path.display(),
                in_home.display()
            ),
            format!(
                "sepia\tbuilt in, version 0.1.0\thidden by {}",
                in_home.display()
            ),
        ],
        "{stdout}"
    );
}

/// Libraries named like filters whose ELF constructors crash, exit or hang
/// are loaded first by a scanner (`rivet-server` in scan mode) and
/// quarantined, each with what happened; the host process lives on, the
/// verdict is kept for the next load, and a real filter beside them loads.
#[test]
fn a_library_whose_constructor_crashes_exits_or_hangs_is_quarantined_and_the_host_lives() {
    let (dir, _) = dir_with_sepia();
    let names = Config::app("imagine");
    let hostile = [
        ("segv", "*(volatile int *)0 = 1;", "SIGSEGV"),
        ("exits", "exit(0);", "exited with status 0"),
        ("sleeps", "sleep(60);", "did not finish within 2 s"),
    ];
    for (name, body, _) in hostile {
        build_c_library(
            dir.path(),
            &names.file_names().file_name("image_filter", name),
            body,
        );
    }
    let loader = Loader::new(
        Config::app("imagine")
            .search_path([dir.path()])
            .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}")))
            .vetting(Vetting::Scan {
                timeout: Duration::from_secs(2),
            }),
    );
    for (name, _, what) in hostile {
        let file = dir
            .path()
            .join(names.file_names().file_name("image_filter", name));
        for attempt in ["scanned", "remembered"] {
            let error = load(&loader, name, Mode::InProcess).unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(error, LoadError::Quarantined { ref path, .. } if *path == file)
                    && text.starts_with(&file.display().to_string())
                    && text.contains("quarantined")
                    && text.contains(what),
                "{name}, {attempt}: {text}"
            );
        }
    }
    let (mut pixels, width, height) = (vec![200u8; 12], 2, 2);
    let sepia = loader
        .load_with::<dyn ImageFilter>("sepia", Mode::InProcess, &json!(null))
        .unwrap();
    sepia.apply(&mut pixels, width, height).unwrap();
    assert_ne!(pixels, vec![200u8; 12]);
}

/// A verdict is for one version of a file: a quarantined file replaced by
/// a good one (as an install does) is scanned again and loads.
#[test]
fn a_quarantined_file_replaced_by_a_good_one_is_vetted_again() {
    let dir = tempfile::tempdir().unwrap();
    let name = sepia().file_name().unwrap().to_owned();
    let file = build_c_library(dir.path(), &name.to_string_lossy(), "exit(7);");
    let loader = Loader::new(
        Config::app("imagine")
            .search_path([dir.path()])
            .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}"))),
    );
    let error = load(&loader, "sepia", Mode::InProcess).unwrap_err();
    assert!(
        matches!(error, LoadError::Quarantined { .. }) && error.to_string().contains("status 7"),
        "{error}"
    );
    let replacement = dir.path().join("new.so");
    fs::copy(sepia(), &replacement).unwrap();
    fs::rename(&replacement, &file).unwrap();
    load(&loader, "sepia", Mode::InProcess).unwrap();
}

/// Without a scanner to load it first, a file is not loaded in-process:
/// the error names the file and the scanner.
#[test]
fn a_file_that_cannot_be_vetted_is_not_loaded() {
    let (dir, file) = dir_with_sepia();
    let loader = Loader::new(
        Config::app("imagine")
            .search_path([dir.path()])
            .server("/nonexistent/rivet-server"),
    );
    let error = load(&loader, "sepia", Mode::InProcess).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, LoadError::NotVetted { .. })
            && text.starts_with(&file.display().to_string())
            && text.contains("/nonexistent/rivet-server"),
        "{text}"
    );
}

/// Verdicts are kept in `HOME/cache/verdicts.cache` for later runs: once a
/// file is vetted, another process loads it without a scanner (here: with
/// `rivet-server` gone), until the file changes.
#[test]
fn verdicts_are_kept_for_later_runs_until_the_file_changes() {
    let bin = tempfile::tempdir().unwrap();
    for exe in ["imagine", "rivet-server"] {
        let exe = format!("{exe}{EXE_SUFFIX}");
        fs::copy(plugins_dir().join(&exe), bin.path().join(&exe)).unwrap();
    }
    let (plugins, file) = dir_with_sepia();
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    fs::write(cwd.path().join("in.ppm"), b"P6\n1 1\n255\n\xff\x00\x00").unwrap();
    let run = || {
        Command::new(bin.path().join(format!("imagine{EXE_SUFFIX}")))
            .args(["in.ppm", "out.ppm", "sepia"])
            .current_dir(cwd.path())
            .env("IMAGINE_HOME", home.path())
            .env("IMAGINE_PLUGIN_PATH", plugins.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    assert!(home.path().join("cache/verdicts.cache").is_file());

    fs::remove_file(bin.path().join(format!("rivet-server{EXE_SUFFIX}"))).unwrap();
    let second = run();
    assert!(second.status.success(), "{second:?}");

    // A new version of the file needs a scanner again.
    let replacement = plugins.path().join("new.so");
    fs::copy(sepia(), &replacement).unwrap();
    fs::rename(&replacement, &file).unwrap();
    let third = run();
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(
        !third.status.success() && stderr.contains("cannot be vetted"),
        "{third:?}"
    );
}
