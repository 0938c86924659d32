//! The key-template grammar: literal text with variables `${field}` or `$<field>`,
//! optionally padded as OneTable pads them: `${field:width}` or `${field:width:pad}`.
//!
//! Parsed here, at compile time, into the parts the runtime `Template` holds, so a
//! malformed template is a compile error and nothing is parsed when the program runs.

/// A parsed piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Var(String),
    /// A variable left-padded to `width` with `pad`.
    Padded(String, usize, char),
}

impl Part {
    pub fn variable(&self) -> Option<&str> {
        match self {
            Part::Var(v) | Part::Padded(v, ..) => Some(v),
            Part::Text(_) => None,
        }
    }
}

/// A parsed template: its parts and delimiter characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub parts: Vec<Part>,
    pub delimiters: String,
}

impl Parsed {
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(Part::variable)
    }
}

/// Parses a value template (a computed field's): the same variables, without the
/// rules that keep keys unambiguous, since a computed value is never split back.
pub fn parse_value(source: &str) -> Result<Parsed, String> {
    let parts = parse_parts(source)?;
    Ok(Parsed { parts, delimiters: String::new() })
}

/// Parses a template, or says what is wrong with it.
pub fn parse(source: &str) -> Result<Parsed, String> {
    let parts = parse_parts(source)?;
    key_rules(parts)
}

fn parse_parts(source: &str) -> Result<Vec<Part>, String> {
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
        let (name, pad) = match name.split_once(':') {
            Some((name, spec)) => (name, Some(padding(name.trim(), spec)?)),
            None => (name.as_str(), None),
        };
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
        parts.push(match pad {
            Some((width, pad)) => Part::Padded(name.to_owned(), width, pad),
            None => Part::Var(name.to_owned()),
        });
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    if parts.is_empty() {
        return Err("the template is empty".into());
    }
    Ok(parts)
}

/// The delimiters of a key template, and the rules that make its keys parse back.
fn key_rules(parts: Vec<Part>) -> Result<Parsed, String> {
    let mut delimiters: Vec<char> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text(t) => Some(t.chars().filter(|c| !c.is_alphanumeric() && !c.is_whitespace())),
            Part::Var(_) | Part::Padded(..) => None,
        })
        .flatten()
        .collect();
    delimiters.sort_unstable();
    delimiters.dedup();
    // Two variables must be parted by a delimiter, or `a`+`bc` and `ab`+`c` would be
    // the same key.
    for pair in parts.windows(2) {
        if let (Some(a), Some(b)) = (pair[0].variable(), pair[1].variable()) {
            return Err(format!("variables `{a}` and `{b}` touch: put a delimiter such as '#' between them"));
        }
    }
    for triple in parts.windows(3) {
        if let (Some(a), Part::Text(t), Some(b)) = (triple[0].variable(), &triple[1], triple[2].variable()) {
            if !t.chars().any(|c| delimiters.contains(&c)) {
                return Err(format!(
                    "variables `{a}` and `{b}` are parted by \"{t}\", which has no delimiter: use punctuation such as '#'"
                ));
            }
        }
    }
    // A padding character inside a value would be read as the value's end.
    for part in &parts {
        if let Part::Padded(name, _, pad) = part {
            if delimiters.contains(pad) {
                return Err(format!(
                    "`{name}` is padded with '{pad}', a delimiter of this template: pad with '0'"
                ));
            }
        }
    }
    Ok(Parsed { parts, delimiters: delimiters.into_iter().collect() })
}

/// The width and padding character of `${name:width:pad}` (`pad` `0` by default).
fn padding(name: &str, spec: &str) -> Result<(usize, char), String> {
    let (width, pad) = spec.split_once(':').unwrap_or((spec, "0"));
    let width: usize = match width.trim().parse() {
        Ok(w) if (1..=1024).contains(&w) => w,
        _ => {
            return Err(format!(
            "`{name}`: the padding width `{width}` is not a number from 1 to 1024 (as in ${{{name}:10:0}})"
        ))
        }
    };
    let mut chars = pad.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if !c.is_ascii_digit() || c == '0' => Ok((width, c)),
        _ => Err(format!(
            "`{name}`: pad with one character that is not a digit other than 0, not `{pad}` (as in ${{{name}:{width}:0}})"
        )),
    }
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
    fn padded_variables_as_onetable_spells_them() {
        let p = parse("SEQ#${seq:10:0}").unwrap();
        assert_eq!(p.parts, [Part::Text("SEQ#".into()), Part::Padded("seq".into(), 10, '0')]);
        assert_eq!(parse("SEQ#$<seq:4>").unwrap().parts[1], Part::Padded("seq".into(), 4, '0'));
        assert_eq!(parse("SEQ#${seq:4:x}").unwrap().parts[1], Part::Padded("seq".into(), 4, 'x'));
        assert!(parse("SEQ#${seq:ten}").unwrap_err().contains("padding width"));
        assert!(parse("SEQ#${seq:0}").unwrap_err().contains("padding width"));
        assert!(parse("SEQ#${seq:4:ab}").unwrap_err().contains("one character"));
        assert!(parse("SEQ#${seq:4:7}").unwrap_err().contains("one character"));
        assert!(parse("SEQ#${seq:4:#}").unwrap_err().contains("a delimiter of this template"));
        assert!(parse("${a:4}${b}").unwrap_err().contains("touch"));
    }

    #[test]
    fn value_templates_have_no_key_rules() {
        let p = parse_value("${first} ${last}").unwrap();
        assert_eq!(p.variables().collect::<Vec<_>>(), ["first", "last"]);
        assert_eq!(p.delimiters, "");
        assert!(parse_value("${a}${b}").is_ok(), "variables may touch in a computed value");
        assert!(parse_value("${a").unwrap_err().contains("not closed"));
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
