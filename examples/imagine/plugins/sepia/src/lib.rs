//! The `sepia` filter of `imagine`: the classic sepia tone matrix.

use imagine_interface::{ImageFilter, check_size};

/// Sepia toning; takes no configuration.
#[derive(Default)]
pub struct Sepia;

impl ImageFilter for Sepia {
    fn describe(&self) -> String {
        "sepia: warm brown tones".to_owned()
    }

    fn apply(&self, pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error> {
        check_size(pixels, width, height)?;
        for pixel in pixels.chunks_exact_mut(3) {
            let [r, g, b] = [pixel[0], pixel[1], pixel[2]].map(f32::from);
            let tone = |kr: f32, kg: f32, kb: f32| (kr * r + kg * g + kb * b).min(255.0) as u8;
            pixel[0] = tone(0.393, 0.769, 0.189);
            pixel[1] = tone(0.349, 0.686, 0.168);
            pixel[2] = tone(0.272, 0.534, 0.131);
        }
        Ok(())
    }
}

rivet::export!(ImageFilter => Sepia);
