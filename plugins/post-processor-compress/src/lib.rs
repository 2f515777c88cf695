//! The `compress` post-processor: packs the artifact into a byte-for-byte
//! deterministic `.tar.gz`.
//!
//! ```toml
//! [["post-processors"]]
//! plugin = "compress"
//! [post-processors.config]
//! output = "build/site.tar.gz"   # optional: default ROOT.tar.gz next to the artifact's root
//! level = 9                      # optional: 0 (store) to 9 (smallest), default 6
//! ```
//!
//! The archive holds the artifact's files (its `files` list) under their
//! relative paths, sorted, with every varying header field fixed: mtime 0,
//! uid/gid 0, empty user and group names, mode 0644 (0755 for executable
//! files; on platforms without Unix permissions every file is 0644). The gzip header has no timestamp or file name and an "unknown"
//! operating system, and its comment field says Rivet made it
//! ([`ARCHIVE_COMMENT`]). The same files therefore always give the same
//! bytes, whenever and wherever they are packed.
//!
//! The archive is written to a temporary file beside it and renamed into
//! place, so a failure never leaves a truncated archive. An existing file at
//! the archive's path is replaced only if it is an archive this plugin made
//! (a regular file whose gzip header carries [`ARCHIVE_COMMENT`]); anything
//! else, a link included, is refused before any work when `output` is set,
//! and before writing otherwise. The step returns a new artifact whose only
//! file is the archive.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};
use rivet_interface::{Artifact, Context, Error, Plugin, PostProcessor, Ui};
use serde::Deserialize;

/// The comment in the gzip header of every archive this plugin writes: how
/// it recognises an archive it may replace.
pub const ARCHIVE_COMMENT: &str = "made by Rivet's compress post-processor";

/// The compression level used when the configuration gives none.
pub const DEFAULT_LEVEL: u32 = 6;

/// The configuration of the `compress` post-processor (the `config` table
/// of its step).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The archive's path, relative to the template's directory; by default
    /// the artifact's root directory name plus `.tar.gz`, next to it.
    #[serde(default)]
    pub output: Option<String>,
    /// The gzip compression level, 0 to 9 (default 6).
    #[serde(default)]
    pub level: Option<u32>,
}

/// The `compress` post-processor, prepared from a valid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compress {
    /// The archive path, or `None` for the default next to the artifact.
    output: Option<PathBuf>,
    /// The gzip compression level, 0 to 9.
    level: u32,
}

impl Plugin for Compress {
    const NAME: &'static str = "compress";
    const DESCRIPTION: &'static str = "Packs the artifact into a deterministic .tar.gz archive";
}

impl PostProcessor for Compress {
    type Config = Config;

    fn prepare(config: Config, context: &Context) -> Result<Self, Error> {
        let level = config.level.unwrap_or(DEFAULT_LEVEL);
        if level > 9 {
            return Err(Error::config(format!(
                "`level` = {level} is out of range; expected 0 (no compression) to 9 \
                 (smallest archive), or leave it out for {DEFAULT_LEVEL}"
            )));
        }
        let output = match config.output {
            None => None,
            Some(text) if text.trim().is_empty() => {
                return Err(Error::config(
                    "`output` is empty; expected the archive's path, such as \
                     \"build/site.tar.gz\", or leave it out to write ROOT.tar.gz next to \
                     the artifact",
                ));
            }
            Some(text) => {
                let path = context.resolve(&text);
                if text.ends_with('/') || path.is_dir() || path.file_name().is_none() {
                    return Err(Error::config(format!(
                        "`output` = {text:?} names a directory (`{}`); expected the \
                         archive's file path, such as \"build/site.tar.gz\"",
                        path.display()
                    )));
                }
                check_replaceable(&path).map_err(|error| Error::config(error.message()))?;
                Some(path)
            }
        };
        Ok(Compress { output, level })
    }

    fn post_process(&self, ui: &Ui, input: Artifact) -> Result<Artifact, Error> {
        let archive = match &self.output {
            Some(path) => path.clone(),
            None => default_archive_path(&input.root)?,
        };
        let name = archive
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let dir = archive.parent().unwrap_or(Path::new("/")).to_path_buf();
        check_replaceable(&archive)?;
        log::debug!(
            "packing {} files of artifact `{}` into {} at level {}",
            input.files.len(),
            input.id,
            archive.display(),
            self.level
        );
        fs::create_dir_all(&dir).map_err(|error| {
            Error::io(
                "create the archive's directory",
                &dir,
                error,
                "check that you may write there, or choose another `output`",
            )
        })?;

        let (temp, file) =
            TempFile::create(dir.join(format!(".{name}.rivet-tmp-{}", std::process::id())))?;
        let total = input.files.len() as u64;
        let writer = write_archive(
            &input.root,
            &input.files,
            BufWriter::new(file),
            self.level,
            |done| ui.progress(done, total),
        )?;
        writer
            .into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(|error| {
                Error::io(
                    "write",
                    temp.path(),
                    error,
                    "check that the disk is not full",
                )
            })?;
        temp.persist(&archive)?;

        let compressed_bytes = fs::metadata(&archive)
            .map_err(|error| Error::io("inspect", &archive, error, "check the disk"))?
            .len();
        ui.say(format!(
            "Compressed {total} files of artifact `{}` into {} ({compressed_bytes} bytes)",
            input.id,
            archive.display()
        ));
        let mut metadata = input.metadata;
        metadata.insert("source_artifact".into(), input.id);
        metadata.insert("compressed_bytes".into(), compressed_bytes.to_string());
        Ok(Artifact {
            id: name.clone(),
            root: dir,
            files: vec![name],
            metadata,
        })
    }
}

rivet_interface::export_post_processor!(Compress);

/// `ROOT.tar.gz` next to the artifact's root directory `ROOT`.
fn default_archive_path(root: &Path) -> Result<PathBuf, Error> {
    match root.file_name() {
        Some(name) => {
            let mut file = name.to_owned();
            file.push(".tar.gz");
            Ok(root.with_file_name(file))
        }
        None => Err(Error::new(format!(
            "cannot name the archive after the artifact's root `{}`, which has no \
             directory name; set `output` to the archive's path",
            root.display()
        ))),
    }
}

/// Writes a deterministic gzip tar of `files` (relative to `root`) to
/// `writer`, calling `progress` with the number of files done after each;
/// returns the writer.
fn write_archive<W: Write>(
    root: &Path,
    files: &[String],
    writer: W,
    level: u32,
    mut progress: impl FnMut(u64),
) -> Result<W, Error> {
    let mut sorted: Vec<&String> = files.iter().collect();
    sorted.sort();
    sorted.dedup();
    let encoder = GzBuilder::new()
        .operating_system(255)
        .comment(ARCHIVE_COMMENT)
        .write(writer, Compression::new(level));
    let mut tar = tar::Builder::new(encoder);
    for (done, file) in sorted.into_iter().enumerate() {
        check_relative(file)?;
        let path = root.join(file);
        let failed = |error| {
            Error::io(
                "add to the archive",
                &path,
                error,
                "check that the file exists and is readable (did a later step remove \
                 it without rescanning the artifact?)",
            )
        };
        let source = File::open(&path).map_err(failed)?;
        let meta = source.metadata().map_err(failed)?;
        if !meta.is_file() {
            return Err(Error::new(format!(
                "cannot add `{}` to the archive: expected a regular file, found a \
                 directory or special file; remove it from the artifact's files",
                path.display()
            )));
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        header.set_mode(if executable(&meta) { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let data = Exact {
            inner: source,
            remaining: meta.len(),
        };
        tar.append_data(&mut header, file, data).map_err(failed)?;
        progress(done as u64 + 1);
    }
    let finish = |error| {
        Error::io(
            "finish the archive of",
            root,
            error,
            "check that the disk is not full",
        )
    };
    tar.into_inner().map_err(finish)?.finish().map_err(finish)
}

/// Whether anyone may execute the file `meta` describes (Unix permission
/// bits; no file is executable by its mode elsewhere).
fn executable(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    return std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
    #[cfg(not(unix))]
    {
        let _ = meta;
        false
    }
}

/// Refuses to replace `path` unless nothing is there or it is an archive
/// this plugin made: a regular file (not a link) whose gzip header is the
/// one [`write_archive`] writes, comment included.
fn check_replaceable(path: &Path) -> Result<(), Error> {
    let meta = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(Error::io(
                "inspect",
                path,
                error,
                "check that you may read its directory",
            ));
        }
        Ok(meta) => meta,
    };
    // The fixed header: magic, deflate, FCOMMENT only, mtime 0, XFL, OS 255.
    let mut expected = vec![0x1f, 0x8b, 8, 0x10, 0, 0, 0, 0];
    let mut header = vec![0; expected.len() + 2 + ARCHIVE_COMMENT.len() + 1];
    let ours = meta.is_file()
        && File::open(path)
            .and_then(|mut file| file.read_exact(&mut header))
            .is_ok()
        && {
            expected.extend([header[8], 255]);
            expected.extend(ARCHIVE_COMMENT.bytes().chain([0]));
            header == expected
        };
    if ours {
        return Ok(());
    }
    let what = if meta.file_type().is_symlink() {
        "is a symbolic link, which Rivet never writes through"
    } else {
        "is not an archive Rivet made"
    };
    Err(Error::new(format!(
        "`{}` already exists and {what}; Rivet replaces only files it made: move it \
         away, or set `output` to another path",
        path.display()
    )))
}

/// Checks that an artifact file path stays inside the artifact's root.
fn check_relative(file: &str) -> Result<(), Error> {
    let path = Path::new(file);
    if file.is_empty()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::new(format!(
            "the artifact lists the file {file:?}, which is not a relative path inside \
             its root; expected paths such as \"css/main.css\": fix the step that made \
             the artifact"
        )));
    }
    Ok(())
}

/// A reader giving exactly `remaining` bytes of `inner`, failing if it ends
/// early (a file that shrank while being archived), so the archive never
/// gets an entry shorter than its header says.
struct Exact<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buf[..max])?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being archived",
            ));
        }
        self.remaining -= read as u64;
        Ok(read)
    }
}

/// A file that is removed when dropped, unless persisted under its final
/// name.
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates (or truncates) the temporary file at `path`, returning it
    /// open for writing.
    fn create(path: PathBuf) -> Result<(Self, File), Error> {
        let file = File::create(&path).map_err(|error| {
            Error::io(
                "create temporary file",
                &path,
                error,
                "check that you may write in the archive's directory",
            )
        })?;
        let temp = TempFile {
            path,
            persisted: false,
        };
        Ok((temp, file))
    }

    /// Where the file is.
    fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `target`, replacing what is there.
    fn persist(mut self, target: &Path) -> Result<(), Error> {
        fs::rename(&self.path, target).map_err(|error| {
            Error::io(
                "move the archive into place at",
                target,
                error,
                "check that it is not a directory and you may write there",
            )
        })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::os::unix::fs::PermissionsExt;

    use flate2::read::GzDecoder;
    use rivet_interface::ErrorKind;
    use rivet_interface::testing::{RecordingUi, UiEvent};

    const LONG: &str = "a/very/long/directory/name/that/goes/on/and/on/beyond/the/\
                        hundred/bytes/of/an/old/tar/header/name/field/file.txt";

    /// An artifact with a nested file, an executable and a long path, whose
    /// files get the given modification time and read/write mode.
    fn artifact(dir: &Path, mtime_secs: u64, mode: u32) -> Artifact {
        let files = [
            ("index.html", "<h1>hi</h1>"),
            ("css/main.css", "h1 {}"),
            ("run.sh", "echo hi"),
            (LONG, "long"),
        ];
        for (file, content) in files {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, content).unwrap();
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime_secs);
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(time)
                .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
        fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o700)).unwrap();
        let mut artifact = Artifact::from_dir("site", dir).unwrap();
        artifact.metadata.insert("builder".into(), "dir".into());
        artifact
    }

    fn compress(
        config: Config,
        base: &Path,
        input: Artifact,
    ) -> (Result<Artifact, Error>, RecordingUi) {
        let recorder = RecordingUi::default();
        let plugin = Compress::prepare(config, &Context::new(base)).unwrap();
        (plugin.post_process(&recorder.ui(), input), recorder)
    }

    #[test]
    fn prepare_validates_level_and_output() {
        let temp = tempfile::tempdir().unwrap();
        let context = Context::new(temp.path());
        let cases = [
            (None, Some(10), "`level` = 10 is out of range"),
            (Some("out/"), None, "names a directory"),
            (Some("."), None, "names a directory"),
            (Some(" "), None, "`output` is empty"),
        ];
        for (output, level, expected) in cases {
            let config = Config {
                output: output.map(Into::into),
                level,
            };
            let error = Compress::prepare(config, &context).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config);
            assert!(error.message().contains(expected), "{error}");
        }
        let error = serde_json::from_str::<Config>(r#"{"level": "high"}"#).unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
        let error = serde_json::from_str::<Config>(r#"{"format": "zip"}"#).unwrap_err();
        assert!(
            error.to_string().contains("unknown field `format`"),
            "{error}"
        );
    }

    #[test]
    fn archives_are_byte_for_byte_deterministic() {
        let temp = tempfile::tempdir().unwrap();
        let one = artifact(&temp.path().join("one/site"), 1_000_000, 0o600);
        let two = artifact(&temp.path().join("two/site"), 2_000_000, 0o664);
        let config = Config {
            output: None,
            level: Some(9),
        };
        let (first, _) = compress(config.clone(), temp.path(), one);
        let (second, _) = compress(config, temp.path(), two);
        let (first, second) = (first.unwrap(), second.unwrap());
        let read = |a: &Artifact| fs::read(a.path_of(&a.files[0])).unwrap();
        assert_eq!(read(&first), read(&second));
    }

    #[test]
    fn entries_have_fixed_headers_in_sorted_order() {
        let temp = tempfile::tempdir().unwrap();
        let input = artifact(&temp.path().join("site"), 1_234_567, 0o640);
        let (result, recorder) = compress(
            Config {
                output: Some("dist/site.tar.gz".into()),
                level: None,
            },
            temp.path(),
            input,
        );
        let output = result.unwrap();
        assert_eq!(output.id, "site.tar.gz");
        assert_eq!(output.root, temp.path().join("dist"));
        assert_eq!(output.files, ["site.tar.gz"]);
        assert_eq!(output.metadata["builder"], "dir");
        assert_eq!(output.metadata["source_artifact"], "site");
        let bytes = fs::read(temp.path().join("dist/site.tar.gz")).unwrap();
        assert_eq!(output.metadata["compressed_bytes"], bytes.len().to_string());
        // gzip: only the comment flag (so no file name), mtime 0, "unknown"
        // operating system, then Rivet's comment.
        assert_eq!(bytes[3], 0x10);
        assert_eq!(bytes[4..8], [0, 0, 0, 0]);
        assert_eq!(bytes[9], 255);
        assert_eq!(
            &bytes[10..10 + ARCHIVE_COMMENT.len()],
            ARCHIVE_COMMENT.as_bytes()
        );

        let mut archive = tar::Archive::new(GzDecoder::new(&bytes[..]));
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(header.mtime().unwrap(), 0);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            assert_eq!(header.username_bytes(), Some(&b""[..]));
            assert_eq!(header.groupname_bytes(), Some(&b""[..]));
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = header.mode().unwrap();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            seen.push((path, mode, content));
        }
        let expected = [
            ("a/very/long", 0o644, "long"),
            ("css/main.css", 0o644, "h1 {}"),
            ("index.html", 0o644, "<h1>hi</h1>"),
            ("run.sh", 0o755, "echo hi"),
        ];
        assert_eq!(seen.len(), expected.len());
        for ((path, mode, content), (prefix, want_mode, want_content)) in seen.iter().zip(expected)
        {
            assert!(path.starts_with(prefix), "{path}");
            assert_eq!(
                (*mode, content.as_str()),
                (want_mode, want_content),
                "{path}"
            );
        }
        assert_eq!(seen[0].0, LONG);

        let progress: Vec<_> = (1..=4)
            .map(|done| UiEvent::Progress { done, total: 4 })
            .collect();
        assert_eq!(recorder.events()[..4], progress);
        let leftovers: Vec<_> = fs::read_dir(temp.path().join("dist"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["site.tar.gz"]);
    }

    #[test]
    fn the_default_archive_sits_next_to_the_root() {
        let temp = tempfile::tempdir().unwrap();
        let input = artifact(&temp.path().join("build/site"), 0, 0o644);
        let (result, _) = compress(
            Config {
                output: None,
                level: Some(0),
            },
            temp.path(),
            input,
        );
        let output = result.unwrap();
        assert_eq!(output.root, temp.path().join("build"));
        assert!(temp.path().join("build/site.tar.gz").is_file());
    }

    #[test]
    fn a_missing_file_fails_without_leaving_a_partial_archive() {
        let temp = tempfile::tempdir().unwrap();
        let mut input = artifact(&temp.path().join("site"), 0, 0o644);
        input.files.push("gone.txt".into());
        let (result, _) = compress(
            Config {
                output: None,
                level: None,
            },
            temp.path(),
            input,
        );
        let error = result.unwrap_err();
        assert!(error.message().contains("gone.txt"), "{error}");
        let names: Vec<_> = fs::read_dir(temp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["site"]);
    }

    #[test]
    fn files_outside_the_root_are_refused() {
        assert!(check_relative("css/main.css").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_archives_made_by_rivet_are_replaced() {
        let temp = tempfile::tempdir().unwrap();
        let input = artifact(&temp.path().join("site"), 0, 0o644);
        let context = Context::new(temp.path());
        let archive = temp.path().join("site.tar.gz");
        fs::write(&archive, "the user's own file").unwrap();
        let error = compress(
            Config {
                output: None,
                level: None,
            },
            temp.path(),
            input.clone(),
        )
        .0
        .unwrap_err();
        assert!(
            error.message().contains("not an archive Rivet made"),
            "{error}"
        );
        assert_eq!(fs::read_to_string(&archive).unwrap(), "the user's own file");
        let error = Compress::prepare(
            Config {
                output: Some("site.tar.gz".into()),
                level: None,
            },
            &context,
        )
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);

        fs::remove_file(&archive).unwrap();
        std::os::unix::fs::symlink(temp.path().join("elsewhere"), &archive).unwrap();
        let error = compress(
            Config {
                output: None,
                level: None,
            },
            temp.path(),
            input.clone(),
        )
        .0
        .unwrap_err();
        assert!(error.message().contains("symbolic link"), "{error}");

        fs::remove_file(&archive).unwrap();
        compress(
            Config {
                output: None,
                level: None,
            },
            temp.path(),
            input.clone(),
        )
        .0
        .unwrap();
        let first = fs::read(&archive).unwrap();
        compress(
            Config {
                output: None,
                level: None,
            },
            temp.path(),
            input,
        )
        .0
        .unwrap();
        assert_eq!(
            fs::read(&archive).unwrap(),
            first,
            "its own archive is replaced"
        );
    }
}
