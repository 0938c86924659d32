//! Multi-attribute index keys: a global index whose partition and sort keys are the
//! items' own attributes (up to four each), as DynamoDB allows since November 2025.
//!
//! Nothing is composed: the index reads the attributes the entity already stores, so
//! adding such an index rewrites no item. What this module holds is the schema of
//! such a key and the query against it: equality on every partition attribute, then
//! the sort attributes from the left, equal on the leading ones and an optional
//! range on the last one given.

use crate::expr::{IntoOperand, Operand, Placeholders};
use crate::{Error, ErrorKind, Field, Format};

/// The key of an index over the items' own attributes.
#[derive(Debug)]
pub struct MultiKey {
    /// The partition key's attributes, in order (one to four).
    pub hash: &'static [KeyField],
    /// The sort key's attributes, in order (none to four).
    pub sort: &'static [KeyField],
}

impl MultiKey {
    /// Every attribute of the key, partition first.
    pub fn fields(&self) -> impl Iterator<Item = &'static KeyField> {
        self.hash.iter().chain(self.sort.iter())
    }
}

impl crate::EntitySchema {
    /// Refuses `value` for `attribute` when one of the entity's multi-attribute index
    /// keys reads that attribute and the value is an empty string or binary, which
    /// DynamoDB refuses in an index key (the whole write would fail).
    pub fn check_index_value(&self, attribute: &str, value: &crate::AttributeValue) -> Result<(), Error> {
        if !empty(value) {
            return Ok(());
        }
        for index in self.indexes {
            let Some(multi) = &index.multi else { continue };
            if let Some(key) = multi.fields().find(|k| k.attribute == attribute) {
                return Err(self.empty_key(key, index.name));
            }
        }
        Ok(())
    }

    /// [`check_index_value`](crate::EntitySchema::check_index_value) for every attribute of a whole item.
    pub fn check_index_values(&self, item: &crate::Item) -> Result<(), Error> {
        for index in self.indexes {
            let Some(multi) = &index.multi else { continue };
            if let Some(key) = multi.fields().find(|k| item.get(k.attribute).is_some_and(empty)) {
                return Err(self.empty_key(key, index.name));
            }
        }
        Ok(())
    }

    fn empty_key(&self, key: &KeyField, index: &'static str) -> Error {
        let (entity, field, problem) = (self.name, key.field, crate::KeyProblem::Empty);
        ErrorKind::InvalidKey { entity, field, value: String::new(), template: index, problem }.into()
    }
}

/// An empty string or binary: what DynamoDB refuses in an index key attribute.
fn empty(value: &crate::AttributeValue) -> bool {
    match value {
        crate::AttributeValue::S(text) => text.is_empty(),
        crate::AttributeValue::B(bytes) => bytes.as_ref().is_empty(),
        _ => false,
    }
}

/// One field of a multi-attribute key.
#[derive(Debug)]
pub struct KeyField {
    /// The Rust field name.
    pub field: &'static str,
    /// The attribute the field is stored in, which the index reads.
    pub attribute: &'static str,
    /// The field's [`Value::ONETABLE_TYPE`](crate::Value::ONETABLE_TYPE): what
    /// DynamoDB type the attribute has.
    pub onetable_type: &'static str,
}

/// The DynamoDB type of an index key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    /// `S`.
    String,
    /// `N`.
    Number,
    /// `B`.
    Binary,
}

impl ScalarType {
    /// The type an attribute of `onetable_type` is stored as in a table of `format`
    /// (dates are numbers unless the format writes them as ISO text); `None` for
    /// types DynamoDB cannot index (booleans, lists, maps, sets).
    pub fn of(onetable_type: &str, format: &Format) -> Option<ScalarType> {
        match onetable_type {
            "string" => Some(ScalarType::String),
            "number" => Some(ScalarType::Number),
            "binary" => Some(ScalarType::Binary),
            "date" if format.iso_dates => Some(ScalarType::String),
            "date" => Some(ScalarType::Number),
            _ => None,
        }
    }

    /// The letter DynamoDB names the type with (`S`, `N`, `B`).
    pub fn letter(self) -> &'static str {
        match self {
            ScalarType::String => "S",
            ScalarType::Number => "N",
            ScalarType::Binary => "B",
        }
    }
}

/// A field type a multi-attribute index key can be: one that is stored as a string, a
/// number or binary (text, numbers, dates, ids, unit enums, `Vec<u8>`), or an
/// `Option` of one (an item without the value is left out of the index).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an attribute of a multi-attribute index key",
    label = "DynamoDB indexes string, number and binary attributes only",
    note = "index key fields are strings, numbers, dates, ids, unit enums deriving `onetable::Value`, `Vec<u8>`, or an `Option` of one; booleans, lists, maps and sets cannot be indexed"
)]
pub trait IndexAttribute {}

macro_rules! index_attribute {
    ($($t:ty),*) => {$( impl IndexAttribute for $t {} )*};
}
index_attribute!(
    String,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64,
    Vec<u8>,
    std::time::SystemTime
);
impl<T: IndexAttribute> IndexAttribute for Option<T> {}
#[cfg(feature = "chrono")]
impl IndexAttribute for chrono::DateTime<chrono::Utc> {}
#[cfg(feature = "uuid")]
impl IndexAttribute for ::uuid::Uuid {}
#[cfg(feature = "ulid")]
impl IndexAttribute for ::ulid::Ulid {}

/// How the last sort attribute given is compared.
#[derive(Debug)]
enum Range {
    Compare(&'static str, Operand),
    Between(Operand, Operand),
    BeginsWith(Operand),
}

/// The values of a query on a multi-attribute key, kept by
/// [`PartialKey`](crate::PartialKey) until the table's format turns them into
/// attribute values.
#[derive(Debug, Default)]
pub(crate) struct MultiQuery {
    hash: Vec<Operand>,
    equal: Vec<(&'static str, Operand)>,
    range: Option<(&'static str, Range)>,
}

impl MultiQuery {
    pub(crate) fn new(hash: Vec<Operand>) -> MultiQuery {
        MultiQuery { hash, equal: Vec::new(), range: None }
    }

    /// The next sort attribute a condition may name, or why none may.
    fn next_sort(&self, key: &MultiKey, index: &str, field: &str) -> Result<(), String> {
        if let Some((last, _)) = &self.range {
            return Err(format!(
                "{field} comes after {last}, which has a range: a range is on the last sort attribute a query of index {index} names"
            ));
        }
        let names: Vec<&str> = key.sort.iter().map(|f| f.field).collect();
        match names.get(self.equal.len()) {
            Some(next) if *next == field => Ok(()),
            Some(next) => Err(format!(
                "index {index} sorts by [{}]: a query names them in that order, so {next} comes before {field}",
                names.join(", ")
            )),
            None if names.contains(&field) => Err(format!("{field} is given twice")),
            None => Err(format!("{field} is not a sort attribute of index {index} ([{}])", names.join(", "))),
        }
    }

    /// Renders the key condition: `#a = :a AND #b = :b AND #s > :s`.
    pub(crate) fn render(
        &self,
        entity: &'static str,
        key: &MultiKey,
        format: &Format,
        p: &mut Placeholders,
    ) -> Result<String, Error> {
        let value = |field: &'static str, operand: &Operand, p: &mut Placeholders| -> Result<String, Error> {
            match operand.to_attr(format) {
                Ok(Some(attr)) => Ok(p.value(attr).into_owned()),
                Ok(None) => Err(refuse(
                    entity,
                    format!("a query of an index keyed on {field} needs a value for it, not none"),
                )),
                Err(e) => Err(refuse(entity, format!("{field}: {e}"))),
            }
        };
        // The derive gives one value per attribute; a hand-written key may not.
        if self.hash.len() != key.hash.len() {
            let message = format!(
                "a query of an index keyed on [{}] gives each of them a value, not {}",
                key.hash.iter().map(|f| f.field).collect::<Vec<_>>().join(", "),
                self.hash.len()
            );
            return Err(refuse(entity, message));
        }
        let mut clauses = Vec::with_capacity(key.hash.len() + key.sort.len());
        let equal = self.equal.iter().map(|(_, operand)| operand);
        for (field, operand) in key.hash.iter().zip(&self.hash).chain(key.sort.iter().zip(equal)) {
            let v = value(field.field, operand, p)?;
            clauses.push(format!("{} = {v}", p.name(field.attribute)));
        }
        if let Some((name, range)) = &self.range {
            let field = key.sort.iter().find(|f| f.field == *name).expect("checked when given");
            let attribute = p.name(field.attribute).into_owned();
            clauses.push(match range {
                Range::Compare(op, v) => format!("{attribute} {op} {}", value(name, v, p)?),
                Range::Between(lo, hi) => {
                    format!("{attribute} BETWEEN {} AND {}", value(name, lo, p)?, value(name, hi, p)?)
                }
                Range::BeginsWith(v) => format!("begins_with({attribute}, {})", value(name, v, p)?),
            });
        }
        Ok(clauses.join(" AND "))
    }
}

/// Where a query of a multi-attribute key is refused: a condition out of order, on an
/// index keyed by a template, or after the range.
fn refuse(entity: &'static str, message: String) -> Error {
    ErrorKind::Invalid { entity, message }.into()
}

/// A condition on one sort attribute.
enum Condition {
    Equal(Operand),
    Range(Range),
}

impl<E> crate::PartialKey<E> {
    /// Sort attribute `field` equals `value`: the sort attributes of a multi-attribute
    /// key are given from the left, equal on all but the last one given.
    pub fn eq<T>(self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.sort_condition(field.name(), Condition::Equal(value.into_operand()))
    }

    /// Sort attribute `field` is below `value` (the last sort attribute the query names).
    pub fn lt<T>(self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.sort_condition(field.name(), Condition::Range(Range::Compare("<", value.into_operand())))
    }

    /// Sort attribute `field` is at most `value`.
    pub fn le<T>(self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.sort_condition(field.name(), Condition::Range(Range::Compare("<=", value.into_operand())))
    }

    /// Sort attribute `field` is above `value`.
    pub fn gt<T>(self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.sort_condition(field.name(), Condition::Range(Range::Compare(">", value.into_operand())))
    }

    /// Sort attribute `field` is at least `value`.
    pub fn ge<T>(self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.sort_condition(field.name(), Condition::Range(Range::Compare(">=", value.into_operand())))
    }

    /// Sort attribute `field` is between `low` and `high`, both included.
    pub fn between<T>(self, field: Field<E, T>, low: impl IntoOperand<T>, high: impl IntoOperand<T>) -> Self {
        let range = Range::Between(low.into_operand(), high.into_operand());
        self.sort_condition(field.name(), Condition::Range(range))
    }

    /// Text sort attribute `field` starts with `prefix`.
    pub fn begins_with(self, field: Field<E, String>, prefix: impl Into<String>) -> Self {
        self.sort_condition(field.name(), Condition::Range(Range::BeginsWith(Operand::new(prefix.into()))))
    }

    /// Adds a condition on sort attribute `field`, in order, or records why it cannot.
    fn sort_condition(mut self, field: &'static str, condition: Condition) -> Self {
        if self.error.is_some() {
            return self;
        }
        let index = self.index;
        let (Some(key), Some(query)) = (index.multi.as_ref(), self.multi.as_mut()) else {
            let message = format!(
                "index {} is keyed by a template: narrow it with .with(..), or compare its sort key text with Find::sort_between and the like",
                index.name
            );
            self.error = Some(refuse(self.entity, message));
            return self;
        };
        match query.next_sort(key, index.name, field) {
            Ok(()) => match condition {
                Condition::Equal(operand) => query.equal.push((field, operand)),
                Condition::Range(range) => query.range = Some((field, range)),
            },
            Err(message) => self.error = Some(refuse(self.entity, message)),
        }
        self
    }
}

/// One partition attribute's value for `PartialKey::multi` (what the derive's
/// `Order::gs4_partition(org, team)` passes), typed by the field.
#[doc(hidden)]
pub fn operand<T, V: IntoOperand<T>>(value: V) -> Operand {
    value.into_operand()
}
