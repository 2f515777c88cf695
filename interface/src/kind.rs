//! The kinds of plugin a Rivet host knows about.

use std::fmt;
use std::str::FromStr;

/// What a plugin does, which decides the trait it implements and the step of a
/// build it takes part in.
///
/// The kinds are those of Packer (builder, provisioner, post-processor) plus
/// Packer's custom commands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Creates an artifact from nothing (see [`Builder`](crate::Builder)).
    Builder,
    /// Changes an artifact in place (see [`Provisioner`](crate::Provisioner)).
    Provisioner,
    /// Turns an artifact into another one (see [`PostProcessor`](crate::PostProcessor)).
    PostProcessor,
    /// Adds a subcommand to the host CLI (see [`Command`](crate::Command)).
    Command,
}

impl PluginKind {
    /// Every kind, longest file-name token first, so that a file name can be
    /// matched against them in order (`post_processor` before any shorter kind).
    pub const ALL: [PluginKind; 4] = [
        PluginKind::PostProcessor,
        PluginKind::Provisioner,
        PluginKind::Builder,
        PluginKind::Command,
    ];

    /// The name users write in templates and see in listings: `post-processor`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PluginKind::Builder => "builder",
            PluginKind::Provisioner => "provisioner",
            PluginKind::PostProcessor => "post-processor",
            PluginKind::Command => "command",
        }
    }

    /// The token used in plugin file names, with `_` for `-`: `post_processor`.
    pub const fn file_token(self) -> &'static str {
        match self {
            PluginKind::PostProcessor => "post_processor",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no plugin kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKind(pub String);

impl fmt::Display for UnknownKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a plugin kind; expected one of builder, provisioner, post-processor, command",
            self.0
        )
    }
}

impl std::error::Error for UnknownKind {}

impl FromStr for PluginKind {
    type Err = UnknownKind;

    /// Accepts both spellings: `post-processor` and `post_processor`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PluginKind::ALL
            .into_iter()
            .find(|kind| s == kind.as_str() || s == kind.file_token())
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl rivet_host::installed::Kind for PluginKind {
    fn file_token(&self) -> &str {
        PluginKind::file_token(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse() {
        assert_eq!("post-processor".parse(), Ok(PluginKind::PostProcessor));
        assert_eq!("post_processor".parse(), Ok(PluginKind::PostProcessor));
        assert_eq!("command".parse(), Ok(PluginKind::Command));
        assert!("hook".parse::<PluginKind>().is_err());
    }

    #[test]
    fn all_is_longest_token_first() {
        let lengths: Vec<usize> = PluginKind::ALL
            .iter()
            .map(|k| k.file_token().len())
            .collect();
        let mut sorted = lengths.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(lengths, sorted);
    }
}
