//! Binary PPM (P6) images with 8-bit channels: a header, then RGB bytes.

use std::fmt;

/// An RGB image.
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes, row by row.
    pub pixels: Vec<u8>,
}

/// Why bytes are not a P6 image this program reads.
#[derive(Debug)]
pub struct FormatError(String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a binary PPM (P6) image with 8-bit channels: {}",
            self.0
        )
    }
}

impl std::error::Error for FormatError {}

impl Image {
    /// Parses a P6 file: `P6`, width, height, maximum value 255, each
    /// separated by whitespace or `#` comments, one whitespace byte, pixels.
    pub fn parse(bytes: &[u8]) -> Result<Image, FormatError> {
        let mut at = 0;
        let mut fields = [0u32; 3];
        if !bytes.starts_with(b"P6") {
            return Err(FormatError("it does not start with `P6`".to_owned()));
        }
        at += 2;
        for field in &mut fields {
            loop {
                match bytes.get(at) {
                    Some(b'#') => {
                        while bytes.get(at).is_some_and(|&b| b != b'\n') {
                            at += 1;
                        }
                    }
                    Some(b) if b.is_ascii_whitespace() => at += 1,
                    _ => break,
                }
            }
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            *field = std::str::from_utf8(&bytes[start..at])
                .ok()
                .and_then(|digits| digits.parse().ok())
                .ok_or_else(|| FormatError(format!("no number at byte {start}")))?;
        }
        let [width, height, max] = fields;
        if max != 255 {
            return Err(FormatError(format!("maximum value {max}, not 255")));
        }
        let pixels = &bytes[(at + 1).min(bytes.len())..];
        let expected = width as usize * height as usize * 3;
        if pixels.len() != expected {
            return Err(FormatError(format!(
                "{} bytes of pixels for {width}x{height}, which needs {expected}",
                pixels.len()
            )));
        }
        Ok(Image {
            width,
            height,
            pixels: pixels.to_vec(),
        })
    }

    /// The image as a P6 file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("P6\n{} {}\n255\n", self.width, self.height).into_bytes();
        out.extend_from_slice(&self.pixels);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip_and_comments_are_skipped() {
        let image = Image::parse(b"P6 # a comment\n2 1\n255\n\x01\x02\x03\x04\x05\x06").unwrap();
        assert_eq!((image.width, image.height), (2, 1));
        assert_eq!(
            Image::parse(&image.to_bytes()).unwrap().pixels,
            image.pixels
        );
        assert!(Image::parse(b"P6 2 1 255\n\x01").is_err());
        assert!(Image::parse(b"P3 1 1 255\n\x01\x02\x03").is_err());
    }
}
