//! `#[entity(design = "MAJOR.MINOR.PATCH")]`: the design version an entity's items
//! are in, checked at compile time so that a misspelt version cannot reach a table.
//!
//! The version is written back without leading zeros, as the client writes migration
//! versions (`0.03.0` and `0.3.0` are one version, and must be one marker).

/// The version in its normal spelling, or `None` unless it is exactly three unsigned
/// integers separated by dots (no sign, no `v`, no spaces).
pub fn normalize(text: &str) -> Option<String> {
    let mut numbers = Vec::with_capacity(3);
    for part in text.split('.') {
        // `u64::from_str` alone would take a `+`.
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers.push(part.parse::<u64>().ok()?);
    }
    match numbers.as_slice() {
        [major, minor, patch] => Some(format!("{major}.{minor}.{patch}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn three_unsigned_integers_written_without_leading_zeros() {
        assert_eq!(normalize("0.3.0").as_deref(), Some("0.3.0"));
        assert_eq!(normalize("0.03.0").as_deref(), Some("0.3.0"));
        assert_eq!(normalize("10.200.3000").as_deref(), Some("10.200.3000"));
        assert_eq!(normalize("18446744073709551615.0.0").as_deref(), Some("18446744073709551615.0.0"));
    }

    #[test]
    fn other_spellings_are_refused() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "1.2.x",
            "+1.2.3",
            "-1.2.3",
            "1..3",
            "1.2.3.",
            " 1.2.3",
            "1.2.3 ",
            "1.2.3-beta",
            "18446744073709551616.0.0",
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
