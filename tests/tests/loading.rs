//! What `cargo build` leaves in `target/debug`, where `rivet` finds plugins
//! first: the workspace's real plugins, and no fixture.

use std::fs;
use std::path::Path;

use rivet_interface::files::parse_plugin_file_name;
use rivet_tests::{plugins_dir, real_plugin_file_names};

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
