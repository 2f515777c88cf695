//! How each type of a method signature crosses the boundary.
//!
//! In-process, a value crosses as an abi_stable FFI type ([`Kind::ffi`]);
//! borrowed strings and byte slices are passed as pointers (zero-copy).
//! Isolated, arguments are one postcard tuple and results one postcard
//! tuple, the mutable byte slices written back from the reply.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

/// How one type crosses.
#[derive(Clone)]
pub(crate) enum Kind {
    /// `&str`: `RStr`.
    Str,
    /// `&[u8]`: `RSlice<u8>`.
    Bytes,
    /// `&mut [u8]`: `RSliceMut<u8>`, written back from the reply when isolated.
    BytesMut,
    /// `String`: `RString`.
    String,
    /// `Vec<u8>`: `RVec<u8>`.
    VecU8,
    /// Integers, floats, `bool`, `()`: as they are.
    Plain(Type),
    /// `Option<T>` of an owned `T`: `ROption`.
    Option(Box<Kind>),
    /// Any other type, which must be serde's: postcard bytes in an `RVec<u8>`.
    Serde(Type),
}

const PLAIN: &[&str] = &[
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "f32", "f64", "bool",
];

impl Kind {
    /// Classifies the type of argument `what` (its name, for errors).
    pub(crate) fn of_argument(ty: &Type, what: &str) -> syn::Result<Kind> {
        match ty {
            Type::Reference(reference) => {
                let mutable = reference.mutability.is_some();
                match (&*reference.elem, mutable) {
                    (Type::Path(path), false) if path.path.is_ident("str") => Ok(Kind::Str),
                    (Type::Slice(slice), _) if is_ident(&slice.elem, "u8") => {
                        Ok(if mutable { Kind::BytesMut } else { Kind::Bytes })
                    }
                    _ => Err(syn::Error::new(
                        ty.span(),
                        format!(
                            "argument `{what}`: a reference to `{}` cannot cross a plugin boundary; \
                             borrow only `&str`, `&[u8]` or `&mut [u8]`, or take an owned serde type by value",
                            text(&reference.elem)
                        ),
                    )),
                }
            }
            _ => Kind::owned(ty, &format!("argument `{what}`")),
        }
    }

    /// Classifies the type of a returned value (`what` names it for errors).
    pub(crate) fn owned(ty: &Type, what: &str) -> syn::Result<Kind> {
        let refuse = |use_instead: &str| {
            Err(syn::Error::new(
                ty.span(),
                format!(
                    "{what}: `{}` cannot cross a plugin boundary; {use_instead}",
                    text(ty)
                ),
            ))
        };
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                let last = path.path.segments.last().expect("a path has a segment");
                let name = last.ident.to_string();
                if path.path.segments.len() == 1 && PLAIN.contains(&name.as_str()) {
                    return Ok(Kind::Plain(ty.clone()));
                }
                match (name.as_str(), single_type_argument(&last.arguments)) {
                    ("String", None) => Ok(Kind::String),
                    ("Vec", Some(inner)) if is_ident(inner, "u8") => Ok(Kind::VecU8),
                    ("Option", Some(inner)) => {
                        Ok(Kind::Option(Box::new(Kind::owned(inner, what)?)))
                    }
                    ("Self", _) => refuse("use a concrete type"),
                    _ => Ok(Kind::Serde(ty.clone())),
                }
            }
            Type::Tuple(tuple) if tuple.elems.is_empty() => Ok(Kind::Plain(ty.clone())),
            Type::Tuple(_) | Type::Array(_) => Ok(Kind::Serde(ty.clone())),
            Type::Paren(inner) => Kind::owned(&inner.elem, what),
            Type::Reference(_) => refuse(
                "return or pass an owned value (`String`, `Vec<u8>` or a serde type) instead of a reference",
            ),
            Type::ImplTrait(_) => {
                refuse("use a concrete type (generics and `impl Trait` are not supported)")
            }
            Type::TraitObject(_) => refuse("use a concrete serde type; trait objects cannot cross"),
            _ => refuse(
                "use integers, floats, `bool`, `String`, `Vec<u8>`, `Option` or a serde type",
            ),
        }
    }

    /// The FFI type, in-process.
    pub(crate) fn ffi(&self) -> TokenStream {
        match self {
            Kind::Str => quote!(::rivet::__private::RStr<'_>),
            Kind::Bytes => quote!(::rivet::__private::RSlice<'_, u8>),
            Kind::BytesMut => quote!(::rivet::__private::RSliceMut<'_, u8>),
            Kind::String => quote!(::rivet::__private::RString),
            Kind::VecU8 => quote!(::rivet::__private::RVec<u8>),
            Kind::Plain(ty) => quote!(#ty),
            Kind::Option(inner) => {
                let inner = inner.ffi();
                quote!(::rivet::__private::ROption<#inner>)
            }
            Kind::Serde(_) => quote!(::rivet::__private::RVec<u8>),
        }
    }

    /// Converts `value` (of the Rust type) to the FFI type; may use `?` on
    /// a `rivet::Error`.
    pub(crate) fn rust_to_ffi(&self, value: TokenStream) -> TokenStream {
        match self {
            Kind::Str => quote!(::rivet::__private::RStr::from_str(#value)),
            Kind::Bytes => quote!(::rivet::__private::RSlice::from_slice(#value)),
            Kind::BytesMut => quote!(::rivet::__private::RSliceMut::from_mut_slice(#value)),
            Kind::String => quote!(::rivet::__private::RString::from(#value)),
            Kind::VecU8 => quote!(::rivet::__private::RVec::from(#value)),
            Kind::Plain(_) => value,
            Kind::Option(inner) => {
                let inner = inner.rust_to_ffi(quote!(__inner));
                quote!(::rivet::__private::ROption::from(match #value {
                    ::core::option::Option::Some(__inner) => ::core::option::Option::Some(#inner),
                    ::core::option::Option::None => ::core::option::Option::None,
                }))
            }
            Kind::Serde(_) => {
                quote!(::rivet::__private::RVec::from(::rivet::__private::encode(&#value)?))
            }
        }
    }

    /// Converts `value` (of the FFI type) back to the Rust type; may use
    /// `?` on a `rivet::Error`.
    pub(crate) fn ffi_to_rust(&self, value: TokenStream) -> TokenStream {
        match self {
            Kind::Str => quote!(#value.as_str()),
            Kind::Bytes => quote!(#value.as_slice()),
            Kind::BytesMut => quote!(#value.into_mut_slice()),
            Kind::String => quote!(#value.into_string()),
            Kind::VecU8 => quote!(#value.into_vec()),
            Kind::Plain(_) => value,
            Kind::Option(inner) => {
                let inner = inner.ffi_to_rust(quote!(__inner));
                quote!(match #value.into_option() {
                    ::core::option::Option::Some(__inner) => ::core::option::Option::Some(#inner),
                    ::core::option::Option::None => ::core::option::Option::None,
                })
            }
            Kind::Serde(_) => quote!(::rivet::__private::decode(#value.as_slice())?),
        }
    }

    /// The owned type an argument is decoded into on the plugin's side of
    /// an isolated call.
    pub(crate) fn owned_type(&self) -> TokenStream {
        match self {
            Kind::Str => quote!(::std::string::String),
            Kind::Bytes | Kind::BytesMut | Kind::VecU8 => quote!(::std::vec::Vec<u8>),
            Kind::String => quote!(::std::string::String),
            Kind::Option(inner) => {
                let inner = inner.owned_type();
                quote!(::core::option::Option<#inner>)
            }
            Kind::Plain(ty) | Kind::Serde(ty) => quote!(#ty),
        }
    }

    /// The type the plugin's dispatch decodes an argument into: a byte
    /// argument as one byte string (see [`Kind::encode_and_pass`]).
    pub(crate) fn decoded_type(&self) -> TokenStream {
        match self {
            Kind::Bytes | Kind::BytesMut | Kind::VecU8 => quote!(::rivet::__private::ByteBuf),
            _ => self.owned_type(),
        }
    }

    /// How an argument is encoded by the host (a reference to it) and
    /// passed by the plugin's dispatch (from its owned, decoded value).
    ///
    /// Byte arguments cross as one byte string each (`serde_bytes`), not as
    /// a sequence of `u8`: one copy instead of a call per byte.
    pub(crate) fn encode_and_pass(&self, name: &syn::Ident) -> (TokenStream, TokenStream) {
        let bytes = |value| quote!(::rivet::__private::Bytes::new(#value));
        match self {
            Kind::Str => (quote!(#name), quote!(&#name)),
            Kind::Bytes => (bytes(quote!(#name)), quote!(#name.as_slice())),
            Kind::BytesMut => (bytes(quote!(&*#name)), quote!(#name.as_mut_slice())),
            Kind::VecU8 => (bytes(quote!(#name.as_slice())), quote!(#name.into_vec())),
            _ => (quote!(&#name), quote!(#name)),
        }
    }
}

fn single_type_argument(arguments: &PathArguments) -> Option<&Type> {
    match arguments {
        PathArguments::AngleBracketed(angle) if angle.args.len() == 1 => match &angle.args[0] {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        },
        _ => None,
    }
}

fn is_ident(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident(name))
}

/// A type as source text, for messages and signatures.
pub(crate) fn text(ty: &Type) -> String {
    quote!(#ty).to_string()
}
