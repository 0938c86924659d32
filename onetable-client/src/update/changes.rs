//! The clauses an update's actions become, and the key attributes, computed fields,
//! stamps and unique sentinels they bring along.

use super::{Action, Target};
use crate::conditions::version_field;
use crate::keys::describe;
use crate::model::Model;
use crate::table::Table;
use crate::unique::{is_scope_input, sentinel_changes, unique_values};
use crate::write::Write;
use onetable_core::expr::{Operand, Placeholders};
use onetable_core::{
    AttributeValue, Entity, Error, ErrorKind, FieldSchema, Format, IndexKind, Input, Item, Rendered,
    Timestamps,
};

pub(super) fn invalid(entity: &'static str, message: String) -> Error {
    ErrorKind::Invalid { entity, message }.into()
}

/// The primary key's variable values, parsed back out of the key (unambiguous, since
/// values never contain their template's delimiters).
pub(super) fn primary_values<E: Entity>(key: &Item) -> Vec<(&'static str, String)> {
    let mut known = Vec::new();
    for k in E::SCHEMA.primary().key_attributes() {
        if let Some(AttributeValue::S(text)) = key.get(k.attribute) {
            for (name, value) in k.template.extract(text).unwrap_or_default() {
                known.push((name, value.to_owned()));
            }
        }
    }
    known
}

/// The clauses of the update expression, by keyword, and the values the update gives
/// fields, as they appear in keys (`None`: removed).
#[derive(Default)]
pub(super) struct Changes {
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    deletes: Vec<String>,
    new_values: Vec<(&'static str, Option<AttributeValue>)>,
    /// Struct fields set whole, their map merged with the item as stored.
    merged: Vec<String>,
}

/// The keys of the struct field an action targets whole (not inside it, not packed):
/// a map whose other keys a set keeps.
pub(super) fn struct_map<E: Entity>(target: &Target) -> Option<&'static onetable_core::MapSchema> {
    if target.inner.is_some() || target.map.is_some() {
        return None;
    }
    E::SCHEMA.field(target.name).and_then(|f| f.map_keys)
}

impl Changes {
    /// The caller's actions as clauses.
    pub(super) fn of<E: Entity>(
        actions: &[Action],
        table: &Table,
        image: Option<&Item>,
        p: &mut Placeholders,
    ) -> Result<Changes, Error> {
        let (entity, format) = (E::SCHEMA.name, table.format());
        let mut c = Changes::default();
        for action in actions {
            let target = action.target();
            let is_key_input = E::SCHEMA.keys_using(target.name).next().is_some();
            // The value itself is kept only where it is read again: to recompute a key
            // or to name a unique value. Elsewhere a NULL stands for "set".
            let keep = is_key_input
                || E::SCHEMA.field(target.name).is_some_and(|f| f.unique)
                || is_scope_input::<E>(target.name)
                || is_value_input::<E>(target.name);
            if E::SCHEMA.field(target.name).is_some_and(|f| f.value.is_some()) {
                return Err(refuse_computed::<E>(target.name));
            }
            let crypt = E::SCHEMA.field(target.name).filter(|f| f.crypt);
            let merged = struct_map::<E>(target).filter(|_| matches!(action, Action::Set(..)));
            // A value set whole is checked against the field's rules; an `add` is a
            // delta and the result DynamoDB's to compute.
            let rules = E::SCHEMA.field(target.name).filter(|_| {
                target.inner.is_none() && matches!(action, Action::Set(..) | Action::SetIfNotExists(..))
            });
            let mut value = |op: &Operand| -> Result<Option<(String, AttributeValue)>, Error> {
                let mut av =
                    op.to_attr(format).map_err(|e| Error::value(entity, target.name, target.attribute, e))?;
                if let (Some(f), Some(v)) = (rules, av.as_ref()) {
                    crate::rules::check(entity, f, v)?;
                }
                if let (None, Some(v)) = (&target.inner, av.as_ref()) {
                    E::SCHEMA.check_index_value(target.attribute, v)?;
                }
                // Stored encrypted, as a create would store it.
                if let (Some(f), Some(AttributeValue::S(text))) = (crypt, av.as_mut()) {
                    *text = table.encrypt(entity, f, text)?;
                }
                // A struct set whole keeps the keys of the stored map it does not own.
                if merged.is_some() {
                    if let Some(new) = av.take() {
                        let stored = image.and_then(|i| i.get(target.attribute));
                        av = crate::rewrite::Maps::of(&[E::SCHEMA]).keep(target.attribute, stored, Some(new));
                    }
                }
                Ok(av.map(|av| {
                    let kept = if keep { av.clone() } else { AttributeValue::Null(true) };
                    (p.value(av).into_owned(), kept)
                }))
            };
            let refuse = |advice: &str| invalid(entity, format!("{entity}.{} {advice}", target.name));
            if merged.is_some() {
                c.merged.push(target.attribute.to_owned());
            }
            match action {
                Action::Set(_, op) => {
                    let value = value(op)?;
                    let path = target.path(p);
                    // Setting None removes the attribute, as OneTable does.
                    match value {
                        Some((v, kept)) => {
                            c.sets.push(format!("{path} = {v}"));
                            c.record(target, Some(kept));
                        }
                        None => {
                            c.removes.push(path);
                            c.record(target, None);
                        }
                    }
                }
                Action::SetIfNotExists(_, op) => {
                    if is_key_input {
                        return Err(refuse(
                            "is a key template input: set it with set(), not set_if_not_exists()",
                        ));
                    }
                    if let Some((v, _)) = value(op)? {
                        let path = target.path(p);
                        c.sets.push(format!("{path} = if_not_exists({path}, {v})"));
                    }
                }
                Action::Remove(_) => {
                    c.removes.push(target.path(p));
                    c.record(target, None);
                }
                Action::Add(_, op) | Action::Delete(_, op) => {
                    if is_key_input {
                        return Err(refuse(
                            "is a key template input: set it with set() so its keys are recomputed",
                        ));
                    }
                    let Some((v, _)) = value(op)? else { return Err(refuse(": nothing to add or delete")) };
                    let clause = format!("{} {v}", target.path(p));
                    if matches!(action, Action::Add(..)) { &mut c.adds } else { &mut c.deletes }.push(clause);
                }
                Action::Append(_, op) => {
                    let Some((v, _)) = value(op)? else { continue };
                    let path = target.path(p);
                    let empty = p.value(AttributeValue::L(Vec::new()));
                    c.sets.push(format!("{path} = list_append(if_not_exists({path}, {empty}), {v})"));
                }
            }
        }
        Ok(c)
    }

    /// True when a field the update sets or removes is an input of a key template.
    /// Only then are the primary key's values parsed (allocations otherwise saved).
    pub(super) fn touches_keys<E: Entity>(&self) -> bool {
        self.new_values.iter().any(|(name, _)| E::SCHEMA.keys_using(name).next().is_some())
    }

    /// A template input's value: this update's (absent when it removes the field), or
    /// the primary key's, or unknown.
    pub(super) fn input<'a, E: Entity>(
        &'a self,
        known: &'a [(&'static str, String)],
        name: &str,
    ) -> Input<'a> {
        match self.new_values.iter().find(|(n, _)| *n == name) {
            Some((_, None)) => Input::Absent,
            Some((_, Some(av))) => {
                let stored = E::SCHEMA.field(name).map_or("", |f| f.onetable_type);
                onetable_core::key_text(av, stored).map_or(Input::Unknown, |text| Input::Text(text.into()))
            }
            None => known
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Input::Unknown, |(_, v)| Input::Text(v.as_str().into())),
        }
    }

    /// Notes a whole field's new value (`None`: removed), for the keys, computed
    /// fields and unique values it feeds. A change inside a map feeds none of them.
    pub(super) fn record(&mut self, target: &Target, value: Option<AttributeValue>) {
        if target.inner.is_none() {
            self.new_values.push((target.name, value));
        }
    }

    /// True when an input of a computed field is set or removed.
    pub(super) fn touches_values<E: Entity>(&self) -> bool {
        self.new_values.iter().any(|(name, _)| is_value_input::<E>(name))
    }

    /// Sets every computed field (`#[attr(value = "..")]`) whose inputs change, from
    /// this update's values and the primary key's; removes it when an input is
    /// removed. An input found in neither is refused, as for an index key.
    pub(super) fn recompute_values<E: Entity>(
        &mut self,
        known: &[(&'static str, String)],
        p: &mut Placeholders,
    ) -> Result<(), Error> {
        let entity = E::SCHEMA.name;
        for field in E::SCHEMA.fields {
            let Some(template) = field.value else { continue };
            let changed: Vec<&str> =
                template.variables().filter(|v| self.new_values.iter().any(|(n, _)| n == v)).collect();
            if changed.is_empty() {
                continue;
            }
            let rendered = template.fill(|name| self.input::<E>(known, name));
            let path = p.path(field.map, field.attribute).into_owned();
            match rendered {
                Rendered::Key(text) => {
                    let v = p.value(AttributeValue::S(text));
                    self.sets.push(format!("{path} = {v}"));
                }
                Rendered::Absent(_) => self.removes.push(path),
                Rendered::Partial { missing, .. } => {
                    return Err(invalid(entity, format!(
                        "updating {} changes {entity}.{}, computed from \"{}\", which also needs {entity}.{missing}: \
                         set {missing} in the same update",
                        changed.join(", "),
                        field.name,
                        template.source
                    )));
                }
            }
        }
        Ok(())
    }

    /// For an upsert: the primary key's own fields, recovered from the key, so a new
    /// item holds them (stored as their type stores them) like a created one.
    pub(super) fn create_primary_fields<E: Entity>(
        &mut self,
        known: &[(&'static str, String)],
        format: &Format,
        p: &mut Placeholders,
    ) {
        for (name, text) in known {
            let Some(field) = E::SCHEMA.field(name) else { continue };
            if self.new_values.iter().any(|(n, _)| n == name) {
                continue;
            }
            let path = p.path(field.map, field.attribute);
            let v = p.value(onetable_core::attr_from_key_text(text, field.onetable_type, format));
            self.sets.push(format!("{path} = if_not_exists({path}, {v})"));
        }
    }

    /// Sets every index key attribute whose template inputs change, so an index never
    /// holds a stale key (OneTable #301); removes it when an input is removed, taking
    /// the item out of that (sparse) index.
    pub(super) fn recompute_keys<E: Entity>(
        &mut self,
        known: &[(&'static str, String)],
        p: &mut Placeholders,
    ) -> Result<(), Error> {
        let schema = E::SCHEMA;
        let entity = schema.name;
        let mut done: Vec<&str> = Vec::new();
        for (index, attr) in schema.indexes.iter().flat_map(|i| i.key_attributes().map(move |k| (i, k))) {
            let changed: Vec<&str> =
                attr.template.variables().filter(|v| self.new_values.iter().any(|(n, _)| n == v)).collect();
            if changed.is_empty() || done.contains(&attr.attribute) {
                continue;
            }
            done.push(attr.attribute);
            if index.kind == IndexKind::Primary {
                return Err(invalid(entity, format!(
                    "{entity}.{} is part of the primary key and cannot be updated: remove the item and create it again",
                    changed[0]
                )));
            }
            let rendered = attr.template.render(entity, |name| self.input::<E>(known, name))?;
            let name = p.name(attr.attribute);
            match rendered {
                Rendered::Key(text) => {
                    let v = p.value(AttributeValue::S(text));
                    self.sets.push(format!("{name} = {v}"));
                }
                Rendered::Absent(_) => self.removes.push(name.into_owned()),
                Rendered::Partial { missing, .. } => {
                    return Err(invalid(
                        entity,
                        format!(
                        "updating {} changes index key `{}` (\"{}\"), which also needs {entity}.{missing}: \
                         set {missing} in the same update so the index key is recomputed",
                        changed.join(", "),
                        attr.attribute,
                        attr.template.source
                    ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The entity's type name, its timestamps and its version, as every write sets them.
    pub(super) fn stamp<E: Entity>(&mut self, table: &Table, p: &mut Placeholders) {
        if let Some(design) = E::SCHEMA.design {
            let marker = p.name(crate::DESIGN_ATTRIBUTE);
            let design = p.value(AttributeValue::S(design.to_owned()));
            self.sets.push(format!("{marker} = {design}"));
        }
        let type_name = p.name(table.format().type_field);
        let type_value = p.value(AttributeValue::S(E::SCHEMA.name.to_owned()));
        self.sets.push(format!("{type_name} = {type_value}"));
        let timestamps = table.timestamps_of(E::SCHEMA);
        if timestamps != Timestamps::Off {
            let now = p.value(table.format().date(std::time::SystemTime::now())).into_owned();
            let (created, updated) = table.timestamp_attributes();
            if timestamps.updated() {
                let updated = p.name(updated);
                self.sets.push(format!("{updated} = {now}"));
            }
            // Kept when the item has one; set when the update creates the item.
            if timestamps.created() {
                let created = p.name(created);
                self.sets.push(format!("{created} = if_not_exists({created}, {now})"));
            }
        }
        if let Some(field) = version_field::<E>() {
            let name = p.name(field.attribute);
            let one = p.value(AttributeValue::N("1".into()));
            self.adds.push(format!("{name} {one}"));
        }
    }

    /// The sentinel writes for the unique values this update changes (a value, or an
    /// input of its scope), and the item they were chosen from (`None` when none
    /// changes: nothing was read).
    pub(super) async fn sentinels<E: Entity>(
        &self,
        model: &Model<E>,
        key: &Item,
        known: &[(&'static str, String)],
        upsert: bool,
    ) -> Result<(Vec<Write>, Option<Option<Item>>), Error> {
        let touches = |f: &FieldSchema| {
            let changed = |name: &str| self.new_values.iter().any(|(n, _)| *n == name);
            changed(f.name) || f.unique_scope.is_some_and(|s| s.variables().any(changed))
        };
        if !E::SCHEMA.fields.iter().any(|f| f.unique && touches(f)) {
            return Ok((Vec::new(), None));
        }
        let prior = model.get_raw(key.clone(), true).await?;
        if prior.is_none() && !upsert {
            return Err(ErrorKind::NotFound { entity: E::SCHEMA.name, key: describe(key) }.into());
        }
        // The item as it will be: as read (or, created by an upsert, its key's
        // fields: `known` is read whenever the update upserts), with this update's
        // values.
        let format = model.table.format();
        let mut after = prior.clone().unwrap_or_default();
        if prior.is_none() {
            for (name, text) in known {
                if let Some(f) = E::SCHEMA.field(name) {
                    set_field(
                        &mut after,
                        f,
                        Some(onetable_core::attr_from_key_text(text, f.onetable_type, format)),
                    );
                }
            }
        }
        for (name, value) in &self.new_values {
            if let Some(f) = E::SCHEMA.field(name) {
                set_field(&mut after, f, value.clone());
            }
        }
        let before = prior.as_ref().map(unique_values::<E>).transpose()?.unwrap_or_default();
        let after = unique_values::<E>(&after)?;
        Ok((sentinel_changes::<E>(&model.table, &before, &after), Some(prior)))
    }

    /// The struct fields set whole, merged with the item as stored.
    pub(super) fn merged_maps(&self) -> &[String] {
        &self.merged
    }

    /// `SET … REMOVE … ADD … DELETE …`.
    pub(super) fn expression(&self) -> String {
        let mut expression = String::new();
        for (word, clauses) in
            [("SET", &self.sets), ("REMOVE", &self.removes), ("ADD", &self.adds), ("DELETE", &self.deletes)]
        {
            if clauses.is_empty() {
                continue;
            }
            if !expression.is_empty() {
                expression.push(' ');
            }
            expression.push_str(word);
            expression.push(' ');
            expression.push_str(&clauses.join(", "));
        }
        expression
    }
}

/// Sets (or, for `None`, removes) a field's attribute in an item, inside its map when
/// packed.
fn set_field(item: &mut Item, f: &FieldSchema, value: Option<AttributeValue>) {
    let target = match f.map {
        Some(map) => {
            match item.entry(map.to_owned()).or_insert_with(|| AttributeValue::M(Default::default())) {
                AttributeValue::M(m) => m,
                _ => return,
            }
        }
        None => item,
    };
    match value {
        Some(v) => target.insert(f.attribute.to_owned(), v),
        None => target.remove(f.attribute),
    };
}

/// True when `field` is an input of a computed field.
fn is_value_input<E: Entity>(field: &str) -> bool {
    E::SCHEMA.fields.iter().filter_map(|f| f.value).any(|t| t.variables().any(|v| v == field))
}

pub(super) fn refuse_computed<E: Entity>(field: &str) -> Error {
    let entity = E::SCHEMA.name;
    invalid(
        entity,
        format!("{entity}.{field} is computed from its template: set the fields it is computed from"),
    )
}
