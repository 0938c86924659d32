//! `rename_all`: the cases a unit enum's variants can be stored in, as serde spells
//! and converts them. One table serves to parse the option and to list the valid names
//! in its error.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Lower,
    Upper,
    Snake,
    ScreamingSnake,
    Kebab,
    Camel,
}

/// The spellings of `rename_all`.
const CASES: [(&str, Case); 6] = [
    ("lowercase", Case::Lower),
    ("UPPERCASE", Case::Upper),
    ("snake_case", Case::Snake),
    ("SCREAMING_SNAKE_CASE", Case::ScreamingSnake),
    ("kebab-case", Case::Kebab),
    ("camelCase", Case::Camel),
];

impl Case {
    /// The case named `name`, or the message listing the names.
    pub fn from_name(name: &str) -> Result<Case, String> {
        match CASES.iter().find(|(spelling, _)| *spelling == name) {
            Some((_, case)) => Ok(*case),
            None => {
                let names: Vec<&str> = CASES.iter().map(|(spelling, _)| *spelling).collect();
                Err(format!("expected one of {}", names.join(", ")))
            }
        }
    }

    /// A variant's name (`PastDue`) in this case: serde's rule, a word break before
    /// each capital.
    pub fn apply(self, name: &str) -> String {
        let mut words: Vec<String> = Vec::new();
        for c in name.chars() {
            if c.is_uppercase() || words.is_empty() {
                words.push(String::new());
            }
            if let Some(w) = words.last_mut() {
                w.extend(c.to_lowercase());
            }
        }
        match self {
            Case::Lower => words.concat(),
            Case::Upper => words.concat().to_uppercase(),
            Case::Snake => words.join("_"),
            Case::ScreamingSnake => words.join("_").to_uppercase(),
            Case::Kebab => words.join("-"),
            Case::Camel => words
                .iter()
                .enumerate()
                .map(|(i, w)| if i == 0 { w.clone() } else { capitalized(w) })
                .collect(),
        }
    }
}

/// `w` with its first character in upper case (whatever its length in bytes).
fn capitalized(w: &str) -> String {
    let mut chars = w.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_convert_as_serde_converts_variants() {
        let expected = [
            ("lowercase", "pastdue"),
            ("UPPERCASE", "PASTDUE"),
            ("snake_case", "past_due"),
            ("SCREAMING_SNAKE_CASE", "PAST_DUE"),
            ("kebab-case", "past-due"),
            ("camelCase", "pastDue"),
        ];
        for ((name, case), (expected_name, text)) in CASES.iter().zip(expected) {
            assert_eq!(*name, expected_name);
            assert_eq!(Case::from_name(name), Ok(*case));
            assert_eq!(case.apply("PastDue"), text, "{name}");
        }
        assert_eq!(Case::Snake.apply("Active"), "active");
        assert_eq!(
            Case::Kebab.apply("HTTPError"),
            "h-t-t-p-error",
            "serde's rule: a break before each capital"
        );
        assert_eq!(Case::Camel.apply("PastÉtat"), "pastÉtat", "a capital of more than one byte");
    }

    #[test]
    fn an_unknown_case_lists_the_names() {
        assert_eq!(
            Case::from_name("Title Case").unwrap_err(),
            "expected one of lowercase, UPPERCASE, snake_case, SCREAMING_SNAKE_CASE, kebab-case, camelCase"
        );
    }
}
