//! Builders: the first step of a build, creating an artifact.

use serde::de::DeserializeOwned;

use crate::{Artifact, Context, Error, Plugin, Ui};

/// A plugin that creates an artifact, like a Packer builder.
///
/// ```
/// use rivet_interface::{Artifact, Builder, Context, Error, Plugin, Ui};
///
/// #[derive(serde::Deserialize)]
/// struct Config { id: String }
///
/// struct Hello { id: String }
///
/// impl Plugin for Hello {
///     const NAME: &'static str = "hello";
///     const DESCRIPTION: &'static str = "Makes an empty artifact";
/// }
///
/// impl Builder for Hello {
///     type Config = Config;
///     fn prepare(config: Config, _context: &Context) -> Result<Self, Error> {
///         Ok(Hello { id: config.id })
///     }
///     fn build(&self, ui: &Ui) -> Result<Artifact, Error> {
///         ui.say(format!("building {}", self.id));
///         Ok(Artifact { id: self.id.clone(), ..Artifact::default() })
///     }
/// }
/// // In the plugin crate: rivet_interface::export_builder!(Hello);
/// ```
pub trait Builder: Plugin {
    /// The plugin's configuration: a plain serde struct, filled from the
    /// user's template (which reaches the plugin as JSON).
    type Config: DeserializeOwned;

    /// Checks the configuration and makes a builder ready to run. Reject bad
    /// configuration here, with [`Error::config`], before any work is done.
    fn prepare(config: Self::Config, context: &Context) -> Result<Self, Error>;

    /// Creates the artifact.
    fn build(&self, ui: &Ui) -> Result<Artifact, Error>;
}
