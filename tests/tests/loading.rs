//! Finding and loading plugins: the search path, shadowing, `load_all` with
//! broken files, missing plugins, built-in plugins, and the rule that no
//! fixture plugin ever lands in `target/debug`.

use std::fs;
use std::path::{Path, PathBuf};

use rivet_interface::{AsBuilder, Builder, Context, Error, Plugin, Ui};
use rivet_loader::{
    BuiltinPlugin, Discovery, LoadError, PluginKind, PluginSource, parse_plugin_file_name,
    plugin_file_name,
};
use rivet_tests::{
    RecordingUi, UiEvent, fixture, install, install_in_temp_dir, loader_for, plugins_dir,
    real_plugin, real_plugin_file_names,
};

/// Where each plugin of `discovery` was loaded from, in order.
fn sources(discovery: &Discovery) -> Vec<PluginSource> {
    discovery
        .plugins
        .iter()
        .map(|p| p.source().clone())
        .collect()
}

#[test]
fn a_real_plugin_loads_with_its_metadata() {
    let (dir, path) = install_in_temp_dir(
        &real_plugin(PluginKind::Builder, "dir"),
        PluginKind::Builder,
        "dir",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let plugin = loader.load(PluginKind::Builder, "dir").unwrap();

    let metadata = plugin.metadata();
    assert_eq!(
        (metadata.kind, metadata.name.as_str()),
        (PluginKind::Builder, "dir")
    );
    assert_eq!(metadata.version, "0.1.0");
    assert_eq!(
        metadata.interface_version,
        rivet_interface::INTERFACE_VERSION
    );
    assert!(!metadata.description.is_empty());
    assert_eq!(plugin.source(), &PluginSource::File(path));
    assert_eq!(plugin.label(), "builder dir");
}

#[test]
fn the_first_directory_on_the_search_path_wins_and_the_other_is_shadowed() {
    let real_dir = real_plugin(PluginKind::Builder, "dir");
    let (first, winner) = install_in_temp_dir(&real_dir, PluginKind::Builder, "dir");
    let (second, hidden) = install_in_temp_dir(&real_dir, PluginKind::Builder, "dir");
    let loader = loader_for(&[first.path(), second.path()], &RecordingUi::new());

    let plugin = loader.load(PluginKind::Builder, "dir").unwrap();
    assert_eq!(plugin.source(), &PluginSource::File(winner.clone()));

    let discovery = loader.load_all();
    assert!(discovery.broken.is_empty(), "{:?}", discovery.broken);
    assert_eq!(sources(&discovery), [PluginSource::File(winner.clone())]);
    assert_eq!(discovery.shadowed.len(), 1, "{:?}", discovery.shadowed);
    let shadowed = &discovery.shadowed[0];
    assert_eq!(
        (shadowed.kind, shadowed.name.as_str()),
        (PluginKind::Builder, "dir")
    );
    assert_eq!(shadowed.hidden, PluginSource::File(hidden));
    assert_eq!(shadowed.by, winner);
}

#[test]
fn load_all_loads_the_good_plugins_and_lists_the_broken_one() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, name) in [
        (PluginKind::Builder, "dir"),
        (PluginKind::Provisioner, "file"),
        (PluginKind::Provisioner, "shell"),
    ] {
        install(&real_plugin(kind, name), dir.path(), kind, name);
    }
    let junk = dir
        .path()
        .join(plugin_file_name(PluginKind::PostProcessor, "junk"));
    fs::write(&junk, "not a library").unwrap();
    fs::write(dir.path().join("README.txt"), "not a plugin name, ignored").unwrap();
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let discovery = loader.load_all();

    let mut loaded: Vec<_> = discovery.plugins.iter().map(|p| p.label()).collect();
    loaded.sort();
    assert_eq!(
        loaded,
        ["builder dir", "provisioner file", "provisioner shell"]
    );
    assert_eq!(discovery.broken.len(), 1, "{:?}", discovery.broken);
    let broken = &discovery.broken[0];
    assert_eq!(broken.file.path, junk);
    assert_eq!(
        (broken.file.kind, broken.file.name.as_str()),
        (PluginKind::PostProcessor, "junk")
    );
    assert!(
        matches!(&broken.error, LoadError::NotALibrary { path, .. } if *path == junk),
        "{:?}",
        broken.error
    );
    assert!(discovery.shadowed.is_empty() && discovery.unreadable.is_empty());
}

#[test]
fn load_all_survives_every_kind_of_broken_file_together() {
    let dir = tempfile::tempdir().unwrap();
    install(
        &real_plugin(PluginKind::Builder, "dir"),
        dir.path(),
        PluginKind::Builder,
        "dir",
    );
    // Fixture crate, and the builder name it is installed as.
    for (crate_name, name) in [
        ("no_root", "plain"),
        ("impostor", "someone"),
        ("abi_mismatch", "changed"),
        ("interface_v2", "future"),
        ("grumpy", "grumpy"),
    ] {
        install(&fixture(crate_name), dir.path(), PluginKind::Builder, name);
    }
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let discovery = loader.load_all();

    let loaded: Vec<_> = discovery.plugins.iter().map(|p| p.label()).collect();
    assert_eq!(loaded, ["builder dir"]);
    let mut broken: Vec<(String, &'static str)> = discovery
        .broken
        .iter()
        .map(|b| {
            let variant = match &b.error {
                LoadError::NoRootModule { .. } => "NoRootModule",
                LoadError::NameMismatch { .. } => "NameMismatch",
                LoadError::AbiMismatch { .. } => "AbiMismatch",
                LoadError::IncompatibleInterface { .. } => "IncompatibleInterface",
                LoadError::InitFailed { .. } => "InitFailed",
                other => panic!("unexpected error {other:?}"),
            };
            assert!(
                b.error
                    .to_string()
                    .contains(&b.file.path.display().to_string()),
                "{}",
                b.error
            );
            (b.file.name.clone(), variant)
        })
        .collect();
    broken.sort();
    assert_eq!(
        broken,
        [
            ("changed".to_owned(), "AbiMismatch"),
            ("future".to_owned(), "IncompatibleInterface"),
            ("grumpy".to_owned(), "InitFailed"),
            ("plain".to_owned(), "NoRootModule"),
            ("someone".to_owned(), "NameMismatch"),
        ]
    );
}

#[test]
fn a_missing_plugin_is_not_found_and_the_error_lists_the_searched_dirs() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let loader = loader_for(&[first.path(), second.path()], &RecordingUi::new());

    let error = loader
        .load(PluginKind::PostProcessor, "nothing")
        .unwrap_err();

    let LoadError::NotFound {
        kind,
        name,
        file_name,
        searched,
    } = &error
    else {
        panic!("expected NotFound, got {error:?}");
    };
    assert_eq!(
        (*kind, name.as_str()),
        (PluginKind::PostProcessor, "nothing")
    );
    assert_eq!(
        file_name,
        &plugin_file_name(PluginKind::PostProcessor, "nothing")
    );
    let text = error.to_string();
    for dir in [first.path(), second.path()] {
        assert!(searched.contains(&dir.display().to_string()), "{searched}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
    }
    assert!(text.contains("libplugin_post_processor_nothing"), "{text}");
    assert!(
        text.contains("RIVET_PLUGIN_PATH"),
        "the fix is named: {text}"
    );
}

#[test]
fn a_missing_plugin_with_an_empty_search_path_says_so() {
    let loader = loader_for(&[], &RecordingUi::new());
    let error = loader.load(PluginKind::Builder, "dir").unwrap_err();
    assert!(
        error.to_string().contains("the search path is empty"),
        "{error}"
    );
}

/// A built-in builder (compiled into this test binary) named `dir`, like the
/// real plugin file, so that a file can shadow it.
struct InlineDir;

impl Plugin for InlineDir {
    const NAME: &'static str = "dir";
    const DESCRIPTION: &'static str = "A built-in stand-in for the dir builder";
}

#[derive(serde::Deserialize)]
struct InlineConfig {
    output: String,
}

struct InlineDirBuilder {
    output: PathBuf,
}

impl Plugin for InlineDirBuilder {
    const NAME: &'static str = "inline";
    const DESCRIPTION: &'static str = "A built-in builder";
}

impl Builder for InlineDirBuilder {
    type Config = InlineConfig;

    fn prepare(config: InlineConfig, context: &Context) -> Result<Self, Error> {
        Ok(InlineDirBuilder {
            output: context.resolve(config.output),
        })
    }

    fn build(&self, ui: &Ui) -> Result<rivet_interface::Artifact, Error> {
        fs::create_dir_all(&self.output)?;
        fs::write(
            self.output.join("built-in.txt"),
            "made by a built-in plugin",
        )?;
        ui.say("built in-process");
        Ok(rivet_interface::Artifact::from_dir("inline", &self.output)?)
    }
}

impl Builder for InlineDir {
    type Config = InlineConfig;

    fn prepare(_config: InlineConfig, _context: &Context) -> Result<Self, Error> {
        Ok(InlineDir)
    }

    fn build(&self, _ui: &Ui) -> Result<rivet_interface::Artifact, Error> {
        Err(Error::new("the built-in dir stand-in never builds"))
    }
}

#[test]
fn a_builtin_plugin_is_served_through_the_same_handle() {
    let dir = tempfile::tempdir().unwrap();
    let ui = RecordingUi::new();
    let mut loader = loader_for(&[dir.path()], &ui);
    loader.register(BuiltinPlugin::new::<AsBuilder<InlineDirBuilder>>("9.9.9"));

    let plugin = loader.load(PluginKind::Builder, "inline").unwrap();

    assert_eq!(plugin.source(), &PluginSource::BuiltIn);
    assert_eq!(plugin.metadata().version, "9.9.9");
    assert_eq!(plugin.metadata().description, "A built-in builder");
    let artifact = plugin
        .prepare(r#"{"output": "out"}"#, dir.path())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(artifact.root, dir.path().join("out"));
    assert_eq!(artifact.files, ["built-in.txt"]);
    assert_eq!(
        ui.events("builder inline"),
        [UiEvent::Say("built in-process".into())]
    );
    // Configuration errors are reported alike.
    let error = plugin.prepare("{}", dir.path()).unwrap_err();
    assert!(
        matches!(&error, rivet_loader::CallError::Config { plugin, message }
            if plugin == "builder inline" && message.contains("missing field `output`")),
        "{error:?}"
    );
    let discovery = loader.load_all();
    let labels: Vec<_> = discovery.plugins.iter().map(|p| p.label()).collect();
    assert_eq!(labels, ["builder inline"]);
}

#[test]
fn a_plugin_file_shadows_a_builtin_plugin_of_the_same_name() {
    let (dir, file) = install_in_temp_dir(
        &real_plugin(PluginKind::Builder, "dir"),
        PluginKind::Builder,
        "dir",
    );
    let mut loader = loader_for(&[dir.path()], &RecordingUi::new());
    loader.register(BuiltinPlugin::new::<AsBuilder<InlineDir>>("0.0.1"));

    let plugin = loader.load(PluginKind::Builder, "dir").unwrap();
    assert_eq!(plugin.source(), &PluginSource::File(file.clone()));

    let discovery = loader.load_all();
    assert_eq!(sources(&discovery), [PluginSource::File(file.clone())]);
    assert_eq!(discovery.shadowed.len(), 1, "{:?}", discovery.shadowed);
    assert_eq!(discovery.shadowed[0].hidden, PluginSource::BuiltIn);
    assert_eq!(discovery.shadowed[0].by, file);

    // Without the file, the built-in one is used.
    let empty = tempfile::tempdir().unwrap();
    let mut loader = loader_for(&[empty.path()], &RecordingUi::new());
    loader.register(BuiltinPlugin::new::<AsBuilder<InlineDir>>("0.0.1"));
    let plugin = loader.load(PluginKind::Builder, "dir").unwrap();
    assert_eq!(plugin.source(), &PluginSource::BuiltIn);
}

#[test]
fn target_debug_holds_only_the_workspace_s_real_plugins() {
    let real = real_plugin_file_names();
    assert!(real.len() >= 5, "{real:?}");
    let dir: &Path = plugins_dir();
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if parse_plugin_file_name(&name).is_some() {
            assert!(
                real.contains(&name),
                "{} is a plugin file in target/debug that no crate of plugins/ builds \
                 (a fixture must be built into target/fixtures)",
                dir.join(&name).display()
            );
            found.push(name);
        }
    }
    for name in &real {
        assert!(
            found.contains(name),
            "{name} was not built into {}",
            dir.display()
        );
    }
    // And nothing of the fixture workspace is there under its own name.
    let fixtures = rivet_tests::fixtures_dir();
    for entry in fs::read_dir(fixtures).unwrap() {
        let name = entry.unwrap().file_name();
        if name.to_string_lossy().starts_with("libfixture_") {
            assert!(
                !dir.join(&name).exists(),
                "{name:?} is in {}",
                dir.display()
            );
        }
    }
}
