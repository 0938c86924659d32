//! `#name` and `:value` placeholders for one request.

use crate::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// The attribute names and values of one request's expressions, each behind a
/// placeholder. One instance is shared by the key condition, filter, condition and
/// update expressions of a request, so an attribute named twice gets one name.
#[derive(Debug, Default)]
pub struct Placeholders {
    names: HashMap<String, String>,
    values: Item,
    by_attribute: HashMap<String, usize>,
}

impl Placeholders {
    /// Empty placeholders.
    pub fn new() -> Placeholders {
        Placeholders::default()
    }

    /// The placeholder of attribute `name` (`#n0`).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(&n) = self.by_attribute.get(name) {
            return format!("#n{n}");
        }
        let n = self.by_attribute.len();
        self.by_attribute.insert(name.to_owned(), n);
        let placeholder = format!("#n{n}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// The document path of an attribute, inside `map` when packed (`#n0.#n1`).
    pub fn path(&mut self, map: Option<&str>, attribute: &str) -> String {
        match map {
            Some(map) => format!("{}.{}", self.name(map), self.name(attribute)),
            None => self.name(attribute),
        }
    }

    /// The placeholder of a value (`:v0`).
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The `ExpressionAttributeNames` and `ExpressionAttributeValues` of the request
    /// (`None` when empty, as DynamoDB rejects empty maps).
    pub fn into_maps(self) -> (Option<HashMap<String, String>>, Option<Item>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (names, values)
    }
}
