//! Helpers for unit-testing plugins without a host.
//!
//! A plugin's steps take a [`Ui`]; in a unit test, give them the one of a
//! [`RecordingUi`] and check afterwards what the plugin showed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{HostServices, PluginKind, Ui};

/// One thing a plugin asked the host's UI to show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UiEvent {
    /// A normal line ([`Ui::say`]).
    Say(String),
    /// A secondary line ([`Ui::message`]).
    Message(String),
    /// A line reporting a problem ([`Ui::error`]).
    Error(String),
    /// A progress report ([`Ui::progress`]).
    Progress {
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
    },
}

/// A stand-in host UI for unit tests, which records what a plugin shows.
///
/// [`RecordingUi::ui`] gives the [`Ui`] to pass to the plugin; clones share
/// the same record, so the test keeps one and reads it afterwards with
/// [`events`](RecordingUi::events) (everything, in order) or the accessors
/// for one kind of event. It knows no plugins unless told of them with
/// [`with_plugin`](RecordingUi::with_plugin) (for commands that call
/// [`Ui::locate_plugin`]).
///
/// ```
/// use rivet_interface::testing::{RecordingUi, UiEvent};
///
/// let recorder = RecordingUi::default();
/// let ui = recorder.ui();
/// // What a plugin step would do with its `ui`:
/// ui.progress(1, 1);
/// ui.say("Copied 1 file");
/// ui.error("could not remove a leftover");
///
/// assert_eq!(recorder.said(), ["Copied 1 file"]);
/// assert_eq!(recorder.errors(), ["could not remove a leftover"]);
/// assert_eq!(recorder.progress(), [(1, 1)]);
/// assert_eq!(recorder.events()[0], UiEvent::Progress { done: 1, total: 1 });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecordingUi {
    events: Arc<Mutex<Vec<UiEvent>>>,
    plugins: Arc<BTreeMap<(PluginKind, String), String>>,
}

impl RecordingUi {
    /// A recorder that knows no plugins.
    pub fn new() -> Self {
        RecordingUi::default()
    }

    /// This recorder, answering `location` when asked where plugin
    /// `(kind, name)` is.
    pub fn with_plugin(
        mut self,
        kind: PluginKind,
        name: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Arc::make_mut(&mut self.plugins).insert((kind, name.into()), location.into());
        self
    }

    /// The UI to hand to the plugin; what it shows is recorded here.
    pub fn ui(&self) -> Ui {
        Ui::new(self.clone())
    }

    /// Everything shown so far, in order.
    pub fn events(&self) -> Vec<UiEvent> {
        self.lock().clone()
    }

    /// The normal lines ([`UiEvent::Say`]), in order.
    pub fn said(&self) -> Vec<String> {
        self.lines(|event| match event {
            UiEvent::Say(line) => Some(line),
            _ => None,
        })
    }

    /// The secondary lines ([`UiEvent::Message`]), in order.
    pub fn messages(&self) -> Vec<String> {
        self.lines(|event| match event {
            UiEvent::Message(line) => Some(line),
            _ => None,
        })
    }

    /// The problem lines ([`UiEvent::Error`]), in order.
    pub fn errors(&self) -> Vec<String> {
        self.lines(|event| match event {
            UiEvent::Error(line) => Some(line),
            _ => None,
        })
    }

    /// The progress reports as `(done, total)`, in order.
    pub fn progress(&self) -> Vec<(u64, u64)> {
        self.lock()
            .iter()
            .filter_map(|event| match *event {
                UiEvent::Progress { done, total } => Some((done, total)),
                _ => None,
            })
            .collect()
    }

    fn lines(&self, pick: impl Fn(&UiEvent) -> Option<&String>) -> Vec<String> {
        self.lock().iter().filter_map(pick).cloned().collect()
    }

    fn record(&self, event: UiEvent) {
        self.lock().push(event);
    }

    /// The record, even if a panicking test thread poisoned it.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<UiEvent>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HostServices for RecordingUi {
    fn say(&self, line: &str) {
        self.record(UiEvent::Say(line.to_owned()));
    }

    fn message(&self, line: &str) {
        self.record(UiEvent::Message(line.to_owned()));
    }

    fn error(&self, line: &str) {
        self.record(UiEvent::Error(line.to_owned()));
    }

    fn progress(&self, done: u64, total: u64) {
        self.record(UiEvent::Progress { done, total });
    }

    fn locate(&self, kind: PluginKind, name: &str) -> Option<String> {
        self.plugins.get(&(kind, name.to_owned())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_every_kind_of_event_in_order() {
        let recorder = RecordingUi::new();
        let ui = recorder.ui();
        ui.say("one");
        ui.message("detail");
        ui.progress(1, 2);
        ui.error("oops");
        recorder.clone().ui().say("two");

        assert_eq!(
            recorder.events(),
            [
                UiEvent::Say("one".into()),
                UiEvent::Message("detail".into()),
                UiEvent::Progress { done: 1, total: 2 },
                UiEvent::Error("oops".into()),
                UiEvent::Say("two".into()),
            ]
        );
        assert_eq!(recorder.said(), ["one", "two"]);
        assert_eq!(recorder.messages(), ["detail"]);
        assert_eq!(recorder.errors(), ["oops"]);
        assert_eq!(recorder.progress(), [(1, 2)]);
    }

    #[test]
    fn locates_only_the_plugins_it_was_told_of() {
        let recorder = RecordingUi::new().with_plugin(PluginKind::Builder, "dir", "/p/dir.so");
        let ui = recorder.ui();
        assert_eq!(
            ui.locate_plugin(PluginKind::Builder, "dir").as_deref(),
            Some("/p/dir.so")
        );
        assert_eq!(ui.locate_plugin(PluginKind::Command, "dir"), None);
        assert_eq!(
            RecordingUi::new()
                .ui()
                .locate_plugin(PluginKind::Builder, "dir"),
            None
        );
        assert!(recorder.events().is_empty());
    }
}
