//! What `#[interface]` reads from its arguments and the trait.

use quote::{format_ident, quote};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemTrait, LitStr, Pat, ReceiverKind, ReturnType, TraitItem, Type};

use crate::types::{Kind, text};

/// The attribute's arguments: `version = "1.0.0"`, optionally
/// `name = "..."` and `host = Trait`.
#[derive(Default)]
pub(crate) struct Args {
    version: Option<LitStr>,
    name: Option<LitStr>,
    host: Option<syn::Path>,
}

impl Args {
    pub(crate) fn parse(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("version") {
            self.version = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("name") {
            self.name = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("host") {
            self.host = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(
                "expected `version = \"MAJOR.MINOR.PATCH\"`, `name = \"...\"` or `host = HostTrait`",
            ))
        }
    }
}

/// A trait annotated with `#[interface]`.
pub(crate) struct Interface {
    /// The trait, without the `#[rivet(...)]` attributes of its methods.
    pub(crate) item: ItemTrait,
    /// The name in plugin file names: `name = ...`, else the trait's name
    /// in snake case.
    pub(crate) name: String,
    /// The interface's version; empty for a host trait.
    pub(crate) version: String,
    pub(crate) methods: Vec<Method>,
    /// The interface's host trait (`host = Progress`).
    pub(crate) host: Option<syn::Path>,
}

/// One method of the trait.
pub(crate) struct Method {
    pub(crate) ident: Ident,
    pub(crate) mutable: bool,
    pub(crate) args: Vec<Arg>,
    /// The returned value's type (`T` of `Result<T, rivet::Error>`).
    pub(crate) ret: Type,
    pub(crate) ret_kind: Kind,
    /// Whether the method returns `Result<T, rivet::Error>`.
    pub(crate) fallible: bool,
    /// The interface version that added the method (`#[rivet(since =
    /// "1.1")]`), as written; `None` for the methods of the major version's
    /// first release.
    pub(crate) since: Option<String>,
}

/// One argument (after the receiver).
pub(crate) struct Arg {
    /// `arg0`, `arg1`, …: generated names, whatever the pattern was.
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) kind: Kind,
}

impl Interface {
    pub(crate) fn new(args: Args, mut item: ItemTrait) -> syn::Result<Interface> {
        let version = args.version.ok_or_else(|| {
            syn::Error::new(
                item.ident.span(),
                "#[rivet::interface] needs a version: #[rivet::interface(version = \"1.0.0\")]",
            )
        })?;
        if !is_semver(&version.value()) {
            return Err(syn::Error::new(
                version.span(),
                "the version is MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
            ));
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            return Err(syn::Error::new(
                item.generics.span(),
                "a plugin interface cannot be generic; use concrete types",
            ));
        }
        let version_parts = parse_version(&version.value()).expect("checked above");
        let mut methods: Vec<Method> = Vec::new();
        for trait_item in &mut item.items {
            match trait_item {
                TraitItem::Fn(function) => {
                    let since = take_since(&mut function.attrs)?;
                    let method = Method::new(&function.sig, since.as_ref())?;
                    if let Some(since) = &since {
                        check_since(since, &version_parts, &version.value())?;
                    }
                    check_order(&methods, &method, &function.sig)?;
                    methods.push(method);
                }
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "a plugin interface holds methods only (no associated types, constants or macros)",
                    ));
                }
            }
        }
        if methods.first().is_none_or(|first| first.since.is_some()) {
            return Err(syn::Error::new(
                item.ident.span(),
                "a plugin interface declares at least one method without `#[rivet(since = ...)]` (the methods of its first version)",
            ));
        }
        let name = match args.name {
            Some(name) => name.value(),
            None => snake_case(&item.ident.to_string()),
        };
        Ok(Interface {
            name,
            version: version.value(),
            methods,
            host: args.host,
            item,
        })
    }

    /// A host trait (`#[rivet::host]`): methods take `&self` and none is
    /// added in a later version.
    pub(crate) fn new_host(mut item: ItemTrait) -> syn::Result<Interface> {
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            return Err(syn::Error::new(
                item.generics.span(),
                "a host trait cannot be generic; use concrete types",
            ));
        }
        let mut methods = Vec::new();
        for trait_item in &mut item.items {
            let TraitItem::Fn(function) = trait_item else {
                return Err(syn::Error::new(
                    trait_item.span(),
                    "a host trait holds methods only (no associated types, constants or macros)",
                ));
            };
            if let Some(since) = take_since(&mut function.attrs)? {
                return Err(syn::Error::new(
                    since.span(),
                    "host traits do not evolve yet: methods cannot be added to them in a minor version; change the interface's major version instead",
                ));
            }
            let method = Method::new(&function.sig, None)?;
            if method.mutable {
                return Err(syn::Error::new(
                    function.sig.inputs.span(),
                    format!(
                        "method `{}`: a host trait's methods take `&self` (the host's object is shared by its plugins; use interior mutability)",
                        method.ident
                    ),
                ));
            }
            methods.push(method);
        }
        if methods.is_empty() {
            return Err(syn::Error::new(
                item.ident.span(),
                "a host trait declares at least one method",
            ));
        }
        Ok(Interface {
            name: snake_case(&item.ident.to_string()),
            version: String::new(),
            methods,
            host: None,
            item,
        })
    }

    /// The methods' signatures as text, one line per method (names and
    /// types, not argument names; `// since 1.1` after an added method),
    /// which isolated hosts compare line by line.
    pub(crate) fn signature(&self) -> String {
        self.methods
            .iter()
            .map(|method| {
                let receiver = if method.mutable { "&mut self" } else { "&self" };
                let args: Vec<String> = std::iter::once(receiver.to_owned())
                    .chain(method.args.iter().map(|arg| text(&arg.ty)))
                    .collect();
                let ret = &method.ret;
                let ret = if method.fallible {
                    format!("Result<{}, rivet::Error>", quote!(#ret))
                } else {
                    text(ret)
                };
                let since = match &method.since {
                    Some(since) => format!(" // since {since}"),
                    None => String::new(),
                };
                format!("fn {}({}) -> {ret};{since}", method.ident, args.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Method {
    fn new(sig: &syn::Signature, since: Option<&LitStr>) -> syn::Result<Method> {
        let name = &sig.ident;
        let refuse = |span: proc_macro2::Span, what: &str| {
            Err(syn::Error::new(span, format!("method `{name}`: {what}")))
        };
        if let Some(token) = &sig.asyncness {
            return refuse(
                token.span(),
                "async methods cannot cross a plugin boundary; make it a plain method",
            );
        }
        if !sig.generics.params.is_empty() {
            return refuse(
                sig.generics.span(),
                "generic methods cannot cross a plugin boundary; use concrete types",
            );
        }
        if sig.variadic.is_some() || sig.abi.is_some() || sig.constness.is_some() {
            return refuse(
                sig.span(),
                "declare a plain `fn` (no `const`, `extern` or variadics)",
            );
        }
        let mutable = match sig.receiver().map(|receiver| &receiver.kind) {
            Some(ReceiverKind::Reference(_, None, mutability)) => mutability.is_some(),
            Some(_) => {
                return refuse(
                    sig.inputs.span(),
                    "the receiver is `&self` or `&mut self` (a plugin is not consumed or moved by its host)",
                );
            }
            None => {
                return refuse(
                    sig.span(),
                    "a method takes `&self` or `&mut self` (associated functions cannot be called on a plugin)",
                );
            }
        };
        let mut args = Vec::new();
        for (index, input) in sig.inputs.iter().skip(1).enumerate() {
            let FnArg::Typed(typed) = input else {
                unreachable!("only the first input is a receiver")
            };
            let what = match &*typed.pat {
                Pat::Ident(ident) => ident.ident.to_string(),
                other => quote!(#other).to_string(),
            };
            args.push(Arg {
                ident: format_ident!("arg{index}"),
                ty: (*typed.ty).clone(),
                kind: Kind::of_argument(&typed.ty, &what)?,
            });
        }
        let unit: Type = syn::parse_quote!(());
        let (ret, fallible) = match &sig.output {
            ReturnType::Default => (unit, false),
            ReturnType::Type(_, ty) => match rivet_result(ty) {
                Some(Ok(ok)) => (ok, true),
                Some(Err(span)) => {
                    return refuse(
                        span,
                        "a fallible method returns `Result<T, rivet::Error>`; convert other errors into `rivet::Error`",
                    );
                }
                None => ((**ty).clone(), false),
            },
        };
        let ret_kind = Kind::owned(&ret, &format!("the value returned by `{name}`"))?;
        Ok(Method {
            ident: name.clone(),
            mutable,
            args,
            ret,
            ret_kind,
            fallible,
            since: since.map(LitStr::value),
        })
    }
}

/// For `Result<T, E>`: `Some(Ok(T))` when `E` is `rivet::Error` (a path
/// ending in `Error`), `Some(Err(span of E))` otherwise; `None` for any
/// other type.
fn rivet_result(ty: &Type) -> Option<Result<Type, proc_macro2::Span>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(angle) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = angle
        .args
        .iter()
        .filter_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect();
    match types.as_slice() {
        [ok, Type::Path(error)]
            if error
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Error") =>
        {
            Some(Ok((*ok).clone()))
        }
        [_, error] => Some(Err(error.span())),
        _ => Some(Err(angle.span())),
    }
}

fn is_semver(version: &str) -> bool {
    version.split('.').count() == 3 && parse_version(version).is_some()
}

/// `MAJOR.MINOR.PATCH` or `MAJOR.MINOR` (patch 0) as numbers.
fn parse_version(version: &str) -> Option<[u64; 3]> {
    let parts: Vec<u64> = version
        .split('.')
        .map(|part| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [major, minor] => Some([*major, *minor, 0]),
        [major, minor, patch] => Some([*major, *minor, *patch]),
        _ => None,
    }
}

/// Removes the method's `#[rivet(since = "...")]` (the emitted trait keeps
/// no `#[rivet]` attribute) and returns the version.
fn take_since(attrs: &mut Vec<syn::Attribute>) -> syn::Result<Option<LitStr>> {
    let mut since = None;
    let mut error = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident("rivet") {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("since") {
                since = Some(meta.value()?.parse::<LitStr>()?);
                Ok(())
            } else {
                Err(meta.error("expected `since = \"MAJOR.MINOR\"`"))
            }
        });
        if let Err(parsed) = parsed {
            error.get_or_insert(parsed);
        }
        false
    });
    match error {
        Some(error) => Err(error),
        None => Ok(since),
    }
}

/// A method added in `since` belongs to the interface's major version (for
/// 0.x, to its minor version), after its first release and not after
/// `version`.
fn check_since(since: &LitStr, version: &[u64; 3], written: &str) -> syn::Result<()> {
    let refuse = |what: String| Err(syn::Error::new(since.span(), what));
    let Some(parsed) = parse_version(&since.value()) else {
        return refuse("`since` is the interface version that added the method, `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`".to_owned());
    };
    let series = if version[0] == 0 { 2 } else { 1 };
    let first = if version[0] == 0 {
        [0, version[1], 0]
    } else {
        [version[0], 0, 0]
    };
    if parsed[..series] != version[..series] || parsed <= first {
        return refuse(format!(
            "a method added in {} cannot be in interface version {written}: methods are added in a minor version of the same major version; a method of the first release needs no `since`, and changing the major version starts over",
            since.value()
        ));
    }
    if parsed > *version {
        return refuse(format!(
            "a method added in {} cannot be in interface version {written}; raise the interface's version to {} or more",
            since.value(),
            since.value()
        ));
    }
    Ok(())
}

/// Methods with `since` come after all the others, oldest first: the vtable
/// only grows at its end.
fn check_order(before: &[Method], method: &Method, sig: &syn::Signature) -> syn::Result<()> {
    let Some(last) = before.last() else {
        return Ok(());
    };
    let refuse = |what: &str| {
        Err(syn::Error::new(
            sig.ident.span(),
            format!("method `{}`: {what}", sig.ident),
        ))
    };
    match (&last.since, &method.since) {
        (Some(_), None) => refuse(
            "methods added in later versions (`#[rivet(since = ...)]`) come after all the others; move this method before them, or mark it with the version that added it",
        ),
        (Some(previous), Some(since)) if parse_version(since) < parse_version(previous) => {
            refuse(&format!(
                "added in {since}, it comes after a method added in {previous}; methods are added at the end, oldest version first"
            ))
        }
        _ => Ok(()),
    }
}

/// `ImageFilter` → `image_filter`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (index, ch) in name.char_indices() {
        if ch.is_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trait_names_become_snake_case() {
        assert_eq!(snake_case("ImageFilter"), "image_filter");
        assert_eq!(snake_case("Probe"), "probe");
    }

    #[test]
    fn versions_are_three_numbers() {
        assert!(is_semver("1.0.0"));
        assert!(!is_semver("1.0") && !is_semver("1.x.0") && !is_semver("1..0"));
        assert_eq!(parse_version("1.1"), Some([1, 1, 0]));
    }

    #[test]
    fn added_methods_belong_to_a_later_minor_version() {
        let check = |since: &str, version: &str| {
            let since = LitStr::new(since, proc_macro2::Span::call_site());
            check_since(&since, &parse_version(version).unwrap(), version).is_ok()
        };
        assert!(check("1.1", "1.1.0") && check("1.1", "1.3.2") && check("1.0.1", "1.1.0"));
        assert!(!check("1.0", "1.1.0"), "the first release needs no since");
        assert!(!check("1.2", "1.1.0"), "later than the interface");
        assert!(!check("2.1", "1.1.0") && !check("1.x", "1.1.0"));
        assert!(check("0.3.1", "0.3.2") && !check("0.2.1", "0.3.2"));
    }
}
