//! A plugin value together with the UI it reports to.

use crate::Ui;

/// A prepared plugin and its host UI: the value behind every FFI trait object
/// a plugin hands to the host.
pub(crate) struct Prepared<T> {
    pub(crate) plugin: T,
    pub(crate) ui: Ui,
}
