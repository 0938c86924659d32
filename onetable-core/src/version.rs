//! Design versions (`MAJOR.MINOR.PATCH`, ordered numerically): a migration's, and the
//! one an entity's items carry.

use crate::{Error, ErrorKind};
use std::fmt;

/// A design version, such as `0.2.0`: a migration's, and the one an entity's items
/// are in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version([u64; 3]);

impl Version {
    /// Parses `MAJOR.MINOR.PATCH`.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let parts: Vec<&str> = text.split('.').collect();
        let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
        match numbers.as_deref() {
            Some([a, b, c]) => Ok(Version([*a, *b, *c])),
            _ => Err(ErrorKind::InvalidVersion { text: text.to_owned() }.into()),
        }
    }
}

impl Version {
    /// `MAJOR.MINOR.PATCH`.
    pub fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version([major, minor, patch])
    }

    /// `[MAJOR, MINOR, PATCH]`.
    pub fn parts(&self) -> [u64; 3] {
        self.0
    }
}

impl std::str::FromStr for Version {
    type Err = Error;
    fn from_str(text: &str) -> Result<Version, Error> {
        Version::parse(text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0[0], self.0[1], self.0[2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("0.10.0") > v("0.9.3"));
        assert!(v("1.0.0") > v("0.99.99"));
        assert_eq!(v("0.1.2").to_string(), "0.1.2");
        assert!(Version::parse("1.2").is_err() && Version::parse("v1.2.3").is_err());
    }
}
