//! Provisioners: steps that change an artifact in place.

use serde::de::DeserializeOwned;

use crate::{Artifact, Context, Error, Plugin, Ui};

/// A plugin that changes an artifact, like a Packer provisioner: installs
/// files into it, runs commands inside it.
pub trait Provisioner: Plugin {
    /// The plugin's configuration: a plain serde struct (see [`Builder::Config`](crate::Builder::Config)).
    type Config: DeserializeOwned;

    /// Checks the configuration; reject bad configuration here, with
    /// [`Error::config`], before any work is done.
    fn prepare(config: Self::Config, context: &Context) -> Result<Self, Error>;

    /// Changes the artifact and returns it (with its file list updated).
    fn provision(&self, ui: &Ui, artifact: Artifact) -> Result<Artifact, Error>;
}
