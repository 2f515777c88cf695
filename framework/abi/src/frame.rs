//! Length-prefixed postcard frames, the transport of every Rivet process
//! protocol (the `rivet` CLI's isolated mode and the framework's).
//!
//! A frame is a 4-byte little-endian length, then that many bytes of
//! [postcard](https://docs.rs/postcard) (compact binary serde). A frame
//! longer than [`MAX_FRAME`] is refused before anything is allocated for it,
//! and a frame's buffer grows as its bytes arrive (a peer announcing a large
//! frame and sending nothing costs nothing); a frame that does not decode is
//! a protocol error.

use std::io::{self, IoSlice, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest frame accepted, in bytes (64 MiB).
pub const MAX_FRAME: usize = 64 << 20;

/// How much of an announced frame is allocated before its bytes arrive: a
/// whole frame up to 1 MiB, so a message that size takes one allocation
/// and no copy (a 64 KiB payload used to be copied once more when the
/// buffer grew); beyond it the buffer grows with what is read, so a peer
/// announcing a huge frame gets no more than this before it sends it.
const FIRST_ALLOCATION: usize = 1 << 20;

/// What can go wrong reading or writing frames.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed or closed mid-frame.
    #[error("connection error: {0}")]
    Io(#[from] io::Error),
    /// A frame announced more than [`MAX_FRAME`] bytes.
    #[error("a frame of {0} bytes exceeds the limit of {MAX_FRAME} bytes")]
    TooLarge(usize),
    /// A frame's bytes do not decode as the expected message.
    #[error("a malformed frame: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Writes one message as a frame: the length prefix and the encoded message
/// go out in one vectored write (no copy of the message into a frame buffer).
pub fn write_frame<T: Serialize>(out: &mut impl Write, message: &T) -> Result<(), FrameError> {
    let body = postcard::to_stdvec(message)?;
    if body.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(body.len()));
    }
    let header = (body.len() as u32).to_le_bytes();
    let written = loop {
        match out.write_vectored(&[IoSlice::new(&header), IoSlice::new(&body)]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    };
    // A short write (a large body, a full socket buffer): send the rest.
    if written < header.len() {
        out.write_all(&header[written..])?;
    }
    out.write_all(&body[written.saturating_sub(header.len())..])?;
    out.flush()?;
    Ok(())
}

/// Reads one frame and decodes it; `Ok(None)` at a clean end of stream
/// (between frames).
pub fn read_frame<T: DeserializeOwned>(input: &mut impl Read) -> Result<Option<T>, FrameError> {
    let Some(body) = read_raw(input)? else {
        return Ok(None);
    };
    Ok(Some(postcard::from_bytes(&body)?))
}

fn read_raw(input: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = Vec::with_capacity(len.min(FIRST_ALLOCATION));
    input.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that counts what is read from it, and the largest buffer
    /// it was handed.
    struct Counting<'a> {
        bytes: &'a [u8],
        read: usize,
        largest: usize,
    }

    impl<'a> Counting<'a> {
        fn new(bytes: &'a [u8]) -> Self {
            Counting {
                bytes,
                read: 0,
                largest: 0,
            }
        }
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            let n = self.bytes.read(buf)?;
            self.read += n;
            Ok(n)
        }
    }

    #[test]
    fn frames_round_trip() {
        let mut out = Vec::new();
        write_frame(&mut out, &("hello".to_owned(), 7u32)).unwrap();
        let mut input = out.as_slice();
        let back: Option<(String, u32)> = read_frame(&mut input).unwrap();
        assert_eq!(back, Some(("hello".to_owned(), 7)));
        assert!(read_frame::<(String, u32)>(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_2_gib_frame_length_is_refused_after_its_header_alone() {
        let mut bytes = 0x7fff_ffffu32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 100]);
        let mut input = Counting::new(&bytes);
        let error = read_frame::<Vec<u8>>(&mut input).unwrap_err();
        assert!(
            matches!(error, FrameError::TooLarge(0x7fff_ffff)),
            "{error}"
        );
        assert_eq!(input.read, 4, "read past the header");
        assert!(matches!(
            read_raw(&mut &((MAX_FRAME + 1) as u32).to_le_bytes()[..]),
            Err(FrameError::TooLarge(_))
        ));
    }

    #[test]
    fn a_frame_announced_but_not_sent_costs_what_arrived() {
        // 60 MiB announced, 10 bytes sent: an error, after a buffer of the
        // first allocation, not of 60 MiB.
        let mut bytes = (60u32 << 20).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[1; 10]);
        let mut input = Counting::new(&bytes);
        let error = read_raw(&mut input).unwrap_err();
        assert!(
            matches!(&error, FrameError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{error}"
        );
        assert!(input.largest <= FIRST_ALLOCATION, "{}", input.largest);
    }

    #[test]
    fn a_message_over_the_limit_is_not_written() {
        let mut out = Vec::new();
        let body = serde_bytes::ByteBuf::from(vec![0u8; MAX_FRAME + 1]);
        let error = write_frame(&mut out, &body).unwrap_err();
        assert!(matches!(error, FrameError::TooLarge(_)), "{error}");
        assert!(out.is_empty());
    }
}
