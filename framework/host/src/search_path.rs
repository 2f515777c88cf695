//! An ordered list of directories to look for plugin files in; the
//! default one is [`Config::dirs`](crate::Config::dirs).

use std::path::PathBuf;

/// An ordered list of directories to look for plugin files in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPath {
    dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// An empty search path: only what is pushed onto it is searched.
    pub fn new() -> Self {
        SearchPath::default()
    }

    /// Adds `dir` at the end (lowest priority). A directory already on the
    /// path is not added twice.
    pub fn push(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        let dir = dir.into();
        if !self.dirs.contains(&dir) {
            self.dirs.push(dir);
        }
        self
    }

    /// Adds `dir` at the front (highest priority), moving it there if it was
    /// already on the path.
    pub fn push_front(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        let dir = dir.into();
        self.dirs.retain(|d| *d != dir);
        self.dirs.insert(0, dir);
        self
    }

    /// The directories, highest priority first.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }
}

impl<P: Into<PathBuf>> FromIterator<P> for SearchPath {
    fn from_iter<I: IntoIterator<Item = P>>(iter: I) -> Self {
        let mut path = SearchPath::new();
        for dir in iter {
            path.push(dir);
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_searched_once_at_its_first_place() {
        let path: SearchPath = ["/same", "/other", "/same"].into_iter().collect();
        assert_eq!(
            path.dirs(),
            [PathBuf::from("/same"), PathBuf::from("/other")]
        );
    }

    #[test]
    fn push_front_takes_priority() {
        let mut path: SearchPath = ["/a", "/b"].into_iter().collect();
        path.push_front("/b");
        assert_eq!(path.dirs(), [PathBuf::from("/b"), PathBuf::from("/a")]);
    }
}
