//! Keeping panics on the plugin's side of the boundary.
//!
//! Every entry point generated for a plugin runs the author's code through
//! [`guard`], which catches an unwinding panic and turns it into an
//! [`RError`] of kind `Panicked`. abi_stable's own handling (print and abort
//! the process) is therefore never reached, and the host lives.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

use abi_stable::std_types::RResult;

use crate::{Error, RError};

thread_local! {
    static LAST_PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `body`, turning an error into `RError` and a panic into a
/// `Panicked` error carrying the panic message (and its location, when the
/// hook from [`install_panic_hook`] saw it).
///
/// This runs around every plugin call, so the happy path touches nothing but
/// `catch_unwind`: the location slot is only read after a panic, and is
/// current then because the hook writes it for every panic.
pub(crate) fn guard<T>(body: impl FnOnce() -> Result<T, Error>) -> RResult<T, RError> {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error.into()),
        Err(payload) => {
            let mut message = payload_text(payload.as_ref());
            if let Some(location) = LAST_PANIC_LOCATION.with(|slot| slot.borrow_mut().take()) {
                message = format!("{message} (at {location})");
            }
            RResult::RErr(RError::panicked(message))
        }
    }
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

/// Replaces the panic hook of this copy of `std` (each plugin library has its
/// own) with one that records where the panic happened for [`guard`] and
/// sends the report to the host's log instead of printing it on stderr.
pub(crate) fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|at| format!("{}:{}:{}", at.file(), at.line(), at.column()));
        log::debug!(
            "panic: {} at {}",
            payload_text(info.payload()),
            location.as_deref().unwrap_or("an unknown place")
        );
        LAST_PANIC_LOCATION.with(|slot| *slot.borrow_mut() = location);
    }));
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
