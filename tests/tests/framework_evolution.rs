//! Interface evolution in the framework: `Evolving` 1.1 adds `shout` at the
//! end (`#[rivet(since = "1.1")]`); plugins built against 1.0, 1.1 and 2.0
//! are loaded by a 1.0 host and a 1.1 host, in-process and isolated.

use std::path::PathBuf;

use evolving_1_0::Evolving as Evolving10;
use evolving_1_1::Evolving as Evolving11;
use rivet::{Error, LoadError, Loader, Mode};
use rivet_tests::{fixture, framework_config};
use serde_json::json;

const MODES: [Mode; 2] = [Mode::InProcess, Mode::Process];

fn loader() -> Loader {
    Loader::new(framework_config("evolving"))
}

fn plugin(version: &str) -> PathBuf {
    fixture(&format!("evolution_{version}"))
}

#[test]
fn a_plugin_built_against_1_0_works_in_a_1_1_host_except_the_added_method() {
    for mode in MODES {
        let old = loader()
            .load_file::<dyn Evolving11>(&plugin("1_0"), mode, &json!(null))
            .unwrap();
        assert_eq!(old.interface_version(), "1.0.0");
        assert_eq!(old.built_against().unwrap(), "1.0");
        assert_eq!(old.double(21).unwrap(), 42);
        let error = old.shout("hello").unwrap_err();
        assert!(
            matches!(&error, Error::Unsupported { plugin, method, found, since, .. }
                if plugin == "fixture_evolution_1_0" && method == "shout" && found == "1.0.0" && since == "1.1"),
            "{mode:?}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            "plugin `fixture_evolution_1_0` has no `shout`: it was built against `evolving` 1.0.0, \
             and `shout` came in 1.1; rebuild the plugin against `evolving` 1.1 or later"
        );
        // The plugin goes on after the refused call.
        assert_eq!(old.double(1).unwrap(), 2, "{mode:?}");
    }
}

#[test]
fn a_plugin_built_against_1_1_works_in_a_1_1_host_and_in_a_1_0_host() {
    for mode in MODES {
        let new = loader()
            .load_file::<dyn Evolving11>(&plugin("1_1"), mode, &json!(null))
            .unwrap();
        assert_eq!(new.shout("hello").unwrap(), "HELLO", "{mode:?}");
        let error = new.shout("").unwrap_err();
        assert!(
            matches!(&error, Error::Failed { message, .. } if message == "nothing to shout"),
            "{mode:?}: {error:?}"
        );
        assert_eq!(new.double(5).unwrap(), 10);

        // The 1.0 host does not know `shout`; what it knows works.
        let in_old_host = loader()
            .load_file::<dyn Evolving10>(&plugin("1_1"), mode, &json!(null))
            .unwrap();
        assert_eq!(in_old_host.interface_version(), "1.1.0");
        assert_eq!(in_old_host.built_against().unwrap(), "1.1", "{mode:?}");
        assert_eq!(in_old_host.double(4).unwrap(), 8);
    }
}

#[test]
fn a_plugin_built_against_1_0_works_in_a_1_0_host() {
    for mode in MODES {
        let old = loader()
            .load_file::<dyn Evolving10>(&plugin("1_0"), mode, &json!(null))
            .unwrap();
        assert_eq!(old.double(3).unwrap(), 6, "{mode:?}");
    }
}

#[test]
fn a_plugin_built_against_2_0_is_refused_in_one_line_by_both_hosts() {
    let file = plugin("2_0");
    for mode in MODES {
        let errors = [
            (
                loader()
                    .load_file::<dyn Evolving10>(&file, mode, &json!(null))
                    .err(),
                "1.0.0",
            ),
            (
                loader()
                    .load_file::<dyn Evolving11>(&file, mode, &json!(null))
                    .err(),
                "1.1.0",
            ),
        ];
        for (error, host) in errors {
            let error = error.expect("a 2.0 plugin loaded in a 1.x host");
            assert!(
                matches!(&error, LoadError::InterfaceVersion { interface, found, expected, .. }
                    if interface == "evolving" && found == "2.0.0" && expected == host),
                "{mode:?}: {error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "{} was built against `evolving` 2.0.0, this host uses {host}; \
                     rebuild the plugin against `evolving` {host}",
                    file.display()
                )
            );
        }
    }
}
