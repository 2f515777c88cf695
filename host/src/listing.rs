//! `rivet plugins list`: every plugin the search path, the installed
//! plugins and the host offer; `rivet plugins installed`: every installed
//! plugin file.
//!
//! Both read plugin metadata from the loader's metadata cache, loading only
//! plugins whose files changed since the last listing.

use std::io::{self, Write};

use rivet::{IntegrityError, Listing};
use rivet_host::integrity;

use crate::plugins::{Plugins, describe, kind_of};

/// Prints the plugins `plugins` finds, then the broken and shadowed files.
pub fn list(plugins: &Plugins, out: &mut impl Write) -> io::Result<()> {
    let Listing {
        plugins: listed,
        hidden,
        unreadable,
        ..
    } = plugins.loader().list();

    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut broken = Vec::new();
    for plugin in &listed {
        match &plugin.about {
            Ok(about) => rows.push([
                kind_name(plugin.interface),
                about.name.clone(),
                about.version.clone(),
                plugins.mode().to_string(),
                describe(&plugin.source),
            ]),
            Err(message) => broken.push(message),
        }
    }
    if rows.is_empty() {
        writeln!(out, "No plugins found. Searched: {}", dirs(plugins))?;
    } else {
        write_table(out, ["KIND", "NAME", "VERSION", "MODE", "FILE"], &rows)?;
    }

    if !broken.is_empty() {
        writeln!(out, "\nBroken plugins (not loaded):")?;
        for message in broken {
            writeln!(out, "  {message}")?;
        }
    }
    let shadowed_builtins: Vec<_> = plugins
        .loader()
        .builtins()
        .into_iter()
        .filter_map(|(builtin, by)| Some((builtin, by?)))
        .collect();
    if !hidden.is_empty() || !shadowed_builtins.is_empty() {
        writeln!(
            out,
            "\nShadowed plugins (not used; an earlier file on the search path wins):"
        )?;
        for item in &hidden {
            writeln!(
                out,
                "  {} {}: {} is hidden by {}",
                kind_name(item.file.kind),
                item.file.name,
                item.file.path.display(),
                item.by.display()
            )?;
        }
        for (builtin, by) in shadowed_builtins {
            writeln!(
                out,
                "  {} {}: the built-in plugin (version {}) is hidden by {}",
                kind_name(builtin.interface()),
                builtin.name(),
                builtin.version(),
                by.display()
            )?;
        }
    }
    if !unreadable.is_empty() {
        writeln!(out, "\nUnreadable directories on the search path:")?;
        for item in &unreadable {
            writeln!(out, "  {}: {}", item.dir.display(), item.error)?;
        }
    }
    Ok(())
}

/// The kind whose interface is `interface`, as users write it
/// (`post-processor`).
fn kind_name(interface: &str) -> String {
    kind_of(interface).map_or(interface.to_owned(), |kind| kind.to_string())
}

/// How an installed file compares with its checksum sidecar.
fn checksum_state(path: &std::path::Path) -> String {
    match integrity::verified_digest(path) {
        Ok(_) => "ok".to_owned(),
        Err(IntegrityError::ChecksumMismatch { .. }) => {
            "MISMATCH (changed since install)".to_owned()
        }
        Err(IntegrityError::MissingChecksum { .. }) => "missing".to_owned(),
        Err(error) => format!("unreadable ({error})"),
    }
}

/// Prints every installed plugin file: source, kind, name, version,
/// checksum state and path; then why any of them cannot be used.
pub fn installed(plugins: &Plugins, out: &mut impl Write) -> io::Result<()> {
    let loader = plugins.loader();
    let installed = loader.installed();
    if installed.is_empty() {
        let root = loader
            .config()
            .install_dir()
            .map_or("(no install directory)".to_owned(), |d| {
                d.display().to_string()
            });
        return writeln!(
            out,
            "No plugins installed in {root}. Install one with `rivet plugins install FILE_OR_PACKAGE`."
        );
    }
    let rows: Vec<[String; 6]> = installed
        .iter()
        .map(|plugin| {
            [
                if plugin.source.is_empty() {
                    "-".to_owned()
                } else {
                    plugin.source.clone()
                },
                kind_name(&plugin.id.kind),
                plugin.id.name.clone(),
                plugin.id.version.to_string(),
                checksum_state(&plugin.path),
                plugin.path.display().to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        ["SOURCE", "KIND", "NAME", "VERSION", "CHECKSUM", "PATH"],
        &rows,
    )?;
    let unusable: Vec<String> = installed
        .iter()
        .filter_map(|plugin| plugins.usable(plugin).err())
        .collect();
    if !unusable.is_empty() {
        writeln!(out, "\nUnusable installed plugins:")?;
        for message in unusable {
            writeln!(out, "  {message}")?;
        }
    }
    Ok(())
}

fn dirs(plugins: &Plugins) -> String {
    plugins
        .loader()
        .config()
        .dirs()
        .dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes rows under a header, each column as wide as its widest cell.
pub fn write_table<const N: usize>(
    out: &mut impl Write,
    header: [&str; N],
    rows: &[[String; N]],
) -> io::Result<()> {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut out = Vec::new();
        let rows = [
            ["builder".to_string(), "dir".to_string()],
            ["post-processor".to_string(), "x".to_string()],
        ];
        write_table(&mut out, ["KIND", "NAME"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "KIND            NAME\nbuilder         dir\npost-processor  x\n"
        );
    }
}
