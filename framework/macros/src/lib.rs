//! The procedural macro of the Rivet framework: `#[rivet::interface]`.
//!
//! Use it through the `rivet` crate, which documents it and re-exports it;
//! the generated code names `::rivet` and `::abi_stable`.

mod expand;
mod model;
mod types;

use proc_macro::TokenStream;

/// Turns a trait into a Rivet plugin interface; see `rivet::interface`.
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
