//! What every plugin has, whatever its kind.

use std::path::{Path, PathBuf};

use crate::{Error, OutputDir, Ui};

/// The part of a plugin common to every kind: its name, a description and an
/// optional `init` hook.
///
/// A plugin type implements this and one kind trait ([`Builder`](crate::Builder),
/// [`Provisioner`](crate::Provisioner), [`PostProcessor`](crate::PostProcessor) or
/// [`Command`](crate::Command)), then exports itself with one macro line such
/// as [`export_builder!`](crate::export_builder).
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The plugin's name, as users write it in templates (`dir`, `shell`).
    /// It must match the `NAME` part of the plugin's file name, where each
    /// `-` of the name is written `_` (`hello-cmd` is
    /// `libplugin_command_hello_cmd.so`).
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

    /// `path` made absolute against [`base_dir`](Self::base_dir) when
    /// relative, then [normalised](crate::normalize): `.` and `..` applied
    /// and symbolic links resolved, so it can be compared and checked.
    pub fn resolve(&self, path: impl AsRef<Path>) -> PathBuf {
        crate::normalize(&self.base_dir.join(path))
    }

    /// `path` (resolved as by [`resolve`](Self::resolve)) as a directory
    /// this step creates or replaces, refused with a configuration error
    /// naming the path unless Rivet may replace it: it does not exist, is
    /// empty, or was made by an earlier Rivet build; and it is not `/`, the
    /// home directory, the current directory, the template's directory, nor
    /// an ancestor of one. See [`OutputDir`].
    pub fn output_dir(&self, path: impl AsRef<Path>) -> Result<OutputDir, Error> {
        let mut protected = vec![
            ("the root directory", PathBuf::from("/")),
            ("the template's directory", crate::normalize(&self.base_dir)),
            ("the current directory", crate::normalize(Path::new("."))),
        ];
        if let Some(home) = std::env::home_dir() {
            protected.push(("the home directory", crate::normalize(&home)));
        }
        OutputDir::check(self.resolve(path), &protected)
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
        assert_eq!(context.resolve("www/../.."), PathBuf::from("/templates"));
    }

    #[test]
    fn outputs_never_cover_the_template_directory_the_cwd_or_home() {
        let temp = tempfile::tempdir().unwrap();
        let base = crate::normalize(temp.path()).join("project");
        std::fs::create_dir(&base).unwrap();
        let context = Context::new(&base);
        for output in [".", "..", "../..", "/", "./", "sub/../.."] {
            let error = context.output_dir(output).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Config);
            assert!(
                error.message().contains("never replaces"),
                "{output}: {error}"
            );
        }
        let cwd = std::env::current_dir().unwrap();
        assert!(context.output_dir(&cwd).is_err());
        assert!(context.output_dir(cwd.parent().unwrap()).is_err());
        if let Some(home) = std::env::home_dir() {
            assert!(context.output_dir(&home).is_err());
        }
        let output = context.output_dir("build/../build/site").unwrap();
        assert_eq!(output.path(), base.join("build/site"));
    }
}
