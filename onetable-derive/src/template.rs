//! The key-template grammar: literal text with variables `${field}` or `$<field>`.
//!
//! Parsed here, at compile time, into the parts the runtime `Template` holds, so a
//! malformed template is a compile error and nothing is parsed when the program runs.

/// A parsed piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var(String),
}

/// A parsed template: its parts and delimiter characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub parts: Vec<Part>,
    pub delimiters: String,
}

impl Parsed {
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }
}

/// Parses a template, or says what is wrong with it.
pub fn parse(source: &str) -> Result<Parsed, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let close = match (c, chars.peek()) {
            ('$', Some((_, '{'))) => '}',
            ('$', Some((_, '<'))) => '>',
            _ => {
                text.push(c);
                continue;
            }
        };
        chars.next();
        let mut name = String::new();
        let mut closed = false;
        for (_, c) in chars.by_ref() {
            if c == close {
                closed = true;
                break;
            }
            name.push(c);
        }
        if !closed {
            return Err(format!("the variable starting at byte {at} is not closed with '{close}'"));
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("empty variable at byte {at}: write the field name, as in ${{id}}"));
        }
        if !is_identifier(name) {
            return Err(format!(
                "`{name}` is not a field name (variables hold a single field, as in ${{id}})"
            ));
        }
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(Part::Var(name.to_owned()));
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    if parts.is_empty() {
        return Err("the template is empty".into());
    }
    let mut delimiters: Vec<char> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.chars().filter(|c| !c.is_alphanumeric() && !c.is_whitespace())),
            Part::Var(_) => None,
        })
        .flatten()
        .collect();
    delimiters.sort_unstable();
    delimiters.dedup();
    // Two variables must be parted by a delimiter, or `a`+`bc` and `ab`+`c` would be
    // the same key.
    for pair in parts.windows(2) {
        if let [Part::Var(a), Part::Var(b)] = pair {
            return Err(format!("variables `{a}` and `{b}` touch: put a delimiter such as '#' between them"));
        }
    }
    for triple in parts.windows(3) {
        if let [Part::Var(a), Part::Text(t), Part::Var(b)] = triple {
            if !t.chars().any(|c| delimiters.contains(&c)) {
                return Err(format!(
                    "variables `{a}` and `{b}` are parted by \"{t}\", which has no delimiter: use punctuation such as '#'"
                ));
            }
        }
    }
    Ok(Parsed { parts, delimiters: delimiters.into_iter().collect() })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(s: &str) -> Vec<String> {
        parse(s).unwrap().variables().map(str::to_owned).collect()
    }

    #[test]
    fn both_spellings_and_any_number_of_variables() {
        assert_eq!(vars("USER#${id}"), ["id"]);
        assert_eq!(vars("USER#$<id>"), ["id"]);
        assert_eq!(vars("ACCOUNT#$<account_id>#USER#${id}"), ["account_id", "id"]);
        assert_eq!(vars("USER"), Vec::<String>::new());
        let p = parse("ORG#${org}:USER#$<id>").unwrap();
        assert_eq!(p.delimiters, "#:");
        assert_eq!(
            p.parts,
            [
                Part::Text("ORG#".into()),
                Part::Var("org".into()),
                Part::Text(":USER#".into()),
                Part::Var("id".into())
            ]
        );
    }

    #[test]
    fn a_dollar_not_opening_a_variable_is_text() {
        assert_eq!(parse("A$B").unwrap().parts, [Part::Text("A$B".into())]);
    }

    #[test]
    fn malformed_templates_say_what_is_wrong() {
        assert!(parse("USER#${id").unwrap_err().contains("not closed"));
        assert!(parse("USER#$<id").unwrap_err().contains("not closed"));
        assert!(parse("USER#${}").unwrap_err().contains("empty variable"));
        assert!(parse("USER#${a.b}").unwrap_err().contains("not a field name"));
        assert!(parse("${a}${b}").unwrap_err().contains("touch"));
        assert!(parse("${a}x${b}").unwrap_err().contains("no delimiter"));
        assert!(parse("").unwrap_err().contains("empty"));
    }
}
