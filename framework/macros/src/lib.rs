//! The procedural macros of the Rivet framework: `#[rivet::interface]` and
//! `#[rivet::host]`.
//!
//! Use it through the `rivet` crate, which documents it and re-exports it;
//! the generated code names `::rivet` and `::abi_stable`.

mod expand;
mod model;
mod types;

use proc_macro::TokenStream;

/// Turns a trait into a Rivet plugin interface:
/// `#[rivet::interface(version = "1.0.0")]`, optionally with
/// `name = "..."` (the name in plugin file names; the trait's name in snake
/// case by default).
///
/// A method added in a later minor version of the interface comes after
/// the others and is marked with that version, `#[rivet(since = "1.1")]`:
/// calling it on a plugin built against an earlier version is
/// `Err(rivet::Error::Unsupported)`. The repository's README ("Define your
/// own plugin interface") says what is generated and how each type crosses.
#[proc_macro_attribute]
pub fn interface(attr: TokenStream, item: TokenStream) -> TokenStream {
    let trait_item = syn::parse_macro_input!(item as syn::ItemTrait);
    let mut args = model::Args::default();
    let parser = syn::meta::parser(|meta| args.parse(meta));
    syn::parse_macro_input!(attr with parser);
    match model::Interface::new(args, trait_item) {
        Ok(interface) => expand::expand(&interface).into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Turns a trait into a Rivet host trait, which an interface names
/// (`#[rivet::interface(version = "1.0.0", host = Progress)]`): the host
/// implements it and hands its object to each plugin at creation
/// (`Loader::load_with_host`); the plugin receives the generated client
/// (`ProgressHost` for `Progress`; from
/// `rivet::export!(Worker => MyWorker, create_with_host = MyWorker::new)`)
/// and calls the host through it, in-process or isolated. Methods take
/// `&self`, with the same types as an interface's; every method of the
/// client returns `Result<_, rivet::Error>` (a host that panics, or gave no
/// object, is an error value), and the client implements the trait itself
/// when every method already does.
#[proc_macro_attribute]
pub fn host(attr: TokenStream, item: TokenStream) -> TokenStream {
    let trait_item = syn::parse_macro_input!(item as syn::ItemTrait);
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr)
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span()),
            "#[rivet::host] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    match model::Interface::new_host(trait_item) {
        Ok(host) => expand::expand_host(&host).into(),
        Err(error) => error.to_compile_error().into(),
    }
}
