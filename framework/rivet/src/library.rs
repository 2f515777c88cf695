//! Opening a framework plugin library and checking what it implements.
//!
//! Libraries are opened once per file, through the descriptor whose checks
//! passed, and never unloaded: values the host holds may point into them
//! (see [`rivet_host::OpenedLibraries`]).

use std::path::Path;

use rivet_abi::abi_stable::StableAbi;
use rivet_abi::abi_stable::abi_stability::abi_checking::{
    AbiInstabilityErrors, check_layout_compatibility,
};
use rivet_abi::abi_stable::library::{AbiHeaderRef, LibHeader, LibraryError, RawLibrary};
use rivet_abi::abi_stable::type_layout::TLData;
use rivet_abi::{FRAMEWORK_ABI, LogSink, PluginModRef, TypeLayout};
use rivet_host::integrity::Verified;
use rivet_host::{OpenedLibraries, compatible};

use crate::{HostInterface, Interface, LoadError};

/// Libraries opened so far.
static OPENED: OpenedLibraries<PluginModRef> = OpenedLibraries::new();

/// Opens the library at `path` through `verified` (the descriptor its
/// checks were made on), checks its root module and framework ABI, and
/// runs its `init` with `log` (again if it was opened before: `init` is
/// idempotent).
pub(crate) fn open(
    path: &Path,
    verified: Verified,
    log: LogSink,
) -> Result<PluginModRef, LoadError> {
    let not_a_plugin = |reason: String| LoadError::NotAPlugin {
        path: path.to_owned(),
        reason: one_line(&reason),
    };
    let module = OPENED.open(
        path,
        verified,
        |load_path| {
            let library = RawLibrary::load_at(load_path)
                .map_err(|error| not_a_plugin(error.to_string()))?;
            // The file's stem names its crate's root module; a file
            // renamed after it was built is found by the name it exports.
            let mut symbols = vec![root_symbol(path)];
            let find = |symbol: &String| {
                // SAFETY: `rivet_root_<crate>` is the `LibHeader` static
                // that `export!` defines, whose first field is abi_stable's
                // `AbiHeader` (what `AbiHeaderRef` points at); `upgrade`
                // checks that header before anything else of it is read.
                unsafe { library.get::<AbiHeaderRef>(symbol.as_bytes()) }
                    .ok()
                    .map(|header| *header)
            };
            let header = match find(&symbols[0]) {
                Some(header) => header,
                None => {
                    symbols = exported_roots(load_path);
                    symbols.iter().find_map(find).ok_or_else(|| {
                        not_a_plugin(format!(
                            "it exports no root module `{}` (a plugin's file is named after its crate, `lib<crate>.so`, and exports it with `rivet::export!`)",
                            root_symbol(path).trim_end_matches('\0')
                        ))
                    })?
                }
            };
            let header = header
                .upgrade()
                .map_err(|error| not_a_plugin(error.to_string()))?;
            // Never unloaded: the host may hold values pointing into it.
            std::mem::forget(library);
            Ok(header)
        },
        |header| root_module(path, header),
    )?;
    init(path, module, log)?;
    Ok(module)
}

/// Runs `module`'s `init` with `log` (idempotent: again for a library
/// opened before, or a built-in plugin loaded again).
pub(crate) fn init(path: &Path, module: PluginModRef, log: LogSink) -> Result<(), LoadError> {
    module.init()(log)
        .into_result()
        .map_err(|error| LoadError::Init {
            path: path.to_owned(),
            message: error.message.into(),
        })
}

/// The symbol of the root module of the plugin file `path`, NUL-terminated:
/// `rivet_root_` and the file's stem without an installed version part
/// (`libplugin_x_y.so` and `libplugin_x_y_v1.0.0_i1_linux_x86_64.so` →
/// `plugin_x_y`), the crate name `export!` used.
fn root_symbol(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    format!("rivet_root_{}\0", rivet_host::installed::plain_stem(&file))
}

/// The root module symbols (`rivet_root_` and a crate's name,
/// NUL-terminated) the file at `path` names in its symbol table, found in
/// its bytes, at most [`MAX_ROOTS`]: how a plugin file renamed after it was
/// built is still found. Candidates only: each is then looked up in the
/// loaded library and its header checked.
fn exported_roots(path: &Path) -> Vec<String> {
    const PREFIX: &[u8] = b"rivet_root_";
    const MAX_ROOTS: usize = 16;
    const MAX_NAME: usize = 256;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut found: Vec<String> = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    // Bytes carried over from the end of the previous chunk, so a name
    // across two reads is seen whole.
    let mut kept = 0;
    loop {
        let read = match std::io::Read::read(&mut file, &mut buffer[kept..]) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let filled = kept + read;
        let data = &buffer[..filled];
        let mut at = 0;
        while let Some(offset) = data[at..]
            .windows(PREFIX.len())
            .position(|window| window == PREFIX)
        {
            let start = at + offset;
            let name = &data[start + PREFIX.len()..];
            let length = name
                .iter()
                .take(MAX_NAME)
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if length > 0 && name.get(length) == Some(&0) {
                let symbol = format!(
                    "{}{}\0",
                    String::from_utf8_lossy(PREFIX),
                    String::from_utf8_lossy(&name[..length])
                );
                if !found.contains(&symbol) {
                    found.push(symbol);
                }
                if found.len() == MAX_ROOTS {
                    return found;
                }
            }
            at = start + 1;
        }
        kept = filled.min(PREFIX.len() + MAX_NAME + 1);
        buffer.copy_within(filled - kept..filled, 0);
    }
    found
}

/// The root module of the library whose header the dynamic linker mapped,
/// once its layout and framework ABI are checked.
fn root_module(path: &Path, header: &'static LibHeader) -> Result<PluginModRef, LoadError> {
    let not_a_plugin = |reason: String| LoadError::NotAPlugin {
        path: path.to_owned(),
        reason: one_line(&reason),
    };
    let module = header
        .init_root_module::<PluginModRef>()
        .map_err(|error| match error {
            LibraryError::AbiInstability(report) => not_a_plugin(format!(
                "its root module is not this framework's ({}); rebuild it with this host's `rivet`",
                rivet_abi::summarize_layout_report(&report.to_string())
            )),
            other => not_a_plugin(other.to_string()),
        })?;
    if module.framework_abi() != FRAMEWORK_ABI {
        return Err(LoadError::FrameworkAbi {
            path: path.to_owned(),
            found: module.framework_abi(),
            expected: FRAMEWORK_ABI,
        });
    }
    Ok(module)
}

/// What a plugin says it implements.
pub(crate) struct Found<'a> {
    /// The interface's name, version and methods' signatures.
    pub(crate) interface: [&'a str; 3],
    /// The host trait's name and methods' signatures.
    pub(crate) host: [&'a str; 2],
    /// In-process: the layouts of the plugin's vtable and of the host
    /// vtable it expects; isolated plugins have only signatures.
    pub(crate) layouts: Option<(&'static TypeLayout, Option<&'static TypeLayout>)>,
}

/// Checks that a plugin's interface is `I`: its name, a compatible version,
/// and, in-process, the layouts of the vtable and of the host trait's
/// vtable; isolated, the methods' signatures and the host trait's.
pub(crate) fn check_interface<I: Interface + ?Sized>(
    path: &Path,
    found: &Found<'_>,
) -> Result<(), LoadError> {
    let [name, version, signature] = found.interface;
    if name != I::NAME {
        return Err(LoadError::WrongInterface {
            path: path.to_owned(),
            found: name.to_owned(),
            expected: I::NAME.to_owned(),
        });
    }
    if !compatible(version, I::VERSION) {
        return Err(LoadError::InterfaceVersion {
            path: path.to_owned(),
            interface: I::NAME.to_owned(),
            found: version.to_owned(),
            expected: I::VERSION.to_owned(),
        });
    }
    let mismatch = |detail: String| LoadError::InterfaceMismatch {
        path: path.to_owned(),
        interface: I::NAME.to_owned(),
        version: version.to_owned(),
        detail,
    };
    let [host, host_signature] = found.host;
    let host_name = <I::Host as HostInterface>::NAME;
    if host != host_name {
        let name = |host: &str| match host {
            "" => "no host trait".to_owned(),
            host => format!("host trait `{host}`"),
        };
        return Err(mismatch(format!(
            "the plugin's interface has {}, the host's has {}",
            name(host),
            name(host_name)
        )));
    }
    let layout_mismatch = |what: &str, errors: AbiInstabilityErrors| {
        let report = errors.to_string();
        log::debug!("abi_stable's report for {}:\n{report}", path.display());
        mismatch(format!(
            "{what}{}",
            rivet_abi::summarize_layout_report(&report)
        ))
    };
    match found.layouts {
        Some((vtable, host)) => {
            check_vtable(<I::VTable as StableAbi>::LAYOUT, vtable)
                .map_err(|errors| layout_mismatch("", errors))?;
            match (<I::Host as HostInterface>::LAYOUT, host) {
                (Some(expected), Some(host)) => check_vtable(expected, host)
                    .map_err(|errors| layout_mismatch("in the host trait: ", errors)),
                (None, None) => Ok(()),
                _ => Err(mismatch("the host trait's vtable is missing".to_owned())),
            }
        }
        None => {
            check_signature(signature, I::SIGNATURE).map_err(&mismatch)?;
            check_signature(host_signature, <I::Host as HostInterface>::SIGNATURE)
                .map_err(|detail| mismatch(format!("in the host trait: {detail}")))
        }
    }
}

/// Checks a plugin's vtable layout against the host's: the methods both
/// have must match, and the longer vtable's other methods must all be ones
/// added in later minor versions (abi_stable's rule for prefix types: the
/// same prefix, the same fields in the same order).
///
/// abi_stable lets the implementation (its second argument) have more
/// fields than the interface, not fewer, so the shorter of the two vtables
/// is passed as the interface: a plugin built against an earlier minor
/// version (a shorter vtable) is checked as the interface of the host's.
/// Either way what is checked is that one vtable's fields are a prefix of
/// the other's; which fields the plugin really has is what its vtable's
/// field accessibility says at every call.
fn check_vtable(
    host: &'static TypeLayout,
    plugin: &'static TypeLayout,
) -> Result<(), AbiInstabilityErrors> {
    match (vtable_methods(host), vtable_methods(plugin)) {
        (Some(host_methods), Some(plugin_methods)) if plugin_methods < host_methods => {
            check_layout_compatibility(plugin, host)
        }
        _ => check_layout_compatibility(host, plugin),
    }
}

/// How many methods the vtable whose prefix reference has `layout` holds:
/// the fields of the prefix type the reference points at.
fn vtable_methods(layout: &'static TypeLayout) -> Option<usize> {
    let pointee = layout.phantom_fields().iter().next()?.layout();
    match pointee.data() {
        TLData::PrefixType(prefix) => Some(prefix.fields.len()),
        _ => None,
    }
}

/// The isolated counterpart of [`check_vtable`], on the methods'
/// signatures (one line per method): the lines both have are equal, and the
/// longer list's other lines are methods added in later minor versions.
fn check_signature(plugin: &str, host: &str) -> Result<(), String> {
    let (plugin_lines, host_lines): (Vec<&str>, Vec<&str>) =
        (plugin.lines().collect(), host.lines().collect());
    if let Some((found, expected)) = plugin_lines
        .iter()
        .zip(&host_lines)
        .find(|(found, expected)| found != expected)
    {
        return Err(format!(
            "the plugin has `{found}` where the host has `{expected}`"
        ));
    }
    let common = plugin_lines.len().min(host_lines.len());
    let (longer, whose) = if plugin_lines.len() > common {
        (&plugin_lines, "the plugin")
    } else {
        (&host_lines, "the host")
    };
    match longer[common..]
        .iter()
        .find(|line| !line.contains(" // since "))
    {
        Some(extra) => Err(format!(
            "{whose} also has `{extra}`, which is not marked as added in a later version"
        )),
        None => Ok(()),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::check_signature;

    #[test]
    fn signatures_may_differ_by_methods_added_later() {
        let old = "fn a(&self) -> u32;\nfn b(&self) -> u32;";
        let new = "fn a(&self) -> u32;\nfn b(&self) -> u32;\nfn c(&self) -> u32; // since 1.1";
        assert_eq!(check_signature(old, new), Ok(()));
        assert_eq!(check_signature(new, old), Ok(()));
        assert_eq!(check_signature(new, new), Ok(()));
        let unmarked = "fn a(&self) -> u32;\nfn b(&self) -> u32;\nfn c(&self) -> u32;";
        assert!(
            check_signature(unmarked, old)
                .unwrap_err()
                .contains("the plugin also has `fn c")
        );
        let changed = "fn a(&self) -> u64;\nfn b(&self) -> u32;";
        assert!(
            check_signature(changed, new)
                .unwrap_err()
                .contains("`fn a(&self) -> u64;`")
        );
    }
}
