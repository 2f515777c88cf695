//! Host callbacks in the framework: a `Worker` plugin calls its host's
//! `Assets` (`#[rivet::host]`) during a method, in-process and isolated.

use std::sync::{Arc, Mutex};

use rivet::{Error, Loader, Mode};
use rivet_tests::{fixture, framework_config};
use rivet_tests_probe::{Assets, Worker, WorkerHandle};
use serde_json::json;

const MODES: [Mode; 2] = [Mode::InProcess, Mode::Process];

/// The host's object: assets by name, and the progress it was told.
#[derive(Default)]
struct Store {
    progress: Mutex<Vec<(u64, u64)>>,
}

impl Assets for Store {
    fn progress(&self, done: u64, total: u64) {
        self.progress.lock().unwrap().push((done, total));
    }

    fn read_asset(&self, path: &str) -> Result<Vec<u8>, Error> {
        match path {
            "on-fire" => panic!("the asset store is on fire"),
            "missing" => Err(Error::new("no asset `missing`")),
            path => Ok(format!("asset {path}").into_bytes()),
        }
    }
}

fn loader() -> Loader {
    Loader::new(framework_config("worker"))
}

fn worker(mode: Mode, store: &Arc<Store>) -> WorkerHandle {
    loader()
        .load_file_with_host::<dyn Worker, Store>(
            &fixture("framework_worker"),
            mode,
            &json!({"prefix": "> "}),
            store.clone(),
        )
        .unwrap()
}

#[test]
fn a_plugin_calls_its_host_during_a_call_with_values_both_ways() {
    for mode in MODES {
        let store = Arc::new(Store::default());
        let worker = worker(mode, &store);
        assert_eq!(
            worker.work("logo.png").unwrap(),
            "> ASSET LOGO.PNG (14 bytes)",
            "{mode:?}"
        );
        assert_eq!(*store.progress.lock().unwrap(), [(0, 2), (1, 2)]);
        // The handle implements the trait: every method is fallible.
        assert_eq!(Worker::work(&worker, "x").unwrap(), "> ASSET X (7 bytes)");
        assert_eq!(store.progress.lock().unwrap().len(), 4);
    }
}

#[test]
fn a_host_error_is_an_error_for_the_plugin_call() {
    for mode in MODES {
        let store = Arc::new(Store::default());
        let error = worker(mode, &store).work("missing").unwrap_err();
        assert!(
            matches!(&error, Error::Failed { plugin, method, message }
                if plugin == "fixture_framework_worker" && method == "work"
                    && message == "the host's `read_asset` failed: no asset `missing`"),
            "{mode:?}: {error:?}"
        );
    }
}

#[test]
fn a_panicking_host_callback_is_an_error_for_the_plugin_call_and_the_host_goes_on() {
    for mode in MODES {
        let store = Arc::new(Store::default());
        let worker = worker(mode, &store);
        let error = worker.work("on-fire").unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, Error::Failed { method, .. } if method == "work"),
            "{mode:?}: {error:?}"
        );
        assert!(
            text.contains(
                "the host's `read_asset` failed: it panicked: the asset store is on fire"
            ),
            "{mode:?}: {text}"
        );
        // Both sides go on.
        assert_eq!(worker.work("a").unwrap(), "> ASSET A (7 bytes)");
    }
}

#[test]
fn a_plugin_loaded_without_a_host_object_gets_an_error_calling_it() {
    for mode in MODES {
        let worker = loader()
            .load_file::<dyn Worker>(&fixture("framework_worker"), mode, &json!(null))
            .unwrap();
        let error = worker.work("logo.png").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the host gave this plugin no `assets` to call; load it with `Loader::load_with_host`"),
            "{mode:?}: {error}"
        );
    }
}

#[test]
fn the_host_object_lives_as_long_as_the_plugin_holds_it() {
    let store = Arc::new(Store::default());
    let worker = worker(Mode::InProcess, &store);
    assert_eq!(
        Arc::strong_count(&store),
        2,
        "the plugin holds one reference"
    );
    drop(worker);
    assert_eq!(
        Arc::strong_count(&store),
        1,
        "dropping the plugin released it"
    );
}
