//! The real plugins end to end through the loader, as a host drives them:
//! dir builder, file and shell provisioners, checksum and compress
//! post-processors, checking the artifacts they leave on disk.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rivet_loader::{Artifact, Loader, PluginKind};
use rivet_tests::files::{tree, unpack};
use rivet_tests::{RecordingUi, UiEvent, loader_for, plugins_dir};
use sha2::{Digest, Sha256};

/// A small site to build: `www/` (two files) and `extra/robots.txt`.
fn site(dir: &Path) {
    fs::create_dir_all(dir.join("www/css")).unwrap();
    fs::create_dir_all(dir.join("extra")).unwrap();
    fs::write(dir.join("www/index.html"), "<h1>Hello</h1>\n").unwrap();
    fs::write(dir.join("www/css/main.css"), "h1 { color: teal }\n").unwrap();
    fs::write(dir.join("extra/robots.txt"), "User-agent: *\n").unwrap();
}

fn json(value: serde_json::Value) -> String {
    value.to_string()
}

fn step(
    loader: &Loader,
    kind: PluginKind,
    name: &str,
    config: serde_json::Value,
    base: &Path,
) -> rivet_loader::Instance {
    loader
        .load(kind, name)
        .unwrap_or_else(|error| panic!("{error}"))
        .prepare(&json(config), base)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Runs dir → file → shell on the site in `base`, returning the artifact.
fn build_and_provision(loader: &Loader, base: &Path) -> Artifact {
    let artifact = step(
        loader,
        PluginKind::Builder,
        "dir",
        serde_json::json!({"source": "www", "output": "build/site"}),
        base,
    )
    .build()
    .unwrap();
    let artifact = step(
        loader,
        PluginKind::Provisioner,
        "file",
        serde_json::json!({"source": "extra/robots.txt", "destination": "robots.txt"}),
        base,
    )
    .provision(&artifact)
    .unwrap();
    step(
        loader,
        PluginKind::Provisioner,
        "shell",
        serde_json::json!({
            "inline": [
                "echo \"hello from $GREETING in $RIVET_ARTIFACT_ID\"",
                "printf 'built\\n' > BUILD_INFO",
                "echo 'a warning' >&2",
            ],
            "env": {"GREETING": "the shell"},
        }),
        base,
    )
    .provision(&artifact)
    .unwrap()
}

/// Runs the checksum post-processor on `artifact` in `base`.
fn checksum(loader: &Loader, base: &Path, artifact: &Artifact) -> Artifact {
    step(
        loader,
        PluginKind::PostProcessor,
        "checksum",
        serde_json::json!({}),
        base,
    )
    .post_process(artifact)
    .unwrap()
}

/// Runs the compress post-processor with `config` on `artifact` in `base`.
fn compress(
    loader: &Loader,
    base: &Path,
    config: serde_json::Value,
    artifact: &Artifact,
) -> Artifact {
    step(loader, PluginKind::PostProcessor, "compress", config, base)
        .post_process(artifact)
        .unwrap()
}

#[test]
fn the_real_plugins_build_provision_checksum_and_compress_a_site() {
    let base = tempfile::tempdir().unwrap();
    site(base.path());
    let ui = RecordingUi::new();
    let loader = loader_for(&[plugins_dir()], &ui);

    let artifact = build_and_provision(&loader, base.path());

    let root = base.path().join("build/site");
    assert_eq!(artifact.root, root);
    assert_eq!(artifact.id, "site");
    assert_eq!(
        artifact.files,
        ["BUILD_INFO", "css/main.css", "index.html", "robots.txt"]
    );
    assert_eq!(
        artifact.metadata.get("builder").map(String::as_str),
        Some("dir")
    );
    assert_eq!(
        fs::read_to_string(root.join("robots.txt")).unwrap(),
        "User-agent: *\n"
    );
    assert_eq!(
        fs::read_to_string(root.join("BUILD_INFO")).unwrap(),
        "built\n"
    );

    // The shell's output reached the UI, line by line, stdout as messages and
    // stderr as errors, under the plugin's label.
    let shell = ui.events("provisioner shell");
    assert!(
        shell.contains(&UiEvent::Message("hello from the shell in site".into())),
        "{shell:?}"
    );
    assert!(
        shell.contains(&UiEvent::Error("a warning".into())),
        "{shell:?}"
    );
    assert!(
        shell.iter().any(
            |e| matches!(e, UiEvent::Say(line) if line.starts_with("Running inline command 1 of 3"))
        ),
        "{shell:?}"
    );
    assert!(
        ui.lines("builder dir")
            .iter()
            .any(|line| line.contains("build/site")),
        "{:?}",
        ui.lines("builder dir")
    );

    // checksum: SHA256SUMS lists every other file with its digest,
    // recomputed here independently.
    let checksummed = checksum(&loader, base.path(), &artifact);
    assert!(
        checksummed.files.contains(&"SHA256SUMS".to_owned()),
        "{:?}",
        checksummed.files
    );
    let sums = fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines() {
        let (digest, file) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let expected = format!("{:x}", Sha256::digest(fs::read(root.join(file)).unwrap()));
        assert_eq!(digest, expected, "digest of {file}");
        listed.push(file.to_owned());
    }
    assert_eq!(
        listed,
        ["BUILD_INFO", "css/main.css", "index.html", "robots.txt"]
    );

    // compress: the archive holds exactly the artifact's files.
    let archive = base.path().join("dist/site.tar.gz");
    let compressed = compress(
        &loader,
        base.path(),
        serde_json::json!({"output": "dist/site.tar.gz", "level": 9}),
        &checksummed,
    );
    assert_eq!(compressed.root, base.path().join("dist"));
    assert_eq!(compressed.files, ["site.tar.gz"]);
    assert_eq!(unpack(&archive), tree(&root));
    assert!(
        ui.events("post-processor compress")
            .iter()
            .any(|e| matches!(e, UiEvent::Progress(done, total) if done == total && *total == 5)),
        "{:?}",
        ui.events("post-processor compress")
    );
}

#[test]
fn building_twice_gives_byte_identical_archives() {
    let base = tempfile::tempdir().unwrap();
    site(base.path());
    let loader = loader_for(&[plugins_dir()], &RecordingUi::new());
    let mut archives: Vec<Vec<u8>> = Vec::new();

    for (round, mtime) in [(1, 1_000_000_000u64), (2, 1_500_000_000)] {
        let artifact = build_and_provision(&loader, base.path());
        // Different modification times in each round: the archive must not
        // depend on them.
        for path in artifact.paths() {
            fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime))
                .unwrap();
        }
        let output = format!("dist/site-{round}.tar.gz");
        let checksummed = checksum(&loader, base.path(), &artifact);
        compress(
            &loader,
            base.path(),
            serde_json::json!({ "output": output }),
            &checksummed,
        );
        archives.push(fs::read(base.path().join(&output)).unwrap());
    }

    assert!(!archives[0].is_empty());
    assert!(archives[0] == archives[1], "the two archives differ");
}

#[test]
fn a_failing_shell_command_is_a_failure_naming_the_plugin_and_the_command() {
    let base = tempfile::tempdir().unwrap();
    let root: PathBuf = base.path().join("artifact");
    fs::create_dir(&root).unwrap();
    let ui = RecordingUi::new();
    let loader = loader_for(&[plugins_dir()], &ui);
    let artifact = Artifact::from_dir("artifact", &root).unwrap();

    let error = step(
        &loader,
        PluginKind::Provisioner,
        "shell",
        serde_json::json!({"inline": ["echo partial; exit 3"]}),
        base.path(),
    )
    .provision(&artifact)
    .unwrap_err();

    let rivet_loader::CallError::Failed { plugin, message } = &error else {
        panic!("expected Failed, got {error:?}");
    };
    assert_eq!(plugin, "provisioner shell");
    assert!(
        message.contains("exit status 3") && message.contains("exit 3"),
        "{message}"
    );
    assert!(
        ui.lines("provisioner shell")
            .contains(&"partial".to_owned())
    );
}
