//! Catching a plugin's panics where they happen, with their message and
//! location, so they cross the FFI boundary as error values (unwinding
//! through `extern "C"` would abort the host).
//!
//! Both plugin-side glues (the `rivet` framework's and `rivet-interface`'s)
//! use this one mechanism. Each plugin library has its own copy of `std` and
//! of this crate, so the hook and the catching code always belong together.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static LAST_PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `body`; a panic in it becomes `Err` with the panic's message and,
/// when the hook from [`install_panic_hook`] saw it, its location.
///
/// This runs around every plugin call, so the happy path touches nothing but
/// `catch_unwind`: the location slot is only read after a panic, and is
/// current then because the hook writes it for every panic.
pub fn catch_panic<T>(body: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(body)).map_err(|payload| {
        let message = payload_text(payload.as_ref());
        match LAST_PANIC_LOCATION.with(|slot| slot.borrow_mut().take()) {
            Some(location) => format!("{message} (at {location})"),
            None => message,
        }
    })
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

/// Replaces the panic hook of this copy of `std` with one that records
/// where a panic happened for [`catch_panic`] and sends the report to the
/// `log` logger (the host's, through the plugin's log bridge) instead of
/// printing it on stderr.
pub fn install_panic_hook() {
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

    #[test]
    fn a_panic_becomes_its_message_and_values_pass_through() {
        install_panic_hook();
        let message = catch_panic(|| panic!("disk on fire")).unwrap_err();
        assert!(message.starts_with("disk on fire (at "), "{message}");
        assert!(message.contains("panic.rs"), "{message}");
        assert_eq!(catch_panic(|| 7), Ok(7));
    }
}
