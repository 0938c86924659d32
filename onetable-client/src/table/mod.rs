//! The table: a DynamoDB client, a table name, the registered entities and how
//! values are written. What it holds is private to this module; the rest of the
//! library reads it through methods.

mod builder;
pub(crate) mod forms;
mod index_keys;

pub use builder::TableBuilder;

use aws_sdk_dynamodb::Client;
use onetable_core::{
    AttributeValue, EntitySchema, Error, ErrorKind, FieldSchema, Format, IndexKind, IndexProjection, Item,
    ScalarType, Timestamps,
};
use std::sync::Arc;

/// The attribute in which an item records the design version it is in: written by
/// every whole-item write of an entity that declares its design
/// (`#[entity(design = "0.3.0")]`) and by the migration that moves items into it.
/// OneTable JS ignores it (its `put` drops it, which marks the item as in the first
/// design).
pub const DESIGN_ATTRIBUTE: &str = "_design";

/// A single table holding several entity types.
///
/// Cheap to clone: clones share the client and the schema. The `onetable` crate's
/// documentation walks through building one and using its models.
#[derive(Clone)]
pub struct Table {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Refuses every write: the table a dry-run migration step is given.
    read_only: bool,
    client: Client,
    /// The client of requests whose response the library may decode itself (reads,
    /// and the updates and deletes that return an item) and of batch writes whose
    /// items it writes: `client` with the interceptor that keeps the response body
    /// (see `crate::capture`) and fills in the request's (`crate::splice`), so that no
    /// other request pays for it.
    reader: Client,
    name: String,
    format: Format,
    created: String,
    updated: String,
    /// The timestamps of entities that do not choose their own.
    timestamps: Timestamps,
    entities: Vec<&'static EntitySchema>,
    hash: String,
    sort: Option<String>,
    indexes: Vec<SecondaryIndex>,
    capacity: bool,
    /// The table's TTL attribute, from the entities' `#[attr(ttl)]` fields.
    ttl: Option<String>,
    hide_expired: bool,
    /// Whether reads decode response bodies themselves (`TableBuilder::direct_reads`).
    direct: bool,
    /// Whether batch puts write their items' JSON themselves
    /// (`TableBuilder::direct_writes`).
    direct_writes: bool,
    /// Earlier forms of registered entities that the table reads and upgrades.
    earlier: Vec<forms::EarlierForm>,
    /// The keys of encrypted fields.
    keys: crate::crypto::Keys,
    /// What metrics are recorded (`None`: none).
    #[cfg(feature = "metrics")]
    recorder: Option<crate::metrics::Recorder>,
}

/// A secondary index of the table, as the registered entities declare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecondaryIndex {
    pub name: String,
    pub kind: IndexKind,
    /// The partition key's attributes and their types: one string for a template
    /// key (the table's own for a local index), one to four for a multi-attribute key.
    pub hash: Vec<(String, ScalarType)>,
    /// The sort key's attributes, likewise (none when the index has no sort key).
    pub sort: Vec<(String, ScalarType)>,
    /// `None`: all attributes; else the attributes besides the keys (empty: keys
    /// only). The union of what the entities sharing the index include.
    pub include: Option<Vec<String>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.inner.entities.iter().map(|e| e.name).collect();
        f.debug_struct("Table").field("name", &self.inner.name).field("entities", &names).finish()
    }
}

impl Table {
    /// Starts describing table `name`, reached through `client` (built from
    /// aws-config, or `onetable_local` in tests).
    pub fn builder(client: Client, name: impl Into<String>) -> TableBuilder {
        TableBuilder::new(client, name.into())
    }

    /// The table name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The client that gets, finds, scans, batch gets, updates and deletes are built
    /// with (see `Inner::reader`).
    pub(crate) fn reader(&self) -> &Client {
        &self.inner.reader
    }

    /// How values are written (dates, nulls, the type attribute).
    pub fn format(&self) -> &Format {
        &self.inner.format
    }

    /// The registered entities' schemas.
    pub fn entities(&self) -> &[&'static EntitySchema] {
        &self.inner.entities
    }

    /// The registered entity named `name`.
    pub fn entity_named(&self, name: &str) -> Option<&'static EntitySchema> {
        self.inner.entities.iter().find(|e| e.name == name).copied()
    }

    /// The attributes of the table's primary key: partition, and sort if it has one.
    pub fn key_attributes(&self) -> (&str, Option<&str>) {
        (&self.inner.hash, self.inner.sort.as_deref())
    }

    /// The timestamps `schema`'s items carry: its own choice, else the table's.
    pub fn timestamps_of(&self, schema: &EntitySchema) -> Timestamps {
        schema.timestamps.unwrap_or(self.inner.timestamps)
    }

    /// The timestamps of entities that do not choose their own (and of the table's
    /// own items, such as OneTable's migration records).
    pub fn default_timestamps(&self) -> Timestamps {
        self.inner.timestamps
    }

    /// The attributes of the `created` and `updated` timestamps.
    pub fn timestamp_attributes(&self) -> (&str, &str) {
        (&self.inner.created, &self.inner.updated)
    }

    /// True for a table that refuses every write (see [`Table::read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    /// The same table, refusing every write (what a dry-run migration step gets). Its
    /// [`client`](Self::client) refuses writes too, before they are sent, so a table
    /// built from it is read-only as well.
    pub fn read_only(&self) -> Table {
        let client = crate::read_only::read_only(&self.inner.client);
        let reader = crate::capture::reader(&client, self.inner.direct || self.inner.direct_writes);
        Table { inner: Arc::new(Inner { read_only: true, client, reader, ..(*self.inner).clone() }) }
    }

    /// The same table with its key attributes named as DynamoDB describes them.
    pub(crate) fn with_keys(&self, hash: String, sort: Option<String>) -> Table {
        Table { inner: Arc::new(Inner { hash, sort, ..(*self.inner).clone() }) }
    }

    /// Fails for a write through a read-only table.
    pub(crate) fn check_writable(&self, operation: &str) -> Result<(), Error> {
        if !self.inner.read_only {
            return Ok(());
        }
        Err(ErrorKind::ReadOnly { operation: operation.to_owned(), table: self.name().to_owned() }.into())
    }

    /// The earlier form of entity `entity` in design `design` that the table knows.
    pub(crate) fn earlier_form(&self, entity: &str, design: Option<&str>) -> Option<&forms::EarlierForm> {
        self.inner.earlier.iter().find(|e| e.entity == entity && e.design() == design)
    }

    /// The schema of the form `item` is in: an earlier form of `schema`'s entity the
    /// table knows, or `schema` itself. What an item stores (its unique values'
    /// attributes) is read by the form that wrote it.
    pub(crate) fn form_schema(&self, schema: &'static EntitySchema, item: &Item) -> &'static EntitySchema {
        match forms::form_of(schema, item) {
            forms::Form::Older(marker) => {
                self.earlier_form(schema.name, marker.as_deref()).map_or(schema, |e| e.schema)
            }
            _ => schema,
        }
    }

    /// The earlier forms of entity `entity` that the table knows.
    pub(crate) fn earlier_forms<'t>(
        &'t self,
        entity: &'t str,
    ) -> impl Iterator<Item = &'t forms::EarlierForm> {
        self.inner.earlier.iter().filter(move |e| e.entity == entity)
    }

    /// `item` in the form `schema` declares: converted when it is in an earlier form
    /// the table knows, as it is otherwise.
    pub(crate) fn current_form(&self, schema: &EntitySchema, item: Item) -> Result<Item, Error> {
        match forms::form_of(schema, &item) {
            forms::Form::Older(design) => match self.earlier_form(schema.name, design.as_deref()) {
                Some(earlier) => (earlier.convert)(self, item).map(|(_, new)| new),
                None => Ok(item),
            },
            _ => Ok(item),
        }
    }

    /// An item read by its type: the entity name it holds (taken out of it), and the
    /// item in the current form of that entity (converted from an earlier form the
    /// table knows), its encrypted fields decrypted.
    pub(crate) fn current_form_named(&self, mut item: Item) -> Result<(Option<String>, Item), Error> {
        let type_field = self.inner.format.type_field;
        let name = match item.get(type_field) {
            Some(AttributeValue::S(name)) => Some(name.clone()),
            _ => None,
        };
        if let Some(schema) = name.as_deref().and_then(|n| self.entity_named(n)) {
            item = self.current_form(schema, item)?;
            self.decrypt_fields(schema, &mut item)?;
        }
        item.remove(type_field);
        Ok((name, item))
    }

    /// The secondary indexes, as the registered entities declare them.
    pub(crate) fn indexes(&self) -> &[SecondaryIndex] {
        &self.inner.indexes
    }

    /// The TTL attribute, when an entity has an `#[attr(ttl)]` field.
    pub(crate) fn ttl_attribute(&self) -> Option<&str> {
        self.inner.ttl.as_deref()
    }

    /// Whether reads leave out expired items (see [`TableBuilder::hide_expired`]).
    pub(crate) fn hides_expired(&self) -> bool {
        self.inner.hide_expired
    }

    /// Whether every request asks for the capacity it consumes.
    pub(crate) fn wants_capacity(&self) -> bool {
        #[cfg(feature = "metrics")]
        if self.inner.recorder.is_some() {
            return true;
        }
        self.inner.capacity
    }

    /// What metrics the table records (`None`: none).
    #[cfg(feature = "metrics")]
    pub(crate) fn recorder(&self) -> Option<&crate::metrics::Recorder> {
        self.inner.recorder.as_ref()
    }

    /// The partition key of `key` as a metric label, when partitions are recorded.
    #[inline(always)]
    pub(crate) fn partition_label(&self, key: &Item) -> Option<String> {
        self.partition_text(|| key.get(&self.inner.hash).and_then(|v| v.as_s().ok()).cloned())
    }

    /// `partition()` when partitions are recorded (it is not called otherwise).
    #[inline(always)]
    pub(crate) fn partition_text(&self, partition: impl FnOnce() -> Option<String>) -> Option<String> {
        #[cfg(feature = "metrics")]
        if self.inner.recorder.as_ref().is_some_and(crate::metrics::Recorder::partitions) {
            return partition();
        }
        let _ = partition;
        None
    }

    /// The filter clause that leaves out expired items of an entity with a TTL field,
    /// when the table hides them.
    /// A keys-only index holds no TTL to filter on (an `INCLUDE` index holds it:
    /// `create_table` adds it).
    pub(crate) fn unexpired_clause(
        &self,
        schema: &EntitySchema,
        index: &onetable_core::IndexSchema,
        p: &mut onetable_core::expr::Placeholders,
    ) -> Option<String> {
        if index.projection == IndexProjection::KeysOnly {
            return None;
        }
        let field = schema.fields.iter().find(|f| f.ttl).filter(|_| self.inner.hide_expired)?;
        let name = p.name(field.attribute);
        let now = p.value(AttributeValue::N(now_seconds().to_string()));
        Some(format!("(attribute_not_exists({name}) OR {name} > {now})"))
    }

    /// Whether reads of `entity`'s items decode the response body themselves: asked
    /// for, and no earlier form to upgrade (an item of one needs the general path, and
    /// telling it apart takes reading its marker first). `""`: a collection's page,
    /// kept in every case (each member decides by its own entity).
    pub(crate) fn reads_direct(&self, entity: &str) -> bool {
        self.inner.direct && (entity.is_empty() || !self.inner.earlier.iter().any(|e| e.entity == entity))
    }

    /// Whether batch puts write their items' JSON themselves (see `crate::splice`).
    pub(crate) fn writes_direct(&self) -> bool {
        self.inner.direct_writes
    }

    /// [`Table::reads_direct`] for reads by key (gets, batch gets): not when the
    /// table hides the entity's expired items, which takes the TTL from the item's map.
    pub(crate) fn reads_direct_by_key(&self, schema: &EntitySchema) -> bool {
        let hides = self.inner.hide_expired && schema.fields.iter().any(|f| f.ttl);
        self.reads_direct(schema.name) && !hides
    }

    /// True when the table hides expired items and this one has expired.
    pub(crate) fn is_expired(&self, schema: &EntitySchema, item: &Item) -> bool {
        let Some(field) = schema.fields.iter().find(|f| f.ttl).filter(|_| self.inner.hide_expired) else {
            return false;
        };
        let seconds =
            item.get(field.attribute).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<f64>().ok());
        seconds.is_some_and(|s| s <= now_seconds() as f64)
    }

    /// Encrypts the entity's `#[attr(crypt)]` fields of an item about to be written.
    pub(crate) fn encrypt_fields(&self, schema: &'static EntitySchema, item: &mut Item) -> Result<(), Error> {
        self.inner.keys.encrypt_fields(schema, item)
    }

    /// Decrypts the entity's `#[attr(crypt)]` fields of an item read.
    pub(crate) fn decrypt_fields(&self, schema: &'static EntitySchema, item: &mut Item) -> Result<(), Error> {
        self.inner.keys.decrypt_fields(schema, item)
    }

    /// A value of an encrypted field, as it is stored.
    pub(crate) fn encrypt(
        &self,
        entity: &'static str,
        field: &FieldSchema,
        text: &str,
    ) -> Result<String, Error> {
        self.inner.keys.encrypt(entity, field, text)
    }

    pub(crate) fn is_registered(&self, schema: &'static EntitySchema) -> bool {
        // Names are unique in a table (checked by the builder); a `const` schema has
        // no stable address to compare.
        self.inner.entities.iter().any(|e| e.name == schema.name)
    }
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
