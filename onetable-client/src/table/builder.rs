//! Describing a table and checking, when it is built, that its entities fit together:
//! one key, indexes declared alike, no keys that could collide.

use super::{Inner, SecondaryIndex, Table};
use aws_sdk_dynamodb::Client;
use onetable_core::{Entity, EntitySchema, Error, ErrorKind, Format, IndexKind, IndexProjection, Timestamps};
use std::sync::Arc;

/// Builds a [`Table`]; [`TableBuilder::build`] checks that the entities fit together.
pub struct TableBuilder {
    client: Client,
    name: String,
    format: Format,
    created: String,
    updated: String,
    timestamps: Timestamps,
    entities: Vec<&'static EntitySchema>,
    capacity: bool,
    hide_expired: bool,
    direct: Option<bool>,
    direct_writes: Option<bool>,
    earlier: Vec<super::forms::EarlierForm>,
    keys: Vec<crate::crypto::Key>,
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::Metrics>,
}

impl TableBuilder {
    pub(super) fn new(client: Client, name: String) -> TableBuilder {
        TableBuilder {
            client,
            name,
            format: Format::ONETABLE,
            created: "created".into(),
            updated: "updated".into(),
            timestamps: Timestamps::Off,
            entities: Vec::new(),
            capacity: false,
            hide_expired: false,
            direct: None,
            direct_writes: None,
            earlier: Vec::new(),
            keys: Vec::new(),
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// Record the metrics of every request (see [`crate::metrics`]) through the
    /// `metrics` crate, to the recorder the application installs. Off unless set.
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// A key for encrypted fields (`#[attr(crypt)]`), as OneTable's `crypto` option
    /// defines one (`crypto: {primary: {cipher: 'aes-256-gcm', password}}`): its name
    /// (values are encrypted with the key named `primary` and decrypted with the key
    /// their stored text names) and the password its AES-256 key is derived from
    /// (SHA-256). Take the password from where your secrets live (a secrets manager,
    /// the environment), never from the schema or the code.
    #[cfg(feature = "crypt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "crypt")))]
    pub fn crypto(mut self, name: &str, password: &str) -> Self {
        self.keys.retain(|k| !k.is(name));
        self.keys.push(crate::crypto::Key::from_password(name, password));
        self
    }

    /// Read the items of gets, finds and scans, and the item an update or removal
    /// returns, straight from the response body into the entity, instead of through
    /// the SDK's output types: the body is read once, and no map is built for an item
    /// the entity reads whole. Items that need more (an earlier form the table
    /// upgrades, encrypted or packed fields, another entity's type, a value that does
    /// not read) take the general path either way, so both give the same results.
    ///
    /// On by default, unless the client carries interceptors of the application's
    /// own: one that reads or changes those responses' items after the SDK decodes
    /// them (a client-side decryption, say) would find them emptied, and what it
    /// changes is not what the library reads. `true` turns it on for such a client
    /// (when its interceptors do not look at items); `false` sends every item through
    /// the SDK's types, as a way to compare the two.
    pub fn direct_reads(mut self, direct: bool) -> Self {
        self.direct = Some(direct);
        self
    }

    /// Write the items of batch puts as the request body's JSON, instead of handing
    /// them to the SDK as `AttributeValue` maps for its serializer to walk: the SDK
    /// builds the request with each put's item empty, and the library puts the items'
    /// JSON in before the request is signed and sent. What DynamoDB receives is the
    /// same either way.
    ///
    /// On by default, unless the client carries interceptors of the application's
    /// own: one that reads or changes a batch write's items before it is sent (an
    /// audit log, a client-side encryption), up to `modify_before_retry_loop`, would
    /// find them empty (from `modify_before_signing` on it sees the whole body).
    /// `true` turns it on for such a client (when its interceptors do not look at
    /// items); `false` hands the SDK every item, as a way to compare the two.
    pub fn direct_writes(mut self, direct: bool) -> Self {
        self.direct_writes = Some(direct);
        self
    }

    /// Leave out items whose `#[attr(ttl)]` time has passed but that DynamoDB has not
    /// deleted yet (it deletes expired items within a few days, not at once).
    pub fn hide_expired(mut self, hide: bool) -> Self {
        self.hide_expired = hide;
        self
    }

    /// Ask DynamoDB for the capacity each request consumes and record it as a
    /// `tracing` event (`consumed capacity`, with `units`) in the operation's span.
    pub fn consumed_capacity(mut self, report: bool) -> Self {
        self.capacity = report;
        self
    }

    /// Registers entity `E`.
    pub fn entity<E: Entity>(mut self) -> Self {
        self.entities.push(E::SCHEMA);
        self
    }

    /// Write dates as ISO-8601 strings instead of epoch milliseconds (OneTable's
    /// `isoDates`).
    pub fn iso_dates(mut self, iso: bool) -> Self {
        self.format.iso_dates = iso;
        self
    }

    /// Write `None` as `NULL` instead of leaving the attribute out (OneTable's `nulls`).
    pub fn nulls(mut self, nulls: bool) -> Self {
        self.format.nulls = nulls;
        self
    }

    /// The attribute holding the entity name (default `_type`, OneTable's `typeField`).
    pub fn type_field(mut self, name: &'static str) -> Self {
        self.format.type_field = name;
        self
    }

    /// The timestamps of every entity that does not choose its own with
    /// `#[entity(timestamps ..)]` (OneTable's table-wide `timestamps` parameter):
    /// [`Timestamps::Off`] unless set.
    pub fn timestamps(mut self, timestamps: Timestamps) -> Self {
        self.timestamps = timestamps;
        self
    }

    /// The attributes of `#[entity(timestamps)]` (default `created` and `updated`).
    pub fn timestamp_names(mut self, created: impl Into<String>, updated: impl Into<String>) -> Self {
        self.created = created.into();
        self.updated = updated.into();
        self
    }

    /// Registers an earlier form `Old` of entity `New` (same entity name, same keys,
    /// an older `#[entity(design = ..)]`) and how an item of it reads in the current
    /// form: the conversion of the migration that moves items from `Old` to `New`.
    ///
    /// Code for the new design that ships before that migration (or runs beside it)
    /// then reads every item in the new form — an item still in the old form is
    /// converted — and never writes on top of the old form: an update of such an item
    /// first upgrades it (rewritten in the new form, only if unchanged since read,
    /// exactly as the migration would), so the migration leaves it alone and the
    /// update lands on the new form. Without it, such a write is refused with
    /// [`Error::is_older_design`].
    ///
    /// The conversion must be the whole of what the migration does to an item: a
    /// migration that reads other items or makes items beside the one it converts
    /// cannot be replayed by an upgrade, so register none for it (writes to items it
    /// has not reached are then refused until it reaches them).
    pub fn upgrade<Old: Entity, New: Entity>(
        mut self,
        convert: impl Fn(Old) -> New + Send + Sync + 'static,
    ) -> Self {
        let convert: super::forms::Convert = Arc::new(move |table: &Table, item| {
            let old = table.model::<Old>().from_item(item)?;
            let as_read = table.model::<Old>().to_item(&old)?;
            Ok((as_read, table.model::<New>().to_item(&convert(old))?))
        });
        self.earlier.push(super::forms::EarlierForm {
            entity: New::SCHEMA.name,
            schema: Old::SCHEMA,
            current: New::SCHEMA,
            convert,
        });
        self
    }

    /// Checks the entities against each other and builds the table. Refused: two
    /// entities with one name, entities that disagree on the table's key attributes or
    /// on an index, a field stored under the type attribute, and two entities whose
    /// primary keys could collide.
    pub fn build(self) -> Result<Table, Error> {
        let schema_error = |message: String| -> Error { ErrorKind::Schema(message).into() };
        for earlier in &self.earlier {
            check_earlier(earlier, &self.entities)?;
        }
        let encrypted =
            self.entities.iter().find_map(|e| e.fields.iter().find(|f| f.crypt).map(|f| (e.name, f.name)));
        if let Some((entity, field)) = encrypted {
            if cfg!(not(feature = "crypt")) {
                return Err(schema_error(format!(
                    "{entity}.{field} is encrypted: enable onetable's `crypt` feature"
                )));
            }
            if self.keys.is_empty() {
                return Err(schema_error(format!(
                    "{entity}.{field} is encrypted: give the table its key with TableBuilder::crypto"
                )));
            }
        }
        let mut hash: Option<(&str, &str)> = None;
        let mut sort: Option<(Option<&str>, &str)> = None;
        let mut indexes: Vec<(SecondaryIndex, &str)> = Vec::new();
        let mut ttl: Option<(&str, &str)> = None;
        for (i, entity) in self.entities.iter().enumerate() {
            crate::rules::check_patterns(entity)?;
            if self.entities[..i].iter().any(|e| e.name == entity.name) {
                return Err(schema_error(format!("two entities are named {}", entity.name)));
            }
            let primary = entity.primary();
            let h = primary.hash.as_ref().map_or("pk", |k| k.attribute);
            let s = primary.sort.as_ref().map(|k| k.attribute);
            match hash {
                Some((other, by)) if other != h => {
                    return Err(schema_error(format!(
                        "{} stores its partition key in `{h}`, {by} in `{other}`: one table has one key",
                        entity.name
                    )))
                }
                _ => hash = Some((h, entity.name)),
            }
            match sort {
                Some((other, by)) if other != s => {
                    return Err(schema_error(format!(
                        "{} has sort key {}, {by} has {}: every item of a table has the same key attributes",
                        entity.name,
                        s.map_or("none".to_owned(), |a| format!("`{a}`")),
                        other.map_or("none".to_owned(), |a| format!("`{a}`")),
                    )))
                }
                _ => sort = Some((s, entity.name)),
            }
            for index in entity.indexes.iter().filter(|x| x.kind != IndexKind::Primary) {
                let (hash, sort) = super::index_keys::attributes(entity, index, h, &self.format)?;
                let declared = SecondaryIndex {
                    name: index.name.to_owned(),
                    kind: index.kind,
                    hash,
                    sort,
                    include: match index.projection {
                        IndexProjection::All => None,
                        IndexProjection::KeysOnly => Some(Vec::new()),
                        // The type attribute, which find filters on, and the TTL,
                        // which hides expired items, go with the fields named.
                        IndexProjection::Include(attributes) => Some(
                            std::iter::once(self.format.type_field)
                                .chain(entity.fields.iter().find(|f| f.ttl).map(|f| f.top_attribute()))
                                .chain(attributes.iter().copied())
                                .map(str::to_owned)
                                .collect(),
                        ),
                    },
                };
                let differs = |x: &SecondaryIndex| {
                    (&x.kind, &x.hash, &x.sort) != (&declared.kind, &declared.hash, &declared.sort)
                        || x.include.is_none() != declared.include.is_none()
                        || x.include.as_ref().is_some_and(Vec::is_empty)
                            != declared.include.as_ref().is_some_and(Vec::is_empty)
                };
                match indexes.iter_mut().find(|(x, _)| x.name == declared.name) {
                    Some((x, by)) if differs(x) => {
                        return Err(schema_error(format!(
                            "index {} is declared differently by {by} ({x:?}) and {} ({declared:?})",
                            declared.name, entity.name
                        )))
                    }
                    // One projection for the index: every entity's attributes.
                    Some((x, _)) => {
                        if let (Some(all), Some(more)) = (x.include.as_mut(), declared.include) {
                            for a in more {
                                if !all.contains(&a) {
                                    all.push(a);
                                }
                            }
                        }
                    }
                    None => indexes.push((declared, entity.name)),
                }
            }
            if let Some(f) = entity.fields.iter().find(|f| f.top_attribute() == self.format.type_field) {
                return Err(schema_error(format!(
                    "{}.{} is stored as `{}`, the table's type attribute",
                    entity.name, f.name, self.format.type_field
                )));
            }
            if let Some(f) = entity.fields.iter().find(|f| f.ttl) {
                match ttl {
                    Some((attribute, by)) if attribute != f.attribute => {
                        return Err(schema_error(format!(
                            "{}.{} expires items through `{}`, {by} through `{attribute}`: a table has one TTL attribute",
                            entity.name, f.name, f.attribute
                        )))
                    }
                    _ => ttl = Some((f.attribute, entity.name)),
                }
            }
            for other in &self.entities[..i] {
                check_collision(other, entity)?;
            }
        }
        let (h, s) = (hash.map_or("pk", |(h, _)| h), sort.and_then(|(s, _)| s));
        super::index_keys::check_types(h, s, indexes.iter().map(|(x, _)| x))?;
        super::index_keys::check_fields(&self.entities, &self.format, indexes.iter().map(|(x, _)| x))?;
        #[cfg(feature = "metrics")]
        let recorder =
            self.metrics.map(|metrics| crate::metrics::Recorder { metrics, table: self.name.clone().into() });
        // Retries and throttles happen inside the SDK: its client counts them.
        #[cfg(feature = "metrics")]
        let client = match &recorder {
            Some(r) => Client::from_conf(
                self.client
                    .config()
                    .to_builder()
                    .interceptor(crate::metrics::Attempts { table: r.table.clone() })
                    .build(),
            ),
            None => self.client,
        };
        #[cfg(not(feature = "metrics"))]
        let client = self.client;
        // Items read or written by the library itself are hidden from the SDK's types,
        // so from interceptors that look at those: with an interceptor of the
        // application's own on the client, neither unless asked for.
        use aws_smithy_runtime_api::client::interceptors::Intercept as _;
        let theirs = client.config().interceptors().any(|i| !i.name().starts_with("onetable"));
        let (direct, direct_writes) = (self.direct.unwrap_or(!theirs), self.direct_writes.unwrap_or(!theirs));
        // Reads decoded straight from the body, and batch writes whose items the
        // library writes, go through a client with their interceptor; every other
        // request through the application's own.
        let reader = crate::capture::reader(&client, direct || direct_writes);
        Ok(Table {
            inner: Arc::new(Inner {
                read_only: false,
                client,
                reader,
                name: self.name,
                format: self.format,
                created: self.created,
                updated: self.updated,
                timestamps: self.timestamps,
                entities: self.entities,
                hash: hash.map_or("pk", |(h, _)| h).to_owned(),
                sort: sort.and_then(|(s, _)| s).map(str::to_owned),
                indexes: indexes.into_iter().map(|(x, _)| x).collect(),
                capacity: self.capacity,
                ttl: ttl.map(|(a, _)| a.to_owned()),
                hide_expired: self.hide_expired,
                direct,
                direct_writes,
                earlier: self.earlier,
                keys: crate::crypto::Keys(self.keys),
                #[cfg(feature = "metrics")]
                recorder,
            }),
        })
    }
}

/// Two entities collide when some item key could be produced by both: then writing
/// one could silently overwrite the other.
fn check_collision(a: &EntitySchema, b: &EntitySchema) -> Result<(), Error> {
    let (pa, pb) = (a.primary(), b.primary());
    let overlap =
        |x: &Option<onetable_core::KeyAttribute>, y: &Option<onetable_core::KeyAttribute>| match (x, y) {
            (Some(x), Some(y)) => x.template.overlaps(&y.template),
            (None, None) => true,
            _ => false,
        };
    if overlap(&pa.hash, &pb.hash) && overlap(&pa.sort, &pb.sort) {
        let show = |e: &EntitySchema| {
            let p = e.primary();
            let t = |k: &Option<onetable_core::KeyAttribute>| k.as_ref().map_or("-", |k| k.template.source);
            format!("{} ({} / {})", e.name, t(&p.hash), t(&p.sort))
        };
        return Err(ErrorKind::Schema(format!(
            "the keys of {} and {} could collide: an item of one could overwrite an item of the other; \
             give them distinct literal prefixes",
            show(a),
            show(b)
        ))
        .into());
    }
    Ok(())
}

/// An earlier form is one of a registered entity, under the same name and keys, in an
/// older design.
fn check_earlier(
    earlier: &super::forms::EarlierForm,
    entities: &[&'static EntitySchema],
) -> Result<(), Error> {
    let (old, new) = (earlier.schema, earlier.current);
    let refuse = |why: String| -> Result<(), Error> {
        Err(ErrorKind::Schema(format!(
            "the upgrade of {} from design {}: {why}",
            new.name,
            old.design.unwrap_or("(none)")
        ))
        .into())
    };
    if !entities.iter().any(|e| e.name == new.name && e.design == new.design) {
        return refuse(format!("register {} (the current form) with .entity::<..>()", new.name));
    }
    if old.name != new.name {
        return refuse(format!("both forms must be one entity, named alike ({} and {})", old.name, new.name));
    }
    let version = |d: Option<&str>| d.map(onetable_core::Version::parse).transpose();
    match (version(old.design)?, version(new.design)?) {
        (_, None) => {
            return refuse("the current form declares no design (#[entity(design = \"..\")])".into())
        }
        (Some(o), Some(n)) if o >= n => return refuse(format!("design {o} is not older than {n}")),
        _ => {}
    }
    let keys = |s: &EntitySchema| -> Vec<(&str, &str)> {
        s.primary().key_attributes().map(|k| (k.attribute, k.template.source)).collect()
    };
    if keys(old) != keys(new) {
        return refuse("the forms have other keys: that is a re-key, served with evolve::Rekey".into());
    }
    Ok(())
}
