//! The `shell` provisioner: runs shell commands, or a script, inside the
//! artifact.
//!
//! ```toml
//! [[provisioners]]
//! plugin = "shell"
//! [provisioners.config]
//! inline = ["echo hello > hello.txt"]  # or: script = "scripts/setup.sh"
//! env = { GREETING = "hello" }         # optional extra environment
//! ```
//!
//! Exactly one of `inline` (each command run with `sh -c`) and `script` (run
//! with `sh SCRIPT`) is required. Commands run one after the other in the
//! artifact's root directory, with stdin closed (`/dev/null`) and the
//! environment of the host plus `RIVET_ARTIFACT_ROOT`, `RIVET_ARTIFACT_ID`
//! and the configured `env`. Their stdout lines are shown as messages and
//! their stderr lines as errors, as they are written. The first command
//! that exits non-zero (or is killed by a signal) fails the step.

use std::collections::BTreeMap;
use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{self, ExitStatus, Stdio};
use std::thread;

use rivet_interface::{Artifact, Context, Error, Plugin, Provisioner, Ui};
use serde::Deserialize;

/// The environment variables the provisioner sets itself.
const RESERVED_VARS: [&str; 2] = ["RIVET_ARTIFACT_ROOT", "RIVET_ARTIFACT_ID"];

/// The configuration of the `shell` provisioner (the `config` table of its
/// step). Exactly one of `inline` and `script` must be set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Commands, each run with `sh -c`, in order.
    #[serde(default)]
    pub inline: Option<Vec<String>>,
    /// A script file, relative to the template's directory, run with `sh`.
    #[serde(default)]
    pub script: Option<String>,
    /// Extra environment variables for the commands.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// What the provisioner runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Job {
    /// Commands for `sh -c`.
    Inline(Vec<String>),
    /// A script file for `sh`.
    Script(PathBuf),
}

/// The `shell` provisioner, prepared from a valid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellProvisioner {
    job: Job,
    env: BTreeMap<String, String>,
}

impl Plugin for ShellProvisioner {
    const NAME: &'static str = "shell";
    const DESCRIPTION: &'static str = "Runs shell commands or a script inside the artifact";

    fn init(_ui: &Ui) -> Result<(), Error> {
        let path = env::var_os("PATH").unwrap_or_default();
        match find_on_path("sh", &path) {
            Some(_) => Ok(()),
            None => Err(Error::new(format!(
                "`sh` was not found on PATH ({}); the shell provisioner runs its commands \
                 with `sh`: install a POSIX shell or add its directory to PATH",
                path.to_string_lossy()
            ))),
        }
    }
}

impl Provisioner for ShellProvisioner {
    type Config = Config;

    fn prepare(config: Config, context: &Context) -> Result<Self, Error> {
        let job = match (config.inline, config.script) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "both `inline` and `script` are set; expected exactly one: keep the \
                     commands in `inline` or in the script file, not both",
                ));
            }
            (None, None) => {
                return Err(Error::config(
                    "neither `inline` nor `script` is set; expected exactly one, such as \
                     inline = [\"echo hello\"] or script = \"setup.sh\"",
                ));
            }
            (Some(commands), None) if commands.is_empty() => {
                return Err(Error::config(
                    "`inline` is an empty list; expected at least one command, such as \
                     inline = [\"echo hello\"]",
                ));
            }
            (Some(commands), None) => Job::Inline(commands),
            (None, Some(script)) => Job::Script(check_script(&script, context)?),
        };
        for name in config.env.keys() {
            check_var_name(name)?;
        }
        Ok(ShellProvisioner {
            job,
            env: config.env,
        })
    }

    fn provision(&self, ui: &Ui, mut artifact: Artifact) -> Result<Artifact, Error> {
        match &self.job {
            Job::Inline(commands) => {
                for (index, command) in commands.iter().enumerate() {
                    let what = format!(
                        "inline command {} of {} `{command}`",
                        index + 1,
                        commands.len()
                    );
                    ui.say(format!("Running {what}"));
                    self.run(ui, &artifact, [OsStr::new("-c"), command.as_ref()], &what)?;
                }
            }
            Job::Script(script) => {
                let what = format!("script `{}`", script.display());
                ui.say(format!("Running {what}"));
                self.run(ui, &artifact, [script.as_os_str()], &what)?;
            }
        }
        artifact.rescan().map_err(|error| {
            Error::new(format!(
                "cannot list the files of the artifact in `{}` after running the \
                 commands: {error}; check that the commands left the artifact's root in place",
                artifact.root.display()
            ))
        })?;
        Ok(artifact)
    }
}

rivet_interface::export_provisioner!(ShellProvisioner);

impl ShellProvisioner {
    /// Runs `sh ARGS` in the artifact's root, forwarding its output to `ui`;
    /// `what` names the command in errors.
    fn run<'a>(
        &self,
        ui: &Ui,
        artifact: &Artifact,
        args: impl IntoIterator<Item = &'a OsStr>,
        what: &str,
    ) -> Result<(), Error> {
        log::debug!("running {what} in {}", artifact.root.display());
        let mut child = process::Command::new("sh")
            .args(args)
            .current_dir(&artifact.root)
            .envs(&self.env)
            .env("RIVET_ARTIFACT_ROOT", &artifact.root)
            .env("RIVET_ARTIFACT_ID", &artifact.id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| {
                Error::new(format!(
                    "cannot start `sh` for {what} in `{}`: {error}; check that `sh` is on \
                     PATH and the artifact's root is a directory",
                    artifact.root.display()
                ))
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let status = thread::scope(|scope| {
            if let Some(stdout) = stdout {
                scope.spawn(|| forward_lines(stdout, |line| ui.message(line)));
            }
            if let Some(stderr) = stderr {
                scope.spawn(|| forward_lines(stderr, |line| ui.error(line)));
            }
            child.wait()
        })
        .map_err(|error| Error::new(format!("cannot wait for {what}: {error}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "{what} failed with {}; see its output above, fix it and run the build again",
                describe_status(status)
            )))
        }
    }
}

/// Resolves `script` and checks that it is an existing file.
fn check_script(script: &str, context: &Context) -> Result<PathBuf, Error> {
    let path = context.resolve(script);
    match fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(Error::config(format!(
            "`script`: `{}` is not a file; expected a shell script, relative to the \
             template's directory `{}`",
            path.display(),
            context.base_dir().display()
        ))),
        Err(error) => Err(Error::config(format!(
            "`script`: cannot use `{}` ({error}); expected an existing shell script, \
             relative to the template's directory `{}`",
            path.display(),
            context.base_dir().display()
        ))),
    }
}

/// Checks that `name` can be set as an environment variable and is not one
/// the provisioner sets itself.
fn check_var_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(Error::config(format!(
            "`env`: {name:?} is not a valid variable name; expected a non-empty name \
             without `=` or NUL, such as \"GREETING\""
        )));
    }
    if RESERVED_VARS.contains(&name) {
        return Err(Error::config(format!(
            "`env`: `{name}` is set by the shell provisioner itself; remove it from \
             `env` (it is always the artifact's {})",
            if name.ends_with("ROOT") {
                "root directory"
            } else {
                "id"
            }
        )));
    }
    Ok(())
}

/// The first executable file called `program` (with the platform's
/// executable suffix: `sh.exe` on Windows) in the directories of `path` (a
/// `PATH`-style list).
fn find_on_path(program: &str, path: &OsStr) -> Option<PathBuf> {
    let file = format!("{program}{}", env::consts::EXE_SUFFIX);
    env::split_paths(path)
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file this process may run: on Unix, a file with an
/// execute bit; elsewhere, any file (found by its executable suffix).
fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    let runnable = |meta: &fs::Metadata| {
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0
    };
    #[cfg(not(unix))]
    let runnable = |_: &fs::Metadata| true;
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && runnable(&meta))
}

/// Calls `emit` with each line read from `reader`, without its line ending,
/// as soon as it is complete; invalid UTF-8 is replaced.
fn forward_lines(reader: impl Read, mut emit: impl FnMut(&str)) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                emit(text.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// How a failed process ended, in words: `exit status 3`, `signal 9`.
fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal: Option<i32> = None;
    match (status.code(), signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::os::unix::fs::PermissionsExt;

    use rivet_interface::ErrorKind;
    use rivet_interface::testing::RecordingUi;

    fn inline(commands: &[&str]) -> Config {
        Config {
            inline: Some(commands.iter().map(|c| c.to_string()).collect()),
            script: None,
            env: BTreeMap::new(),
        }
    }

    fn artifact(temp: &tempfile::TempDir) -> Artifact {
        let root = temp.path().join("site");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("index.html"), "hi").unwrap();
        Artifact::from_dir("site", root).unwrap()
    }

    fn provision(
        config: Config,
        temp: &tempfile::TempDir,
    ) -> (Result<Artifact, Error>, RecordingUi) {
        let recorder = RecordingUi::default();
        let provisioner = ShellProvisioner::prepare(config, &Context::new(temp.path())).unwrap();
        let result = provisioner.provision(&recorder.ui(), artifact(temp));
        (result, recorder)
    }

    #[test]
    fn prepare_wants_exactly_one_of_inline_and_script() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(temp.path().join("setup.sh"), "true").unwrap();
        let context = Context::new(temp.path());
        let with_env = |name: &str| Config {
            env: [(name.to_string(), "x".to_string())].into(),
            ..inline(&["true"])
        };
        let cases = [
            (
                Config {
                    script: Some("setup.sh".into()),
                    ..inline(&["true"])
                },
                "both",
            ),
            (
                Config {
                    inline: None,
                    ..inline(&[])
                },
                "neither",
            ),
            (inline(&[]), "empty list"),
            (
                Config {
                    inline: None,
                    script: Some("missing.sh".into()),
                    env: BTreeMap::new(),
                },
                "missing.sh",
            ),
            (
                Config {
                    inline: None,
                    script: Some(".".into()),
                    env: BTreeMap::new(),
                },
                "is not a file",
            ),
            (with_env("A=B"), "not a valid variable name"),
            (
                with_env("RIVET_ARTIFACT_ID"),
                "set by the shell provisioner",
            ),
        ];
        for (config, expected) in cases {
            let error = ShellProvisioner::prepare(config.clone(), &context).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config);
            assert!(error.message().contains(expected), "{config:?}: {error}");
        }
        let error = serde_json::from_str::<Config>(r#"{"inline": "echo hi"}"#).unwrap_err();
        assert!(error.to_string().contains("expected a sequence"), "{error}");
    }

    #[test]
    fn runs_commands_in_the_artifact_with_its_environment() {
        let temp = tempfile::tempdir().unwrap();
        let config = Config {
            env: [("GREETING".to_string(), "hello".to_string())].into(),
            ..inline(&[
                "echo \"$GREETING $RIVET_ARTIFACT_ID\" > info.txt",
                "echo out; echo err >&2; cat",
                "test \"$(pwd -P)\" = \"$(cd \"$RIVET_ARTIFACT_ROOT\" && pwd -P)\"",
            ])
        };
        let (result, recorder) = provision(config, &temp);
        let artifact = result.unwrap();
        assert_eq!(artifact.files, ["index.html", "info.txt"]);
        let info = fs::read_to_string(temp.path().join("site/info.txt")).unwrap();
        assert_eq!(info, "hello site\n");
        assert_eq!(recorder.messages(), ["out"]);
        assert_eq!(recorder.errors(), ["err"]);
        assert_eq!(recorder.said().len(), 3);
    }

    #[test]
    fn a_failing_command_stops_the_step_and_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let (result, recorder) = provision(inline(&["exit 3", "touch later.txt"]), &temp);
        let error = result.unwrap_err();
        assert_eq!(
            error.message(),
            "inline command 1 of 2 `exit 3` failed with exit status 3; see its output \
             above, fix it and run the build again"
        );
        assert!(!temp.path().join("site/later.txt").exists());
        assert_eq!(recorder.said(), ["Running inline command 1 of 2 `exit 3`"]);
    }

    #[test]
    fn a_killed_command_reports_the_signal() {
        let temp = tempfile::tempdir().unwrap();
        let (result, _) = provision(inline(&["kill -9 $$"]), &temp);
        assert!(
            result
                .unwrap_err()
                .message()
                .contains("failed with signal 9")
        );
    }

    #[test]
    fn runs_a_script_file() {
        let temp = tempfile::tempdir().unwrap();
        fs::write(
            temp.path().join("setup.sh"),
            "printf 'one\\ntwo\\n'\nmkdir -p gen && echo x > gen/x.txt\n",
        )
        .unwrap();
        let config = Config {
            inline: None,
            script: Some("setup.sh".into()),
            env: BTreeMap::new(),
        };
        let (result, recorder) = provision(config, &temp);
        assert_eq!(result.unwrap().files, ["gen/x.txt", "index.html"]);
        assert_eq!(recorder.messages(), ["one", "two"]);
    }

    #[test]
    fn finds_only_executable_programs_on_path() {
        let temp = tempfile::tempdir().unwrap();
        let (first, second) = (temp.path().join("a"), temp.path().join("b"));
        fs::create_dir(&first).unwrap();
        fs::create_dir(&second).unwrap();
        fs::write(first.join("tool"), "").unwrap();
        fs::write(second.join("tool"), "").unwrap();
        fs::set_permissions(second.join("tool"), fs::Permissions::from_mode(0o755)).unwrap();
        let path = env::join_paths([&first, &second]).unwrap();
        assert_eq!(find_on_path("tool", &path), Some(second.join("tool")));
        assert_eq!(find_on_path("other", &path), None);
        assert!(ShellProvisioner::init(&RecordingUi::default().ui()).is_ok());
    }

    #[test]
    fn forwards_lines_without_endings() {
        let mut lines = Vec::new();
        forward_lines(&b"a\r\nb\n\nlast"[..], |line| lines.push(line.to_owned()));
        assert_eq!(lines, ["a", "b", "", "last"]);
    }
}
