//! Interface versions: one type, one compatibility rule.

use std::fmt;
use std::str::FromStr;

/// The version of a plugin interface (`MAJOR.MINOR.PATCH`), as an interface
/// declares it and a plugin reports the one it was built against.
///
/// Versions are compatible when their major versions are equal (and, for
/// 0.x, their minor versions), whichever minor version is newer: a minor
/// version only adds methods at the end, which the loader's checks and the
/// generated handles deal with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterfaceVersion(semver::Version);

impl InterfaceVersion {
    /// The major version (what installed file names record as `i<MAJOR>`).
    pub fn major(&self) -> u64 {
        self.0.major
    }

    /// Whether a plugin built against `other` loads in a host of this
    /// version (and the reverse: the rule is symmetric).
    pub fn is_compatible_with(&self, other: &InterfaceVersion) -> bool {
        self.series() == other.series()
    }

    /// The versions compatible with this one, for messages: `1.x`, `0.3.x`.
    pub fn series(&self) -> String {
        match self.0.major {
            0 => format!("0.{}.x", self.0.minor),
            major => format!("{major}.x"),
        }
    }
}

impl FromStr for InterfaceVersion {
    type Err = semver::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        semver::Version::parse(text).map(InterfaceVersion)
    }
}

impl fmt::Display for InterfaceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether interface versions `found` and `expected`, as written, are
/// compatible (see [`InterfaceVersion`]); a version that does not parse is
/// compatible with none.
pub fn compatible(found: &str, expected: &str) -> bool {
    match (found.parse::<InterfaceVersion>(), expected.parse()) {
        (Ok(found), Ok(expected)) => found.is_compatible_with(&expected),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_major_versions_are_compatible_and_0_x_needs_the_same_minor() {
        assert!(compatible("1.0.0", "1.4.2"));
        assert!(compatible("1.4.2", "1.0.0"));
        assert!(!compatible("2.0.0", "1.0.0"));
        assert!(compatible("0.3.1", "0.3.0"));
        assert!(!compatible("0.3.0", "0.4.0"));
        assert!(!compatible("1.x", "1.0.0"));
        let version: InterfaceVersion = "0.3.1".parse().unwrap();
        assert_eq!((version.major(), version.series()), (0, "0.3.x".to_owned()));
        assert_eq!("2.1.0".parse::<InterfaceVersion>().unwrap().series(), "2.x");
    }
}
