//! `Evolving` 1.1.0: 1.0.0 and a method added at the end.

#[rivet::interface(version = "1.1.0")]
pub trait Evolving {
    /// The interface version the plugin was built against, as it says it.
    fn built_against(&self) -> String;
    /// `value` times two.
    fn double(&self, value: u64) -> u64;
    /// `text` in capitals, or an error for empty text.
    #[rivet(since = "1.1")]
    fn shout(&self, text: &str) -> Result<String, rivet::Error>;
}
