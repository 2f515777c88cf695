//! Plugin management through the real `rivet` binary: versioned installs,
//! required plugins, packages, checksums, permissions and the metadata
//! cache. Every run has `RIVET_HOME` in a temporary directory; the plugins
//! are the `versioned-*` fixtures (builder `versioned` at 1.2.0, 1.3.0 and
//! 2.0.0).

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;

use rivet_host::installed::platform;
use rivet_tests::cli::{describe, text};
use rivet_tests::rivet;
use rivet_tests::store::{Env, SOURCE, entries, installed_name, pack, repack, resum, versioned};

#[test]
fn several_versions_side_by_side_the_highest_matching_one_wins() {
    let env = Env::new();
    for version in ["1.2.0", "2.0.0", "1.3.0"] {
        let out = env.install(version);
        assert!(out.contains(&installed_name(version)), "{out}");
    }
    let mut expected = Vec::new();
    for version in ["1.2.0", "1.3.0", "2.0.0"] {
        let file = format!("{SOURCE}/{}", installed_name(version));
        expected.push(file.clone());
        expected.push(format!("{file}_SHA256SUM"));
    }
    expected.sort();
    assert_eq!(env.plugin_files(), expected);

    let installed = env.ok(&["plugins", "installed"]);
    for version in ["1.2.0", "1.3.0", "2.0.0"] {
        let row = installed
            .lines()
            .find(|l| l.contains(&format!(" {version} ")))
            .unwrap_or_else(|| panic!("no {version}:\n{installed}"));
        assert!(row.starts_with(SOURCE) && row.contains(" ok "), "{row}");
    }

    let template = env.template(">= 1.2, < 2");
    let required = env.ok(&["plugins", "required", &template.to_string_lossy()]);
    assert!(
        required.contains("1.3.0") && required.contains(&installed_name("1.3.0")),
        "{required}"
    );
    let build = env.ok(&["build", &template.to_string_lossy()]);
    assert!(build.contains("versioned 1.3.0 built"), "{build}");

    // Plain discovery: the highest installed version.
    let list = env.ok(&["plugins", "list"]);
    let row = list.lines().find(|l| l.contains("versioned")).unwrap();
    assert!(row.contains("2.0.0"), "{list}");

    // Nothing matches: the installed versions and the command to install one.
    let template = env.template(">= 3");
    let error = env.fails(&["build", &template.to_string_lossy()]);
    assert!(
        error.contains("2.0.0, 1.3.0, 1.2.0") && error.contains("rivet plugins install"),
        "{error}"
    );
    let error = env.fails(&["plugins", "required", &template.to_string_lossy()]);
    assert!(error.contains("MISSING"), "{error}");
}

#[test]
fn a_file_whose_name_disagrees_with_the_plugin_is_ignored_with_a_warning() {
    let env = Env::new();
    env.install("1.2.0");
    // 1.2.0's bytes (with a correct sidecar) under 1.9.0's name.
    let liar = env.installed_path("1.9.0");
    fs::copy(env.installed_path("1.2.0"), &liar).unwrap();
    fs::copy(
        format!("{}_SHA256SUM", env.installed_path("1.2.0").display()),
        format!("{}_SHA256SUM", liar.display()),
    )
    .unwrap();

    let template = env.template("^1");
    let output = env.run(&["build", &template.to_string_lossy()]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(text(&output.stdout).contains("versioned 1.2.0 built"));

    let list = env.ok(&["plugins", "list"]);
    let row = list.lines().find(|l| l.contains("versioned")).unwrap();
    assert!(row.contains("1.2.0"), "{list}");
    assert!(
        list.contains("the file name says version 1.9.0, but the plugin reports 1.2.0"),
        "{list}"
    );
}

#[test]
fn a_tampered_file_is_refused() {
    let env = Env::new();
    env.install("1.2.0");
    let installed = env.installed_path("1.2.0");
    let mut bytes = fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"tampered");
    fs::write(&installed, bytes).unwrap();

    let template = env.template("^1");
    let error = env.fails(&["build", &template.to_string_lossy()]);
    assert!(
        error.contains("changed since it was installed")
            && error.contains(&installed.display().to_string())
            && error.contains("rivet plugins install"),
        "{error}"
    );
    // Isolated, the plugin server verifies the file it maps, and refuses it.
    let error = env.fails(&[
        "--isolation",
        "process",
        "build",
        &template.to_string_lossy(),
    ]);
    assert!(
        error.contains("changed since it was installed")
            && error.contains(&installed.display().to_string()),
        "{error}"
    );
    let listing = env.ok(&["plugins", "installed"]);
    assert!(listing.contains("MISMATCH"), "{listing}");

    // Reinstalling fixes it.
    env.install("1.2.0");
    let build = env.ok(&["build", &template.to_string_lossy()]);
    assert!(build.contains("versioned 1.2.0 built"), "{build}");
}

#[cfg(unix)]
#[test]
fn a_world_writable_plugin_dir_is_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;

    let env = Env::new();
    let plugin = env.plugin("1.2.0");
    let dir = plugin.parent().unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    let template = env.cwd.path().join("plain.toml");
    fs::write(&template, "[[builders]]\nplugin = \"versioned\"\n").unwrap();

    let mut command = rivet(env.home.path(), env.cwd.path());
    command
        .env("RIVET_PLUGIN_PATH", dir)
        .args(["build", &template.to_string_lossy()]);
    let output = command.output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr.contains(&dir.display().to_string())
            && stderr.contains("world-writable")
            && stderr.contains("0777"),
        "{stderr}"
    );

    let output = command.arg("--allow-insecure-plugins").output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    assert!(text(&output.stdout).contains("versioned 1.2.0 built"));
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_refuses_a_file_that_is_not_a_plugin_and_writes_nothing() {
    let env = Env::new();
    let junk = env
        .scratch
        .path()
        .join(format!("{DLL_PREFIX}plugin_builder_junk{DLL_SUFFIX}"));
    fs::write(&junk, "not a library").unwrap();
    let error = env.fails(&["plugins", "install", &junk.to_string_lossy()]);
    assert!(
        error.contains("not a Rivet plugin library") && error.contains("nothing was installed"),
        "{error}"
    );
    let odd = env.scratch.path().join("plugin.so");
    fs::copy(versioned("1.2.0"), &odd).unwrap();
    let error = env.fails(&["plugins", "install", &odd.to_string_lossy()]);
    assert!(error.contains("not a plugin file name"), "{error}");
    assert!(env.plugin_files().is_empty(), "{:?}", env.plugin_files());
}

#[test]
fn a_package_installs_and_a_corrupt_or_truncated_one_installs_nothing() {
    let env = Env::new();
    let package = pack(&env, "1.3.0");
    let names: Vec<String> = entries(&package).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        ["rivet-package.toml", "SHA256SUMS", &installed_name("1.3.0")]
    );
    let manifest = String::from_utf8(entries(&package)[0].1.clone()).unwrap();
    for field in [
        "name = \"versioned\"",
        "kind = \"builder\"",
        "version = \"1.3.0\"",
        "interface_version = \"1.",
        "description = ",
    ] {
        assert!(manifest.contains(field), "{manifest}");
    }
    assert!(
        manifest.contains(&platform()) && manifest.contains(SOURCE),
        "{manifest}"
    );

    let bytes = fs::read(&package).unwrap();
    let truncated = env.scratch.path().join("truncated.tar.gz");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let error = env.fails(&["plugins", "install", &truncated.to_string_lossy()]);
    assert!(error.contains("corrupt or truncated"), "{error}");

    let mut flipped = bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    let corrupt = env.scratch.path().join("corrupt.tar.gz");
    fs::write(&corrupt, &flipped).unwrap();
    let error = env.fails(&["plugins", "install", &corrupt.to_string_lossy()]);
    assert!(
        error.contains("corrupt or truncated") || error.contains("does not match its checksum"),
        "{error}"
    );

    // A plugin changed inside an otherwise well-formed archive.
    let mut files = entries(&package);
    files[2].1.extend_from_slice(b"x");
    let changed = env.scratch.path().join("changed.tar.gz");
    repack(&changed, &files);
    let error = env.fails(&["plugins", "install", &changed.to_string_lossy()]);
    assert!(error.contains("does not match its checksum"), "{error}");
    assert!(env.plugin_files().is_empty(), "{:?}", env.plugin_files());

    let out = env.ok(&["plugins", "install", &package.to_string_lossy()]);
    assert!(out.contains(SOURCE), "{out}");
    assert!(env.installed_path("1.3.0").is_file());
}

#[test]
fn a_package_for_another_platform_installs_nothing() {
    let env = Env::new();
    let package = pack(&env, "1.2.0");
    let mut files = entries(&package);
    let manifest = String::from_utf8(files[0].1.clone())
        .unwrap()
        .replace(&platform(), "plan9_mips");
    files[0].1 = manifest.into_bytes();
    resum(&mut files);
    let foreign = env.scratch.path().join("foreign.tar.gz");
    repack(&foreign, &files);
    let error = env.fails(&["plugins", "install", &foreign.to_string_lossy()]);
    assert!(
        error.contains("built for plan9_mips") && error.contains(&platform()),
        "{error}"
    );
    assert!(env.plugin_files().is_empty(), "{:?}", env.plugin_files());
}

#[test]
fn init_installs_missing_required_plugins_from_a_directory() {
    let env = Env::new();
    let from = tempfile::tempdir().unwrap();
    let package = pack(&env, "1.2.0");
    fs::copy(&package, from.path().join("versioned-1.2.0.tar.gz")).unwrap();
    fs::copy(
        versioned("1.3.0"),
        from.path().join(installed_name("1.3.0")),
    )
    .unwrap();
    fs::copy(
        versioned("2.0.0"),
        from.path()
            .join(format!("{DLL_PREFIX}plugin_builder_versioned{DLL_SUFFIX}")),
    )
    .unwrap();
    fs::write(from.path().join("README.txt"), "not a plugin").unwrap();

    let template = env.template(">= 1.2, < 2");
    let out = env.ok(&[
        "init",
        &template.to_string_lossy(),
        "--from",
        &from.path().to_string_lossy(),
    ]);
    assert!(out.contains(&installed_name("1.3.0")), "{out}");
    assert!(env.installed_path("1.3.0").is_file());
    assert!(!env.installed_path("1.2.0").exists());
    let build = env.ok(&["build", &template.to_string_lossy()]);
    assert!(build.contains("versioned 1.3.0 built"), "{build}");

    let again = env.ok(&[
        "init",
        &template.to_string_lossy(),
        "--from",
        &from.path().to_string_lossy(),
    ]);
    assert!(again.contains("is installed"), "{again}");

    let template = env.template("^2");
    env.ok(&[
        "init",
        &template.to_string_lossy(),
        "--from",
        &from.path().to_string_lossy(),
    ]);
    assert!(env.installed_path("2.0.0").is_file());

    let template = env.template("^3");
    let error = env.fails(&[
        "init",
        &template.to_string_lossy(),
        "--from",
        &from.path().to_string_lossy(),
    ]);
    assert!(
        error.contains("nothing in") && error.contains("1.2.0"),
        "{error}"
    );
}

#[test]
fn remove_takes_matching_versions_and_their_sidecars() {
    let env = Env::new();
    for version in ["1.2.0", "1.3.0", "2.0.0"] {
        env.install(version);
    }
    let out = env.ok(&["plugins", "remove", "versioned", "< 2"]);
    assert!(out.contains("1.2.0") && out.contains("1.3.0"), "{out}");
    let file = format!("{SOURCE}/{}", installed_name("2.0.0"));
    assert_eq!(
        env.plugin_files(),
        [file.clone(), format!("{file}_SHA256SUM")]
    );

    let error = env.fails(&["plugins", "remove", "versioned", "< 2"]);
    assert!(error.contains("installed: builder 2.0.0"), "{error}");
    env.ok(&["plugins", "remove", "versioned"]);
    assert!(env.plugin_files().is_empty());
    // The emptied source directories go too; the plugin directory stays.
    let left: Vec<_> = fs::read_dir(env.plugins_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_changed_file_refreshes_the_cache_and_a_corrupt_cache_is_rebuilt() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir
        .path()
        .join(format!("{DLL_PREFIX}plugin_builder_versioned{DLL_SUFFIX}"));
    fs::copy(versioned("1.2.0"), &plain).unwrap();
    let list = |env: &Env| {
        let output = rivet(env.home.path(), env.cwd.path())
            .env("RIVET_PLUGIN_PATH", dir.path())
            .args(["plugins", "list"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", describe(&output));
        let stdout = text(&output.stdout);
        stdout
            .lines()
            .find(|l| l.contains("versioned"))
            .unwrap_or_else(|| panic!("{stdout}"))
            .to_owned()
    };
    assert!(list(&env).contains("1.2.0"));
    let cache = env.home.path().join("cache/verdicts.cache");
    assert!(cache.is_file());
    assert!(list(&env).contains("1.2.0"), "warm");

    // Replaced by another version (a rename over it, as installers do).
    let next = dir.path().join("next");
    fs::copy(versioned("1.3.0"), &next).unwrap();
    fs::rename(&next, &plain).unwrap();
    assert!(list(&env).contains("1.3.0"));
    // Overwritten in place.
    fs::copy(versioned("2.0.0"), &plain).unwrap();
    assert!(list(&env).contains("2.0.0"));

    for junk in [&b"garbage"[..], b"", b"RIVETFV1\x05\xff\xff\xff\xff\xff"] {
        fs::write(&cache, junk).unwrap();
        assert!(list(&env).contains("2.0.0"));
        assert!(
            fs::read(&cache).unwrap().starts_with(b"RIVETFV1"),
            "rebuilt"
        );
    }
}

#[test]
fn plugins_asking_where_a_plugin_is_see_installed_versions() {
    let env = Env::new();
    env.install("1.2.0");
    env.install("1.3.0");
    let template = env.cwd.path().join("plain.toml");
    fs::write(&template, "[[builders]]\nplugin = \"versioned\"\n").unwrap();

    // `inspect` asks the host (the `locate` service) where `builder versioned`
    // is: not on the search path, so the highest installed version, as
    // `rivet build` would use.
    let out = env.ok(&["inspect", &template.to_string_lossy()]);
    let expected = env.installed_path("1.3.0");
    assert!(
        out.contains(&expected.display().to_string()),
        "inspect should name {}:\n{out}",
        expected.display()
    );
}

#[test]
fn pack_creates_its_output_directory_and_writes_a_readable_package_named_after_its_plugins() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    let env = Env::new();
    let (old, new) = (env.plugin("1.2.0"), env.plugin("1.3.0"));
    let out_dir = env.scratch.path().join("missing/dir");
    let mut command = rivet(env.home.path(), env.cwd.path());
    command
        .args(["plugins", "pack", "-o"])
        .arg(&out_dir)
        .arg(&old)
        .arg(&new);
    // SAFETY: `umask` is async-signal-safe and changes only the child's mask.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }

    let output = command.output().expect("rivet runs");

    assert!(output.status.success(), "{}", describe(&output));
    let name = format!(
        "plugins_builder_versioned_v1.2.0+builder_versioned_v1.3.0_i1_{}.tar.gz",
        platform()
    );
    let package = out_dir.join(&name);
    assert_eq!(
        text(&output.stdout).trim(),
        format!("packed {}", package.display())
    );
    let mode = fs::metadata(&package).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");
}

#[test]
fn pack_refuses_an_output_it_cannot_create_before_building_anything() {
    let env = Env::new();
    let file = env.scratch.path().join("a-file");
    fs::write(&file, "not a directory").unwrap();
    let crate_dir = rivet_tests::workspace_root().join("plugins/builder-dir");

    let error = env.fails(&[
        "plugins",
        "pack",
        &crate_dir.to_string_lossy(),
        "-o",
        &file.to_string_lossy(),
    ]);

    assert!(
        error.contains(&format!(
            "{}: cannot pack: cannot create the directory to write the package in",
            file.display()
        )),
        "{error}"
    );
    assert!(!error.contains("building"), "cargo ran first: {error}");
}

/// Moves the installed `versioned` fixture at `version` (file and
/// sidecar) from the home's plugin directory to `<dir>/<SOURCE>/`.
fn move_installed(env: &Env, version: &str, dir: &std::path::Path) -> std::path::PathBuf {
    env.install(version);
    let from = env.installed_path(version);
    let to_dir = dir.join(SOURCE);
    fs::create_dir_all(&to_dir).unwrap();
    let to = to_dir.join(installed_name(version));
    fs::rename(&from, &to).unwrap();
    fs::rename(
        format!("{}_SHA256SUM", from.display()),
        format!("{}_SHA256SUM", to.display()),
    )
    .unwrap();
    to
}

#[test]
fn installed_plugins_are_found_under_every_search_directory() {
    let env = Env::new();
    env.install("1.2.0");
    // Packer's lookup: `<dir>/<source>/` of the working directory...
    let in_cwd = move_installed(&env, "1.3.0", env.cwd.path());
    // ...and of a RIVET_PLUGIN_PATH directory; a build tree's directories
    // (no host name) are not looked in.
    let path_dir = env.scratch.path().join("path");
    let in_path = move_installed(&env, "2.0.0", &path_dir);
    let hidden = env.cwd.path().join("build");
    fs::create_dir_all(hidden.join(SOURCE)).unwrap();
    fs::copy(&in_path, hidden.join(SOURCE).join(installed_name("2.0.0"))).unwrap();

    let template = env.template(">= 1.2, < 2");
    let required = env.ok(&["plugins", "required", &template.to_string_lossy()]);
    assert!(
        required.contains("1.3.0") && required.contains(&in_cwd.display().to_string()),
        "{required}"
    );
    let build = env.ok(&["build", &template.to_string_lossy()]);
    assert!(build.contains("versioned 1.3.0 built"), "{build}");

    let template = env.template(">= 2");
    let error = env.fails(&["plugins", "required", &template.to_string_lossy()]);
    assert!(error.contains("1.3.0, 1.2.0"), "{error}");
    let path = path_dir.to_string_lossy();
    let output = env.run_env(
        &["plugins", "required", &template.to_string_lossy()],
        &[("RIVET_PLUGIN_PATH", &path)],
    );
    let out = text(&output.stdout);
    assert!(
        output.status.success() && out.contains(&in_path.display().to_string()),
        "{}",
        describe(&output)
    );

    // The same version in two directories: the first directory's wins
    // (the working directory comes before the home).
    env.install("1.3.0");
    let template = env.template("=1.3.0");
    let required = env.ok(&["plugins", "required", &template.to_string_lossy()]);
    assert!(
        required.contains(&in_cwd.display().to_string()),
        "{required}"
    );
}
