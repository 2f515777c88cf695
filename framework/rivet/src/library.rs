//! Opening a framework plugin library and checking what it implements.
//!
//! Libraries are opened with abi_stable's `lib_header_from_path` (which
//! checks the root module's layout) and never unloaded: values the host
//! holds may point into them.

use std::path::Path;

use rivet_abi::abi_stable::StableAbi;
use rivet_abi::abi_stable::abi_stability::abi_checking::check_layout_compatibility;
use rivet_abi::abi_stable::library::{LibraryError, lib_header_from_path};
use rivet_abi::{FRAMEWORK_ABI, LogSink, PluginModRef};

use crate::{Interface, LoadError};

/// Opens the library at `path`, checks its root module and framework ABI,
/// and runs its `init` with `log` (again if it was opened before: `init` is
/// idempotent).
pub(crate) fn open(path: &Path, log: LogSink) -> Result<PluginModRef, LoadError> {
    let not_a_plugin = |reason: String| LoadError::NotAPlugin {
        path: path.to_owned(),
        reason: one_line(&reason),
    };
    let header = lib_header_from_path(path).map_err(|error| match error {
        LibraryError::GetSymbolError { .. } => {
            not_a_plugin("it exports no root module (export one with `rivet::export!`)".to_owned())
        }
        other => not_a_plugin(other.to_string()),
    })?;
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
    if let Err(error) = module.init()(log).into_result() {
        return Err(LoadError::Init {
            path: path.to_owned(),
            message: error.message.into(),
        });
    }
    Ok(module)
}

/// Checks that a plugin's interface is `I`: its name, a compatible version
/// and, when `layout` is given (in-process), the vtable's layout; else (an
/// isolated plugin) the methods' signatures.
pub(crate) fn check_interface<I: Interface + ?Sized>(
    path: &Path,
    name: &str,
    version: &str,
    signature: &str,
    layout: Option<&'static rivet_abi::TypeLayout>,
) -> Result<(), LoadError> {
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
    match layout {
        Some(layout) => check_layout_compatibility(<I::VTable as StableAbi>::LAYOUT, layout)
            .map_err(|errors| {
                let report = errors.to_string();
                log::debug!("abi_stable's report for {}:\n{report}", path.display());
                mismatch(rivet_abi::summarize_layout_report(&report))
            }),
        None if signature != I::SIGNATURE => Err(mismatch(format!(
            "the plugin has `{signature}`, the host `{}`",
            I::SIGNATURE
        ))),
        None => Ok(()),
    }
}

/// Interface versions are compatible when their major versions are equal
/// (and, for 0.x, their minor versions): methods cannot be added yet, so no
/// other rule applies.
fn compatible(found: &str, expected: &str) -> bool {
    let key = |version: &str| {
        let mut parts = version.split('.');
        let major = parts.next().unwrap_or_default().to_owned();
        let minor = parts.next().unwrap_or_default().to_owned();
        if major == "0" {
            (major, minor)
        } else {
            (major, String::new())
        }
    };
    key(found) == key(expected)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::compatible;

    #[test]
    fn same_major_versions_are_compatible() {
        assert!(compatible("1.0.0", "1.4.2"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(compatible("0.3.1", "0.3.0"));
        assert!(!compatible("0.3.0", "0.4.0"));
    }
}
