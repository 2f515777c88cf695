//! `rivet plugins list`: every plugin the search path and the host offer.

use std::io::{self, Write};

use rivet_loader::{Discovery, Loader, PluginSource};

/// Prints the plugins `loader` finds (loading each one to check it), then the
/// broken and shadowed files.
pub fn list(loader: &Loader, out: &mut impl Write) -> io::Result<()> {
    let Discovery {
        plugins,
        broken,
        broken_builtins,
        shadowed,
        unreadable,
    } = loader.load_all();

    let rows: Vec<[String; 5]> = plugins
        .iter()
        .map(|plugin| {
            let metadata = plugin.metadata();
            [
                metadata.kind.to_string(),
                metadata.name.clone(),
                metadata.version.clone(),
                plugin.mode().to_string(),
                plugin.source().to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "No plugins found. Searched: {}", dirs(loader))?;
    } else {
        write_table(out, ["KIND", "NAME", "VERSION", "MODE", "FILE"], &rows)?;
    }

    if !broken.is_empty() || !broken_builtins.is_empty() {
        writeln!(out, "\nBroken plugins (not loaded):")?;
        for item in &broken {
            writeln!(out, "  {}", item.error)?;
        }
        for error in &broken_builtins {
            writeln!(out, "  {error}")?;
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
