//! Every way a plugin file or a plugin call can fail, one test each: the
//! error variant, and a message that names the file (or plugin) and the fix.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rivet_loader::{CallError, LoadError, Loader, PluginKind, plugin_file_name};
use rivet_tests::{
    RecordingUi, build_builder, fixture, install_as, install_in_temp_dir, loader_for, real_plugin,
};
use tempfile::TempDir;

/// Builder `name` made from `source`, alone in a fresh directory: the
/// directory, the installed file, and a loader that searches just that
/// directory and reports to `ui`.
fn lone_builder(source: &Path, name: &str, ui: &Arc<RecordingUi>) -> (TempDir, PathBuf, Loader) {
    let (dir, path) = install_in_temp_dir(source, PluginKind::Builder, name);
    let loader = loader_for(&[dir.path()], ui);
    (dir, path, loader)
}

/// The error of loading builder `name` made from `source` (see
/// [`lone_builder`]), with the directory and the file it was installed as;
/// a successful load fails the test.
fn load_error(source: &Path, name: &str) -> (TempDir, PathBuf, LoadError) {
    let (dir, path, loader) = lone_builder(source, name, &RecordingUi::new());
    let error = loader.load(PluginKind::Builder, name).unwrap_err();
    (dir, path, error)
}

/// The message of `error`, after checking that it names the file `path`.
fn message_naming(error: &LoadError, path: &Path) -> String {
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    text
}

#[test]
fn a_text_file_with_a_plugin_name_is_not_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join(plugin_file_name(PluginKind::Builder, "junk"));
    fs::write(&path, "this is not a shared library\n").unwrap();
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "junk").unwrap_err();

    assert!(
        matches!(&error, LoadError::NotALibrary { path: p, .. } if *p == path),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains("cdylib"), "the fix is named: {text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn a_shared_library_without_the_root_module_is_not_a_plugin() {
    let (_dir, path, error) = load_error(&fixture("no_root"), "plain");

    assert!(
        matches!(&error, LoadError::NoRootModule { path: p } if *p == path),
        "{error:?}"
    );
    let text = message_naming(&error, &path);
    assert!(text.contains("export_"), "the fix is named: {text}");
}

#[test]
fn a_plugin_declaring_another_name_than_its_file_is_refused() {
    let (_dir, path, error) = load_error(&fixture("impostor"), "dir");

    let LoadError::NameMismatch {
        path: p,
        expected_kind,
        expected_name,
        found_kind,
        found_name,
        suggested,
    } = &error
    else {
        panic!("expected NameMismatch, got {error:?}");
    };
    assert_eq!(p, &path);
    assert_eq!(
        (*expected_kind, expected_name.as_str()),
        (PluginKind::Builder, "dir")
    );
    assert_eq!(
        (*found_kind, found_name.as_str()),
        (PluginKind::Builder, "impostor")
    );
    assert_eq!(
        suggested,
        &plugin_file_name(PluginKind::Builder, "impostor")
    );
    let text = message_naming(&error, &path);
    assert!(
        text.contains("rename the file to `libplugin_builder_impostor"),
        "{text}"
    );
}

#[test]
fn a_plugin_of_another_kind_than_its_file_is_refused() {
    // The real `file` provisioner, under a builder's file name.
    let (_dir, path, error) = load_error(&real_plugin(PluginKind::Provisioner, "file"), "file");

    let LoadError::NameMismatch {
        found_kind,
        found_name,
        suggested,
        ..
    } = &error
    else {
        panic!("expected NameMismatch, got {error:?}");
    };
    assert_eq!(
        (*found_kind, found_name.as_str()),
        (PluginKind::Provisioner, "file")
    );
    assert_eq!(
        suggested,
        &plugin_file_name(PluginKind::Provisioner, "file")
    );
    let text = message_naming(&error, &path);
    assert!(
        text.contains("says builder `file`") && text.contains("declares provisioner `file`"),
        "{text}"
    );
}

#[test]
fn a_plugin_built_against_a_changed_interface_is_an_abi_mismatch_with_a_short_message() {
    let (_dir, path, error) = load_error(&fixture("abi_mismatch"), "changed");

    let LoadError::AbiMismatch {
        path: p,
        plugin,
        report,
        ..
    } = &error
    else {
        panic!("expected AbiMismatch, got {error:?}");
    };
    assert_eq!(p, &path);
    assert_eq!(plugin, "builder changed");
    assert!(
        !report.is_empty(),
        "abi_stable's report is kept for debugging"
    );
    let text = message_naming(&error, &path);
    assert!(text.contains("rebuild"), "{text}");
    assert!(
        text.lines().count() <= 3 && text.len() <= 600,
        "the message is a few lines, not abi_stable's report ({} lines, {} bytes):\n{text}",
        text.lines().count(),
        text.len()
    );
}

#[test]
fn a_plugin_built_against_another_major_interface_version_is_incompatible() {
    let (_dir, path, error) = load_error(&fixture("interface_v2"), "future");

    let LoadError::IncompatibleInterface {
        path: p,
        found,
        accepted,
        host,
    } = &error
    else {
        panic!("expected IncompatibleInterface, got {error:?}");
    };
    assert_eq!(p, &path);
    assert_eq!(found, "2.0.0");
    assert_eq!(accepted, "1.x");
    assert_eq!(host, rivet_interface::INTERFACE_VERSION);
    let text = message_naming(&error, &path);
    assert!(text.contains("2.0.0") && text.contains("rebuild"), "{text}");
}

#[test]
fn a_panic_in_build_is_an_error_and_the_host_lives_on() {
    let ui = RecordingUi::new();
    let (dir, _path, loader) = lone_builder(&fixture("panicky"), "panicky", &ui);

    let panicky = loader.load(PluginKind::Builder, "panicky").unwrap();
    let instance = panicky.prepare("{}", dir.path()).unwrap();
    let error = instance.build().unwrap_err();

    let CallError::Panicked { plugin, message } = &error else {
        panic!("expected Panicked, got {error:?}");
    };
    assert_eq!(plugin, "builder panicky");
    assert!(
        message.contains("panicky builder exploded on purpose"),
        "{message}"
    );
    assert!(
        error.to_string().starts_with("builder panicky panicked: "),
        "{error}"
    );

    // The same instance can be called again, and so can a good plugin.
    assert!(matches!(instance.build(), Err(CallError::Panicked { .. })));
    let (good, _path, loader) = lone_builder(&real_plugin(PluginKind::Builder, "dir"), "dir", &ui);
    let out = good.path().join("out");
    let config = format!(r#"{{"output": {:?}}}"#, out.display().to_string());
    let artifact = build_builder(&loader, "dir", &config, good.path()).unwrap();
    assert_eq!(artifact.root, out);
    assert!(out.is_dir());
}

#[test]
fn a_panic_in_prepare_is_an_error_naming_the_plugin() {
    let (dir, _path, loader) = lone_builder(&fixture("panicky"), "panicky", &RecordingUi::new());
    let panicky = loader.load(PluginKind::Builder, "panicky").unwrap();

    let error = panicky
        .prepare(r#"{"panic_in_prepare": true}"#, dir.path())
        .unwrap_err();

    let CallError::Panicked { plugin, message } = &error else {
        panic!("expected Panicked, got {error:?}");
    };
    assert_eq!(plugin, "builder panicky");
    assert!(
        message.contains("panicky builder refused its config on purpose"),
        "{message}"
    );
    // The plugin is still usable.
    assert!(panicky.prepare("{}", dir.path()).is_ok());
}

#[test]
fn a_failing_init_stops_the_plugin_from_loading() {
    let (_dir, path, error) = load_error(&fixture("grumpy"), "grumpy");

    let LoadError::InitFailed {
        path: p,
        plugin,
        message,
    } = &error
    else {
        panic!("expected InitFailed, got {error:?}");
    };
    assert_eq!(p, &path);
    assert_eq!(plugin, "grumpy");
    assert_eq!(
        message,
        "grumpy needs GRUMPY_TOKEN, which is not set; set it and retry"
    );
    let text = message_naming(&error, &path);
    assert!(text.contains("GRUMPY_TOKEN"), "{text}");
}

#[test]
fn bad_configuration_is_reported_at_prepare_naming_plugin_and_field() {
    let (dir, _path, loader) = lone_builder(
        &real_plugin(PluginKind::Builder, "dir"),
        "dir",
        &RecordingUi::new(),
    );
    let dir_builder = loader.load(PluginKind::Builder, "dir").unwrap();

    let missing = dir_builder.prepare("{}", dir.path()).unwrap_err();
    assert!(
        matches!(&missing, CallError::Config { plugin, message }
            if plugin == "builder dir" && message.contains("missing field `output`")),
        "{missing:?}"
    );
    assert!(
        missing
            .to_string()
            .starts_with("builder dir rejected its configuration: missing field `output`"),
        "{missing}"
    );

    let misspelt = dir_builder
        .prepare(r#"{"output": "out", "sorce": "www"}"#, dir.path())
        .unwrap_err();
    assert!(
        matches!(&misspelt, CallError::Config { plugin, message }
            if plugin == "builder dir" && message.contains("unknown field `sorce`")),
        "{misspelt:?}"
    );

    // A semantic check of the plugin itself, also before any work is done.
    let empty = dir_builder
        .prepare(r#"{"output": ""}"#, dir.path())
        .unwrap_err();
    assert!(
        matches!(&empty, CallError::Config { message, .. } if message.contains("`output`")),
        "{empty:?}"
    );
}

#[test]
fn calling_the_wrong_method_for_the_kind_is_an_error() {
    let (_dir, _path, loader) = lone_builder(&fixture("chatty"), "chatty", &RecordingUi::new());
    let instance = loader
        .load(PluginKind::Builder, "chatty")
        .unwrap()
        .prepare("{}", Path::new("."))
        .unwrap();

    let error = instance.run(&[]).unwrap_err();

    assert_eq!(
        error,
        CallError::WrongKind {
            plugin: "builder chatty".into(),
            kind: PluginKind::Builder,
            operation: "run as a command",
        }
    );
}

#[test]
fn a_plugin_file_given_by_path_is_checked_against_the_name_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    // Any file name works with `load_file`; the declared name must match.
    let path = install_as(&fixture("impostor"), dir.path(), "my-dev-build.so");
    let loader = loader_for(&[], &RecordingUi::new());

    let plugin = loader
        .load_file(&path, PluginKind::Builder, "impostor")
        .unwrap();
    assert_eq!(plugin.metadata().name, "impostor");

    let error = loader
        .load_file(&path, PluginKind::Builder, "dir")
        .unwrap_err();
    assert!(matches!(error, LoadError::NameMismatch { .. }), "{error:?}");
}

/// The one-line summary of an ABI mismatch says what differs. abi_stable's
/// report puts the expected and found values on the lines after `Expected:`
/// and `Found:`, so reading only the rest of those lines gives an empty
/// "(expected , found )".
#[test]
fn the_abi_mismatch_summary_says_what_differs() {
    let (_dir, _path, error) = load_error(&fixture("abi_mismatch"), "changed");

    let LoadError::AbiMismatch { summary, .. } = &error else {
        panic!("expected AbiMismatch, got {error:?}");
    };
    assert!(
        !summary.contains("expected ,") && !summary.contains("found )"),
        "the summary has empty expected/found values: {summary:?}"
    );
    assert!(
        ["prepare", "verbose", "bool"]
            .iter()
            .any(|what| summary.contains(what)),
        "the summary names neither the changed field nor the changed type: {summary:?}"
    );
}

/// A host UI that panics on every line, to check that a panic in host code
/// called back from a plugin never unwinds into the plugin (which would
/// abort the process).
struct PanickingUi;

impl rivet_loader::HostUi for PanickingUi {
    fn say(&self, _plugin: &str, _line: &str) {
        panic!("the host UI is broken");
    }
    fn message(&self, _plugin: &str, _line: &str) {
        panic!("the host UI is broken");
    }
    fn error(&self, _plugin: &str, _line: &str) {
        panic!("the host UI is broken");
    }
    fn progress(&self, _plugin: &str, _done: u64, _total: u64) {
        panic!("the host UI is broken");
    }
}

#[test]
fn a_panicking_host_ui_does_not_take_the_plugin_call_down() {
    let (dir, _path, mut loader) = lone_builder(&fixture("chatty"), "chatty", &RecordingUi::new());
    loader.set_ui(Arc::new(PanickingUi));

    // `chatty` says a line while building: the host's panic is caught on the
    // host side of the boundary and the call completes.
    let artifact = build_builder(&loader, "chatty", "{}", dir.path()).unwrap();
    assert_eq!(artifact.id, "chatty");
}
