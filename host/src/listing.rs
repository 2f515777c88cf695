//! `rivet plugins list`: every plugin the search path, the installed
//! plugins and the host offer; `rivet plugins installed`: every installed
//! plugin file.
//!
//! Both read plugin metadata from the loader's metadata cache, loading only
//! plugins whose files changed since the last listing.

use std::io::{self, Write};

use rivet_loader::{Catalog, Loader, Mode, PluginSource};

/// Prints the plugins `loader` finds, then the broken and shadowed files.
pub fn list(loader: &Loader, out: &mut impl Write) -> io::Result<()> {
    let Catalog {
        plugins,
        broken,
        shadowed,
        unreadable,
    } = loader.catalog();

    let rows: Vec<[String; 5]> = plugins
        .iter()
        .map(|plugin| {
            let metadata = &plugin.metadata;
            let mode = match plugin.source {
                PluginSource::BuiltIn => Mode::InProcess,
                PluginSource::File(_) => loader.mode(),
            };
            [
                metadata.kind.to_string(),
                metadata.name.clone(),
                metadata.version.clone(),
                mode.to_string(),
                plugin.source.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "No plugins found. Searched: {}", dirs(loader))?;
    } else {
        write_table(out, ["KIND", "NAME", "VERSION", "MODE", "FILE"], &rows)?;
    }

    if !broken.is_empty() {
        writeln!(out, "\nBroken plugins (not loaded):")?;
        for item in &broken {
            writeln!(out, "  {}", item.message)?;
        }
    }
    if !shadowed.is_empty() {
        writeln!(
            out,
            "\nShadowed plugins (not used; an earlier file on the search path wins):"
        )?;
        for item in &shadowed {
            let hidden = match &item.hidden {
                PluginSource::File(path) => path.display().to_string(),
                PluginSource::BuiltIn => "the built-in plugin".to_owned(),
            };
            writeln!(
                out,
                "  {} {}: {hidden} is hidden by {}",
                item.kind,
                item.name,
                item.by.display()
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

/// Prints every installed plugin file: source, kind, name, version,
/// checksum state and path; then why any of them cannot be used.
pub fn installed(loader: &Loader, out: &mut impl Write) -> io::Result<()> {
    let installed = loader.installed();
    if installed.is_empty() {
        let root = loader
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
        .map(|item| {
            let plugin = &item.plugin;
            [
                if plugin.source.is_empty() {
                    "-".to_owned()
                } else {
                    plugin.source.clone()
                },
                plugin.id.kind.to_string(),
                plugin.id.name.clone(),
                plugin.id.version.to_string(),
                item.checksum.to_string(),
                plugin.path.display().to_string(),
            ]
        })
        .collect();
    write_table(
        out,
        ["SOURCE", "KIND", "NAME", "VERSION", "CHECKSUM", "PATH"],
        &rows,
    )?;
    let unusable: Vec<&String> = installed
        .iter()
        .filter_map(|item| item.metadata.as_ref().err())
        .collect();
    if !unusable.is_empty() {
        writeln!(out, "\nUnusable installed plugins:")?;
        for message in unusable {
            writeln!(out, "  {message}")?;
        }
    }
    Ok(())
}

fn dirs(loader: &Loader) -> String {
    loader
        .search_path()
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
