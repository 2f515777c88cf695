//! The procedural macro of the Rivet framework: `#[rivet::interface]`.
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
