//! Sharing plugins through a real OCI registry: Debian's `docker-registry`
//! on 127.0.0.1 (see `rivet_tests::registry`), driven through the real
//! `rivet` binary: push, init with the lock file, install and pull, with
//! the registry altered, down or wanting credentials.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use rivet_host::installed::platform;
use rivet_tests::cli::text;
use rivet_tests::registry::{Registry, digest_of};
use rivet_tests::store::{Env, entries, installed_name, pack, repack, resum};

const PATH: &str = "acme/tools";

fn push(env: &Env, package: &Path, repository: &str) -> String {
    env.ok(&["plugins", "push", &package.to_string_lossy(), repository])
}

fn lock_of(template: &Path) -> PathBuf {
    template.parent().unwrap().join("rivet.lock")
}

/// The package of the `versioned` fixture at `version`, rewritten as if
/// built for `linux_aarch64`: its file renamed, its manifest and checksums
/// changed to match.
fn foreign_package(env: &Env, version: &str) -> PathBuf {
    let package = pack(env, version);
    let here = platform();
    let there = "linux_aarch64";
    let mut files: Vec<(String, Vec<u8>)> = entries(&package)
        .into_iter()
        .map(|(name, bytes)| {
            let bytes = if name == "rivet-package.toml" {
                text(&bytes).replace(&here, there).into_bytes()
            } else {
                bytes
            };
            (name.replace(&here, there), bytes)
        })
        .collect();
    resum(&mut files);
    let path = env.scratch.path().join(format!(
        "plugin_builder_versioned_v{version}_i1_{there}.tar.gz"
    ));
    repack(&path, &files);
    path
}

#[test]
fn push_then_init_round_trip_with_a_lock_file() {
    let registry = Registry::start();
    let env = Env::new();
    let repository = registry.repository(PATH);
    let package = pack(&env, "1.2.0");
    let out = push(&env, &package, &repository);
    assert!(
        out.starts_with(&format!("published {repository}:1.2.0 for {}", platform())),
        "{out}"
    );
    // The same package again changes nothing.
    let again = push(&env, &package, &repository);
    assert!(again.starts_with("already published:"), "{again}");

    let template = env.template_from(&repository, ">= 1.2");
    let out = env.ok(&["init", &template.to_string_lossy()]);
    assert!(
        out.contains("installed") && out.contains(&installed_name("1.2.0")),
        "{out}"
    );
    let installed = env
        .plugins_dir()
        .join(&repository)
        .join(installed_name("1.2.0"));
    assert!(installed.is_file(), "{out}");
    let lock = fs::read_to_string(lock_of(&template)).unwrap();
    assert!(
        lock.contains(&format!("source = \"{repository}\"")),
        "{lock}"
    );
    assert!(lock.contains("version = \"1.2.0\""), "{lock}");
    assert!(
        lock.contains(&format!("package = \"{}\"", digest_of(&package))),
        "{lock}"
    );

    let build = env.ok(&["build", &template.to_string_lossy()]);
    assert!(build.contains("versioned 1.2.0 built"), "{build}");

    // Warm: nothing to download, the lock is left as it was.
    let out = env.ok(&["init", &template.to_string_lossy()]);
    assert!(
        out.contains("is installed") && out.contains("locks it"),
        "{out}"
    );
    assert_eq!(fs::read_to_string(lock_of(&template)).unwrap(), lock);

    // A release not in the lock file is installed by `plugins install`.
    let package = pack(&env, "1.3.0");
    push(&env, &package, &repository);
    let out = env.ok(&["plugins", "install", &format!("{repository}@1.3.0")]);
    assert!(out.contains(&installed_name("1.3.0")), "{out}");
    let error = env.fails(&["plugins", "install", &format!("{repository}@9.9.9")]);
    assert!(
        error.contains(&repository) && error.contains("9.9.9"),
        "{error}"
    );
}

#[test]
fn the_highest_version_built_for_this_platform_is_chosen_and_mirrors_work() {
    let registry = Registry::start();
    let env = Env::new();
    let repository = registry.repository(PATH);
    for version in ["1.2.0", "1.3.0", "2.0.0"] {
        push(&env, &pack(&env, version), &repository);
    }
    // 1.3.0 for a second platform joins the same release; 1.4.0 exists
    // for that platform only.
    let out = push(&env, &foreign_package(&env, "1.3.0"), &repository);
    assert!(out.contains("1.3.0 for linux_aarch64"), "{out}");
    fs::create_dir_all(env.scratch.path().join("v140")).unwrap();
    let foreign = foreign_package(&env, "1.3.0");
    let mut files = entries(&foreign);
    for (name, bytes) in files.iter_mut() {
        if name == "rivet-package.toml" {
            *bytes = text(bytes).replace("1.3.0", "1.4.0").into_bytes();
        }
        *name = name.replace("1.3.0", "1.4.0");
    }
    resum(&mut files);
    let v140 = env
        .scratch
        .path()
        .join("v140/plugin_builder_versioned_v1.4.0_i1_linux_aarch64.tar.gz");
    repack(&v140, &files);
    push(&env, &v140, &repository);

    let template = env.template_from(&repository, ">= 1.2, < 2");
    let out = env.ok(&["init", &template.to_string_lossy()]);
    assert!(out.contains(&installed_name("1.3.0")), "{out}");
    assert!(
        !env.plugins_dir()
            .join(&repository)
            .join(installed_name("1.2.0"))
            .exists()
    );
    let lock = fs::read_to_string(lock_of(&template)).unwrap();
    assert!(lock.contains("version = \"1.3.0\""), "{lock}");
    // Both platforms' digests are locked, sorted.
    let aarch64 = lock.find("platform = \"linux_aarch64\"").expect(&lock);
    let here = lock
        .find(&format!("platform = \"{}\"", platform()))
        .expect(&lock);
    assert!(aarch64 < here, "{lock}");

    // Mirror: pull every platform's package, push them to another repository.
    let mirror_dir = env.scratch.path().join("mirror");
    let out = env.ok(&[
        "plugins",
        "pull",
        &format!("{repository}@1.3.0"),
        "-o",
        &mirror_dir.to_string_lossy(),
    ]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("pulled")).count(),
        2,
        "{out}"
    );
    let mirror = registry.repository("mirror/tools");
    let mut pulled: Vec<PathBuf> = fs::read_dir(&mirror_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    pulled.sort();
    assert_eq!(pulled.len(), 2, "{pulled:?}");
    for package in &pulled {
        push(&env, package, &mirror);
    }
    // Pulling again leaves the same files alone.
    let again = env.ok(&[
        "plugins",
        "pull",
        &format!("{repository}@1.3.0"),
        "-o",
        &mirror_dir.to_string_lossy(),
    ]);
    assert_eq!(
        again
            .lines()
            .filter(|l| l.starts_with("already there:"))
            .count(),
        2,
        "{again}"
    );

    let other = Env::new();
    let template = other.template_from(&mirror, "=1.3.0");
    let out = other.ok(&["init", &template.to_string_lossy()]);
    assert!(out.contains(&installed_name("1.3.0")), "{out}");
    // The mirror serves the same manifests: the same digests are locked.
    let mirrored = fs::read_to_string(lock_of(&template)).unwrap();
    assert_eq!(mirrored.replace(&mirror, &repository), lock);
}

#[test]
fn a_blob_altered_in_the_registry_is_refused_and_nothing_is_installed() {
    let registry = Registry::start();
    let env = Env::new();
    let repository = registry.repository(PATH);
    let package = pack(&env, "1.2.0");
    push(&env, &package, &repository);
    let blob = registry.blob_file(&digest_of(&package));
    let mut bytes = fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&blob, bytes).unwrap();

    let template = env.template_from(&repository, "1");
    let error = env.fails(&["init", &template.to_string_lossy()]);
    assert!(
        error.contains(&repository) && error.contains("digest"),
        "{error}"
    );
    assert!(error.contains("changed or damaged"), "{error}");
    assert_eq!(env.plugin_files(), Vec::<String>::new());
    assert!(!lock_of(&template).exists());
}

#[test]
fn a_registry_that_is_down_is_named_and_nothing_is_installed() {
    let mut registry = Registry::start();
    let env = Env::new();
    let repository = registry.repository(PATH);
    registry.stop();
    let template = env.template_from(&repository, "1");
    let error = env.fails(&["init", &template.to_string_lossy()]);
    assert!(
        error.contains(&repository) && error.contains("unreachable"),
        "{error}"
    );
    assert!(error.contains("check the address"), "{error}");
    assert_eq!(env.plugin_files(), Vec::<String>::new());
    let error = env.fails(&[
        "plugins",
        "push",
        &pack(&env, "1.2.0").to_string_lossy(),
        &repository,
    ]);
    assert!(error.contains("unreachable"), "{error}");
}

#[test]
fn a_registry_wanting_credentials_gets_them_from_the_environment_or_docker() {
    let registry = Registry::start_with_auth("alice", "s3cret");
    let env = Env::new();
    let repository = registry.repository(PATH);
    let package = pack(&env, "1.2.0");
    let package = package.to_string_lossy();

    let error = env.fails(&["plugins", "push", &package, &repository]);
    assert!(
        error.contains(&repository) && error.contains("refused access"),
        "{error}"
    );
    assert!(
        error.contains("no credentials were given") && error.contains("docker login"),
        "{error}"
    );

    let wrong = [
        ("RIVET_REGISTRY_USERNAME", "alice"),
        ("RIVET_REGISTRY_PASSWORD", "guess"),
    ];
    let output = env.run_env(&["plugins", "push", &package, &repository], &wrong);
    let error = text(&output.stderr);
    assert!(
        !output.status.success() && error.contains("to the credentials given"),
        "{error}"
    );

    let right = [
        ("RIVET_REGISTRY_USERNAME", "alice"),
        ("RIVET_REGISTRY_PASSWORD", "s3cret"),
    ];
    let output = env.run_env(&["plugins", "push", &package, &repository], &right);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let template = env.template_from(&repository, "1");
    let error = env.fails(&["init", &template.to_string_lossy()]);
    assert!(error.contains("refused access"), "{error}");
    assert_eq!(env.plugin_files(), Vec::<String>::new());

    // `docker login` writes this.
    let docker = env.home.path().join(".docker");
    fs::create_dir_all(&docker).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    fs::write(
        docker.join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}",
            registry.addr
        ),
    )
    .unwrap();
    let out = env.ok(&["init", &template.to_string_lossy()]);
    assert!(out.contains(&installed_name("1.2.0")), "{out}");
}

#[test]
fn a_release_that_differs_from_the_lock_file_is_refused_until_upgrade() {
    let registry = Registry::start();
    let env = Env::new();
    let repository = registry.repository(PATH);
    push(&env, &pack(&env, "1.2.0"), &repository);
    let template = env.template_from(&repository, "1");
    env.ok(&["init", &template.to_string_lossy()]);
    let lock = fs::read_to_string(lock_of(&template)).unwrap();

    // Someone replaces release 1.2.0 in the registry with other bytes.
    fs::remove_dir_all(registry.tag_dir(PATH, "1.2.0")).unwrap();
    let mut files = entries(&pack(&env, "1.2.0"));
    files.reverse();
    let sums = files
        .iter()
        .position(|(name, _)| name == "SHA256SUMS")
        .unwrap();
    files.swap(1, sums);
    resum(&mut files);
    let altered = env.scratch.path().join("altered");
    fs::create_dir_all(&altered).unwrap();
    let altered = altered.join(format!(
        "plugin_builder_versioned_v1.2.0_i1_{}.tar.gz",
        platform()
    ));
    repack(&altered, &files);
    push(&env, &altered, &repository);

    // Installed already and locked: nothing to fetch, nothing noticed.
    env.ok(&["init", &template.to_string_lossy()]);
    // A machine without it must download it: refused.
    let other = Env::new();
    let other_template = other.template_from(&repository, "1");
    fs::write(lock_of(&other_template), &lock).unwrap();
    let error = other.fails(&["init", &other_template.to_string_lossy()]);
    assert!(
        error.contains("other digests than") && error.contains("--upgrade"),
        "{error}"
    );
    assert_eq!(other.plugin_files(), Vec::<String>::new());
    assert_eq!(fs::read_to_string(lock_of(&other_template)).unwrap(), lock);

    // --upgrade takes what the registry serves now, and rewrites the lock.
    let out = other.ok(&["init", "--upgrade", &other_template.to_string_lossy()]);
    assert!(
        out.contains(&installed_name("1.2.0")) && out.contains("wrote"),
        "{out}"
    );
    let upgraded = fs::read_to_string(lock_of(&other_template)).unwrap();
    assert!(upgraded.contains(&digest_of(&altered)), "{upgraded}");

    // A requirement the locked version no longer meets.
    let template = env.template_from(&repository, ">= 1.3");
    let error = env.fails(&["init", &template.to_string_lossy()]);
    assert!(
        error.contains("locks 1.2.0") && error.contains("--upgrade"),
        "{error}"
    );
}
