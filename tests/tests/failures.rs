//! Every way a plugin file or a plugin call can fail, one test each: the
//! error variant, and a message that names the file (or plugin) and the fix.

use std::fs;
use std::path::Path;

use rivet_loader::{CallError, LoadError, PluginKind, plugin_file_name};
use rivet_tests::{RecordingUi, fixture, install, install_as, loader_for, real_plugin};

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
    let dir = tempfile::tempdir().unwrap();
    let path = install(
        &fixture("no_root"),
        dir.path(),
        PluginKind::Builder,
        "plain",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "plain").unwrap_err();

    assert!(
        matches!(&error, LoadError::NoRootModule { path: p } if *p == path),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("export_"), "the fix is named: {text}");
}

#[test]
fn a_plugin_declaring_another_name_than_its_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = install(&fixture("impostor"), dir.path(), PluginKind::Builder, "dir");
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "dir").unwrap_err();

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
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("rename the file to `libplugin_builder_impostor"),
        "{text}"
    );
}

#[test]
fn a_plugin_of_another_kind_than_its_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // The real `file` provisioner, under a builder's file name.
    let path = install(
        &real_plugin(PluginKind::Provisioner, "file"),
        dir.path(),
        PluginKind::Builder,
        "file",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "file").unwrap_err();

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
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("says builder `file`") && text.contains("declares provisioner `file`"),
        "{text}"
    );
}

#[test]
fn a_plugin_built_against_a_changed_interface_is_an_abi_mismatch_with_a_short_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = install(
        &fixture("abi_mismatch"),
        dir.path(),
        PluginKind::Builder,
        "changed",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "changed").unwrap_err();

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
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
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
    let dir = tempfile::tempdir().unwrap();
    let path = install(
        &fixture("interface_v2"),
        dir.path(),
        PluginKind::Builder,
        "future",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "future").unwrap_err();

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
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("2.0.0") && text.contains("rebuild"), "{text}");
}

#[test]
fn a_panic_in_build_is_an_error_and_the_host_lives_on() {
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("panicky"),
        dir.path(),
        PluginKind::Builder,
        "panicky",
    );
    let ui = RecordingUi::new();
    let loader = loader_for(&[dir.path()], &ui);

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
    let good = tempfile::tempdir().unwrap();
    install(
        &real_plugin(PluginKind::Builder, "dir"),
        good.path(),
        PluginKind::Builder,
        "dir",
    );
    let loader = loader_for(&[good.path()], &ui);
    let out = good.path().join("out");
    let config = format!(r#"{{"output": {:?}}}"#, out.display().to_string());
    let artifact = loader
        .load(PluginKind::Builder, "dir")
        .unwrap()
        .prepare(&config, good.path())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(artifact.root, out);
    assert!(out.is_dir());
}

#[test]
fn a_panic_in_prepare_is_an_error_naming_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("panicky"),
        dir.path(),
        PluginKind::Builder,
        "panicky",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());
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
    let dir = tempfile::tempdir().unwrap();
    let path = install(
        &fixture("grumpy"),
        dir.path(),
        PluginKind::Builder,
        "grumpy",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "grumpy").unwrap_err();

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
    let text = error.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("GRUMPY_TOKEN"),
        "{text}"
    );
}

#[test]
fn bad_configuration_is_reported_at_prepare_naming_plugin_and_field() {
    let dir = tempfile::tempdir().unwrap();
    install(
        &real_plugin(PluginKind::Builder, "dir"),
        dir.path(),
        PluginKind::Builder,
        "dir",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());
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
            .starts_with("builder dir: bad configuration"),
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
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("chatty"),
        dir.path(),
        PluginKind::Builder,
        "chatty",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());
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
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("abi_mismatch"),
        dir.path(),
        PluginKind::Builder,
        "changed",
    );
    let loader = loader_for(&[dir.path()], &RecordingUi::new());

    let error = loader.load(PluginKind::Builder, "changed").unwrap_err();

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
    let dir = tempfile::tempdir().unwrap();
    install(
        &fixture("chatty"),
        dir.path(),
        PluginKind::Builder,
        "chatty",
    );
    let mut loader = loader_for(&[dir.path()], &RecordingUi::new());
    loader.set_ui(std::sync::Arc::new(PanickingUi));

    // `chatty` says a line while building: the host's panic is caught on the
    // host side of the boundary and the call completes.
    let artifact = loader
        .load(PluginKind::Builder, "chatty")
        .unwrap()
        .prepare("{}", dir.path())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(artifact.id, "chatty");
}
