//! Post-processors: steps that turn an artifact into another one.

use serde::de::DeserializeOwned;

use crate::{Artifact, Context, Error, Plugin, Ui};

/// A plugin that takes the artifact of the previous step and returns a new
/// one, like a Packer post-processor: an archive, a checksum file.
pub trait PostProcessor: Plugin {
    /// The plugin's configuration: a plain serde struct (see [`Builder::Config`](crate::Builder::Config)).
    type Config: DeserializeOwned;

    /// Checks the configuration; reject bad configuration here, with
    /// [`Error::config`], before any work is done.
    fn prepare(config: Self::Config, context: &Context) -> Result<Self, Error>;

    /// Produces the new artifact from `input`.
    fn post_process(&self, ui: &Ui, input: Artifact) -> Result<Artifact, Error>;
}
