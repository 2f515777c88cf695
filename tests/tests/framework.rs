//! The framework (`rivet`, `#[rivet::interface]`, `rivet::export!`): the
//! imagine example's filters and the fixtures' probe, each in-process and
//! isolated.

use std::path::Path;

use imagine_interface::ImageFilter;
use rivet::{Error, IntegrityError, LoadError, Loader, Mode};
use rivet_tests::{fixture, framework_config};
use rivet_tests_probe::{Probe, Sample};
use serde_json::json;

const MODES: [Mode; 2] = [Mode::InProcess, Mode::Process];

/// A loader searching `target/debug` (the example's plugins) and using the
/// `rivet-server` built there.
fn loader() -> Loader {
    Loader::new(framework_config("imagine"))
}

fn probe(mode: Mode) -> rivet_tests_probe::ProbeHandle {
    loader()
        .load_file::<dyn Probe>(&fixture("framework_probe"), mode, &json!(null))
        .unwrap()
}

/// A 64x48 test card.
fn test_card() -> (Vec<u8>, u32, u32) {
    let (width, height) = (64u32, 48u32);
    let pixels = (0..width * height * 3)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    (pixels, width, height)
}

fn filtered(mode: Mode) -> Vec<u8> {
    let loader = loader();
    let (mut pixels, width, height) = test_card();
    let sepia = loader
        .load_with::<dyn ImageFilter>("sepia", mode, &json!(null))
        .unwrap();
    let invert = loader
        .load_with::<dyn ImageFilter>("invert", mode, &json!({"strength": 0.5}))
        .unwrap();
    assert_eq!((sepia.name(), sepia.mode()), ("sepia", mode));
    assert_eq!(
        invert.describe().unwrap(),
        "invert: a negative at strength 0.5"
    );
    sepia.apply(&mut pixels, width, height).unwrap();
    invert.apply(&mut pixels, width, height).unwrap();
    pixels
}

#[test]
fn filters_give_the_same_bytes_in_process_and_isolated() {
    let in_process = filtered(Mode::InProcess);
    assert_ne!(in_process, test_card().0, "the filters changed nothing");
    assert_eq!(in_process, filtered(Mode::Process));
}

#[test]
fn a_plugin_error_names_the_plugin_and_method_in_both_modes() {
    for mode in MODES {
        let sepia = loader()
            .load_with::<dyn ImageFilter>("sepia", mode, &json!(null))
            .unwrap();
        let error = sepia.apply(&mut [0u8; 5], 2, 2).unwrap_err();
        assert!(
            matches!(&error, Error::Failed { plugin, method, message }
                if plugin == "sepia" && method == "apply" && message.contains("5 bytes")),
            "{mode:?}: {error:?}"
        );
    }
}

#[test]
fn a_panic_is_an_error_naming_the_plugin_and_the_host_goes_on() {
    for mode in MODES {
        let probe = probe(mode);
        let error = probe.panic_now("disk on fire".to_owned()).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, Error::Panicked { plugin, method, .. }
                if plugin == "fixture_framework_probe" && method == "panic_now"),
            "{mode:?}: {error:?}"
        );
        assert!(
            text.contains("disk on fire") && text.contains("lib.rs"),
            "{text}"
        );
        assert_eq!(probe.text_address("still here").map(|_| ()).ok(), Some(()));
    }
}

#[test]
fn borrowed_arguments_reach_the_plugin_without_a_copy_in_process() {
    let mut probe = probe(Mode::InProcess);
    let mut bytes = vec![1u8; 4096];
    assert_eq!(probe.address(&bytes).unwrap(), bytes.as_ptr() as u64);
    let text = "the host's text";
    assert_eq!(probe.text_address(text).unwrap(), text.as_ptr() as u64);
    assert_eq!(probe.fill(&mut bytes, 9).unwrap(), bytes.as_ptr() as u64);
    assert!(bytes.iter().all(|&b| b == 9));
}

#[test]
fn mutable_buffers_are_written_back_from_an_isolated_plugin() {
    let mut probe = probe(Mode::Process);
    let mut bytes = vec![1u8; 4096];
    let address = probe.fill(&mut bytes, 9).unwrap();
    assert_ne!(
        address,
        bytes.as_ptr() as u64,
        "another process, another copy"
    );
    assert!(bytes.iter().all(|&b| b == 9));
}

#[test]
fn options_and_serde_values_cross_in_both_modes() {
    let sample = Sample {
        name: "card".to_owned(),
        values: vec![-1, 0, 7],
    };
    for mode in MODES {
        let probe = probe(mode);
        let renamed = probe.rename(Some(sample.clone()), "-2".to_owned()).unwrap();
        assert_eq!(
            renamed.map(|s| (s.name, s.values)),
            Some(("card-2".to_owned(), vec![-1, 0, 7]))
        );
        let error = probe.rename(None, String::new()).unwrap_err();
        assert!(error.to_string().contains("no sample to rename"), "{error}");
    }
}

#[test]
fn a_plugin_built_against_another_layout_of_the_interface_is_refused() {
    let file = fixture("framework_filter_mismatch");
    for mode in MODES {
        let error = loader()
            .load_file::<dyn ImageFilter>(&file, mode, &json!(null))
            .err()
            .expect("a mismatched plugin loaded");
        let text = error.to_string();
        assert!(
            matches!(&error, LoadError::InterfaceMismatch { interface, .. } if interface == "image_filter"),
            "{mode:?}: {error:?}"
        );
        assert!(text.contains("rebuild the plugin"), "{text}");
    }
}

#[test]
fn a_plugin_of_another_interface_is_refused() {
    let sepia = loader().locate::<dyn ImageFilter>("sepia").unwrap();
    for mode in MODES {
        let error = loader()
            .load_file::<dyn Probe>(&sepia, mode, &json!(null))
            .err()
            .expect("a filter loaded as a probe");
        assert!(
            error
                .to_string()
                .contains("is a plugin for interface `image_filter`, not `probe`"),
            "{mode:?}: {error}"
        );
    }
}

#[test]
fn missing_plugins_and_bad_configurations_say_what_to_do() {
    let error = loader()
        .load::<dyn ImageFilter>("no-such-filter")
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(
        // Library names cannot hold `-` (Cargo writes `_`): the file name
        // spells it `_`, as the `rivet` CLI's do.
        text.contains("libplugin_image_filter_no_such_filter")
            && text.contains("IMAGINE_PLUGIN_PATH"),
        "{text}"
    );
    for mode in MODES {
        let error = loader()
            .load_with::<dyn ImageFilter>("invert", mode, &json!({"strength": 3}))
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("strength 3 is outside 0..=1"),
            "{mode:?}: {error}"
        );
    }
    let error = loader()
        .load_file::<dyn ImageFilter>(Path::new("/dev/null"), Mode::InProcess, &json!(null))
        .err()
        .unwrap();
    assert!(
        matches!(error, LoadError::Integrity(IntegrityError::NotAFile { .. })),
        "{error:?}"
    );
    let junk = tempfile::tempdir().unwrap();
    let junk = junk.path().join("libplugin_image_filter_junk.so");
    std::fs::write(&junk, "not a library").unwrap();
    let error = loader()
        .load_file::<dyn ImageFilter>(&junk, Mode::InProcess, &json!(null))
        .err()
        .unwrap();
    assert!(matches!(error, LoadError::NotAPlugin { .. }), "{error:?}");
}
