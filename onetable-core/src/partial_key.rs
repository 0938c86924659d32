//! The key of a query: a partition of one index, narrowed on its sort key (the
//! derive's `User::partition(..)`, `User::<index>_partition(..)`).

use crate::error::{Error, ErrorKind};
use crate::key::{AsKeyPart, Input, KeyBuf, KeyValue, Rendered};
use crate::schema::IndexSchema;
use crate::Field;
use std::marker::PhantomData;

/// How a query narrows the sort key once the partition is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortCondition {
    /// Every item of the entity in the partition (`begins_with` the literal prefix,
    /// or no condition when the template starts with a variable).
    Prefix(String),
    /// One exact sort key (the template was complete).
    Equals(String),
}

/// A partition of `E` on one index, with the sort-key variables given so far: the
/// key of a query. Built by the derive's `E::partition(..)` (primary index) or
/// `E::<index>_partition(..)`; narrow it with [`PartialKey::with`].
pub struct PartialKey<E> {
    pub(crate) index: &'static IndexSchema,
    pub(crate) entity: &'static str,
    hash: Result<String, Error>,
    sort_values: Vec<(&'static str, String)>,
    /// The values of a query on a multi-attribute key (`None` for a template key).
    pub(crate) multi: Option<crate::multi_key::MultiQuery>,
    pub(crate) error: Option<Error>,
    marker: PhantomData<fn() -> E>,
}

impl<E> PartialKey<E> {
    /// A partition of `index` whose hash key value is `hash`.
    #[inline]
    pub fn new(
        entity: &'static str,
        index: &'static IndexSchema,
        hash: Result<String, Error>,
    ) -> PartialKey<E> {
        PartialKey {
            index,
            entity,
            hash,
            sort_values: Vec::new(),
            multi: None,
            error: None,
            marker: PhantomData,
        }
    }

    /// A partition of multi-attribute index `index`: one value per partition
    /// attribute, in order. Built by the derive's `E::<index>_partition(..)`; narrow
    /// it with [`PartialKey::eq`], then a range such as [`PartialKey::gt`].
    pub fn multi(
        entity: &'static str,
        index: &'static IndexSchema,
        hash: Vec<crate::expr::Operand>,
    ) -> PartialKey<E> {
        PartialKey {
            index,
            entity,
            hash: Ok(String::new()),
            sort_values: Vec::new(),
            multi: Some(crate::multi_key::MultiQuery::new(hash)),
            error: None,
            marker: PhantomData,
        }
    }

    /// For a multi-attribute index, the key condition in the table's `format`
    /// (`None` for an index keyed by templates), or the first error met building it.
    pub fn multi_condition(
        self,
        format: &crate::Format,
        placeholders: &mut crate::expr::Placeholders,
    ) -> Result<Option<String>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match (&self.multi, &self.index.multi) {
            (Some(query), Some(key)) => query.render(self.entity, key, format, placeholders).map(Some),
            _ => Ok(None),
        }
    }

    /// Gives the value of one sort-key variable; the query's sort key is the template
    /// up to the first variable still missing.
    pub fn with<T: KeyValue>(mut self, field: Field<E, T>, value: impl AsKeyPart<T>) -> Self {
        if self.index.multi.is_some() {
            self.error.get_or_insert_with(|| {
                let message = format!(
                    "index {} is keyed on attributes: give its sort attributes with .eq(..), then .gt(..), .between(..) and the like",
                    self.index.name
                );
                ErrorKind::Invalid { entity: self.entity, message }.into()
            });
            return self;
        }
        let Some(sort) = self.index.sort.as_ref() else {
            self.error.get_or_insert_with(|| {
                let message = format!("index {} has no sort key", self.index.name);
                ErrorKind::Invalid { entity: self.entity, message }.into()
            });
            return self;
        };
        if !sort.template.variables().any(|v| v == field.name()) {
            self.error.get_or_insert_with(|| {
                let message = format!(
                    "{} is not a variable of the sort key template \"{}\"",
                    field.name(),
                    sort.template.source
                );
                ErrorKind::Invalid { entity: self.entity, message }.into()
            });
            return self;
        }
        let mut buf = KeyBuf::new(self.entity, &sort.template);
        match buf.arg::<T, _>(field.name(), &value) {
            Ok(true) => self.sort_values.push((field.name(), buf.finish())),
            Ok(false) => {}
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// The index and the partition's hash key value, leaving any sort-key part aside.
    pub fn into_partition(self) -> Result<(&'static IndexSchema, String), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.multi.is_some() {
            let message = format!(
                "index {} is keyed on attributes, not on one partition key value: query it with find",
                self.index.name
            );
            return Err(ErrorKind::Invalid { entity: self.entity, message }.into());
        }
        Ok((self.index, self.hash?))
    }

    /// The index queried.
    pub fn index(&self) -> &'static IndexSchema {
        self.index
    }

    /// The hash key attribute and value, and the sort-key condition, or the first
    /// error met while building the key.
    pub fn resolve(self) -> Result<(String, Option<SortCondition>), Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let hash = self.hash?;
        let Some(sort) = self.index.sort.as_ref() else {
            return Ok((hash, None));
        };
        let known = |name: &'static str| match self.sort_values.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => Input::Text(v.as_str().into()),
            None => Input::Unknown,
        };
        Ok((
            hash,
            Some(match sort.template.render(self.entity, known)? {
                Rendered::Key(text) => SortCondition::Equals(text),
                Rendered::Partial { prefix, .. } => SortCondition::Prefix(prefix),
                Rendered::Absent(_) => unreachable!("a partial key's values are never absent"),
            }),
        ))
    }
}
