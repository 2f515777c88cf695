//! The `rivet` CLI's four kinds declared as framework interfaces
//! (`rivet_interface::framework`): the example plugins, exported as before,
//! load through a framework `rivet::Loader` (the same files), in-process
//! and isolated, and build the example site to the very bytes `rivet build`
//! makes, their output reaching the host through the `Console` host trait.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rivet::{Loader, Mode};
use rivet_interface::Artifact;
use rivet_interface::framework::{
    BuilderPlugin, CommandPlugin, Console, Creation, PostProcessorPlugin, ProvisionerPlugin,
};
use rivet_tests::cli::{example_site, reference_site_archive};
use rivet_tests::framework_config;
use serde_json::json;

const MODES: [Mode; 2] = [Mode::InProcess, Mode::Process];

/// The host's console: every line the plugins sent, with its channel.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl Console for Recorder {
    fn say(&self, line: String) {
        self.lines.lock().unwrap().push(format!("say: {line}"));
    }
    fn message(&self, line: String) {
        self.lines.lock().unwrap().push(format!("message: {line}"));
    }
    fn error(&self, line: String) {
        self.lines.lock().unwrap().push(format!("error: {line}"));
    }
    fn progress(&self, _done: u64, _total: u64) {}
    fn locate(&self, kind: String, name: String) -> Option<String> {
        Some(format!("{kind}/{name}"))
    }
}

/// A framework loader of the four kinds over `target/debug`.
fn loader() -> Loader {
    Loader::new(framework_config("rivet"))
        .register::<dyn BuilderPlugin>()
        .register::<dyn ProvisionerPlugin>()
        .register::<dyn PostProcessorPlugin>()
        .register::<dyn CommandPlugin>()
}

/// The creation of a step of the template in `dir` with `config`.
fn creation(dir: &Path, config: serde_json::Value) -> serde_json::Value {
    serde_json::to_value(Creation {
        config,
        base_dir: dir.to_owned(),
    })
    .unwrap()
}

/// Runs the example site's steps through the framework in `mode`, in the
/// template directory `dir`; returns the final artifact.
fn build_site(dir: &Path, mode: Mode, console: &Arc<Recorder>) -> Artifact {
    let loader = loader();
    let step = |config: serde_json::Value| creation(dir, config);
    let builder = loader
        .load_with_host::<dyn BuilderPlugin, Recorder>(
            "dir",
            mode,
            &step(json!({"source": "www", "output": "build/site"})),
            console.clone(),
        )
        .unwrap();
    let mut artifact = builder.build().unwrap();
    let provisioners = [
        (
            "file",
            json!({"source": "extra/robots.txt", "destination": "robots.txt"}),
        ),
        (
            "shell",
            json!({
                "env": {"SITE_NAME": "Rivet example site"},
                "inline": [
                    "printf 'site: %s\\nartifact: %s\\n' \"$SITE_NAME\" \"$RIVET_ARTIFACT_ID\" > build-info.txt",
                    "printf 'files:\\n' >> build-info.txt",
                    "find . -type f ! -name build-info.txt ! -name .rivet-output | LC_ALL=C sort >> build-info.txt",
                    "echo \"wrote build-info.txt ($(wc -l < build-info.txt) lines)\"",
                ],
            }),
        ),
    ];
    for (name, config) in provisioners {
        let provisioner = loader
            .load_with_host::<dyn ProvisionerPlugin, Recorder>(
                name,
                mode,
                &step(config),
                console.clone(),
            )
            .unwrap();
        artifact = provisioner.provision(artifact).unwrap();
    }
    let post_processors = [
        ("checksum", serde_json::Value::Null),
        (
            "compress",
            json!({"output": "build/site.tar.gz", "level": 9}),
        ),
    ];
    for (name, config) in post_processors {
        let post_processor = loader
            .load_with_host::<dyn PostProcessorPlugin, Recorder>(
                name,
                mode,
                &step(config),
                console.clone(),
            )
            .unwrap();
        artifact = post_processor.post_process(artifact).unwrap();
    }
    artifact
}

#[test]
fn the_example_plugins_build_the_site_through_the_framework_to_rivets_bytes() {
    let expected = reference_site_archive();

    for mode in MODES {
        let site = example_site();
        let console = Arc::new(Recorder::default());
        let artifact = build_site(site.path(), mode, &console);
        assert_eq!(
            fs::read(site.path().join("build/site.tar.gz")).unwrap(),
            expected,
            "{mode:?}: the archive differs from `rivet build`'s"
        );
        assert_eq!(artifact.files, ["site.tar.gz"], "{mode:?}");
        let lines = console.lines.lock().unwrap();
        assert!(
            lines
                .iter()
                .any(|line| line.contains("wrote build-info.txt")),
            "{mode:?}: {lines:?}"
        );
    }
}

#[test]
fn the_four_kinds_are_discovered_and_configuration_errors_name_the_field() {
    let scan = loader().discover();
    let mut found: Vec<_> = scan
        .files
        .iter()
        .map(|file| format!("{}/{}", file.kind, file.name))
        .collect();
    found.sort();
    for expected in [
        "builder/dir",
        "command/inspect",
        "post_processor/checksum",
        "post_processor/compress",
        "provisioner/file",
        "provisioner/shell",
    ] {
        assert!(found.iter().any(|f| f == expected), "{expected}: {found:?}");
    }
    let site = example_site();
    for mode in MODES {
        let error = loader()
            .load_with_host::<dyn BuilderPlugin, Recorder>(
                "dir",
                mode,
                &creation(site.path(), json!({"output": "build/site", "sauce": "www"})),
                Arc::new(Recorder::default()),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("unknown field `sauce`"), "{mode:?}: {error}");
    }
}

#[test]
fn a_command_plugin_runs_through_the_framework() {
    for mode in MODES {
        let inspect = loader()
            .load_with_host::<dyn CommandPlugin, Recorder>(
                "inspect",
                mode,
                &serde_json::Value::Null,
                Arc::new(Recorder::default()),
            )
            .unwrap();
        assert!(!inspect.synopsis().unwrap().is_empty(), "{mode:?}");
        assert!(inspect.help().unwrap().contains("inspect"), "{mode:?}");
    }
}
