//! `Evolving` 1.0.0: the first release.

#[rivet::interface(version = "1.0.0")]
pub trait Evolving {
    /// The interface version the plugin was built against, as it says it.
    fn built_against(&self) -> String;
    /// `value` times two.
    fn double(&self, value: u64) -> u64;
}
