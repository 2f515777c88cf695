//! How a plain Rust plugin type becomes a plugin of one kind.

use std::marker::PhantomData;

use abi_stable::sabi_trait::TD_Opaque;
use serde::de::DeserializeOwned;

use crate::boundary::guard;
use crate::prepared::Prepared;
use crate::{
    Builder, BuilderAbi_TO, Command, CommandAbi_TO, Context, Error, Plugin, PluginInstance,
    PluginKind, PostProcessor, PostProcessorAbi_TO, Provisioner, ProvisionerAbi_TO, Ui,
};

/// A plugin type seen as a plugin of one kind: [`AsBuilder<T>`],
/// [`AsProvisioner<T>`], [`AsPostProcessor<T>`] or [`AsCommand<T>`].
///
/// The export macros use it to build a plugin library's root module; hosts use
/// it to register plugins built into them, so both are served alike.
pub trait PluginEntry: 'static {
    /// The plugin type.
    type Plugin: Plugin;
    /// The kind it is exported as.
    const KIND: PluginKind;

    /// Parses `config` (JSON text) and prepares an instance reporting to `ui`.
    fn prepare(config: &str, context: &Context, ui: Ui) -> Result<PluginInstance, Error>;

    /// Runs the plugin's [`Plugin::init`] hook, catching a panic.
    fn init(ui: &Ui) -> Result<(), Error> {
        guard(|| Self::Plugin::init(ui))
            .into_result()
            .map_err(Error::from)
    }

    /// [`prepare`](Self::prepare), catching a panic.
    fn instantiate(config: &str, context: &Context, ui: Ui) -> Result<PluginInstance, Error> {
        guard(|| Self::prepare(config, context, ui))
            .into_result()
            .map_err(Error::from)
    }
}

macro_rules! configured_entry {
    ($entry:ident, $kind_trait:ident, $kind:ident, $to:ident, $what:literal) => {
        #[doc = concat!("Exports a [`", stringify!($kind_trait), "`] as a ", $what, " plugin.")]
        pub struct $entry<T>(PhantomData<T>);

        impl<T: $kind_trait> PluginEntry for $entry<T> {
            type Plugin = T;
            const KIND: PluginKind = PluginKind::$kind;

            fn prepare(config: &str, context: &Context, ui: Ui) -> Result<PluginInstance, Error> {
                let config = parse_config::<T::Config>(config)?;
                let plugin = T::prepare(config, context)?;
                Ok(PluginInstance::$kind($to::from_value(
                    Prepared { plugin, ui },
                    TD_Opaque,
                )))
            }
        }
    };
}

configured_entry!(AsBuilder, Builder, Builder, BuilderAbi_TO, "builder");
configured_entry!(
    AsProvisioner,
    Provisioner,
    Provisioner,
    ProvisionerAbi_TO,
    "provisioner"
);
configured_entry!(
    AsPostProcessor,
    PostProcessor,
    PostProcessor,
    PostProcessorAbi_TO,
    "post-processor"
);

/// Exports a [`Command`] as a command plugin.
pub struct AsCommand<T>(PhantomData<T>);

impl<T: Command> PluginEntry for AsCommand<T> {
    type Plugin = T;
    const KIND: PluginKind = PluginKind::Command;

    /// Commands take no configuration; `config` is ignored.
    fn prepare(_config: &str, _context: &Context, ui: Ui) -> Result<PluginInstance, Error> {
        let plugin = T::default();
        Ok(PluginInstance::Command(CommandAbi_TO::from_value(
            Prepared { plugin, ui },
            TD_Opaque,
        )))
    }
}

/// Parses a plugin's JSON configuration, reporting problems as configuration
/// errors without JSON line/column positions (the user wrote TOML, not JSON).
pub(crate) fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, Error> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|error| {
        let text = error.to_string();
        let text = match text.rfind(" at line ") {
            Some(at) if error.line() > 0 => &text[..at],
            _ => &text,
        };
        Error::config(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        dir: String,
    }

    #[test]
    fn config_errors_name_the_field_without_json_positions() {
        let error = parse_config::<Config>("{}").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(error.message(), "missing field `dir`");
        let error = parse_config::<Config>(r#"{"dir": "a", "dri": 1}"#).unwrap_err();
        assert!(error.message().contains("unknown field `dri`"), "{error}");
    }

    #[test]
    fn empty_config_is_an_empty_table() {
        #[derive(serde::Deserialize)]
        struct Nothing {}
        assert!(parse_config::<Nothing>("  ").is_ok());
    }
}
