//! The `checksum` post-processor: writes the SHA-256 sums of the artifact's
//! files into the artifact, in `sha256sum` format.
//!
//! ```toml
//! [["post-processors"]]
//! plugin = "checksum"
//! [post-processors.config]
//! file = "SHA256SUMS"   # optional: the sums file's name, in the artifact's root
//! ```
//!
//! The sums file has one line per file, sorted by path, exactly as
//! `sha256sum` writes them (`<64 hex digits>  <relative path>`), so
//! `sha256sum -c SHA256SUMS` run in the artifact's root checks them. A path
//! holding a backslash or a newline is escaped as `sha256sum` does (the line
//! starts with `\`). The sums file itself is not listed. It is written to a
//! temporary file and renamed into place, and added to the artifact's files.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rivet_interface::{Artifact, Context, Error, Plugin, PostProcessor, Ui};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The sums file's name when the configuration gives none.
pub const DEFAULT_FILE: &str = "SHA256SUMS";

/// The configuration of the `checksum` post-processor (the `config` table
/// of its step).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The name of the sums file, written in the artifact's root (default
    /// `SHA256SUMS`); a plain file name, without `/`.
    #[serde(default)]
    pub file: Option<String>,
}

/// The `checksum` post-processor, prepared from a valid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The sums file's name.
    file: String,
}

impl Plugin for Checksum {
    const NAME: &'static str = "checksum";
    const DESCRIPTION: &'static str = "Writes a sha256sum-style SHA256SUMS file into the artifact";
}

impl PostProcessor for Checksum {
    type Config = Config;

    fn prepare(config: Config, _context: &Context) -> Result<Self, Error> {
        let file = config.file.unwrap_or_else(|| DEFAULT_FILE.to_owned());
        if file.is_empty() || file == "." || file == ".." || file.contains(['/', '\\', '\0']) {
            return Err(Error::config(format!(
                "`file` = {file:?} is not a plain file name; expected a name for the sums \
                 file in the artifact's root, without `/`, such as \"{DEFAULT_FILE}\""
            )));
        }
        Ok(Checksum { file })
    }

    fn post_process(&self, ui: &Ui, mut input: Artifact) -> Result<Artifact, Error> {
        let mut files: Vec<&String> = input.files.iter().filter(|f| **f != self.file).collect();
        files.sort();
        files.dedup();
        let total = files.len() as u64;
        log::debug!("hashing {total} files of artifact `{}`", input.id);

        let target = input.path_inside(&self.file)?;
        let (path, file) =
            input.create_file(format!(".{}.rivet-tmp-{}", self.file, std::process::id()))?;
        let temp = TempFile { path };
        let write_failed = |error| {
            Error::io(
                "write the sums file",
                &temp.path,
                error,
                "check that you may write in the artifact's root and the disk is not full",
            )
        };
        let mut out = BufWriter::new(file);
        for (done, file) in files.iter().enumerate() {
            let path = input.root.join(file);
            let digest = sha256_file(&path).map_err(|error| {
                Error::io(
                    "hash",
                    &path,
                    error,
                    "check that the file exists and is readable (did a step remove it \
                     without rescanning the artifact?)",
                )
            })?;
            out.write_all(sum_line(&digest, file).as_bytes())
                .map_err(write_failed)?;
            ui.progress(done as u64 + 1, total);
        }
        out.into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(write_failed)?;
        fs::rename(&temp.path, &target).map_err(|error| {
            Error::io(
                "move the sums file into place at",
                &target,
                error,
                "check that it is not a directory",
            )
        })?;

        ui.say(format!(
            "Wrote the SHA-256 sums of {total} files to {}",
            target.display()
        ));
        input.files.push(self.file.clone());
        input.files.sort();
        input.files.dedup();
        input.metadata.insert("checksums".into(), self.file.clone());
        Ok(input)
    }
}

rivet_interface::export_post_processor!(Checksum);

/// The SHA-256 digest of the file at `path`, read in blocks.
fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(hasher.finalize().into())
}

/// One line of a `sha256sum` listing, with its newline: the digest in lower
/// case hex, two spaces and the path; a path holding `\` or a newline is
/// escaped and the line prefixed with `\`, as `sha256sum` does.
fn sum_line(digest: &[u8; 32], path: &str) -> String {
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    if path.contains(['\\', '\n']) {
        let escaped = path.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{hex}  {escaped}\n")
    } else {
        format!("{hex}  {path}\n")
    }
}

/// A temporary file removed on drop (a no-op once it has been renamed).
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    use rivet_interface::ErrorKind;
    use rivet_interface::testing::{RecordingUi, UiEvent};

    fn site(root: &Path) -> Artifact {
        fs::create_dir_all(root.join("css")).unwrap();
        fs::write(root.join("index.html"), "<h1>hi</h1>\n").unwrap();
        fs::write(root.join("css/main.css"), "").unwrap();
        Artifact::from_dir("site", root).unwrap()
    }

    fn checksum(file: Option<&str>) -> Result<Checksum, Error> {
        let config = Config {
            file: file.map(Into::into),
        };
        Checksum::prepare(config, &Context::new("/unused"))
    }

    #[test]
    fn prepare_wants_a_plain_file_name() {
        for bad in ["", ".", "..", "sums/SHA256SUMS", "../SUMS", "/SUMS"] {
            let error = checksum(Some(bad)).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config);
            assert!(error.message().contains("not a plain file name"), "{error}");
        }
        assert_eq!(checksum(None).unwrap().file, "SHA256SUMS");
        let error = serde_json::from_str::<Config>(r#"{"algorithm": "md5"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `algorithm`"));
    }

    #[test]
    fn writes_sorted_sha256sum_lines_and_lists_the_file() {
        let temp = tempfile::tempdir().unwrap();
        let mut input = site(temp.path());
        input.metadata.insert("builder".into(), "dir".into());
        let recorder = RecordingUi::default();
        let output = checksum(None)
            .unwrap()
            .post_process(&recorder.ui(), input)
            .unwrap();

        assert_eq!(output.files, ["SHA256SUMS", "css/main.css", "index.html"]);
        assert_eq!(output.metadata["checksums"], "SHA256SUMS");
        assert_eq!(output.metadata["builder"], "dir");
        let sums = fs::read_to_string(temp.path().join("SHA256SUMS")).unwrap();
        // The first digest is the well-known one of empty input.
        let expected = format!(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  css/main.css\n\
             {}  index.html\n",
            sha256_hex(b"<h1>hi</h1>\n")
        );
        assert_eq!(sums, expected);
        assert_eq!(
            recorder.events()[..2],
            [
                UiEvent::Progress { done: 1, total: 2 },
                UiEvent::Progress { done: 2, total: 2 }
            ]
        );
        let names: Vec<_> = fs::read_dir(temp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("rivet-tmp"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn running_twice_excludes_the_sums_file_itself() {
        let temp = tempfile::tempdir().unwrap();
        let plugin = checksum(Some("sums.txt")).unwrap();
        let ui = RecordingUi::default().ui();
        let first = plugin.post_process(&ui, site(temp.path())).unwrap();
        let before = fs::read(temp.path().join("sums.txt")).unwrap();
        let second = plugin.post_process(&ui, first.clone()).unwrap();
        assert_eq!(second.files, first.files);
        assert_eq!(fs::read(temp.path().join("sums.txt")).unwrap(), before);
    }

    #[test]
    fn sha256sum_accepts_the_file() {
        if Command::new("sha256sum").arg("--version").output().is_err() {
            return;
        }
        let temp = tempfile::tempdir().unwrap();
        checksum(None)
            .unwrap()
            .post_process(&RecordingUi::default().ui(), site(temp.path()))
            .unwrap();
        let status = Command::new("sha256sum")
            .args(["--check", "--quiet", "SHA256SUMS"])
            .current_dir(temp.path())
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[test]
    fn a_missing_file_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let mut input = site(temp.path());
        input.files.push("gone.txt".into());
        let error = checksum(None)
            .unwrap()
            .post_process(&RecordingUi::default().ui(), input)
            .unwrap_err();
        assert!(error.message().contains("gone.txt"), "{error}");
        assert!(!temp.path().join("SHA256SUMS").exists());
    }

    #[test]
    fn odd_paths_are_escaped_like_sha256sum() {
        let digest = [0u8; 32];
        let zeros = "0".repeat(64);
        assert_eq!(sum_line(&digest, "a b"), format!("{zeros}  a b\n"));
        assert_eq!(
            sum_line(&digest, "a\\b\nc"),
            format!("\\{zeros}  a\\\\b\\nc\n")
        );
    }

    fn sha256_hex(data: &[u8]) -> String {
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
