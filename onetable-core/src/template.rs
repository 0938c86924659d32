//! Key templates: literal text and variables, as in `ACCOUNT#${account_id}#USER#${id}`.
//!
//! The derive parses templates at compile time and emits them as `'static` values, so
//! nothing is parsed at run time. The rule that keeps keys unambiguous: a value placed
//! in a template may not be empty nor contain any of the template's *delimiters*, the
//! punctuation characters of its literal text. Then every key can be split back into
//! its values in exactly one way, and two items can never share a key by accident.

/// A piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(&'static str),
    /// A variable: the name of the Rust field whose value goes here.
    Var(&'static str),
    /// A variable whose value is left-padded to a width, as OneTable's
    /// `${name:width:pad}`: numbers then sort as text (`SEQ#0000000042`).
    Padded(&'static str, Pad),
}

/// How a padded variable is padded: to `width` characters with `with` on the left
/// (OneTable's `${name:width:pad}`, `pad` `0` by default). A longer value is kept
/// whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    /// The width reached by padding.
    pub width: usize,
    /// The padding character.
    pub with: char,
}

impl Pad {
    /// Left-pads the text written to `out` since `start`.
    pub fn apply(&self, out: &mut String, start: usize) {
        let len = out[start..].chars().count();
        if len < self.width {
            let padding: String = std::iter::repeat_n(self.with, self.width - len).collect();
            out.insert_str(start, &padding);
        }
    }

    /// The value a padded text was made from: without its leading padding, keeping at
    /// least one character (`000` is `0`).
    pub fn strip<'k>(&self, text: &'k str) -> &'k str {
        let stripped = text.trim_start_matches(self.with);
        if stripped.is_empty() && !text.is_empty() {
            &text[text.len() - self.with.len_utf8()..]
        } else {
            stripped
        }
    }
}

impl Part {
    /// The field name of a variable part.
    pub fn variable(&self) -> Option<&'static str> {
        match self {
            Part::Var(v) | Part::Padded(v, _) => Some(v),
            Part::Text(_) => None,
        }
    }
}

/// A parsed key template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// The template as written.
    pub source: &'static str,
    /// Its literal and variable parts, in order.
    pub parts: &'static [Part],
    /// The characters a value may not contain: the punctuation of the literal parts.
    pub delimiters: &'static str,
}

impl Template {
    /// The field names of its variables, in order.
    pub fn variables(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.parts.iter().filter_map(Part::variable)
    }

    /// True when the template has no variables (such as `ACCOUNT`).
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// True when `value` could stand for a variable: not empty, no delimiter.
    pub fn accepts_value(&self, value: &str) -> bool {
        !value.is_empty() && !value.contains(|c| self.delimiters.contains(c))
    }

    /// True when `key` is a key this template can produce. This is how an item's key
    /// tells its entity apart from another whose template extends it: `USER#x#y` does
    /// not match `USER#${id}`, because an id cannot contain `#`.
    pub fn matches(&self, key: &str) -> bool {
        self.match_from(0, key)
    }

    /// The variable values of a key this template produced, in template order, or
    /// `None` when the key does not match. Unambiguous because values never contain
    /// the template's delimiters. A padded value comes without its padding.
    pub fn extract<'k>(&self, key: &'k str) -> Option<Vec<(&'static str, &'k str)>> {
        let mut values = Vec::new();
        self.extract_from(0, key, &mut values).then_some(values)
    }

    fn extract_from<'k>(
        &self,
        part: usize,
        rest: &'k str,
        values: &mut Vec<(&'static str, &'k str)>,
    ) -> bool {
        match self.parts.get(part) {
            None => rest.is_empty(),
            Some(Part::Text(t)) => {
                rest.strip_prefix(t).is_some_and(|r| self.extract_from(part + 1, r, values))
            }
            Some(piece @ (Part::Var(name) | Part::Padded(name, _))) => {
                let limit = rest.find(|c| self.delimiters.contains(c)).unwrap_or(rest.len());
                for n in (1..=limit).filter(|&n| rest.is_char_boundary(n)) {
                    let value = match piece {
                        Part::Padded(_, pad) => pad.strip(&rest[..n]),
                        _ => &rest[..n],
                    };
                    values.push((name, value));
                    if self.extract_from(part + 1, &rest[n..], values) {
                        return true;
                    }
                    values.pop();
                }
                false
            }
        }
    }

    fn match_from(&self, part: usize, rest: &str) -> bool {
        match self.parts.get(part) {
            None => rest.is_empty(),
            Some(Part::Text(t)) => rest.strip_prefix(t).is_some_and(|r| self.match_from(part + 1, r)),
            Some(Part::Var(_) | Part::Padded(..)) => {
                // A value runs up to the next delimiter; try each end point so literal
                // text made of ordinary characters right after a variable still works.
                let limit = rest.find(|c| self.delimiters.contains(c)).unwrap_or(rest.len());
                (1..=limit)
                    .filter(|&n| rest.is_char_boundary(n))
                    .any(|n| self.match_from(part + 1, &rest[n..]))
            }
        }
    }

    /// True when some key could be produced by both templates, each with values it
    /// accepts. Used to refuse two entities whose keys could collide in one table.
    pub fn overlaps(&self, other: &Template) -> bool {
        // Symbolic product of the two patterns: the only characters that matter are
        // those in either template's literals, plus one that is in neither.
        let mut alphabet: Vec<char> = self.literal_chars().chain(other.literal_chars()).collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        let other_char =
            (1..).map(|n| char::from_u32(0x4e00 + n).unwrap_or('x')).find(|c| !alphabet.contains(c));
        alphabet.extend(other_char);
        let (a, b) = (Pattern::of(self), Pattern::of(other));
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![(a.start(), b.start())];
        while let Some((sa, sb)) = stack.pop() {
            if !seen.insert((sa.clone(), sb.clone())) {
                continue;
            }
            if a.accepting(&sa) && b.accepting(&sb) {
                return true;
            }
            for &c in &alphabet {
                let (na, nb) = (a.step(&sa, c), b.step(&sb, c));
                if !na.is_empty() && !nb.is_empty() {
                    stack.push((na, nb));
                }
            }
        }
        false
    }

    fn literal_chars(&self) -> impl Iterator<Item = char> + '_ {
        self.parts.iter().flat_map(|p| match p {
            Part::Text(t) => t.chars(),
            Part::Var(_) | Part::Padded(..) => "".chars(),
        })
    }
}

/// A template as a nondeterministic automaton over characters. A state is a position:
/// (part index, offset into a literal) or (part index, inside a variable having read
/// at least one character).
struct Pattern {
    tokens: Vec<Token>,
    delimiters: &'static str,
}

enum Token {
    Char(char),
    Var,
}

type States = std::collections::BTreeSet<(usize, bool)>;

impl Pattern {
    fn of(t: &Template) -> Pattern {
        let mut tokens = Vec::new();
        for p in t.parts {
            match p {
                Part::Text(s) => tokens.extend(s.chars().map(Token::Char)),
                Part::Var(_) | Part::Padded(..) => tokens.push(Token::Var),
            }
        }
        Pattern { tokens, delimiters: t.delimiters }
    }

    /// State `(i, false)`: before token i; `(i, true)`: inside variable token i, having
    /// read at least one character.
    fn start(&self) -> States {
        std::iter::once((0, false)).collect()
    }

    fn accepting(&self, states: &States) -> bool {
        states
            .iter()
            .any(|&(i, inside)| (i == self.tokens.len() && !inside) || (inside && i + 1 == self.tokens.len()))
    }

    fn step(&self, states: &States, c: char) -> States {
        let mut next = States::new();
        for &(i, inside) in states {
            if inside {
                // Stay in the variable, or leave it and read c as the next token.
                if !self.delimiters.contains(c) {
                    next.insert((i, true));
                }
                self.read(i + 1, c, &mut next);
            } else {
                self.read(i, c, &mut next);
            }
        }
        next
    }

    fn read(&self, i: usize, c: char, next: &mut States) {
        match self.tokens.get(i) {
            Some(Token::Char(t)) if *t == c => {
                next.insert((i + 1, false));
            }
            Some(Token::Var) if !self.delimiters.contains(c) => {
                next.insert((i, true));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Template =
        Template { source: "USER#${id}", parts: &[Part::Text("USER#"), Part::Var("id")], delimiters: "#" };
    const PROFILE: Template = Template {
        source: "USER#PROFILE#${id}",
        parts: &[Part::Text("USER#PROFILE#"), Part::Var("id")],
        delimiters: "#",
    };
    const BY_NAME: Template = Template {
        source: "USER#${name}",
        parts: &[Part::Text("USER#"), Part::Var("name")],
        delimiters: "#",
    };
    const PAIR: Template = Template {
        source: "ORG#${org}#USER#${id}",
        parts: &[Part::Text("ORG#"), Part::Var("org"), Part::Text("#USER#"), Part::Var("id")],
        delimiters: "#",
    };
    const ACCOUNT: Template = Template { source: "ACCOUNT", parts: &[Part::Text("ACCOUNT")], delimiters: "" };

    #[test]
    fn matches_only_its_own_shape() {
        assert!(USER.matches("USER#ann"));
        assert!(!USER.matches("USER#"));
        assert!(!USER.matches("USER#PROFILE#ann"), "an id cannot contain '#'");
        assert!(PROFILE.matches("USER#PROFILE#ann"));
        assert!(PAIR.matches("ORG#acme#USER#ann"));
        assert!(!PAIR.matches("ORG#acme#x#USER#ann"));
        assert!(ACCOUNT.matches("ACCOUNT") && !ACCOUNT.matches("ACCOUNTS"));
    }

    #[test]
    fn overlap_is_found_exactly_when_a_key_fits_both() {
        assert!(!USER.overlaps(&PROFILE), "USER#x never equals USER#PROFILE#y");
        assert!(USER.overlaps(&BY_NAME), "same shape, different field");
        assert!(USER.overlaps(&USER));
        assert!(!ACCOUNT.overlaps(&USER));
        assert!(!PAIR.overlaps(&USER));
        let any = Template { source: "${id}", parts: &[Part::Var("id")], delimiters: "" };
        assert!(any.overlaps(&USER) && any.overlaps(&ACCOUNT) && any.overlaps(&PROFILE));
    }

    #[test]
    fn keys_parse_back_into_their_values() {
        assert_eq!(PAIR.extract("ORG#acme#USER#ann"), Some(vec![("org", "acme"), ("id", "ann")]));
        assert_eq!(PAIR.extract("ORG#acme#USER#"), None);
        assert_eq!(USER.extract("USER#PROFILE#x"), None);
        assert_eq!(ACCOUNT.extract("ACCOUNT"), Some(vec![]));
    }

    #[test]
    fn padded_values_parse_back_without_their_padding() {
        const SEQ: Template = Template {
            source: "SEQ#${seq:10:0}",
            parts: &[Part::Text("SEQ#"), Part::Padded("seq", Pad { width: 10, with: '0' })],
            delimiters: "#",
        };
        assert_eq!(SEQ.extract("SEQ#0000000042"), Some(vec![("seq", "42")]));
        assert_eq!(SEQ.extract("SEQ#0000000000"), Some(vec![("seq", "0")]));
        assert_eq!(SEQ.extract("SEQ#123456789012"), Some(vec![("seq", "123456789012")]));
        let pad = Pad { width: 4, with: '0' };
        let mut out = String::from("SEQ#");
        out.push('7');
        pad.apply(&mut out, 4);
        assert_eq!(out, "SEQ#0007");
        let mut long = String::from("123456");
        pad.apply(&mut long, 0);
        assert_eq!(long, "123456", "a longer value is kept whole, as OneTable does");
    }

    #[test]
    fn values_with_delimiters_or_empty_are_refused() {
        assert!(USER.accepts_value("ann"));
        assert!(!USER.accepts_value(""));
        assert!(!USER.accepts_value("PROFILE#ann"));
    }
}
