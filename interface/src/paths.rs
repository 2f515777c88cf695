//! Path normalisation: the one place where a path from a template becomes the
//! path Rivet checks and writes.
//!
//! Every rule about what a step may write or remove compares paths. A
//! comparison is only meaningful on normalised paths: `build/../..` and a
//! symbolic link to the home directory must both be seen for what they are
//! before any check, or the check can be walked around.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// `path` made absolute (against the current directory when relative), with
/// `.` dropped, symbolic links resolved and `..` applied, as the kernel would
/// resolve it.
///
/// Components are resolved from the left: each existing prefix is
/// canonicalised, so `link/..` is the parent of the link's *target*, as it is
/// for the kernel. The part that does not exist yet is kept as written, with
/// `..` applied lexically. The file system is read, never written.
///
/// ```
/// use std::path::Path;
/// let temp = std::env::temp_dir().canonicalize().unwrap();
/// let normal = rivet_interface::normalize(&temp.join("a/./b/../../c"));
/// assert_eq!(normal, temp.join("c"));
/// ```
pub fn normalize(path: &Path) -> PathBuf {
    let absolute;
    let path = if path.is_absolute() {
        path
    } else {
        absolute = std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path);
        &absolute
    };
    let mut normal = PathBuf::new();
    // Whether `normal` is still a canonical, existing path: once a component
    // is missing, what follows it cannot be resolved on disk.
    let mut resolved = true;
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => normal.push(component),
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
                resolved = resolved || normal.exists();
            }
            Component::Normal(name) => {
                normal.push(name);
                if resolved {
                    match fs::canonicalize(&normal) {
                        Ok(real) => normal = real,
                        Err(_) => resolved = false,
                    }
                }
            }
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_dot_and_dot_dot() {
        let temp = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(temp.path()).unwrap();
        assert_eq!(normalize(&base.join("./a/b/../c/")), base.join("a/c"));
        assert_eq!(normalize(&base.join("..")), base.parent().unwrap());
        assert_eq!(normalize(Path::new("/..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("/../../etc/.")), PathBuf::from("/etc"));
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let cwd = fs::canonicalize(std::env::current_dir().unwrap()).unwrap();
        assert_eq!(normalize(Path::new(".")), cwd);
        assert_eq!(normalize(Path::new("nope/..")), cwd);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_resolved_before_dot_dot() {
        let temp = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(temp.path()).unwrap();
        fs::create_dir_all(base.join("real/inner")).unwrap();
        std::os::unix::fs::symlink(base.join("real/inner"), base.join("link")).unwrap();
        // The kernel resolves `link/..` to `real`, not to `base`.
        assert_eq!(normalize(&base.join("link/..")), base.join("real"));
        assert_eq!(
            normalize(&base.join("link/new/file")),
            base.join("real/inner/new/file")
        );
    }
}
