//! Design versions (`MAJOR.MINOR.PATCH`, ordered numerically): a migration's, and the
//! one a table stamps on the items it writes. Outside `migrate` so that the table
//! needs nothing of the migration engine.

use onetable_core::{Error, ErrorKind};
use std::fmt;

/// A migration's version, such as `0.2.0`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub(crate) [u64; 3]);

impl Version {
    /// Parses `MAJOR.MINOR.PATCH`.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let parts: Vec<&str> = text.split('.').collect();
        let numbers: Option<Vec<u64>> = parts.iter().map(|p| p.parse().ok()).collect();
        match numbers.as_deref() {
            Some([a, b, c]) => Ok(Version([*a, *b, *c])),
            _ => Err(ErrorKind::Migration {
                version: text.to_owned(),
                message: "a version is MAJOR.MINOR.PATCH, such as 0.1.0".into(),
            }
            .into()),
        }
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
