//! Lines of a plugin's output, read with bounded memory.

use std::io::{BufRead, Read};

/// The longest line of a plugin's output kept, in bytes: the rest of a
/// longer line is read and dropped, so a plugin printing without newlines
/// costs the host no more than this.
pub const MAX_LINE: usize = 64 << 10;

/// One line of a plugin's output, without its line ending; bytes that are
/// not UTF-8 are replaced, never a reason to stop reading (a reader that
/// stopped would close the pipe and break the plugin's next write). A line
/// longer than [`MAX_LINE`] is cut there and ends with a note of how many
/// bytes were dropped.
pub fn read_line_lossy(input: &mut impl BufRead) -> Option<String> {
    // Up to a newline or MAX_LINE bytes, whichever comes first (std's
    // `read_until` retries interrupted reads and keeps what it read before
    // an error).
    let mut piece =
        |buffer: &mut Vec<u8>| Read::take(&mut *input, MAX_LINE as u64).read_until(b'\n', buffer);
    let mut bytes = Vec::new();
    let _ = piece(&mut bytes);
    if bytes.is_empty() {
        return None;
    }
    let mut dropped = 0;
    if bytes.len() == MAX_LINE && bytes.last() != Some(&b'\n') {
        // The line goes on: read the rest, a bounded piece at a time.
        let mut rest = Vec::new();
        loop {
            rest.clear();
            if !matches!(piece(&mut rest), Ok(1..)) {
                break;
            }
            let ended = rest.last() == Some(&b'\n');
            dropped += rest.len() - usize::from(ended);
            if ended {
                break;
            }
        }
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    let mut line = String::from_utf8_lossy(&bytes).into_owned();
    if dropped > 0 {
        line.push_str(&format!(
            " [line cut at {MAX_LINE} bytes: {dropped} more dropped]"
        ));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    #[test]
    fn output_lines_are_read_lossily_to_the_end() {
        let mut input: &[u8] = b"one\r\nt\xffo\nlast";
        let mut lines = Vec::new();
        while let Some(line) = read_line_lossy(&mut input) {
            lines.push(line);
        }
        assert_eq!(lines, ["one", "t\u{fffd}o", "last"]);
    }

    #[test]
    fn long_output_lines_are_cut_with_a_note() {
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\r\nnext\n");
        // A small buffer: the line arrives in many pieces.
        let mut input = BufReader::with_capacity(1000, long.as_slice());

        let first = read_line_lossy(&mut input).unwrap();

        assert_eq!(first.len() - first.trim_start_matches('x').len(), MAX_LINE);
        assert!(
            first.ends_with(&format!("[line cut at {MAX_LINE} bytes: 11 more dropped]")),
            "{}",
            &first[MAX_LINE..]
        );
        assert_eq!(read_line_lossy(&mut input).unwrap(), "next");
        assert_eq!(read_line_lossy(&mut input), None);
    }
}
