//! Errors plugins report, in plain Rust form and in FFI form.

use std::fmt;
use std::path::Path;

/// What went wrong in a plugin, as its author reports it.
///
/// Any error type converts into it with `?`, keeping its chain of causes in
/// the message, so plugin code can use `std::io`, `serde_json` and friends
/// directly. Use [`Error::config`] for bad configuration, which hosts show as
/// a problem in the user's template rather than a failure of the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A step failed: the message says what and, ideally, what to do.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Failed,
            message: message.into(),
        }
    }

    /// The configuration given to `prepare` is wrong.
    pub fn config(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Config,
            message: message.into(),
        }
    }

    /// A file-system operation failed: says what the plugin could not do,
    /// where, why, and what the user can do about it.
    ///
    /// ```
    /// use std::io;
    /// use std::path::Path;
    /// use rivet_interface::Error;
    ///
    /// let error = Error::io(
    ///     "create directory",
    ///     Path::new("/site/css"),
    ///     io::Error::from(io::ErrorKind::PermissionDenied),
    ///     "check the artifact's rights",
    /// );
    /// assert_eq!(
    ///     error.message(),
    ///     "cannot create directory `/site/css`: permission denied; check the artifact's rights"
    /// );
    /// ```
    pub fn io(action: &str, path: &Path, error: std::io::Error, hint: &str) -> Self {
        Error::new(format!(
            "cannot {action} `{}`: {error}; {hint}",
            path.display()
        ))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::new(message)
    }
}

/// The broad class of a plugin error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The user's configuration for the plugin is wrong.
    Config,
    /// The plugin tried and failed.
    Failed,
    /// The plugin panicked; the panic was caught at the boundary.
    Panicked,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Config => "bad configuration",
            ErrorKind::Failed => "failed",
            ErrorKind::Panicked => "panicked",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_mark_keeps_the_cause_chain() {
        fn read() -> Result<(), Error> {
            std::fs::read("/definitely/not/here")?;
            Ok(())
        }
        let error = read().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Failed);
        assert!(error.message().contains("No such file"), "{error}");
    }

    #[test]
    fn io_errors_say_what_where_why_and_what_to_do() {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Error::io("hash", Path::new("site/a b.txt"), cause, "check it exists");
        assert_eq!(error.kind(), ErrorKind::Failed);
        assert_eq!(
            error.message(),
            "cannot hash `site/a b.txt`: no such file; check it exists"
        );
    }
}
