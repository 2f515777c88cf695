//! Plugin file names of the four kinds: `libplugin_TYPE_NAME.so`, the
//! kinds' file tokens as registered kinds of [`rivet_host::FileNames`].

use rivet_host::FileNames;
use rivet_interface::PluginKind;

/// The file name of plugin `(kind, name)` on this platform:
/// `libplugin_builder_dir.so` on Linux.
pub fn plugin_file_name(kind: PluginKind, name: &str) -> String {
    FileNames::default().file_name(kind.file_token(), name)
}

/// The `(kind, name)` a file name stands for, or `None` when the name does
/// not follow the pattern (such files are not plugins and are ignored).
pub fn parse_plugin_file_name(file_name: &str) -> Option<(PluginKind, String)> {
    let tokens = PluginKind::ALL.map(PluginKind::file_token);
    let (token, name) = FileNames::default().parse(file_name, &tokens)?;
    let kind = PluginKind::ALL
        .into_iter()
        .find(|kind| kind.file_token() == token)?;
    Some((kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        for kind in PluginKind::ALL {
            let name = plugin_file_name(kind, "x");
            assert_eq!(parse_plugin_file_name(&name), Some((kind, "x".into())));
        }
        assert_eq!(
            parse_plugin_file_name(&plugin_file_name(PluginKind::PostProcessor, "compress")),
            Some((PluginKind::PostProcessor, "compress".into()))
        );
    }
}
