//! `Bench`: the framework interface of the benchmarks (`tests/benches/rivet.rs`).
//!
//! The bench binary implements it natively (`&dyn Bench`) and loads its
//! plugin (`tests/fixtures/framework-bench`) in-process and isolated; both
//! implementations do the same work, [`invert`], which is defined here so
//! that they run the same code.

/// Two methods: one that does nothing, and an image filter's `apply`.
#[rivet::interface(version = "1.0.0")]
pub trait Bench {
    /// Does nothing.
    fn noop(&self);
    /// Inverts `pixels` (`width * height` grey pixels, one byte each) in place.
    fn apply(&self, pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error>;
}

/// The work of `apply`: checks the size, then inverts every byte.
#[inline]
pub fn invert(pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error> {
    if pixels.len() != width as usize * height as usize {
        return Err(rivet::Error::new(format!(
            "{} bytes for {width}x{height} grey pixels",
            pixels.len()
        )));
    }
    for pixel in pixels {
        *pixel = !*pixel;
    }
    Ok(())
}
