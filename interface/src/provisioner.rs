//! Provisioners: steps that change an artifact in place.

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RResult};
use serde::de::DeserializeOwned;

use crate::boundary::guard;
use crate::prepared::Prepared;
use crate::{Artifact, Context, Error, Plugin, RArtifact, RError, Ui};

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

/// The FFI form of a prepared [`Provisioner`].
#[sabi_trait]
pub trait ProvisionerAbi: Send + Sync {
    /// Runs [`Provisioner::provision`].
    #[sabi(last_prefix_field)]
    fn provision(&self, artifact: &RArtifact) -> RResult<RArtifact, RError>;
}

/// An owned prepared provisioner, as returned across the boundary.
pub type ProvisionerBox = ProvisionerAbi_TO<'static, RBox<()>>;

impl<T: Provisioner> ProvisionerAbi for Prepared<T> {
    fn provision(&self, artifact: &RArtifact) -> RResult<RArtifact, RError> {
        guard(|| {
            self.plugin
                .provision(&self.ui, artifact.into())
                .map(|a| RArtifact::from(&a))
        })
    }
}
