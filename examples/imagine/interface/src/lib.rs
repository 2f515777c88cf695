//! The plugin interface of `imagine`: filters over 8-bit RGB pixels.

/// A filter over an image's pixels, 3 bytes (R, G, B) per pixel, row by row.
#[rivet::interface(version = "1.0.0")]
pub trait ImageFilter {
    /// One line saying what the filter does.
    fn describe(&self) -> String;
    /// Filters `pixels` (`width * height * 3` bytes) in place.
    fn apply(&self, pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error>;
}

/// Checks that `pixels` holds `width * height` RGB pixels, for filters.
pub fn check_size(pixels: &[u8], width: u32, height: u32) -> Result<(), rivet::Error> {
    let expected = width as usize * height as usize * 3;
    if pixels.len() == expected {
        Ok(())
    } else {
        Err(rivet::Error::new(format!(
            "{} bytes of pixels for a {width}x{height} RGB image, which has {expected}",
            pixels.len()
        )))
    }
}
