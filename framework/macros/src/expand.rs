//! The code `#[interface]` generates (see `rivet::interface` for what each
//! piece is for).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::model::{Interface, Method};
use crate::types::Kind;

pub(crate) fn expand(interface: &Interface) -> TokenStream {
    let item = &interface.item;
    let trait_ident = &item.ident;
    let vis = &item.vis;
    let vtable = format_ident!("__Rivet{}VTable", trait_ident);
    let vtable_ref = format_ident!("__Rivet{}VTableRef", trait_ident);
    let shims_ident = format_ident!("__Rivet{}Shims", trait_ident);
    let handle = format_ident!("{}Handle", trait_ident);
    let name = &interface.name;
    let version = &interface.version;
    let signature = interface.signature();

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
        .map(|method| shim(interface, method, &vtable));
    let shim_names = interface.methods.iter().map(|method| {
        let ident = &method.ident;
        let shim = method.shim(name);
        quote!(#ident: #shim::<__T>)
    });
    let dispatch_arms = interface
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| dispatch_arm(trait_ident, index, method));
    let handle_methods = interface
        .methods
        .iter()
        .enumerate()
        .map(|(index, method)| handle_method(vis, index, method, version));
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

        /// The interface's vtable: an abi_stable prefix type, so that a
        /// plugin built against an earlier minor version (a shorter vtable)
        /// and one built against a later one (a longer vtable) both load;
        /// the methods added in later versions are read as `Option`s.
        #[doc(hidden)]
        #[repr(C)]
        #[derive(::abi_stable::StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = #vtable_ref)))]
        #[sabi(missing_field(option))]
        #vis struct #vtable {
            #(#fields,)*
        }

        #(#shims)*

        /// The vtable of plugin type `__T`, as a `'static` prefix-type value.
        #[doc(hidden)]
        #vis struct #shims_ident<__T>(::core::marker::PhantomData<__T>);

        impl<__T: #trait_ident + ::core::marker::Send + ::core::marker::Sync + 'static> #shims_ident<__T> {
            const VTABLE: &'static ::abi_stable::prefix_type::WithMetadata<#vtable> =
                &::abi_stable::prefix_type::WithMetadata::new(#vtable { #(#shim_names,)* });
        }

        impl ::rivet::Interface for dyn #trait_ident {
            type VTable = #vtable_ref;
            type Handle = #handle;
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
                #vtable_ref(::abi_stable::prefix_type::PrefixRef::from_ref(#shims_ident::<__T>::VTABLE));

            fn dispatch(
                plugin: &mut __T,
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

/// The `extern "C"` function behind one vtable entry, for plugin type `__T`.
fn shim(interface: &Interface, method: &Method, vtable: &syn::Ident) -> TokenStream {
    let trait_ident = &interface.item.ident;
    let ident = &method.ident;
    let shim = method.shim(&interface.name);
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
    let this = if method.mutable {
        quote! {
            // SAFETY: `instance` was created by this library's `create` for
            // `__T` (the vtable comes from the same root module), and the
            // handle calling a `&mut self` method holds `&mut` to it.
            let __this = unsafe { ::rivet::__private::instance_mut::<__T>(instance) };
        }
    } else {
        quote! {
            // SAFETY: `instance` was created by this library's `create` for
            // `__T` (the vtable comes from the same root module).
            let __this = unsafe { ::rivet::__private::instance_ref::<__T>(instance) };
        }
    };
    let question = method.fallible.then(|| quote!(?));
    let ret = method.ret_kind.ffi();
    let value = method.ret_kind.rust_to_ffi(quote!(__value));
    let doc = format!("`{vtable}::{ident}` for plugin type `__T`.");
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
    let owned = method.args.iter().map(|arg| arg.kind.owned_type());
    let passed = method
        .args
        .iter()
        .map(|arg| arg.kind.encode_and_pass(&arg.ident).1);
    let back = written_back(method);
    let question = method.fallible.then(|| quote!(?));
    quote! {
        #index => {
            let (#(#bindings,)*): (#(#owned,)*) = ::rivet::__private::decode(args)?;
            let __value = <__T as #trait_ident>::#ident(plugin, #(#passed),*)#question;
            ::rivet::__private::encode(&(&__value, #(&#back,)*))
        }
    }
}

/// One method of the host handle: through the vtable in-process, through
/// the plugin server when isolated.
fn handle_method(
    vis: &syn::Visibility,
    index: usize,
    method: &Method,
    version: &str,
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
    let byte_vecs = back.iter().map(|_| quote!(::std::vec::Vec<u8>));
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
    let doc = match &method.since {
        None => format!("Calls the plugin's `{name}`."),
        Some(since) => format!(
            "Calls the plugin's `{name}`, added in version {since} of the interface \
             (this crate's is {version}): a plugin built against an earlier \
             version has no `{name}`, and the call is `Err(rivet::Error::Unsupported)`."
        ),
    };
    quote! {
        #[doc = #doc]
        #[allow(clippy::let_unit_value, clippy::redundant_locals, clippy::unit_arg)]
        #vis fn #ident(#receiver, #(#params),*) -> ::core::result::Result<#ret, ::rivet::Error> {
            match self.0.backend() {
                ::rivet::__private::Backend::InProcess(__in) => {
                    let __function = #function;
                    #(#to_ffi)*
                    let __result = __function(__in.instance(), #(#names),*);
                    let __value = __in.finish(#name, __result)?;
                    ::core::result::Result::Ok(#value)
                }
                ::rivet::__private::Backend::Process(__client) => {
                    #check
                    let __args = ::rivet::__private::encode(&(#(#encoded,)*))?;
                    let __reply = __client.call(#index, #name, __args)?;
                    let (__value, #(#replies,)*): (#ret, #(#byte_vecs,)*) =
                        ::rivet::__private::decode(&__reply)?;
                    #(::rivet::__private::write_back(#back, #replies)?;)*
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
