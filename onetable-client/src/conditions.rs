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
        for f in self.table.form_schema(E::SCHEMA, prior).fields.iter().filter(|f| f.unique) {
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

    /// When `E` declares its design: the item is in that form — or absent, for a
    /// write that `creates` the item — or, with `accept`, in that older form too (a
    /// put, which replaces the whole item, may replace an older form). Returns what
    /// the write's role records to tell a newer or older form from another failure.
    /// An entity that declares no design writes whatever form an item is in.
    pub(crate) fn form<E: Entity>(
        &mut self,
        creates: bool,
        accept: Option<&Option<String>>,
    ) -> Option<Option<&'static str>> {
        let design = E::SCHEMA.design?;
        let marker = self.p.name(crate::DESIGN_ATTRIBUTE).into_owned();
        let mut options = vec![format!("{marker} = {}", self.p.value(AttributeValue::S(design.to_owned())))];
        match accept {
            Some(Some(older)) => {
                options.push(format!("{marker} = {}", self.p.value(AttributeValue::S(older.clone()))));
            }
            Some(None) => options.push(format!("attribute_not_exists({marker})")),
            None => {}
        }
        if creates {
            options.push(format!("attribute_not_exists({})", self.p.name(self.table.key_attributes().0)));
        }
        self.clauses.push(match &options[..] {
            [one] => one.clone(),
            many => format!("({})", many.join(" OR ")),
        });
        Some(Some(design))
    }

    /// When `E` declares its design: the item is not in a newer one — absent,
    /// unmarked, in `E`'s design or an earlier one the table knows, or in `older` (met
    /// on an earlier try). A remove writes no form, so it removes an older one alike;
    /// an item of a newer design is the newer code's, and old code must not remove
    /// what it cannot read (nor release unique values it does not know of).
    pub(crate) fn not_newer<E: Entity>(
        &mut self,
        older: Option<&Option<String>>,
    ) -> Option<Option<&'static str>> {
        let design = E::SCHEMA.design?;
        let marker = self.p.name(crate::DESIGN_ATTRIBUTE).into_owned();
        let hash = self.p.name(self.table.key_attributes().0).into_owned();
        let mut options =
            vec![format!("attribute_not_exists({hash})"), format!("attribute_not_exists({marker})")];
        let earlier = self.table.earlier_forms(E::SCHEMA.name).filter_map(|e| e.design());
        let known: Vec<String> = std::iter::once(design)
            .chain(earlier)
            .map(str::to_owned)
            .chain(older.cloned().flatten())
            .collect();
        for known in known {
            options.push(format!("{marker} = {}", self.p.value(AttributeValue::S(known))));
        }
        self.clauses.push(format!("({})", options.join(" OR ")));
        Some(Some(design))
    }

    /// Each map attribute in `attributes` is as `image` holds it (absent, without an
    /// image): a write that replaces such a map was computed from it, keeping the keys
    /// it does not own.
    pub(crate) fn maps_as(&mut self, attributes: &[String], image: Option<&Item>) {
        for attribute in attributes {
            let name = self.p.name(attribute).into_owned();
            let clause = match image.and_then(|i| i.get(attribute)) {
                Some(value) => format!("{name} = {}", self.p.value(value.clone())),
                None => format!("attribute_not_exists({name})"),
            };
            self.clauses.push(clause);
        }
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
