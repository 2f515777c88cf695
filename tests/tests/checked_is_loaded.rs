//! The file checked is the file loaded: a plugin name that is a symbolic
//! link, swapped between a file the loader accepts and one owned by another
//! user, never gets the other user's code run in the host. The loader judges
//! the descriptor it opened and loads that descriptor.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rivet::{Loader, Vetting};
use rivet_interface::PluginKind;
use rivet_interface::files::plugin_file_name;
use rivet_interface::framework::BuilderPlugin;
use rivet_tests::framework_config;

/// Compiles a shared library at `path` whose constructor runs `body`.
fn c_library(path: &Path, body: &str) {
    let source = path.with_extension("c");
    fs::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void c(void) {{ {body} }}\n"
        ),
    )
    .unwrap();
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(path)
        .arg(&source)
        .status()
        .expect("these tests build C libraries with `cc`");
    assert!(status.success());
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_link_swapped_in_a_loop_never_runs_another_users_library() {
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    // Neither library is a plugin, so no load succeeds and each attempt
    // really opens a library (nothing is remembered); the other user's
    // leaves a mark if its code ever runs in this process.
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("good.so");
    let evil = files.path().join("evil.so");
    let mark = files.path().join("evil-ran");
    c_library(&good, "");
    c_library(
        &evil,
        &format!(
            "FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f);",
            mark.display()
        ),
    );
    let evil_c = std::ffi::CString::new(evil.to_str().unwrap()).unwrap();
    // SAFETY: `evil_c` is a valid C string; chown has no other precondition.
    assert_eq!(unsafe { libc::chown(evil_c.as_ptr(), 65534, 65534) }, 0);

    // A sticky, world-writable search directory, as /tmp: accepted, and a
    // link in it is its owner's to swap.
    let search = tempfile::tempdir().unwrap();
    fs::set_permissions(search.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let link = search
        .path()
        .join(plugin_file_name(PluginKind::Builder, "dir"));
    symlink(&good, &link).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, link, good, evil) = (stop.clone(), link.clone(), good.clone(), evil.clone());
        std::thread::spawn(move || {
            let temp = link.with_extension("swap");
            let mut flip = false;
            while !stop.load(Ordering::Relaxed) {
                let _ = fs::remove_file(&temp);
                symlink(if flip { &evil } else { &good }, &temp).unwrap();
                fs::rename(&temp, &link).unwrap();
                flip = !flip;
            }
        })
    };

    let (mut opened, mut refused) = (0, 0);
    // At least 1,000 attempts, and on until the swapping showed both files
    // (a busy machine may starve the swapping thread for a while).
    let started = std::time::Instant::now();
    let mut attempts = 0;
    while attempts < 1000 || (opened == 0 || refused == 0) && started.elapsed().as_secs() < 60 {
        attempts += 1;
        let loader = Loader::new(
            framework_config("rivet")
                .search_path([search.path()])
                .vetting(Vetting::Off),
        )
        .register::<dyn BuilderPlugin>();
        let error = loader
            .load::<dyn BuilderPlugin>("dir")
            .err()
            .expect("neither library is a plugin")
            .to_string();
        if error.contains("owned by user id 65534") {
            refused += 1;
        } else {
            assert!(error.contains("not a Rivet plugin"), "{error}");
            opened += 1;
        }
        assert!(!mark.exists(), "the other user's library ran in the host");
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        opened > 0 && refused > 0,
        "{opened} opened, {refused} refused"
    );
}
