//! What a build leaves on disk, read back to compare: a directory tree and
//! a `.tar.gz` archive, each as file paths (relative, `/`-separated) with
//! their contents.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use rivet_interface::Artifact;

/// The files under `root`, relative, with their contents.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let artifact = Artifact::from_dir("tree", root).unwrap();
    artifact
        .files
        .iter()
        .map(|file| (file.clone(), fs::read(root.join(file)).unwrap()))
        .collect()
}

/// The files of the `.tar.gz` `archive`, with their contents (directory
/// entries skipped). A file that is in the archive twice fails the test.
pub fn unpack(archive: &Path) -> BTreeMap<String, Vec<u8>> {
    let file = fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert!(
            files.insert(path.clone(), content).is_none(),
            "{path} twice"
        );
    }
    files
}
