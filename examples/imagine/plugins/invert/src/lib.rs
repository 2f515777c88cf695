//! The `invert` filter of `imagine`: a negative, blended with the original
//! by a configurable strength.

use imagine_interface::{ImageFilter, check_size};
use serde::Deserialize;

/// The configuration: `{"strength": 0.5}` (default 1, a full negative).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvertConfig {
    #[serde(default = "full")]
    strength: f32,
}

fn full() -> f32 {
    1.0
}

/// The negative, at `strength` (0 leaves the image as it is).
pub struct Invert {
    strength: f32,
}

impl Invert {
    /// Creates the filter, refusing a strength outside 0..=1.
    pub fn new(config: InvertConfig) -> Result<Invert, rivet::Error> {
        if !(0.0..=1.0).contains(&config.strength) {
            return Err(rivet::Error::new(format!(
                "strength {} is outside 0..=1",
                config.strength
            )));
        }
        Ok(Invert {
            strength: config.strength,
        })
    }
}

impl ImageFilter for Invert {
    fn describe(&self) -> String {
        format!("invert: a negative at strength {}", self.strength)
    }

    fn apply(&self, pixels: &mut [u8], width: u32, height: u32) -> Result<(), rivet::Error> {
        check_size(pixels, width, height)?;
        for value in pixels.iter_mut() {
            let original = f32::from(*value);
            let inverted = 255.0 - original;
            *value = (original + (inverted - original) * self.strength).round() as u8;
        }
        Ok(())
    }
}

rivet::export!(ImageFilter => Invert, create = Invert::new);
