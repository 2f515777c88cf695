//! Keeping panics on the plugin's side of the boundary.
//!
//! Every entry point generated for a plugin runs the author's code through
//! [`guard`], which catches an unwinding panic and turns it into an
//! [`RError`] of kind `Panicked`. abi_stable's own handling (print and abort
//! the process) is therefore never reached, and the host lives.

use abi_stable::std_types::RResult;
use rivet_abi::panic::catch_panic;

use crate::{Error, RError};

/// Runs `body`, turning an error into `RError` and a panic into a
/// `Panicked` error carrying the panic message (and its location, when the
/// hook from [`rivet_abi::panic::install_panic_hook`] saw it).
pub(crate) fn guard<T>(body: impl FnOnce() -> Result<T, Error>) -> RResult<T, RError> {
    match catch_panic(body) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error.into()),
        Err(message) => RResult::RErr(RError::panicked(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_panic_becomes_an_error_value() {
        let result: RResult<(), RError> = guard(|| panic!("disk on fire"));
        let error = result.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Panicked);
        assert!(error.message.contains("disk on fire"), "{}", error.message);
    }

    #[test]
    fn errors_and_values_pass_through() {
        assert_eq!(guard(|| Ok(7)).unwrap(), 7);
        let error = guard::<()>(|| Err(Error::config("no dir"))).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Config);
    }
}
