//! The condition of one prepared write, assembled clause by clause. Each operation
//! says what must hold — the item exists (or not), its version, the unique values it
//! was read with, the caller's condition — and this joins the clauses with `AND`,
//! sharing placeholders with the write's update expression.

use crate::table::Table;
use crate::write::{Op, Role, Write};
use onetable_core::expr::{Condition, Placeholders};
use onetable_core::{AttributeValue, Entity, Error, ErrorKind, Item};

pub(crate) struct Conditions<'t> {
    table: &'t Table,
    /// Names and values of the condition and of the update expression, if any.
    pub(crate) p: Placeholders,
    clauses: Vec<String>,
}

impl<'t> Conditions<'t> {
    pub(crate) fn new(table: &'t Table) -> Self {
        Conditions { table, p: Placeholders::new(), clauses: Vec::new() }
    }

    /// The item named by the write's key exists (`true`) or does not (`false`).
    pub(crate) fn item_exists(&mut self, exists: bool) {
        let hash = self.p.name(self.table.key_attributes().0);
        let function = if exists { "attribute_exists" } else { "attribute_not_exists" };
        self.clauses.push(format!("{function}({hash})"));
    }

    /// The item's `#[attr(version)]` is still `expected` (for `"0"`: the item does not
    /// exist yet).
    pub(crate) fn version(&mut self, attribute: &str, expected: &str) {
        if expected == "0" {
            return self.item_exists(false);
        }
        let name = self.p.name(attribute);
        let value = self.p.value(AttributeValue::N(expected.to_owned()));
        self.clauses.push(format!("{name} = {value}"));
    }

    /// The version check a caller asked for with `if_version`: the attribute and the
    /// expected value, for the error a failure becomes. An entity without a version
    /// field cannot be checked.
    pub(crate) fn if_version<E: Entity>(
        &mut self,
        expected: Option<&str>,
    ) -> Result<Option<(&'static str, String)>, Error> {
        let Some(expected) = expected else { return Ok(None) };
        let Some(field) = version_field::<E>() else {
            let entity = E::SCHEMA.name;
            let message = format!("{entity} has no #[attr(version)] field to check");
            return Err(ErrorKind::Invalid { entity, message }.into());
        };
        self.version(field.attribute, expected);
        Ok(Some((field.attribute, expected.to_owned())))
    }

    /// The item still holds the unique values it was read with (`prior`), or still
    /// does not exist: the sentinels swapped beside it were chosen from those values.
    pub(crate) fn unique_values_unchanged<E: Entity>(&mut self, prior: Option<&Item>) {
        let Some(prior) = prior else { return self.item_exists(false) };
        for f in E::SCHEMA.fields.iter().filter(|f| f.unique) {
            let path = self.p.path(f.map, f.attribute).into_owned();
            let value = crate::unique::field_attr(prior, f);
            let clause = match value {
                Some(v) => format!("{path} = {}", self.p.value(v.clone())),
                None => format!("attribute_not_exists({path})"),
            };
            self.clauses.push(clause);
        }
        self.item_exists(true);
    }

    /// The caller's own condition.
    pub(crate) fn user<E: Entity>(&mut self, condition: Option<&Condition<E>>) -> Result<(), Error> {
        if let Some(c) = condition {
            let rendered = c.render(E::SCHEMA.name, self.table.format(), &mut self.p)?;
            self.clauses.push(format!("({rendered})"));
        }
        Ok(())
    }

    /// The write, carrying the joined condition and every placeholder.
    pub(crate) fn into_write(self, op: Op, role: Role) -> Write {
        let condition = (!self.clauses.is_empty()).then(|| self.clauses.join(" AND "));
        let (names, values) = self.p.into_maps();
        Write { op, condition, names, values, role, returns: None }
    }
}

/// The entity's `#[attr(version)]` field, if it has one.
pub(crate) fn version_field<E: Entity>() -> Option<&'static onetable_core::FieldSchema> {
    E::SCHEMA.fields.iter().find(|f| f.version)
}
