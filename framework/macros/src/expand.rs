//! The code `#[interface]` and `#[host]` generate (see `rivet::interface`
//! and `rivet::host` for what each piece is for).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Interface, Method};
use crate::types::Kind;

/// Which side implements the trait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// An interface: plugins implement it, the host calls it.
    Plugin,
    /// A host trait: the host implements it, plugins call it.
    Host,
}

/// The vtable (a prefix type), its `extern "C"` shims and the generic
/// holder of each implementing type's `'static` vtable, shared by
/// interfaces and host traits.
struct VTable {
    items: TokenStream,
    /// The vtable's prefix reference type.
    reference: syn::Ident,
    /// `Holder::<__T>::VTABLE`, the `&'static WithMetadata` of type `__T`.
    holder: syn::Ident,
}

fn vtable(interface: &Interface, side: Side) -> VTable {
    let trait_ident = &interface.item.ident;
    let vis = &interface.item.vis;
    let vtable = format_ident!("__Rivet{}VTable", trait_ident);
    let reference = format_ident!("__Rivet{}VTableRef", trait_ident);
    let holder = format_ident!("__Rivet{}Shims", trait_ident);
    let last_first_release = interface
        .methods
        .iter()
        .rposition(|method| method.since.is_none())
        .expect("the model requires a method without `since`");
    let fields = interface.methods.iter().enumerate().map(|(index, method)| {
        let ident = &method.ident;
        let args = method.args.iter().map(|arg| arg.kind.ffi());
        let ret = method.ret_kind.ffi();
        let last = (index == last_first_release).then(|| quote!(#[sabi(last_prefix_field)]));
        quote! {
            #last
            pub #ident: extern "C" fn(
                ::rivet::__private::Instance,
                #(#args),*
            ) -> ::rivet::__private::RResult<#ret, ::rivet::__private::RError>
        }
    });
    let shims = interface
        .methods
        .iter()
        .map(|method| shim(interface, method, &vtable, side));
    let shim_names = interface.methods.iter().map(|method| {
        let ident = &method.ident;
        let shim = shim_name(interface, method, side);
        quote!(#ident: #shim::<__T>)
    });
    let (what, implementer) = match side {
        Side::Plugin => ("interface", "plugin"),
        Side::Host => ("host trait", "host"),
    };
    let vtable_doc = format!(
        "The {what}'s vtable: an abi_stable prefix type, so that a {implementer} \
         built against an earlier minor version (a shorter vtable) and one built \
         against a later one (a longer vtable) both load; the methods added in \
         later versions are read as `Option`s."
    );
    let holder_doc =
        format!("The vtable of {implementer} type `__T`, as a `'static` prefix-type value.");
    let items = quote! {
        #[doc = #vtable_doc]
        #[doc(hidden)]
        #[repr(C)]
        #[derive(::abi_stable::StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = #reference)))]
        #[sabi(missing_field(option))]
        #vis struct #vtable {
            #(#fields,)*
        }

        #(#shims)*

        #[doc = #holder_doc]
        #[doc(hidden)]
        #vis struct #holder<__T>(::core::marker::PhantomData<__T>);

        impl<__T: #trait_ident + ::core::marker::Send + ::core::marker::Sync + 'static> #holder<__T> {
            const VTABLE: &'static ::abi_stable::prefix_type::WithMetadata<#vtable> =
                &::abi_stable::prefix_type::WithMetadata::new(#vtable { #(#shim_names,)* });
        }
    };
    VTable {
        items,
        reference,
        holder,
    }
}

pub(crate) fn expand(interface: &Interface) -> TokenStream {
    let item = &interface.item;
    let trait_ident = &item.ident;
    let vis = &item.vis;
    let handle = format_ident!("{}Handle", trait_ident);
    let name = &interface.name;
    let version = &interface.version;
    let signature = interface.signature();
    let VTable {
        items: vtable_items,
        reference: vtable_ref,
        holder,
    } = vtable(interface, Side::Plugin);
    let host = match &interface.host {
        Some(host) => quote!(dyn #host),
        None => quote!(()),
    };
    let dispatch_arms = interface
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| dispatch_arm(trait_ident, index, method));
    let handle_methods = interface.methods.iter().enumerate().map(|(index, method)| {
        handle_method(vis, index, method, version, Side::Plugin, &vtable_ref)
    });
    let trait_impl = interface
        .methods
        .iter()
        .all(|method| method.fallible)
        .then(|| trait_impl(interface, &handle));
    let handle_doc = format!(
        "A loaded `{trait_ident}` plugin, in-process or isolated: one method per \
         method of the trait, returning `Result<_, rivet::Error>` (a plugin that \
         panics, or an isolated plugin whose process fails, is an error value). \
         It implements `{trait_ident}` itself when every method of the trait \
         returns `Result<_, rivet::Error>`."
    );

    quote! {
        #item

        #vtable_items

        impl ::rivet::Interface for dyn #trait_ident {
            type VTable = #vtable_ref;
            type Handle = #handle;
            type Host = #host;
            const NAME: &'static str = #name;
            const VERSION: &'static str = #version;
            const SIGNATURE: &'static str = #signature;
            fn wrap(plugin: ::rivet::Plugin<Self>) -> #handle {
                #handle(plugin)
            }
        }

        impl<__T: #trait_ident + ::core::marker::Send + ::core::marker::Sync + 'static>
            ::rivet::__private::Exports<__T> for dyn #trait_ident
        {
            const VTABLE: #vtable_ref =
                #vtable_ref(::abi_stable::prefix_type::PrefixRef::from_ref(#holder::<__T>::VTABLE));

            fn dispatch(
                __this: &mut __T,
                method: u32,
                args: &[u8],
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::rivet::Error> {
                match method {
                    #(#dispatch_arms)*
                    _ => ::core::result::Result::Err(::rivet::__private::unknown_method(method)),
                }
            }
        }

        #[doc = #handle_doc]
        #vis struct #handle(::rivet::Plugin<dyn #trait_ident>);

        impl ::core::ops::Deref for #handle {
            type Target = ::rivet::Plugin<dyn #trait_ident>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl #handle {
            #(#handle_methods)*
        }

        #trait_impl
    }
}

/// What `#[rivet::host]` generates: the host trait's vtable and shims (for
/// the host's type), its isolated dispatch (in the host), and the client
/// plugins call it through.
pub(crate) fn expand_host(host: &Interface) -> TokenStream {
    let item = &host.item;
    let trait_ident = &item.ident;
    let vis = &item.vis;
    let client = format_ident!("{}Host", trait_ident);
    let name = &host.name;
    let signature = host.signature();
    let VTable {
        items: vtable_items,
        reference: vtable_ref,
        holder,
    } = vtable(host, Side::Host);
    let dispatch_arms = host
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| dispatch_arm(trait_ident, index, method));
    let client_methods = host
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| handle_method(vis, index, method, "", Side::Host, &vtable_ref));
    let trait_impl = host
        .methods
        .iter()
        .all(|method| method.fallible)
        .then(|| trait_impl(host, &client));
    let client_doc = format!(
        "A plugin's way to its host's `{trait_ident}` (host callbacks), received \
         at creation (`rivet::export!(.., create_with_host = ..)`): one method per \
         method of the trait, returning `Result<_, rivet::Error>` (a host that \
         panics, fails or gave no object is an error value). It implements \
         `{trait_ident}` itself when every method of the trait returns \
         `Result<_, rivet::Error>`. Isolated, the host answers only while it \
         calls the plugin (a method, or its creation)."
    );

    quote! {
        #item

        #vtable_items

        impl ::rivet::HostInterface for dyn #trait_ident {
            type Client = #client;
            const NAME: &'static str = #name;
            const SIGNATURE: &'static str = #signature;
            const LAYOUT: ::core::option::Option<&'static ::rivet::__private::TypeLayout> =
                ::core::option::Option::Some(<#vtable_ref as ::abi_stable::StableAbi>::LAYOUT);
            fn connect(link: ::rivet::__private::HostLink) -> #client {
                #client(link)
            }
        }

        impl<__T: #trait_ident + ::core::marker::Send + ::core::marker::Sync + 'static>
            ::rivet::HostExports<__T> for dyn #trait_ident
        {
            const VTABLE: ::rivet::__private::VTablePtr = ::rivet::__private::VTablePtr(
                (#holder::<__T>::VTABLE as *const ::abi_stable::prefix_type::WithMetadata<_>)
                    .cast::<::core::ffi::c_void>(),
            );

            fn dispatch(
                __this: &__T,
                method: u32,
                args: &[u8],
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::rivet::Error> {
                match method {
                    #(#dispatch_arms)*
                    _ => ::core::result::Result::Err(::rivet::__private::unknown_method(method)),
                }
            }
        }

        #[doc = #client_doc]
        #vis struct #client(::rivet::__private::HostLink);

        impl #client {
            #(#client_methods)*
        }

        #trait_impl
    }
}

fn shim_name(interface: &Interface, method: &Method, side: Side) -> syn::Ident {
    match side {
        Side::Plugin => format_ident!("__rivet_{}_{}", interface.name, method.ident),
        Side::Host => format_ident!("__rivet_host_{}_{}", interface.name, method.ident),
    }
}

/// The `extern "C"` function behind one vtable entry, for plugin (or host)
/// type `__T`.
fn shim(interface: &Interface, method: &Method, vtable: &syn::Ident, side: Side) -> TokenStream {
    let trait_ident = &interface.item.ident;
    let ident = &method.ident;
    let shim = shim_name(interface, method, side);
    let params = method.args.iter().map(|arg| {
        let (ident, ffi) = (&arg.ident, arg.kind.ffi());
        quote!(#ident: #ffi)
    });
    let conversions = method.args.iter().map(|arg| {
        let ident = &arg.ident;
        let value = arg.kind.ffi_to_rust(quote!(#ident));
        quote!(let #ident = #value;)
    });
    let names = method.args.iter().map(|arg| &arg.ident);
    let this = match (side, method.mutable) {
        (Side::Plugin, true) => quote! {
            // SAFETY: `instance` was created by this library's `create` for
            // `__T` (the vtable comes from the same root module), and the
            // handle calling a `&mut self` method holds `&mut` to it.
            let __this = unsafe { ::rivet::__private::instance_mut::<__T>(instance) };
        },
        (Side::Plugin, false) => quote! {
            // SAFETY: `instance` was created by this library's `create` for
            // `__T` (the vtable comes from the same root module).
            let __this = unsafe { ::rivet::__private::instance_ref::<__T>(instance) };
        },
        (Side::Host, _) => quote! {
            // SAFETY: `instance` is the host's `Arc<__T>` the loader handed
            // out with this vtable (`HostExports::<__T>::VTABLE`); the
            // plugin calling holds a strong reference to it, and host
            // methods take `&self`.
            let __this = unsafe { ::rivet::__private::instance_ref::<__T>(instance) };
        },
    };
    let question = method.fallible.then(|| quote!(?));
    let ret = method.ret_kind.ffi();
    let value = method.ret_kind.rust_to_ffi(quote!(__value));
    let implementer = match side {
        Side::Plugin => "plugin",
        Side::Host => "host",
    };
    let doc = format!("`{vtable}::{ident}` for {implementer} type `__T`.");
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(clippy::let_unit_value, clippy::redundant_locals, clippy::unit_arg)]
        extern "C" fn #shim<__T: #trait_ident + ::core::marker::Send + ::core::marker::Sync + 'static>(
            instance: ::rivet::__private::Instance,
            #(#params),*
        ) -> ::rivet::__private::RResult<#ret, ::rivet::__private::RError> {
            ::rivet::__private::guard(|| {
                #this
                #(#conversions)*
                let __value = <__T as #trait_ident>::#ident(__this, #(#names),*)#question;
                ::core::result::Result::Ok(#value)
            })
        }
    }
}

/// The names of the `&mut [u8]` arguments, written back after an isolated call.
fn written_back(method: &Method) -> Vec<&syn::Ident> {
    method
        .args
        .iter()
        .filter(|arg| matches!(arg.kind, Kind::BytesMut))
        .map(|arg| &arg.ident)
        .collect()
}

/// One arm of the plugin's isolated dispatch: decode, call, encode.
fn dispatch_arm(trait_ident: &syn::Ident, index: usize, method: &Method) -> TokenStream {
    let index = Literal::u32_unsuffixed(index as u32);
    let ident = &method.ident;
    let bindings = method.args.iter().map(|arg| {
        let ident = &arg.ident;
        match arg.kind {
            Kind::BytesMut => quote!(mut #ident),
            _ => quote!(#ident),
        }
    });
    let owned = method.args.iter().map(|arg| arg.kind.decoded_type());
    let passed = method
        .args
        .iter()
        .map(|arg| arg.kind.encode_and_pass(&arg.ident).1);
    let back = written_back(method);
    let question = method.fallible.then(|| quote!(?));
    quote! {
        #index => {
            let (#(#bindings,)*): (#(#owned,)*) = ::rivet::__private::decode(args)?;
            let __value = <__T as #trait_ident>::#ident(__this, #(#passed),*)#question;
            ::rivet::__private::encode(&(&__value, #(&#back,)*))
        }
    }
}

/// One method of the host's handle (or of a plugin's host client): through
/// the vtable in-process, through the plugin server when isolated.
fn handle_method(
    vis: &syn::Visibility,
    index: usize,
    method: &Method,
    version: &str,
    side: Side,
    vtable_ref: &syn::Ident,
) -> TokenStream {
    let ident = &method.ident;
    let name = ident.to_string();
    let index = Literal::u32_unsuffixed(index as u32);
    let receiver = if method.mutable {
        quote!(&mut self)
    } else {
        quote!(&self)
    };
    let params = method.args.iter().map(|arg| {
        let (ident, ty) = (&arg.ident, &arg.ty);
        quote!(#ident: #ty)
    });
    let to_ffi = method.args.iter().map(|arg| {
        let ident = &arg.ident;
        let value = arg.kind.rust_to_ffi(quote!(#ident));
        quote!(let #ident = #value;)
    });
    let names: Vec<_> = method.args.iter().map(|arg| &arg.ident).collect();
    let encoded = method
        .args
        .iter()
        .map(|arg| arg.kind.encode_and_pass(&arg.ident).0);
    let ret = &method.ret;
    let value = method.ret_kind.ffi_to_rust(quote!(__value));
    let back = written_back(method);
    let replies: Vec<_> = back
        .iter()
        .map(|ident| format_ident!("{}_reply", ident))
        .collect();
    let byte_vecs = back.iter().map(|_| quote!(::rivet::__private::ByteBuf));
    // A method added in a later minor version is missing from the vtables
    // of older plugins (its accessor returns `None`) and from the methods
    // their servers announce.
    let (function, check) = match &method.since {
        None => (quote!(__in.vtable().#ident()), quote!()),
        Some(since) => (
            quote! {
                match __in.vtable().#ident() {
                    ::core::option::Option::Some(__function) => __function,
                    ::core::option::Option::None => {
                        return ::core::result::Result::Err(self.0.unsupported(#name, #since));
                    }
                }
            },
            quote! {
                if #index >= __client.methods() {
                    return ::core::result::Result::Err(self.0.unsupported(#name, #since));
                }
            },
        ),
    };
    let (backend, variant) = match side {
        Side::Plugin => (
            quote!(self.0.backend()),
            quote!(::rivet::__private::Backend),
        ),
        Side::Host => (
            quote! {
                // SAFETY: the vtable reference `#[rivet::host]` generated for
                // this trait, the one the link was made for.
                unsafe { self.0.backend::<#vtable_ref>() }
            },
            quote!(::rivet::__private::HostBackend),
        ),
    };
    let doc = match (&method.since, side) {
        (_, Side::Host) => format!("Calls the host's `{name}`."),
        (None, Side::Plugin) => format!("Calls the plugin's `{name}`."),
        (Some(since), Side::Plugin) => format!(
            "Calls the plugin's `{name}`, added in version {since} of the interface \
             (this crate's is {version}): a plugin built against an earlier \
             version has no `{name}`, and the call is `Err(rivet::Error::Unsupported)`."
        ),
    };
    quote! {
        #[doc = #doc]
        #[allow(clippy::let_unit_value, clippy::redundant_locals, clippy::unit_arg)]
        #vis fn #ident(#receiver, #(#params),*) -> ::core::result::Result<#ret, ::rivet::Error> {
            match #backend {
                #variant::InProcess(__in) => {
                    let __function = #function;
                    #(#to_ffi)*
                    let __result = __function(__in.instance(), #(#names),*);
                    let __value = __in.finish(#name, __result)?;
                    ::core::result::Result::Ok(#value)
                }
                #variant::Process(__client) => {
                    #check
                    let __args = ::rivet::__private::encode(&(#(#encoded,)*))?;
                    let __reply = __client.call(#index, #name, __args)?;
                    let (__value, #(#replies,)*): (#ret, #(#byte_vecs,)*) =
                        ::rivet::__private::decode(&__reply)?;
                    #(::rivet::__private::write_back(#back, #replies.into_vec())?;)*
                    ::core::result::Result::Ok(__value)
                }
            }
        }
    }
}

/// `impl Trait for Handle`, when every method returns `Result<_, rivet::Error>`.
fn trait_impl(interface: &Interface, handle: &syn::Ident) -> TokenStream {
    let trait_ident = &interface.item.ident;
    let methods = interface.methods.iter().map(|method| {
        let ident = &method.ident;
        let receiver = if method.mutable {
            quote!(&mut self)
        } else {
            quote!(&self)
        };
        let params = method.args.iter().map(|arg| {
            let (ident, ty) = (&arg.ident, &arg.ty);
            quote!(#ident: #ty)
        });
        let names = method.args.iter().map(|arg| &arg.ident);
        let ret = &method.ret;
        quote! {
            fn #ident(#receiver, #(#params),*) -> ::core::result::Result<#ret, ::rivet::Error> {
                #handle::#ident(self, #(#names),*)
            }
        }
    });
    quote! {
        impl #trait_ident for #handle {
            #(#methods)*
        }
    }
}
