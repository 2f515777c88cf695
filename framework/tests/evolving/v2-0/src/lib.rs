//! `Evolving` 2.0.0: a breaking change (`double` takes and returns `u32`).

#[rivet::interface(version = "2.0.0")]
pub trait Evolving {
    /// The interface version the plugin was built against, as it says it.
    fn built_against(&self) -> String;
    /// `value` times two.
    fn double(&self, value: u32) -> u32;
}
