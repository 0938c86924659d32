//! Field validation (`#[attr(validate = "..", length(..), range(..))]`, OneTable's
//! `validate`): each value a create, put, batch put or update writes is checked
//! against its field's rules before anything is sent, and a value that breaks one is
//! refused with an error naming the entity, field, value and rule.

use onetable_core::{AttributeValue, EntitySchema, Error, ErrorKind, FieldSchema, Item, Rules};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Checks every field of `schema` that has rules against its value in `item` (as
/// the entity writes it, before encryption); absent and null values pass.
pub(crate) fn check_item(schema: &'static EntitySchema, item: &Item) -> Result<(), Error> {
    for field in schema.fields.iter().filter(|f| f.rules.is_some()) {
        let value = match field.map {
            Some(map) => match item.get(map) {
                Some(AttributeValue::M(m)) => m.get(field.attribute),
                _ => None,
            },
            None => item.get(field.attribute),
        };
        if let Some(value) = value {
            check(schema.name, field, value)?;
        }
    }
    Ok(())
}

/// Checks one value of `field` (of entity `entity`) against the field's rules.
pub(crate) fn check(entity: &'static str, field: &FieldSchema, value: &AttributeValue) -> Result<(), Error> {
    let Some(rules) = field.rules else { return Ok(()) };
    let broken = match value {
        AttributeValue::S(text) => text_rule_broken(rules, text),
        AttributeValue::N(number) => number_rule_broken(rules, number),
        _ => None,
    };
    match broken {
        None => Ok(()),
        Some(rule) => Err(ErrorKind::Validation {
            entity,
            field: field.name,
            // An encrypted field's clear text goes into no message or log.
            value: match value {
                _ if field.crypt => "(encrypted, not shown)".to_owned(),
                AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
                other => format!("{other:?}"),
            },
            rule,
        }
        .into()),
    }
}

/// The rule a text breaks, described: the pattern (searched anywhere in the text, as
/// OneTable's `RegExp.exec` does), then the length in characters.
fn text_rule_broken(rules: &Rules, text: &str) -> Option<String> {
    if let Some(pattern) = rules.pattern {
        match regex(pattern) {
            Some(re) if re.is_match(text) => {}
            Some(_) => return Some(format!("does not match /{pattern}/")),
            // Only a hand-written schema the table did not check can get here: the
            // value is refused, never let through unchecked.
            None => {
                return Some(format!(
                    "cannot be checked: /{pattern}/ is not a regular expression onetable can run"
                ))
            }
        }
    }
    let length = text.chars().count();
    match (rules.min_length, rules.max_length) {
        (Some(min), _) if length < min => {
            Some(format!("is {length} characters long, under the minimum of {min}"))
        }
        (_, Some(max)) if length > max => {
            Some(format!("is {length} characters long, over the maximum of {max}"))
        }
        _ => None,
    }
}

/// The range a number falls outside of, described.
fn number_rule_broken(rules: &Rules, number: &str) -> Option<String> {
    if rules.min.is_none() && rules.max.is_none() {
        return None;
    }
    let Ok(n) = number.parse::<f64>() else { return Some("is not a number".into()) };
    match (rules.min, rules.max) {
        (Some(min), _) if n < min => Some(format!("is under the minimum of {min}")),
        (_, Some(max)) if n > max => Some(format!("is over the maximum of {max}")),
        _ => None,
    }
}

/// The compiled pattern, compiled once per pattern for the life of the process;
/// `None` for one that does not compile (the derive and `TableBuilder::build` refuse
/// those, so only a hand-written schema of an entity the table did not check has one).
fn regex(pattern: &'static str) -> Option<Arc<regex_lite::Regex>> {
    static COMPILED: OnceLock<Mutex<HashMap<&'static str, Arc<regex_lite::Regex>>>> = OnceLock::new();
    let mut compiled =
        COMPILED.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(re) = compiled.get(pattern) {
        return Some(re.clone());
    }
    let re = Arc::new(regex_lite::Regex::new(pattern).ok()?);
    compiled.insert(pattern, re.clone());
    Some(re)
}

/// Every pattern of `schema` compiles (a hand-written schema's too), or the error
/// that names the first that does not.
pub(crate) fn check_patterns(schema: &EntitySchema) -> Result<(), Error> {
    for field in schema.fields {
        if let Some(pattern) = field.rules.and_then(|r| r.pattern) {
            if let Err(e) = regex_lite::Regex::new(pattern) {
                return Err(ErrorKind::Schema(format!(
                    "{}.{}: `validate` is not a regular expression onetable can run: {e}",
                    schema.name, field.name
                ))
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static BROKEN: Rules =
        Rules { pattern: Some("[unclosed"), min_length: None, max_length: None, min: None, max: None };

    fn field(rules: &'static Rules) -> FieldSchema {
        FieldSchema {
            name: "handle",
            attribute: "handle",
            map: None,
            rust_type: "String",
            onetable_type: "string",
            required: true,
            unique: false,
            unique_scope: None,
            value: None,
            crypt: false,
            ttl: false,
            version: false,
            generate: None,
            map_keys: None,
            rules: Some(rules),
        }
    }

    #[test]
    fn a_pattern_that_does_not_compile_refuses_the_value_and_the_table() {
        let err = check("Profile", &field(&BROKEN), &AttributeValue::S("ann".into())).unwrap_err();
        assert!(err.is_validation() && err.to_string().contains("cannot be checked"), "{err}");
        static FIELDS: OnceLock<[FieldSchema; 1]> = OnceLock::new();
        let fields: &'static [FieldSchema] = FIELDS.get_or_init(|| [field(&BROKEN)]);
        let schema = EntitySchema { name: "Profile", indexes: &[], fields, timestamps: None, design: None };
        let err = check_patterns(&schema).unwrap_err();
        assert!(err.to_string().contains("Profile.handle: `validate` is not a regular expression"), "{err}");
    }
}
