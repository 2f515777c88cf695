//! The plugin's side of every call: panics stay in the plugin, values are
//! encoded and decoded.

use rivet_abi::abi_stable::std_types::RResult;
use rivet_abi::panic::catch_panic;
use rivet_abi::{Instance, RError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// Runs `body`, turning its error into an `RError` and a panic into an
/// `RError` of kind `Panicked` with the panic's message and location: no
/// panic unwinds out of a plugin.
pub fn guard<T>(body: impl FnOnce() -> Result<T, Error>) -> RResult<T, RError> {
    match catch_panic(body) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error.into()),
        Err(message) => RResult::RErr(RError::new(rivet_abi::ErrorKind::Panicked, message)),
    }
}

/// The plugin value behind `instance`.
///
/// # Safety
///
/// `instance` must have been made by this library's `create` for type `T`
/// and not dropped, and nobody may hold `&mut T` to it during `'a`.
pub unsafe fn instance_ref<'a, T>(instance: Instance) -> &'a T {
    // SAFETY: the caller's guarantees: a live, shared `Box<T>` allocation.
    unsafe { &*instance.0.cast::<T>() }
}

/// The plugin value behind `instance`, mutably.
///
/// # Safety
///
/// As [`instance_ref`], and nobody else may hold a reference to it during `'a`.
pub unsafe fn instance_mut<'a, T>(instance: Instance) -> &'a mut T {
    // SAFETY: the caller's guarantees: a live, exclusive `Box<T>` allocation.
    unsafe { &mut *instance.0.cast::<T>() }
}

/// Postcard bytes of `value`.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    postcard::to_stdvec(value).map_err(Error::Codec)
}

/// A value from postcard `bytes`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    postcard::from_bytes(bytes).map_err(Error::Codec)
}

/// Copies what an isolated plugin did to a `&mut [u8]` argument back into it.
pub fn write_back(target: &mut [u8], reply: Vec<u8>) -> Result<(), Error> {
    if reply.len() != target.len() {
        return Err(Error::new(format!(
            "the plugin sent back {} bytes for a buffer of {}",
            reply.len(),
            target.len()
        )));
    }
    target.copy_from_slice(&reply);
    Ok(())
}

/// The error for a method number this plugin does not have.
pub fn unknown_method(method: u32) -> Error {
    Error::new(format!(
        "this plugin has no method number {method}; rebuild it against the host's interface crate"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_value() {
        let error = guard::<()>(|| panic!("disk on fire")).unwrap_err();
        assert_eq!(error.kind, rivet_abi::ErrorKind::Panicked);
        assert!(error.message.contains("disk on fire"), "{}", error.message);
    }

    #[test]
    fn a_reply_of_another_length_is_refused() {
        let mut buffer = [0u8; 3];
        assert!(write_back(&mut buffer, vec![1, 2]).is_err());
        write_back(&mut buffer, vec![1, 2, 3]).unwrap();
        assert_eq!(buffer, [1, 2, 3]);
    }
}
