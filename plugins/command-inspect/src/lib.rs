//! The `inspect` command: `rivet inspect TEMPLATE` shows a template's steps
//! in build order and the plugin file each step would use.
//!
//! ```text
//! Template site.toml: Static site bundle
//!   1. builder dir              /usr/lib/rivet/libplugin_builder_dir.so
//!   2. provisioner shell        /usr/lib/rivet/libplugin_provisioner_shell.so  [isolation: process]
//!   3. post-processor checksum  not found: install libplugin_post_processor_checksum.so ...
//! ```
//!
//! Exit status: 0 on success, 1 when the template cannot be read or parsed,
//! 2 on a usage error.

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;
use std::path::{Path, PathBuf};

use rivet_interface::{Command, Error, Plugin, PluginKind, Ui};
use serde::Deserialize;

/// The exit status for a template that cannot be read or parsed.
const EXIT_BAD_TEMPLATE: i32 = 1;
/// The exit status for a usage error.
const EXIT_USAGE: i32 = 2;

const USAGE: &str = "Usage: rivet inspect TEMPLATE";

const HELP: &str = "\
Usage: rivet inspect TEMPLATE

  Shows the steps of a template in the order a build runs them, and the
  plugin file each step would use (or that the plugin cannot be found).

Options:

  -h, --help  Show this help.
";

/// The `inspect` command.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Inspect;

impl Plugin for Inspect {
    const NAME: &'static str = "inspect";
    const DESCRIPTION: &'static str = "Shows a template's steps and the plugins they use";
}

impl Command for Inspect {
    fn synopsis(&self) -> String {
        "Show a template's steps and their plugin files".into()
    }

    fn help(&self) -> String {
        HELP.into()
    }

    fn run(&self, ui: &Ui, args: &[String]) -> Result<i32, Error> {
        let template = match parse_args(args) {
            Ok(Args::Help) => {
                ui.say(HELP.trim_end());
                return Ok(0);
            }
            Ok(Args::Template(template)) => template,
            Err(problem) => {
                ui.error(format!("{problem}; see `rivet inspect --help`"));
                ui.error(USAGE);
                return Ok(EXIT_USAGE);
            }
        };
        let steps = match read_template(Path::new(&template)) {
            Ok(steps) => {
                log::debug!("{template}: {} steps", steps.steps.len());
                steps
            }
            Err(problem) => {
                ui.error(problem);
                return Ok(EXIT_BAD_TEMPLATE);
            }
        };
        let base = std::path::absolute(&template)
            .ok()
            .and_then(|path| path.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let lines = render(&template, &steps, &base, |kind, name| {
            ui.locate_plugin(kind, name)
        });
        for line in lines {
            ui.say(line);
        }
        Ok(0)
    }
}

rivet_interface::export_command!(Inspect);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Args {
    /// `--help`.
    Help,
    /// Inspect this template.
    Template(String),
}

/// Parses the arguments after `inspect`; the error says what is wrong.
fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut options_done = false;
    for arg in args {
        match arg.as_str() {
            "--" if !options_done => options_done = true,
            "-h" | "--help" if !options_done => return Ok(Args::Help),
            option if !options_done && option.starts_with('-') && option != "-" => {
                return Err(format!("unknown option `{option}`"));
            }
            template => positional.push(template.to_owned()),
        }
    }
    match positional.len() {
        1 => Ok(Args::Template(positional.remove(0))),
        0 => Err("missing the TEMPLATE to inspect".into()),
        n => Err(format!(
            "expected one TEMPLATE, got {n}: {}",
            positional.join(" ")
        )),
    }
}

/// The part of a template `inspect` reads; everything else (the steps'
/// `config` tables, other keys) is ignored.
#[derive(Debug, Default, Deserialize)]
struct Template {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    builders: Vec<Step>,
    #[serde(default)]
    provisioners: Vec<Step>,
    #[serde(default, rename = "post-processors")]
    post_processors: Vec<Step>,
}

/// One step of a template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Step {
    /// The plugin's name.
    plugin: String,
    /// An explicit plugin file, relative to the template's directory.
    #[serde(default)]
    path: Option<String>,
    /// How the host runs the plugin, shown as is.
    #[serde(default)]
    isolation: Option<String>,
}

/// A template's description and its steps in build order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Steps {
    description: Option<String>,
    steps: Vec<(PluginKind, Step)>,
}

/// Reads and parses the template at `path`; the error is a message for the
/// user.
fn read_template(path: &Path) -> Result<Steps, String> {
    let text = fs::read_to_string(path).map_err(|error| {
        format!(
            "cannot read template `{}`: {error}; check the path",
            path.display()
        )
    })?;
    parse_template(&text).map_err(|error| {
        format!(
            "cannot parse template `{}`: {}",
            path.display(),
            error.trim_end()
        )
    })
}

/// Parses a template's text into its steps, in build order.
fn parse_template(text: &str) -> Result<Steps, String> {
    let template: Template = toml::from_str(text).map_err(|error| error.to_string())?;
    let steps = [
        (PluginKind::Builder, template.builders),
        (PluginKind::Provisioner, template.provisioners),
        (PluginKind::PostProcessor, template.post_processors),
    ]
    .into_iter()
    .flat_map(|(kind, steps)| steps.into_iter().map(move |step| (kind, step)))
    .collect();
    Ok(Steps {
        description: template.description,
        steps,
    })
}

/// The lines `inspect` prints for `steps` of the template called `name`,
/// whose directory is `base`; `locate` finds a plugin's file.
fn render(
    name: &str,
    steps: &Steps,
    base: &Path,
    locate: impl Fn(PluginKind, &str) -> Option<String>,
) -> Vec<String> {
    let mut lines = vec![match &steps.description {
        Some(description) => format!("Template {name}: {description}"),
        None => format!("Template {name}"),
    }];
    if steps.steps.is_empty() {
        lines.push("  (no steps)".into());
    }
    let labels: Vec<String> = steps
        .steps
        .iter()
        .map(|(kind, step)| format!("{kind} {}", step.plugin))
        .collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0);
    for (number, ((kind, step), label)) in steps.steps.iter().zip(&labels).enumerate() {
        let location = match &step.path {
            Some(path) => {
                let path = base.join(path);
                if path.is_file() {
                    path.display().to_string()
                } else {
                    format!("{} (no such file)", path.display())
                }
            }
            None => locate(*kind, &step.plugin).unwrap_or_else(|| {
                format!(
                    "not found: install {} where rivet looks for plugins, or set `path` \
                     in the step",
                    plugin_file_name(*kind, &step.plugin).display()
                )
            }),
        };
        let mut line = format!("  {}. {label:<width$}  {location}", number + 1);
        if let Some(isolation) = &step.isolation {
            line.push_str(&format!("  [isolation: {isolation}]"));
        }
        lines.push(line);
    }
    lines
}

/// The file name of plugin `name` of `kind` on this platform:
/// `libplugin_builder_dir.so` on Linux.
fn plugin_file_name(kind: PluginKind, name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{DLL_PREFIX}plugin_{}_{name}{DLL_SUFFIX}",
        kind.file_token()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_interface::testing::{RecordingUi, UiEvent};

    const SITE: &str = r#"
description = "Static site bundle"

[[builders]]
plugin = "dir"
[builders.config]
output = "build/site"

[[provisioners]]
plugin = "shell"
isolation = "process"
config = { inline = ["echo hi"] }

[["post-processors"]]
plugin = "checksum"

[["post-processors"]]
plugin = "compress"
path = "libs/libplugin_post_processor_compress.so"
"#;

    /// A host that knows the builder `dir` and the provisioner `shell`.
    fn host() -> RecordingUi {
        let known = [
            (PluginKind::Builder, "dir"),
            (PluginKind::Provisioner, "shell"),
        ];
        known
            .into_iter()
            .fold(RecordingUi::new(), |host, (kind, name)| {
                let file = plugin_file_name(kind, name);
                host.with_plugin(kind, name, format!("/plugins/{}", file.display()))
            })
    }

    /// The lines shown, in order, errors prefixed with `error: `.
    fn lines(host: &RecordingUi) -> Vec<String> {
        host.events()
            .into_iter()
            .filter_map(|event| match event {
                UiEvent::Say(line) => Some(line),
                UiEvent::Error(line) => Some(format!("error: {line}")),
                _ => None,
            })
            .collect()
    }

    fn run(args: &[&str]) -> (i32, Vec<String>) {
        let host = host();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let status = Inspect.run(&host.ui(), &args).unwrap();
        (status, lines(&host))
    }

    #[test]
    fn lists_steps_in_build_order_with_their_plugin_files() {
        let temp = tempfile::tempdir().unwrap();
        let template = temp.path().join("site.toml");
        fs::write(&template, SITE).unwrap();
        fs::create_dir(temp.path().join("libs")).unwrap();
        let compress = temp
            .path()
            .join("libs/libplugin_post_processor_compress.so");
        fs::write(&compress, "").unwrap();

        let (status, lines) = run(&[template.to_str().unwrap()]);
        assert_eq!(status, 0);
        let expected = [
            format!("Template {}: Static site bundle", template.display()),
            "  1. builder dir              /plugins/libplugin_builder_dir.so".into(),
            "  2. provisioner shell        /plugins/libplugin_provisioner_shell.so  \
             [isolation: process]"
                .into(),
            "  3. post-processor checksum  not found: install \
             libplugin_post_processor_checksum.so where rivet looks for plugins, or set \
             `path` in the step"
                .into(),
            format!("  4. post-processor compress  {}", compress.display()),
        ];
        assert_eq!(lines, expected);
    }

    #[test]
    fn an_explicit_path_that_does_not_exist_is_flagged() {
        let steps = parse_template("[[builders]]\nplugin = \"dir\"\npath = \"nope.so\"").unwrap();
        let lines = render("t.toml", &steps, Path::new("/tpl"), |_, _| None);
        assert_eq!(lines[1], "  1. builder dir  /tpl/nope.so (no such file)");
    }

    #[test]
    fn an_empty_template_has_no_steps() {
        let steps = parse_template("").unwrap();
        let lines = render("empty.toml", &steps, Path::new("/"), |_, _| None);
        assert_eq!(lines, ["Template empty.toml", "  (no steps)"]);
    }

    #[test]
    fn unreadable_or_invalid_templates_exit_1() {
        let temp = tempfile::tempdir().unwrap();
        let missing = temp.path().join("missing.toml");
        let (status, lines) = run(&[missing.to_str().unwrap()]);
        assert_eq!(status, 1);
        assert!(
            lines[0].starts_with("error: cannot read template"),
            "{lines:?}"
        );
        assert!(lines[0].contains("missing.toml"), "{lines:?}");

        let bad = temp.path().join("bad.toml");
        fs::write(&bad, "[[builders]]\nconfig = {}\n").unwrap();
        let (status, lines) = run(&[bad.to_str().unwrap()]);
        assert_eq!(status, 1);
        assert!(lines[0].contains("missing field `plugin`"), "{lines:?}");
    }

    #[test]
    fn usage_errors_exit_2_and_help_exits_0() {
        for args in [&[][..], &["a.toml", "b.toml"], &["--verbose", "a.toml"]] {
            let (status, lines) = run(args);
            assert_eq!(status, 2, "{args:?}");
            assert_eq!(lines.last().unwrap(), &format!("error: {USAGE}"));
        }
        let (status, lines) = run(&["--help"]);
        assert_eq!(status, 0);
        assert!(lines[0].starts_with(USAGE));
        assert_eq!(
            parse_args(&["--".into(), "-odd.toml".into()]),
            Ok(Args::Template("-odd.toml".into()))
        );
    }

    #[test]
    fn the_synopsis_is_short_and_the_help_starts_with_usage() {
        assert!(Inspect.synopsis().len() <= 50);
        assert!(Inspect.help().starts_with(USAGE));
    }
}
