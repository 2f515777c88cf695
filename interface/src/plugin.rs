//! What every plugin has, whatever its kind.

use std::path::{Path, PathBuf};

use crate::{Error, Ui};

/// The part of a plugin common to every kind: its name, a description and an
/// optional `init` hook.
///
/// A plugin type implements this and one kind trait ([`Builder`](crate::Builder),
/// [`Provisioner`](crate::Provisioner), [`PostProcessor`](crate::PostProcessor) or
/// [`Command`](crate::Command)), then exports itself with one macro line such
/// as [`export_builder!`](crate::export_builder).
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The plugin's name, as users write it in templates (`dir`, `shell`).
    /// It must match the `NAME` part of the plugin's file name.
    const NAME: &'static str;
    /// One line saying what the plugin does.
    const DESCRIPTION: &'static str;

    /// Called once, when the host loads the plugin, before anything else.
    /// Check the environment here (a tool the plugin needs, say); an error
    /// stops the plugin from loading and is shown to the user.
    fn init(ui: &Ui) -> Result<(), Error> {
        let _ = ui;
        Ok(())
    }
}

/// Facts about the call site that a plugin needs while preparing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    base_dir: PathBuf,
}

impl Context {
    /// A context whose relative paths are resolved against `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        Context {
            base_dir: base_dir.into(),
        }
    }

    /// The directory relative paths in the configuration are relative to:
    /// the directory of the template.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// `path` made absolute against [`base_dir`](Self::base_dir) when relative.
    pub fn resolve(&self, path: impl AsRef<Path>) -> PathBuf {
        self.base_dir.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths_only() {
        let context = Context::new("/templates/site");
        assert_eq!(context.resolve("www"), PathBuf::from("/templates/site/www"));
        assert_eq!(context.resolve("/abs/www"), PathBuf::from("/abs/www"));
    }
}
