//! `#name` and `:value` placeholders for one request.

use crate::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// Placeholder names for the first attributes and values of a request, so the common
/// case formats nothing.
const NAMES: [&str; 16] = [
    "#n0", "#n1", "#n2", "#n3", "#n4", "#n5", "#n6", "#n7", "#n8", "#n9", "#n10", "#n11", "#n12", "#n13",
    "#n14", "#n15",
];
const VALUES: [&str; 16] = [
    ":v0", ":v1", ":v2", ":v3", ":v4", ":v5", ":v6", ":v7", ":v8", ":v9", ":v10", ":v11", ":v12", ":v13",
    ":v14", ":v15",
];

fn placeholder(table: &'static [&'static str; 16], prefix: &str, n: usize) -> Cow<'static, str> {
    match table.get(n) {
        Some(p) => Cow::Borrowed(p),
        None => Cow::Owned(format!("{prefix}{n}")),
    }
}

/// A point in the names and values of a request (see [`Placeholders::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    names: usize,
    values: usize,
}

/// The attribute names and values of one request's expressions, each behind a
/// placeholder. One instance is shared by the key condition, filter, condition and
/// update expressions of a request, so an attribute named twice gets one name.
#[derive(Debug, Default)]
pub struct Placeholders {
    // A request names a handful of attributes: a vector searched in order is cheaper
    // than hashing.
    names: Vec<String>,
    values: Vec<AttributeValue>,
}

impl Placeholders {
    /// Empty placeholders.
    pub fn new() -> Placeholders {
        Placeholders::default()
    }

    /// The placeholder of attribute `name` (`#n0`).
    pub fn name(&mut self, name: &str) -> Cow<'static, str> {
        let n = match self.names.iter().position(|n| n == name) {
            Some(n) => n,
            None => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
        };
        placeholder(&NAMES, "#n", n)
    }

    /// The document path of an attribute, inside `map` when packed (`#n0.#n1`).
    pub fn path(&mut self, map: Option<&str>, attribute: &str) -> Cow<'static, str> {
        match map {
            Some(map) => Cow::Owned(format!("{}.{}", self.name(map), self.name(attribute))),
            None => self.name(attribute),
        }
    }

    /// The placeholder of a value (`:v0`).
    pub fn value(&mut self, value: AttributeValue) -> Cow<'static, str> {
        self.values.push(value);
        placeholder(&VALUES, ":v", self.values.len() - 1)
    }

    /// Where the names and values given so far end: [`Placeholders::rewind`] takes the
    /// request back to it.
    pub fn mark(&self) -> Mark {
        Mark { names: self.names.len(), values: self.values.len() }
    }

    /// Forgets the names and values given since `mark`: for a part of an expression
    /// that is dropped (DynamoDB refuses a name or value no expression uses).
    pub fn rewind(&mut self, mark: Mark) {
        self.names.truncate(mark.names);
        self.values.truncate(mark.values);
    }

    /// The `ExpressionAttributeNames` and `ExpressionAttributeValues` of the request
    /// (`None` when empty, as DynamoDB rejects empty maps).
    pub fn into_maps(self) -> (Option<HashMap<String, String>>, Option<Item>) {
        let names = (!self.names.is_empty()).then(|| {
            self.names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (placeholder(&NAMES, "#n", i).into_owned(), n))
                .collect()
        });
        let values = (!self.values.is_empty()).then(|| {
            self.values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (placeholder(&VALUES, ":v", i).into_owned(), v))
                .collect()
        });
        (names, values)
    }
}
