//! Post-processors: steps that turn an artifact into another one.

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult};
use serde::de::DeserializeOwned;

use crate::boundary::guard;
use crate::prepared::Prepared;
use crate::{Artifact, Context, Error, Plugin, RArtifact, RError, Ui};

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

/// The FFI form of a prepared [`PostProcessor`].
#[sabi_trait]
pub trait PostProcessorAbi: Send + Sync {
    /// Runs [`PostProcessor::post_process`].
    #[sabi(last_prefix_field)]
    fn post_process(&self, input: &RArtifact) -> RResult<RArtifact, RError>;
}

/// An owned prepared post-processor, as returned across the boundary.
pub type PostProcessorBox = PostProcessorAbi_TO<'static, RBox<()>>;

impl<T: PostProcessor> PostProcessorAbi for Prepared<T> {
    fn post_process(&self, input: &RArtifact) -> RResult<RArtifact, RError> {
        guard(|| {
            self.plugin
                .post_process(&self.ui, input.into())
                .map(|a| RArtifact::from(&a))
        })
    }
}
