//! The host's `log` and the framework: records a plugin logs reach the
//! host's logger with their level and target, in-process and from a plugin
//! server's process alike. One recording logger per process, so these
//! tests have a file of their own.

use std::sync::Arc;
use std::time::Duration;

use rivet::{Loader, Mode};
use rivet_interface::framework::{BuilderPlugin, Console, Creation};
use rivet_tests::cli::example_site;
use rivet_tests::logger::{install_recording_logger, records_where};
use rivet_tests::{framework_config, wait_until};

/// A console that drops everything: these tests look at the log.
struct Quiet;

impl Console for Quiet {
    fn say(&self, _line: String) {}
    fn message(&self, _line: String) {}
    fn error(&self, _line: String) {}
    fn progress(&self, _done: u64, _total: u64) {}
    fn locate(&self, _kind: String, _name: String) -> Option<String> {
        None
    }
}

#[test]
fn a_plugins_log_records_reach_the_host_logger_in_both_modes() {
    install_recording_logger();
    let loader = Loader::new(framework_config("rivet"));
    for (mode, output) in [
        (Mode::InProcess, "build/here"),
        (Mode::Process, "build/there"),
    ] {
        let site = example_site();
        let creation = serde_json::to_value(Creation {
            config: serde_json::json!({"source": "www", "output": output}),
            base_dir: site.path().to_owned(),
        })
        .unwrap();
        let builder = loader
            .load_with_host::<dyn BuilderPlugin, Quiet>("dir", mode, &creation, Arc::new(Quiet))
            .unwrap();
        builder.build().unwrap();
        // The plugin's `log::debug!("staging N files in DIR for OUTPUT")`.
        let wanted = site.path().join(output).display().to_string();
        let found = || {
            records_where(|record| {
                record.target == "plugin_builder_dir"
                    && record.level == log::Level::Debug
                    && record.message.starts_with("staging ")
                    && record.message.ends_with(&wanted)
            })
        };
        // Isolated, records come through the server's stderr, read by a
        // thread of the host.
        wait_until(Duration::from_secs(5), || !found().is_empty());
        assert_eq!(found().len(), 1, "{mode:?}");
    }
}
