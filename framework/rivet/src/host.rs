//! Host callbacks: a host trait (`#[rivet::host]`) the host implements and
//! its plugins call.
//!
//! An interface names its host trait (`#[rivet::interface(version = ...,
//! host = Progress)]`); the host hands its object to each plugin at
//! creation (`Loader::load_with_host`), and the plugin receives the trait's
//! generated client (`ProgressHost`) in its creation function
//! (`rivet::export!(Worker => MyWorker, create_with_host = MyWorker::new)`).
//!
//! - In-process the plugin calls the host's object through the host trait's
//!   vtable (a prefix type made for the host's type, checked against the
//!   layout the plugin expects before `create`), each host function
//!   panic-guarded in the host; the plugin owns one strong reference to the
//!   host's `Arc`, so its client never dangles.
//! - Isolated the client sends each call over the plugin server's
//!   connection while the host waits for a plugin call's reply (or for its
//!   creation), and the host answers it; outside those the host is not
//!   listening, and a callback is an error.

use std::ffi::c_void;
use std::sync::Arc;

use rivet_abi::abi_stable::prefix_type::{PrefixRef, PrefixRefTrait, WithMetadata_};
use rivet_abi::abi_stable::std_types::{RResult, RSlice};
use rivet_abi::wire::Reply;
use rivet_abi::{ErrorKind, HostRef, Instance, RError, TypeLayout, VTablePtr};

use crate::Error;
use crate::boundary::guard;

/// A host trait: implemented by `#[rivet::host]` for `dyn Trait`, and by
/// `()` for interfaces without one.
pub trait HostInterface: 'static {
    /// What a plugin calls the host's object through (`ProgressHost`).
    type Client;
    /// The trait's name in snake case (`progress`); empty for `()`.
    const NAME: &'static str;
    /// The methods' signatures, one line per method, compared for isolated
    /// plugins.
    #[doc(hidden)]
    const SIGNATURE: &'static str;
    /// The layout of the trait's vtable reference.
    #[doc(hidden)]
    const LAYOUT: Option<&'static TypeLayout>;
    /// Wraps the plugin's link to its host in the client.
    #[doc(hidden)]
    fn connect(link: HostLink) -> Self::Client;
}

impl HostInterface for () {
    type Client = ();
    const NAME: &'static str = "";
    const SIGNATURE: &'static str = "";
    const LAYOUT: Option<&'static TypeLayout> = None;
    fn connect(_: HostLink) {}
}

/// Host trait `Self` implemented by the host's type `T`: implemented by
/// `#[rivet::host]` for every `T: Trait + Send + Sync + 'static`.
pub trait HostExports<T: Send + Sync + 'static>: HostInterface {
    /// The `WithMetadata` of the vtable whose functions call `T`'s methods.
    const VTABLE: VTablePtr;
    /// Calls method number `method` of `host` with postcard `args`; returns
    /// the postcard reply (the value, then each `&mut [u8]` argument).
    fn dispatch(host: &T, method: u32, args: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The vtable reference `V` of the prefix-type vtable at `vtable`.
///
/// # Safety
///
/// `vtable` must point at a `'static` `WithMetadata` of a prefix type
/// whose layout was checked to be compatible with `V`'s (abi_stable's
/// layout checker, with the shorter vtable as the interface).
pub(crate) unsafe fn vtable_from_raw<V: PrefixRefTrait>(vtable: *const c_void) -> V {
    let with_metadata =
        vtable.cast::<WithMetadata_<<V as PrefixRefTrait>::PrefixFields, V::PrefixFields>>();
    // SAFETY: the caller's guarantees: a live `WithMetadata` of a compatible
    // prefix type, whose accessibility bits say which fields exist.
    V::from_prefix_ref(unsafe { PrefixRef::from_raw(with_metadata) })
}

/// The plugin's side of its host's object: held by the generated client.
#[doc(hidden)]
pub struct HostLink {
    host: HostRef,
    name: &'static str,
}

/// How a plugin calls its host.
#[doc(hidden)]
pub enum HostBackend<'a, V> {
    /// Through the host's vtable, in this process.
    InProcess(HostInProcess<'a, V>),
    /// Through the plugin server's connection (or, without a host object,
    /// to an error).
    Process(&'a HostLink),
}

/// The host's object and vtable, in this process.
#[doc(hidden)]
pub struct HostInProcess<'a, V> {
    link: &'a HostLink,
    vtable: V,
}

impl HostLink {
    /// The link over `host`, for host trait `name`.
    pub(crate) fn new(host: HostRef, name: &'static str) -> HostLink {
        HostLink { host, name }
    }

    /// How to call the host.
    ///
    /// # Safety
    ///
    /// `V` must be the vtable reference `#[rivet::host]` generated for the
    /// host trait this link was made for (whose layout the host checked
    /// against its own vtable's before handing its object over).
    pub unsafe fn backend<V: PrefixRefTrait>(&self) -> HostBackend<'_, V> {
        if self.host.vtable.0.is_null() {
            return HostBackend::Process(self);
        }
        HostBackend::InProcess(HostInProcess {
            link: self,
            // SAFETY: a non-null vtable is the host's, checked against `V`
            // (the caller's guarantee), and lives as long as the host's
            // object, of which this link holds a strong reference.
            vtable: unsafe { vtable_from_raw::<V>(self.host.vtable.0) },
        })
    }

    /// Calls host method number `index` (named `method`) with postcard
    /// `args` over the plugin server's connection.
    pub fn call(&self, index: u32, method: &str, args: Vec<u8>) -> Result<Vec<u8>, Error> {
        let Some(remote) = self.host.remote else {
            return Err(Error::NoHost(self.name.to_owned()));
        };
        let result = remote(self.host.object, index, RSlice::from_slice(&args));
        self.finish(method, result).map(|bytes| bytes.into_vec())
    }

    fn finish<T>(&self, method: &str, result: RResult<T, RError>) -> Result<T, Error> {
        result.into_result().map_err(|error| Error::Host {
            method: method.to_owned(),
            message: match error.kind {
                ErrorKind::Panicked => format!("it panicked: {}", error.message),
                _ => error.message.into(),
            },
        })
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        if let Some(release) = self.host.release {
            release(self.host.object);
        }
    }
}

impl<V: Copy> HostInProcess<'_, V> {
    /// The host trait's vtable.
    pub fn vtable(&self) -> V {
        self.vtable
    }

    /// The host's object, for the vtable's functions.
    pub fn instance(&self) -> Instance {
        self.link.host.object
    }

    /// The result of a vtable call to `method`, its error saying it was the
    /// host's.
    pub fn finish<T>(&self, method: &str, result: RResult<T, RError>) -> Result<T, Error> {
        self.link.finish(method, result)
    }
}

/// The host's object as the loader hands it to a plugin.
pub(crate) enum GivenHost {
    /// A `HostRef` owning one strong reference to the host's `Arc`, for an
    /// in-process plugin.
    InProcess(Owned),
    /// The host's object's dispatch, for the plugin server's callbacks.
    Process(Callbacks),
}

/// Answers an isolated plugin's callbacks: the host's dispatch, panic-guarded.
pub(crate) type Callbacks = Box<dyn Fn(u32, &[u8]) -> Reply + Send + Sync>;

impl GivenHost {
    /// `host` for a plugin of host trait `H` (checked: `H::LAYOUT` is what
    /// `VTABLE` points at), in-process or isolated.
    pub(crate) fn new<H, T>(host: Arc<T>, in_process: bool) -> GivenHost
    where
        H: HostExports<T> + ?Sized,
        T: Send + Sync + 'static,
    {
        if in_process {
            GivenHost::InProcess(Owned(Some(HostRef {
                object: Instance(Arc::into_raw(host).cast_mut().cast::<c_void>()),
                vtable: H::VTABLE,
                release: Some(release::<T>),
                remote: None,
            })))
        } else {
            GivenHost::Process(Box::new(move |method, args| {
                guard(|| H::dispatch(&host, method, args))
                    .into_result()
                    .map_err(|error| (error.kind, error.message.into()))
            }))
        }
    }

    /// The `HostRef` to hand to an in-process plugin's `create`, which owns
    /// it from then on.
    pub(crate) fn hand_over(&mut self) -> HostRef {
        match self {
            GivenHost::InProcess(host) => host.0.take().unwrap_or_else(HostRef::none),
            GivenHost::Process(_) => HostRef::none(),
        }
    }
}

/// A `HostRef` the host has not handed over yet: released if the plugin
/// never gets it (its load failed before `create`).
pub(crate) struct Owned(Option<HostRef>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(HostRef {
            object,
            release: Some(release),
            ..
        }) = self.0
        {
            release(object);
        }
    }
}

/// Drops the strong reference to the host's object a plugin held.
extern "C" fn release<T>(object: Instance) {
    // SAFETY: `object` came from `Arc::<T>::into_raw` in `GivenHost::new`,
    // and each reference is released once (by the plugin's `HostLink`, or
    // by `GivenHost` when the plugin never got it).
    let host = unsafe { Arc::from_raw(object.0.cast_const().cast::<T>()) };
    // A panicking destructor of the host's type must not unwind into the
    // plugin.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(host)));
}
