//! A plugin store to test against: a `RIVET_HOME`, a working directory and
//! a scratch directory, the `versioned-*` fixtures (builder `versioned` at
//! 1.2.0, 1.3.0 and 2.0.0) to install into it through the real `rivet`
//! binary, and packages of them to take apart and put back together.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use rivet_host::installed::platform;

use crate::cli::{describe, text};
use crate::{fixture, rivet};

/// The source the fixtures are installed from.
pub const SOURCE: &str = "example.org/acme/tools";

/// A home, a working directory and a scratch directory for one test.
pub struct Env {
    /// `RIVET_HOME`.
    pub home: tempfile::TempDir,
    /// The working directory.
    pub cwd: tempfile::TempDir,
    /// Where plugin copies and packages go.
    pub scratch: tempfile::TempDir,
}

impl Default for Env {
    fn default() -> Env {
        Env::new()
    }
}

impl Env {
    /// Three fresh temporary directories.
    pub fn new() -> Env {
        Env {
            home: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
            scratch: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `rivet ARGS` with this home and working directory.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Runs `rivet ARGS` with the environment variables `env` added.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        rivet(self.home.path(), self.cwd.path())
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("rivet runs")
    }

    /// Runs `rivet ARGS`, which must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", describe(&output));
        text(&output.stdout)
    }

    /// Runs `rivet ARGS`, which must fail; returns its stderr and stdout.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "{args:?}: {}", describe(&output));
        text(&output.stderr) + &text(&output.stdout)
    }

    /// The `versioned` fixture at `version`, copied into the scratch
    /// directory under its plain plugin file name (in a directory of its own).
    pub fn plugin(&self, version: &str) -> PathBuf {
        let dir = self.scratch.path().join(version);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{DLL_PREFIX}plugin_builder_versioned{DLL_SUFFIX}"));
        fs::copy(versioned(version), &path).unwrap();
        path
    }

    /// Installs the `versioned` fixture at `version` from [`SOURCE`];
    /// returns what `rivet` printed.
    pub fn install(&self, version: &str) -> String {
        let plugin = self.plugin(version);
        self.ok(&[
            "plugins",
            "install",
            &plugin.to_string_lossy(),
            "--source",
            SOURCE,
        ])
    }

    /// `$RIVET_HOME/plugins`.
    pub fn plugins_dir(&self) -> PathBuf {
        self.home.path().join("plugins")
    }

    /// Where the `versioned` fixture at `version` is installed.
    pub fn installed_path(&self, version: &str) -> PathBuf {
        self.plugins_dir()
            .join(SOURCE)
            .join(installed_name(version))
    }

    /// A template with one `versioned` builder requiring `requirement`.
    pub fn template(&self, requirement: &str) -> PathBuf {
        self.template_from(SOURCE, requirement)
    }

    /// A template with one `versioned` builder requiring `requirement`
    /// from `source`.
    pub fn template_from(&self, source: &str, requirement: &str) -> PathBuf {
        let path = self.cwd.path().join("t.toml");
        fs::write(
            &path,
            format!(
                "[[builders]]\nplugin = \"versioned\"\n\n[required_plugins]\nversioned = {{ source = \"{source}\", version = \"{requirement}\" }}\n"
            ),
        )
        .unwrap();
        path
    }

    /// Every file under the home's plugin directory, relative.
    pub fn plugin_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        walk(&self.plugins_dir(), &self.plugins_dir(), &mut files);
        files.sort();
        files
    }
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// The built `versioned` fixture at `version`.
pub fn versioned(version: &str) -> PathBuf {
    fixture(&format!("versioned_{}", version.replace('.', "_")))
}

/// The installed file name of the `versioned` fixture at `version`.
pub fn installed_name(version: &str) -> String {
    format!(
        "{DLL_PREFIX}plugin_builder_versioned_v{version}_i1_{}{DLL_SUFFIX}",
        platform()
    )
}

/// Packs the `versioned` fixture at `version` with `rivet plugins pack`
/// into the scratch directory; returns the package.
pub fn pack(env: &Env, version: &str) -> PathBuf {
    let plugin = env.plugin(version);
    let out = env.ok(&[
        "plugins",
        "pack",
        &plugin.to_string_lossy(),
        "--source",
        SOURCE,
        "--output",
        &env.scratch.path().to_string_lossy(),
    ]);
    let path = PathBuf::from(out.trim().strip_prefix("packed ").unwrap());
    assert!(path.is_file(), "{out}");
    path
}

/// The entries of `package`, in order, with their contents.
pub fn entries(package: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        fs::File::open(package).unwrap(),
    ));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Writes `files` as a package (`.tar.gz`) at `path`.
pub fn repack(path: &Path, files: &[(String, Vec<u8>)]) {
    let encoder = flate2::write::GzEncoder::new(
        fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    let mut builder = tar::Builder::new(encoder);
    append_files(&mut builder, files);
    builder.into_inner().unwrap().finish().unwrap();
}

/// Appends `files` (name, bytes) to `builder` as plain 0644 files.
pub fn append_files<W: std::io::Write>(builder: &mut tar::Builder<W>, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, name, bytes.as_slice())
            .unwrap();
    }
}

/// Rewrites the `SHA256SUMS` of package entries `files` (the second entry,
/// as `rivet plugins pack` writes it) to match the other entries.
pub fn resum(files: &mut [(String, Vec<u8>)]) {
    let sums: String = files
        .iter()
        .filter(|(name, _)| name != "SHA256SUMS")
        .map(|(name, bytes)| {
            let digest = rivet_host::integrity::sha256_hex(bytes.as_slice()).unwrap();
            format!("{digest}  {name}\n")
        })
        .collect();
    assert_eq!(files[1].0, "SHA256SUMS");
    files[1].1 = sums.into_bytes();
}
