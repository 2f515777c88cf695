//! Build templates: which plugins run, in which order, with which settings.
//!
//! ```toml
//! description = "Static site bundle"
//!
//! [[builders]]
//! plugin = "dir"
//! config = { source = "www", output = "build/site" }
//!
//! [[provisioners]]
//! plugin = "shell"
//! path = "../my-plugin/target/debug/libplugin_provisioner_shell.so"  # optional
//! isolation = "process"  # optional: run this plugin in its own process
//! config = { inline = ["echo hello > hello.txt"] }
//!
//! [[post-processors]]
//! plugin = "checksum"
//!
//! [required_plugins]
//! dir = { source = "example.org/acme/tools", version = ">= 1.2, < 2" }
//! checksum = { source = "example.org/acme/tools", version = "^0.1", kind = "post-processor" }
//! ```
//!
//! A `[required_plugins]` entry pins a plugin name to an installed source and
//! a semver requirement; its steps then use the highest installed version
//! that satisfies it, never an unversioned file. The entry's kind is the
//! `kind` it gives, else the kind of the steps that use the name (when
//! steps of two kinds use it, or none does, `kind` must be given).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rivet::Mode;
use rivet_host::{is_valid_name, same_name};
use rivet_interface::PluginKind;
use semver::VersionReq;
use serde::Deserialize;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The template file.
    pub path: PathBuf,
    /// The directory relative paths in the template are relative to.
    pub base_dir: PathBuf,
    /// What the template builds, for people.
    pub description: Option<String>,
    /// Every step, builders first, then provisioners, then post-processors.
    pub steps: Vec<Step>,
    /// The `[required_plugins]` entries, by name.
    pub required: Vec<Required>,
}

/// A `[required_plugins]` entry: which installed versions a name may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Required {
    /// The plugin's kind (given, or from the steps using it).
    pub kind: PluginKind,
    /// The plugin's name.
    pub name: String,
    /// Where it is installed from (`example.org/acme/tools`).
    pub source: String,
    /// Which versions may be used.
    pub version: VersionReq,
}

impl Template {
    /// The requirement for steps of `(kind, name)`, if any.
    pub fn required(&self, kind: PluginKind, name: &str) -> Option<&Required> {
        self.required
            .iter()
            .find(|r| r.kind == kind && same_name(&r.name, name))
    }
}

/// One step of a template: a plugin and its configuration.
#[derive(Debug, Clone)]
pub struct Step {
    /// The kind of plugin.
    pub kind: PluginKind,
    /// Its name.
    pub plugin: String,
    /// An explicit plugin file (resolved against the template's directory).
    pub path: Option<PathBuf>,
    /// How this step's plugin runs, when the template says.
    pub isolation: Option<Mode>,
    /// The plugin's configuration, as JSON.
    pub config: serde_json::Value,
    /// Its position among the steps of its kind, from 1.
    pub index: usize,
}

impl Step {
    /// Where the step is in the template, as `builder #1`.
    pub fn position(&self) -> String {
        format!("{} #{}", self.kind, self.index)
    }
}

impl fmt::Display for Step {
    /// The step and its plugin, as `builder #1 (dir)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.position(), self.plugin)
    }
}

/// Why a template cannot be used. Each names the template file.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("{path}: cannot read the template: {source}")]
    Read {
        /// The template.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid template.
    #[error("{path}: not a valid template: {message}")]
    Invalid {
        /// The template.
        path: PathBuf,
        /// What is wrong, from the TOML parser or the checks.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    description: Option<String>,
    #[serde(default)]
    builders: Vec<StepFile>,
    #[serde(default)]
    provisioners: Vec<StepFile>,
    #[serde(default, rename = "post-processors")]
    post_processors: Vec<StepFile>,
    #[serde(default)]
    required_plugins: std::collections::BTreeMap<String, RequiredFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredFile {
    source: String,
    version: String,
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    plugin: String,
    path: Option<PathBuf>,
    isolation: Option<String>,
    #[serde(default)]
    config: toml::Table,
}

impl Template {
    /// Reads and checks the template at `path`.
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base_dir = path
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base_dir = base_dir
            .canonicalize()
            .map_err(|source| TemplateError::Read {
                path: path.to_owned(),
                source,
            })?;
        Template::parse(&text, path, base_dir)
    }

    /// Parses template text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path, base_dir: PathBuf) -> Result<Template, TemplateError> {
        let invalid = |message: String| TemplateError::Invalid {
            path: path.to_owned(),
            message,
        };
        let file: TemplateFile =
            toml::from_str(text).map_err(|e| invalid(one_line(&e.to_string())))?;
        if file.builders.is_empty() {
            return Err(invalid(
                "it has no builder; add a `[[builders]]` table naming a builder plugin".into(),
            ));
        }
        let mut steps = Vec::new();
        for (kind, entries) in [
            (PluginKind::Builder, file.builders),
            (PluginKind::Provisioner, file.provisioners),
            (PluginKind::PostProcessor, file.post_processors),
        ] {
            for (i, entry) in entries.into_iter().enumerate() {
                if !is_valid_name(&entry.plugin) {
                    return Err(invalid(format!(
                        "{kind} #{}: `{}` is not a plugin name; use letters, digits, `_` and `-`",
                        i + 1,
                        entry.plugin
                    )));
                }
                let isolation = entry
                    .isolation
                    .as_deref()
                    .map(str::parse::<Mode>)
                    .transpose()
                    .map_err(|e| invalid(format!("{kind} #{}: isolation: {e}", i + 1)))?;
                let config = serde_json::to_value(&entry.config)
                    .map_err(|e| invalid(format!("{kind} #{}: config: {e}", i + 1)))?;
                steps.push(Step {
                    kind,
                    plugin: entry.plugin,
                    path: entry.path.map(|p| base_dir.join(p)),
                    isolation,
                    config,
                    index: i + 1,
                });
            }
        }
        let required = file
            .required_plugins
            .into_iter()
            .map(|(name, entry)| required(name, entry, &steps).map_err(invalid))
            .collect::<Result<_, _>>()?;
        Ok(Template {
            path: path.to_owned(),
            base_dir,
            description: file.description,
            steps,
            required,
        })
    }
}

/// Checks a `[required_plugins]` entry and finds its kind.
fn required(name: String, entry: RequiredFile, steps: &[Step]) -> Result<Required, String> {
    let at = format!("required_plugins.{name}");
    if !is_valid_name(&name) {
        return Err(format!(
            "{at}: `{name}` is not a plugin name; use letters, digits, `_` and `-`"
        ));
    }
    rivet_host::installed::check_source(&entry.source).map_err(|e| format!("{at}: {e}"))?;
    let version = VersionReq::parse(&entry.version).map_err(|e| {
        format!(
            "{at}: `{}` is not a version requirement ({e}); write it like \">= 1.2, < 2\"",
            entry.version
        )
    })?;
    let kind = match entry.kind {
        Some(kind) => kind
            .parse::<PluginKind>()
            .map_err(|_| format!("{at}: `{kind}` is not a plugin kind; use builder, provisioner, post-processor or command"))?,
        None => {
            let mut kinds: Vec<PluginKind> = steps
                .iter()
                .filter(|s| same_name(&s.plugin, &name))
                .map(|s| s.kind)
                .collect();
            kinds.dedup();
            match kinds[..] {
                [kind] => kind,
                [] => {
                    return Err(format!(
                        "{at}: no step uses `{name}`, so its kind is unknown; add `kind = \"builder\"` (or another kind)"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{at}: steps of several kinds use `{name}`; add `kind = \"...\"` to say which one this is"
                    ));
                }
            }
        }
    };
    Ok(Required {
        kind,
        name,
        source: entry.source,
        version,
    })
}

/// toml's errors show the offending line over several lines; keep the first
/// line (with the position) and the explanation.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('|')
                && !line.chars().all(|c| c == '^' || c == ' ')
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Template, TemplateError> {
        Template::parse(text, Path::new("t.toml"), PathBuf::from("/base"))
    }

    #[test]
    fn steps_come_in_pipeline_order_with_json_config() {
        let template = parse(
            r#"
            [[post-processors]]
            plugin = "checksum"
            [[builders]]
            plugin = "dir"
            path = "plugins/libplugin_builder_dir.so"
            config = { output = "out", n = 3 }
            [[provisioners]]
            plugin = "shell"
            "#,
        )
        .unwrap();
        let kinds: Vec<_> = template
            .steps
            .iter()
            .map(|s| (s.kind, s.plugin.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (PluginKind::Builder, "dir"),
                (PluginKind::Provisioner, "shell"),
                (PluginKind::PostProcessor, "checksum")
            ]
        );
        assert_eq!(
            template.steps[0].config,
            serde_json::json!({"n": 3, "output": "out"})
        );
        assert_eq!(
            template.steps[0].path.as_deref(),
            Some(Path::new("/base/plugins/libplugin_builder_dir.so"))
        );
        assert_eq!(template.steps[1].config, serde_json::json!({}));
    }

    #[test]
    fn required_plugins_take_their_kind_from_the_steps_or_say_it() {
        let template = parse(
            r#"
            [[builders]]
            plugin = "dir"
            [required_plugins]
            dir = { source = "example.org/acme/tools", version = ">= 1.2, < 2" }
            tool = { source = "local", version = "1", kind = "command" }
            "#,
        )
        .unwrap();
        let dir = template.required(PluginKind::Builder, "dir").unwrap();
        assert_eq!(dir.source, "example.org/acme/tools");
        assert!(dir.version.matches(&semver::Version::new(1, 9, 0)));
        assert!(!dir.version.matches(&semver::Version::new(2, 0, 0)));
        assert_eq!(
            template.required(PluginKind::Command, "tool").unwrap().kind,
            PluginKind::Command
        );
        assert!(template.required(PluginKind::Provisioner, "dir").is_none());

        for (extra, expected) in [
            (
                "other = { source = \"s\", version = \"1\" }",
                "no step uses",
            ),
            (
                "dir = { source = \"s\", version = \"one\" }",
                "not a version requirement",
            ),
            ("dir = { source = \"../s\", version = \"1\" }", "source"),
            (
                "dir = { source = \"s\", version = \"1\", kind = \"hook\" }",
                "not a plugin kind",
            ),
        ] {
            let text = format!("[[builders]]\nplugin = \"dir\"\n[required_plugins]\n{extra}\n");
            let error = parse(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{extra}: {error}");
        }
    }

    #[test]
    fn a_template_needs_a_builder() {
        let error = parse("[[provisioners]]\nplugin = \"shell\"\n").unwrap_err();
        assert!(error.to_string().contains("no builder"), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_names_are_refused() {
        let error = parse("[[builders]]\nplugin = \"dir\"\nconfg = {}\n").unwrap_err();
        assert!(error.to_string().contains("confg"), "{error}");
        let error = parse("[[builders]]\nplugin = \"../dir\"\n").unwrap_err();
        assert!(error.to_string().contains("not a plugin name"), "{error}");
        let error = parse("[[builders]]\nplugin = \"dir\"\nisolation = \"vm\"\n").unwrap_err();
        assert!(
            error.to_string().contains("not an isolation mode"),
            "{error}"
        );
    }
}
