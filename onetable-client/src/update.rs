//! `Model::update`: typed SET / REMOVE / ADD / DELETE / list append / if-not-exists,
//! and the key attributes those changes invalidate.

use crate::model::{into_future, version_condition, version_field, Model};
use crate::unique::{sentinel_changes, unique_guard, unique_values};
use crate::write::{execute, key_text, KeyValues, Op, Role, Write};
use futures_util::future::BoxFuture;
use onetable_core::expr::{Condition, IntoOperand, Operand, Placeholders};
use onetable_core::{
    AttributeValue, Entity, Error, ErrorKind, Field, IndexKind, Item, Key, KeyProblem, ListElement, Part,
};
use std::future::IntoFuture;
use tracing::Instrument;

#[derive(Debug, Clone, Copy)]
struct Target {
    name: &'static str,
    map: Option<&'static str>,
    attribute: &'static str,
}

impl<E, T: ?Sized> From<Field<E, T>> for Target {
    fn from(f: Field<E, T>) -> Self {
        Target { name: f.name(), map: f.map(), attribute: f.attribute() }
    }
}

enum Action {
    Set(Target, Operand),
    SetIfNotExists(Target, Operand),
    Remove(Target),
    Add(Target, Operand),
    Delete(Target, Operand),
    Append(Target, Operand),
}

impl Action {
    fn target(&self) -> &Target {
        match self {
            Action::Set(t, _)
            | Action::SetIfNotExists(t, _)
            | Action::Remove(t)
            | Action::Add(t, _)
            | Action::Delete(t, _)
            | Action::Append(t, _) => t,
        }
    }
}

/// [`Model::update`]: changes to one item, sent as one `UpdateItem`.
///
/// By default the item must exist ([`Error::is_not_found`] otherwise); see
/// [`Update::upsert`]. Resolves to the item as it is after the update.
#[must_use = "await it or call .send().await"]
pub struct Update<E> {
    model: Model<E>,
    key: Key<E>,
    actions: Vec<Action>,
    condition: Option<Condition<E>>,
    upsert: bool,
    version: Option<String>,
}

impl<E: Entity> Model<E> {
    /// Changes fields of one item in place.
    ///
    /// Setting a field used by an index key template recomputes that key attribute in
    /// the same request. The template's other inputs come from this update or from the
    /// item's primary key; when neither has them the update is refused rather than
    /// leaving a stale index key. Primary key fields cannot change (remove and create).
    pub fn update(&self, key: Key<E>) -> Update<E> {
        Update {
            model: self.clone(),
            key,
            actions: Vec::new(),
            condition: None,
            upsert: false,
            version: None,
        }
    }
}

impl<E: Entity> Update<E> {
    /// `SET field = value`.
    pub fn set<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Set(field.into(), value.into_operand()));
        self
    }

    /// `SET field = if_not_exists(field, value)`: sets it only when the item has none.
    pub fn set_if_not_exists<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::SetIfNotExists(field.into(), value.into_operand()));
        self
    }

    /// `REMOVE field`.
    pub fn remove<T>(mut self, field: Field<E, T>) -> Self {
        self.actions.push(Action::Remove(field.into()));
        self
    }

    /// `ADD field value`: adds to a number (an atomic counter, starting from 0) or adds
    /// elements to a set.
    pub fn add<T>(mut self, field: Field<E, T>, value: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Add(field.into(), value.into_operand()));
        self
    }

    /// `DELETE field value`: removes elements from a set.
    pub fn delete<T>(mut self, field: Field<E, T>, elements: impl IntoOperand<T>) -> Self {
        self.actions.push(Action::Delete(field.into(), elements.into_operand()));
        self
    }

    /// Appends to a list: `SET field = list_append(if_not_exists(field, []), values)`.
    pub fn append<T: ListElement + Send + Sync + 'static>(
        mut self,
        field: Field<E, Vec<T>>,
        values: Vec<T>,
    ) -> Self {
        self.actions.push(Action::Append(field.into(), Operand::new(values)));
        self
    }

    /// A condition the update needs; fails with [`Error::is_condition_failed`].
    pub fn condition(mut self, condition: Condition<E>) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Apply only if the item's `#[attr(version)]` is still `version` (the one read);
    /// fails with [`Error::is_version_conflict`] otherwise. Every update increments
    /// the version, with or without this check.
    pub fn if_version(mut self, version: u64) -> Self {
        self.version = Some(version.to_string());
        self
    }

    /// Create the item when it does not exist (DynamoDB's default; onetable's is to
    /// require it).
    pub fn upsert(mut self) -> Self {
        self.upsert = true;
        self
    }

    /// The writes of this update: the item's, and the sentinels of unique values it
    /// changes.
    pub(crate) async fn prepare(self) -> Result<Vec<Write>, Error> {
        let model = self.model.clone();
        {
            model.check_registered()?;
            let key = self.key.into_attrs()?;
            let t = &model.table.inner;
            let format = &t.format;
            let entity = E::SCHEMA.name;
            let mut p = Placeholders::new();
            let (mut sets, mut removes, mut adds, mut deletes) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Values of set fields as they appear in keys, for recomputing index keys.
            let mut new_values: Vec<(&'static str, Option<AttributeValue>)> = Vec::new();
            for action in &self.actions {
                let target = action.target();
                // The value itself is kept only where it is read again: to recompute a
                // key or to name a unique value. Elsewhere a NULL stands for "set".
                let keep = E::SCHEMA.keys_using(target.name).next().is_some()
                    || E::SCHEMA.field(target.name).is_some_and(|f| f.unique);
                let value =
                    |op: &Operand, p: &mut Placeholders| -> Result<(String, Option<AttributeValue>), Error> {
                        let av = op
                            .to_attr(format)
                            .map_err(|e| Error::value(entity, target.name, target.attribute, e))?;
                        match av {
                            Some(av) => {
                                let kept = if keep { av.clone() } else { AttributeValue::Null(true) };
                                Ok((p.value(av).into_owned(), Some(kept)))
                            }
                            None => Ok((String::new(), None)),
                        }
                    };
                let path = p.path(target.map, target.attribute).into_owned();
                match action {
                    Action::Set(_, op) => {
                        let (v, av) = value(op, &mut p)?;
                        // Setting None removes the attribute, as OneTable does.
                        if av.is_some() {
                            sets.push(format!("{path} = {v}"));
                        } else {
                            removes.push(path);
                        }
                        new_values.push((target.name, av));
                    }
                    Action::SetIfNotExists(_, op) => {
                        let (v, av) = value(op, &mut p)?;
                        if av.is_some() {
                            sets.push(format!("{path} = if_not_exists({path}, {v})"));
                        }
                        if E::SCHEMA.keys_using(target.name).next().is_some() {
                            return Err(invalid(entity, format!(
                                "{entity}.{} is a key template input: set it with set(), not set_if_not_exists()",
                                target.name
                            )));
                        }
                    }
                    Action::Remove(_) => {
                        removes.push(path);
                        new_values.push((target.name, None));
                    }
                    Action::Add(_, op) | Action::Delete(_, op) => {
                        let (v, av) = value(op, &mut p)?;
                        if av.is_none() {
                            return Err(invalid(
                                entity,
                                format!("{entity}.{}: nothing to add or delete", target.name),
                            ));
                        }
                        if E::SCHEMA.keys_using(target.name).next().is_some() {
                            return Err(invalid(entity, format!(
                                "{entity}.{} is a key template input: set it with set() so its keys are recomputed",
                                target.name
                            )));
                        }
                        let clause = format!("{path} {v}");
                        if matches!(action, Action::Add(..)) {
                            adds.push(clause)
                        } else {
                            deletes.push(clause)
                        }
                    }
                    Action::Append(_, op) => {
                        let (v, _) = value(op, &mut p)?;
                        let empty = p.value(AttributeValue::L(Vec::new()));
                        sets.push(format!("{path} = list_append(if_not_exists({path}, {empty}), {v})"));
                    }
                }
            }
            // The primary key's values are needed only to create the item or to
            // recompute an index key; parsing them costs allocations otherwise saved.
            let needs_known =
                self.upsert || new_values.iter().any(|(name, _)| E::SCHEMA.keys_using(name).next().is_some());
            let known = if needs_known { primary_values::<E>(&key) } else { Vec::new() };
            if self.upsert {
                // A new item gets the primary key's own fields too, recovered from the key.
                for (name, text) in &known {
                    let Some(field) = E::SCHEMA.field(name) else { continue };
                    if new_values.iter().any(|(n, _)| n == name) {
                        continue;
                    }
                    let path = p.path(field.map, field.attribute);
                    let v = p.value(onetable_core::attr_from_key_text(text, field.onetable_type, format));
                    sets.push(format!("{path} = if_not_exists({path}, {v})"));
                }
            }
            recompute_keys::<E>(&known, &new_values, &mut p, &mut sets, &mut removes)?;
            let type_name = p.name(format.type_field);
            let type_value = p.value(AttributeValue::S(entity.to_owned()));
            sets.push(format!("{type_name} = {type_value}"));
            if E::SCHEMA.timestamps {
                let now = format.date(std::time::SystemTime::now());
                let (created, updated) = (p.name(&t.created), p.name(&t.updated));
                let now = p.value(now);
                sets.push(format!("{updated} = {now}"));
                sets.push(format!("{created} = if_not_exists({created}, {now})"));
            }
            let mut expression = String::new();
            for (word, clauses) in
                [("SET", &sets), ("REMOVE", &removes), ("ADD", &adds), ("DELETE", &deletes)]
            {
                if !clauses.is_empty() {
                    expression.push_str(&format!("{word} {} ", clauses.join(", ")));
                }
            }
            let version = version_field::<E>();
            if let Some(field) = version {
                let name = p.name(field.attribute);
                let one = p.value(AttributeValue::N("1".into()));
                adds.push(format!("{name} {one}"));
            }
            // Unique values that change swap their sentinels in the same transaction.
            let touched: Vec<_> = E::SCHEMA
                .fields
                .iter()
                .filter(|f| f.unique && new_values.iter().any(|(n, _)| *n == f.name))
                .collect();
            let mut sentinels = Vec::new();
            let mut guard = None;
            if !touched.is_empty() {
                let prior = model.get_raw(key.clone(), true).await?;
                if prior.is_none() && !self.upsert {
                    return Err(ErrorKind::NotFound { entity, key: key_text(&key) }.into());
                }
                let before = prior.as_ref().map(unique_values::<E>).unwrap_or_default();
                let mut after = before.clone();
                for field in &touched {
                    after.retain(|(f, _)| f.name != field.name);
                    let new = new_values.iter().find(|(n, _)| *n == field.name).and_then(|(_, v)| v.as_ref());
                    if let Some(text) = new.and_then(|v| onetable_core::key_text(v, field.onetable_type)) {
                        after.push((field, text));
                    }
                }
                sentinels = sentinel_changes::<E>(&model.table, &before, &after);
                guard = Some(unique_guard::<E>(&model.table, prior.as_ref(), &mut p));
            }
            let mut expression = String::new();
            for (word, clauses) in
                [("SET", &sets), ("REMOVE", &removes), ("ADD", &adds), ("DELETE", &deletes)]
            {
                if !clauses.is_empty() {
                    expression.push_str(&format!("{word} {} ", clauses.join(", ")));
                }
            }
            let mut parts = Vec::new();
            if !self.upsert {
                parts.push(format!("attribute_exists({})", p.name(&t.hash)));
            }
            let expected = match (&self.version, version) {
                (Some(expected), Some(field)) => {
                    parts.push(version_condition(&model.table, field.attribute, expected, &mut p));
                    Some((field.attribute, expected.clone()))
                }
                (Some(_), None) => {
                    return Err(invalid(entity, format!("{entity} has no #[attr(version)] field to check")));
                }
                _ => None,
            };
            parts.extend(guard);
            if let Some(c) = &self.condition {
                parts.push(format!("({})", c.render(entity, format, &mut p)?));
            }
            let condition = (!parts.is_empty()).then(|| parts.join(" AND "));
            let (names, values) = p.into_maps();
            let role = Role::Item {
                entity,
                operation: "update",
                key: KeyValues::of(&model.table, &key),
                version: expected,
                create: false,
            };
            let op = Op::Update { key: key.clone(), expression: expression.trim_end().to_owned() };
            let mut writes = vec![Write { op, condition, names, values, role }];
            writes.extend(sentinels);
            Ok(writes)
        }
    }

    /// Sends the request (a transaction when a unique value changes).
    pub async fn send(self) -> Result<E, Error> {
        let model = self.model.clone();
        let span = model.span("update");
        async move {
            let writes = self.prepare().await?;
            // A transaction returns no item: it is read back by key.
            let key = match &writes[..] {
                [Write { op: Op::Update { key, .. }, .. }, _, ..] => Some(key.clone()),
                _ => None,
            };
            let item = match (execute(&model.table, writes).await?, key) {
                (Some(item), _) => item,
                (None, Some(key)) => model.get_raw(key.clone(), true).await?.ok_or_else(|| {
                    Error::from(ErrorKind::NotFound { entity: E::SCHEMA.name, key: key_text(&key) })
                })?,
                (None, None) => {
                    let (operation, table) = ("update", model.table.name().to_owned());
                    let message = "it returned no item".to_owned();
                    return Err(ErrorKind::Unexpected { operation, table, message }.into());
                }
            };
            model.read(item)
        }
        .instrument(span)
        .await
    }
}
into_future!(Update, E);

fn invalid(entity: &'static str, message: String) -> Error {
    ErrorKind::Invalid { entity, message }.into()
}

/// The primary key's variable values, parsed back out of the key (unambiguous, since
/// values never contain their template's delimiters).
fn primary_values<E: Entity>(key: &Item) -> Vec<(&'static str, String)> {
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

/// Adds to the update every index key attribute whose template inputs change, so the
/// index never holds a stale key (OneTable #301).
fn recompute_keys<E: Entity>(
    known: &[(&'static str, String)],
    new_values: &[(&'static str, Option<AttributeValue>)],
    p: &mut Placeholders,
    sets: &mut Vec<String>,
    removes: &mut Vec<String>,
) -> Result<(), Error> {
    let schema = E::SCHEMA;
    let entity = schema.name;
    let mut done: Vec<&str> = Vec::new();
    for (index, attr) in schema.indexes.iter().flat_map(|i| i.key_attributes().map(move |k| (i, k))) {
        let changed: Vec<&str> =
            attr.template.variables().filter(|v| new_values.iter().any(|(n, _)| n == v)).collect();
        if changed.is_empty() || done.contains(&attr.attribute) {
            continue;
        }
        done.push(attr.attribute);
        if index.kind == IndexKind::Primary {
            return Err(ErrorKind::Invalid {
                entity,
                message: format!(
                    "{entity}.{} is part of the primary key and cannot be updated: remove the item and create it again",
                    changed[0]
                ),
            }
            .into());
        }
        let mut text = String::new();
        let mut absent = false;
        for part in attr.template.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Var(name) => {
                    let value = match new_values.iter().find(|(n, _)| n == name) {
                        Some((_, None)) => {
                            absent = true;
                            continue;
                        }
                        Some((_, Some(av))) => {
                            let stored = schema.field(name).map_or("", |f| f.onetable_type);
                            onetable_core::key_text(av, stored)
                        }
                        None => known.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()),
                    };
                    let Some(value) = value else {
                        return Err(ErrorKind::Invalid {
                            entity,
                            message: format!(
                                "updating {} changes index key `{}` (\"{}\"), which also needs {entity}.{name}: \
                                 set {name} in the same update so the index key is recomputed",
                                changed.join(", "),
                                attr.attribute,
                                attr.template.source
                            ),
                        }
                        .into());
                    };
                    if let Some(problem) = key_problem(&value, attr.template.delimiters) {
                        return Err(ErrorKind::InvalidKey {
                            entity,
                            field: name,
                            value,
                            template: attr.template.source,
                            problem,
                        }
                        .into());
                    }
                    text.push_str(&value);
                }
            }
        }
        let name = p.name(attr.attribute);
        if absent {
            // A removed input takes the item out of the (sparse) index.
            removes.push(name.into_owned());
        } else {
            let v = p.value(AttributeValue::S(text));
            sets.push(format!("{name} = {v}"));
        }
    }
    Ok(())
}

fn key_problem(value: &str, delimiters: &str) -> Option<KeyProblem> {
    if value.is_empty() {
        return Some(KeyProblem::Empty);
    }
    value.chars().find(|c| delimiters.contains(*c)).map(KeyProblem::ContainsDelimiter)
}
