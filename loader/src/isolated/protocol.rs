//! The wire protocol between a host and a plugin server.
//!
//! Every message is a frame: a 4-byte little-endian length, then that many
//! bytes of [postcard](https://docs.rs/postcard) (compact binary serde). A
//! frame longer than [`MAX_FRAME`] is refused before anything is allocated
//! for it, and a frame's buffer grows as its bytes arrive (a peer announcing
//! a large frame and sending nothing costs nothing); a frame that does not
//! decode is a protocol error. Either closes the connection.
//!
//! Before any frame, the server announces itself with one handshake line on
//! its stdout (see [`handshake_line`]), as go-plugin does: the protocol
//! version and the socket to connect to, or why the plugin did not load.
//! Then the host opens connections to the socket as it needs them (one per
//! concurrent caller); on each, it sends a [`Request`] and reads
//! [`Response`]s (UI lines, log records) until the [`Response::Reply`].

use rivet_interface::{Artifact, ErrorKind, PluginKind};
use serde::{Deserialize, Serialize};

pub use rivet_abi::frame::{FrameError, MAX_FRAME, read_frame, write_frame};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The first line a plugin server prints on stdout: `RIVET-PLUGIN|1|ok|SOCKET`
/// when the plugin loaded, `RIVET-PLUGIN|1|error|MESSAGE` when it did not.
pub fn handshake_line(result: Result<&str, &str>) -> String {
    let (status, text) = match result {
        Ok(socket) => ("ok", socket),
        Err(message) => ("error", message),
    };
    let text = text.replace(['\n', '\r'], " ");
    format!("{HANDSHAKE_PREFIX}|{PROTOCOL_VERSION}|{status}|{text}")
}

const HANDSHAKE_PREFIX: &str = "RIVET-PLUGIN";

/// A parsed handshake line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// The plugin loaded; connect to this socket.
    Ready(String),
    /// The plugin did not load, for this reason.
    Failed(String),
}

/// Why a handshake line is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// Not a Rivet handshake at all.
    #[error("it did not print a Rivet handshake (first line: {0:?})")]
    NotAHandshake(String),
    /// Another protocol version.
    #[error(
        "it speaks plugin protocol {found}, this host speaks {expected}; use the rivet-plugin-server built with this host"
    )]
    Version {
        /// The server's version.
        found: String,
        /// The host's version.
        expected: u32,
    },
}

/// Parses the server's handshake line (host side).
pub fn parse_handshake(line: &str) -> Result<Handshake, HandshakeError> {
    let line = line.trim_end();
    let mut parts = line.splitn(4, '|');
    let (Some(HANDSHAKE_PREFIX), Some(version), Some(status), Some(text)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HandshakeError::NotAHandshake(
            line.chars().take(80).collect(),
        ));
    };
    if version != PROTOCOL_VERSION.to_string() {
        return Err(HandshakeError::Version {
            found: version.to_owned(),
            expected: PROTOCOL_VERSION,
        });
    }
    match status {
        "ok" => Ok(Handshake::Ready(text.to_owned())),
        "error" => Ok(Handshake::Failed(text.to_owned())),
        _ => Err(HandshakeError::NotAHandshake(
            line.chars().take(80).collect(),
        )),
    }
}

/// A message from the host to the server, on one connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// A call; the reply carries the same id.
    Call {
        /// The request id.
        id: u64,
        /// What to do.
        call: Call,
    },
    /// Finish: the server exits.
    Shutdown,
}

/// A call on a plugin instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Call {
    /// Who the plugin is: answered with [`Output::Metadata`].
    Describe,
    /// Prepare instance `instance` from its configuration.
    Prepare {
        /// The host's id for the instance.
        instance: u64,
        /// JSON configuration.
        config: String,
        /// The base directory for relative paths.
        base_dir: String,
    },
    /// Forget an instance.
    Drop {
        /// The instance.
        instance: u64,
    },
    /// `Builder::build`.
    Build {
        /// The instance.
        instance: u64,
    },
    /// `Provisioner::provision`.
    Provision {
        /// The instance.
        instance: u64,
        /// The artifact.
        artifact: Artifact,
    },
    /// `PostProcessor::post_process`.
    PostProcess {
        /// The instance.
        instance: u64,
        /// The input artifact.
        artifact: Artifact,
    },
    /// `Command::synopsis`.
    Synopsis {
        /// The instance.
        instance: u64,
    },
    /// `Command::help`.
    Help {
        /// The instance.
        instance: u64,
    },
    /// `Command::run`.
    Run {
        /// The instance.
        instance: u64,
        /// The arguments.
        args: Vec<String>,
    },
}

/// A message from the server to the host, on one connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The answer to call `id`.
    Reply {
        /// The request id.
        id: u64,
        /// The result.
        result: Result<Output, WireError>,
    },
    /// A UI line.
    Ui {
        /// Which kind of line.
        level: UiLevel,
        /// The text.
        line: String,
    },
    /// Progress of the current step.
    Progress {
        /// Units done.
        done: u64,
        /// Units in all.
        total: u64,
    },
    /// A log record from the plugin.
    Log {
        /// `log::Level` as a number (1 = error .. 5 = trace).
        level: u8,
        /// The record's target.
        target: String,
        /// The message.
        message: String,
    },
}

/// The kind of a UI line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UiLevel {
    /// `Ui::say`.
    Say,
    /// `Ui::message`.
    Message,
    /// `Ui::error`.
    Error,
}

/// The successful result of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// Nothing (prepare, drop).
    Unit,
    /// An artifact (build, provision, post-process).
    Artifact(Artifact),
    /// Text (synopsis, help).
    Text(String),
    /// An exit status (run).
    Code(i32),
    /// Who the plugin is (describe).
    Metadata(WireMetadata),
}

/// A failed call, as the plugin reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// The plugin error's kind; `None` for a failure of the server itself
    /// (an unknown instance, a wrong-kind call).
    pub kind: Option<ErrorKind>,
    /// The message.
    pub message: String,
}

/// What the plugin says about itself, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMetadata {
    /// Its kind.
    pub kind: PluginKind,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its description.
    pub description: String,
    /// The interface version it was built against.
    pub interface_version: String,
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read};

    use super::*;

    #[test]
    fn messages_round_trip() {
        let mut wire = Vec::new();
        let call = Request::Call {
            id: 7,
            call: Call::Run {
                instance: 1,
                args: vec!["a".into()],
            },
        };
        write_frame(&mut wire, &call).unwrap();
        write_frame(&mut wire, &Request::Shutdown).unwrap();
        let mut input = wire.as_slice();
        let first: Request = read_frame(&mut input).unwrap().unwrap();
        assert!(matches!(first, Request::Call { id: 7, .. }));
        assert!(matches!(
            read_frame(&mut input).unwrap(),
            Some(Request::Shutdown)
        ));
        assert!(read_frame::<Request>(&mut input).unwrap().is_none());
    }

    #[test]
    fn oversized_frames_are_refused_before_allocating() {
        let mut input: &[u8] = &(u32::MAX).to_le_bytes();
        assert!(matches!(
            read_frame::<Request>(&mut input),
            Err(FrameError::TooLarge(_))
        ));
    }

    /// A peer that announces the largest frame, then sends `sent` bytes and
    /// ends; records the largest buffer a read was given.
    struct Announcer {
        header: [u8; 4],
        sent: usize,
        position: usize,
        largest_buffer: usize,
    }

    impl Read for Announcer {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if self.position < 4 {
                buffer[0] = self.header[self.position];
                self.position += 1;
                return Ok(1);
            }
            self.largest_buffer = self.largest_buffer.max(buffer.len());
            let n = buffer.len().min(self.sent + 4 - self.position);
            buffer[..n].fill(0);
            self.position += n;
            Ok(n)
        }
    }

    #[test]
    fn a_frame_s_buffer_grows_with_its_bytes_not_its_announced_length() {
        let mut peer = Announcer {
            header: (MAX_FRAME as u32).to_le_bytes(),
            sent: 100_000,
            position: 0,
            largest_buffer: 0,
        };

        let error = read_frame::<Request>(&mut peer).unwrap_err();

        assert!(
            matches!(&error, FrameError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{error:?}"
        );
        assert_eq!(peer.position, 4 + 100_000, "every byte sent was read");
        // The buffer never ran far ahead of what had arrived.
        assert!(
            peer.largest_buffer <= 2 * 100_000,
            "{}",
            peer.largest_buffer
        );
    }

    #[test]
    fn truncated_and_malformed_frames_are_errors() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &Request::Shutdown).unwrap();
        wire.extend_from_slice(&10u32.to_le_bytes());
        wire.extend_from_slice(b"abc");
        let mut input = wire.as_slice();
        read_frame::<Request>(&mut input).unwrap();
        assert!(matches!(
            read_frame::<Request>(&mut input),
            Err(FrameError::Io(_))
        ));

        let mut garbage: &[u8] = &[3, 0, 0, 0, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame::<Request>(&mut garbage),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn handshake_lines_round_trip() {
        let ok = handshake_line(Ok("/tmp/x/plugin.sock"));
        assert_eq!(
            parse_handshake(&ok),
            Ok(Handshake::Ready("/tmp/x/plugin.sock".into()))
        );
        let failed = handshake_line(Err("bad\nfile"));
        assert_eq!(
            parse_handshake(&failed),
            Ok(Handshake::Failed("bad file".into()))
        );
        assert!(matches!(
            parse_handshake("RIVET-PLUGIN|99|ok|/s"),
            Err(HandshakeError::Version { .. })
        ));
        assert!(matches!(
            parse_handshake("hello"),
            Err(HandshakeError::NotAHandshake(_))
        ));
    }
}
