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
//! ```

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rivet_loader::{Mode, PluginKind, is_valid_name};
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
    /// The plugin's configuration, as JSON text.
    pub config: String,
    /// Its position among the steps of its kind, from 1.
    pub index: usize,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{} ({})", self.kind, self.index, self.plugin)
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
                let config = serde_json::to_string(&entry.config)
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
        Ok(Template {
            path: path.to_owned(),
            base_dir,
            description: file.description,
            steps,
        })
    }
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
        assert_eq!(template.steps[0].config, r#"{"n":3,"output":"out"}"#);
        assert_eq!(
            template.steps[0].path.as_deref(),
            Some(Path::new("/base/plugins/libplugin_builder_dir.so"))
        );
        assert_eq!(template.steps[1].config, "{}");
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
