//! Creating, describing and deleting the table from the registered schema.

use crate::send::Call;
use crate::table::{SecondaryIndex, Table};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndex, GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TableDescription, TableStatus,
};
use onetable_core::{Error, ErrorKind, IndexKind, ScalarType};
use std::time::{Duration, Instant};

/// Creates the table: keys, global and local indexes from the registered entities
/// (every index projects all attributes). On-demand billing unless
/// [`CreateTable::provisioned`]. Resolves once the table and its indexes are ACTIVE.
#[must_use = "call .send().await"]
pub struct CreateTable {
    table: Table,
    throughput: Option<(i64, i64)>,
    stream: Option<aws_sdk_dynamodb::types::StreamViewType>,
    timeout: Duration,
}

impl Table {
    /// A table with no registered entities whose key attribute names are read from
    /// DynamoDB: for tools that inspect any table (its migration history and schema).
    pub async fn from_description(
        client: aws_sdk_dynamodb::Client,
        name: impl Into<String>,
    ) -> Result<Table, Error> {
        let table = Table::builder(client, name).build()?;
        let description = table.describe().await?;
        let key = |kind: KeyType| {
            description
                .key_schema()
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_owned())
        };
        let hash = key(KeyType::Hash).unwrap_or_else(|| table.key_attributes().0.to_owned());
        Ok(table.with_keys(hash, key(KeyType::Range)))
    }

    /// Creates the table from the schema; see [`CreateTable`].
    pub fn create_table(&self) -> CreateTable {
        CreateTable { table: self.clone(), throughput: None, stream: None, timeout: Duration::from_secs(300) }
    }

    /// The table's description from DynamoDB.
    pub async fn describe(&self) -> Result<TableDescription, Error> {
        let request = self.client().describe_table().table_name(self.name());
        let out = self
            .send(&Call::new("describe_table", ""), request)
            .await
            .map_err(manage_error("describe_table"))?;
        out.table.ok_or_else(|| ErrorKind::TableNotFound { table: self.name().to_owned() }.into())
    }

    /// True when the table exists.
    pub async fn exists(&self) -> Result<bool, Error> {
        match self.describe().await {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), ErrorKind::TableNotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Turns on DynamoDB's TTL on the entities' `#[attr(ttl)]` attribute, so expired
    /// items are deleted (`create_table` does this itself).
    pub async fn enable_ttl(&self) -> Result<(), Error> {
        let Some(attribute) = self.ttl_attribute() else {
            return Err(ErrorKind::Schema(format!(
                "no entity of table {} has an #[attr(ttl)] field",
                self.name()
            ))
            .into());
        };
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(true)
            .build()
            .map_err(|e| invalid_request(self.name(), e))?;
        let request =
            self.client().update_time_to_live().table_name(self.name()).time_to_live_specification(spec);
        self.send(&Call::new("enable_ttl", ""), request).await.map_err(manage_error("enable_ttl"))?;
        Ok(())
    }

    /// Deletes the table and everything in it.
    pub async fn delete_table(&self) -> Result<(), Error> {
        let request = self.client().delete_table().table_name(self.name());
        self.send(&Call::new("delete_table", ""), request).await.map_err(manage_error("delete_table"))?;
        Ok(())
    }
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
}

fn keys(hash: &str, sort: Option<&str>) -> Vec<KeySchemaElement> {
    std::iter::once(key(hash, KeyType::Hash)).chain(sort.map(|s| key(s, KeyType::Range))).collect()
}

/// An index's key schema: each partition attribute, then each sort attribute, in
/// order (several of each for a multi-attribute key).
fn index_keys(index: &SecondaryIndex) -> Vec<KeySchemaElement> {
    let hash = index.hash.iter().map(|(a, _)| key(a, KeyType::Hash));
    hash.chain(index.sort.iter().map(|(a, _)| key(a, KeyType::Range))).collect()
}

/// One definition per key attribute, typed as its values are stored.
fn definitions<'a>(
    table: &str,
    attributes: impl IntoIterator<Item = (&'a str, ScalarType)>,
) -> Result<Vec<AttributeDefinition>, Error> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (name, scalar) in attributes {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let definition =
            AttributeDefinition::builder().attribute_name(name).attribute_type(scalar_type(scalar)).build();
        out.push(definition.map_err(|e| invalid_request(table, e))?);
    }
    Ok(out)
}

fn scalar_type(scalar: ScalarType) -> ScalarAttributeType {
    match scalar {
        ScalarType::String => ScalarAttributeType::S,
        ScalarType::Number => ScalarAttributeType::N,
        ScalarType::Binary => ScalarAttributeType::B,
    }
}

/// A key schema as an error message shows it: `pk (HASH, S), sk (RANGE, S)`.
fn describe_keys(keys: &[KeySchemaElement], types: &[AttributeDefinition]) -> String {
    let one = |k: &KeySchemaElement| {
        let kind = types
            .iter()
            .find(|d| d.attribute_name() == k.attribute_name())
            .map(|d| d.attribute_type().as_str());
        format!("{} ({}, {})", k.attribute_name(), k.key_type().as_str(), kind.unwrap_or("?"))
    };
    keys.iter().map(one).collect::<Vec<_>>().join(", ")
}

/// Every key attribute of an index with its type.
fn typed(index: &SecondaryIndex) -> impl Iterator<Item = (&str, ScalarType)> {
    index.hash.iter().chain(&index.sort).map(|(a, t)| (a.as_str(), *t))
}

/// What a secondary index holds: every attribute, the keys, or the keys and some.
pub(crate) fn projection(include: Option<&[String]>) -> Projection {
    match include {
        None => Projection::builder().projection_type(ProjectionType::All).build(),
        Some([]) => Projection::builder().projection_type(ProjectionType::KeysOnly).build(),
        Some(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.to_vec()))
            .build(),
    }
}

impl CreateTable {
    /// Provisioned capacity for the table and each global index instead of on-demand.
    pub fn provisioned(mut self, read: i64, write: i64) -> Self {
        self.throughput = Some((read, write));
        self
    }

    /// Turns on the table's stream (DynamoDB Streams) with the images each record
    /// carries: [`NewAndOldImages`](aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
    /// lets [`Changes`](crate::changes::Changes) decode every change into entities, old and new.
    pub fn stream(mut self, view: aws_sdk_dynamodb::types::StreamViewType) -> Self {
        self.stream = Some(view);
        self
    }

    /// How long to wait for the table to become ACTIVE (5 minutes by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Creates the table and waits until it and its indexes are ACTIVE.
    pub async fn send(self) -> Result<TableDescription, Error> {
        let table = &self.table;
        let name = table.name();
        let (hash, sort) = table.key_attributes();
        let throughput = self.throughput.map(|(r, w)| {
            ProvisionedThroughput::builder()
                .read_capacity_units(r)
                .write_capacity_units(w)
                .build()
                .expect("set")
        });
        let mut attributes: Vec<(&str, ScalarType)> = vec![(hash, ScalarType::String)];
        attributes.extend(sort.map(|s| (s, ScalarType::String)));
        let mut request = table
            .client()
            .create_table()
            .table_name(name)
            .set_key_schema(Some(keys(hash, sort)))
            .billing_mode(if throughput.is_some() {
                BillingMode::Provisioned
            } else {
                BillingMode::PayPerRequest
            })
            .set_provisioned_throughput(throughput.clone());
        if let Some(view) = self.stream {
            let stream = aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .map_err(|e| invalid_request(name, e))?;
            request = request.stream_specification(stream);
        }
        for index in table.indexes() {
            attributes.extend(typed(index));
            let key_schema = index_keys(index);
            request = match index.kind {
                IndexKind::Local => request.local_secondary_indexes(
                    LocalSecondaryIndex::builder()
                        .index_name(&index.name)
                        .set_key_schema(Some(key_schema))
                        .projection(projection(index.include.as_deref()))
                        .build()
                        .map_err(|e| invalid_request(name, e))?,
                ),
                _ => request.global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(&index.name)
                        .set_key_schema(Some(key_schema))
                        .projection(projection(index.include.as_deref()))
                        .set_provisioned_throughput(throughput.clone())
                        .build()
                        .map_err(|e| invalid_request(name, e))?,
                ),
            };
        }
        request = request.set_attribute_definitions(Some(definitions(name, attributes)?));
        table.send(&Call::new("create_table", ""), request).await.map_err(manage_error("create_table"))?;
        let description = table.wait_active(self.timeout).await?;
        if table.ttl_attribute().is_some() {
            table.enable_ttl().await?;
        }
        Ok(description)
    }
}

/// A table management request's failure (none of them has a condition).
fn manage_error(operation: &'static str) -> impl FnOnce(crate::send::Failure) -> Error {
    move |failure| failure.into_error("", operation)
}

fn invalid_request(table: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    ErrorKind::Dynamo { operation: "create_table", table: table.to_owned(), source: Box::new(e) }.into()
}

impl Table {
    /// Waits until the table and all its global indexes are ACTIVE.
    pub async fn wait_active(&self, timeout: Duration) -> Result<TableDescription, Error> {
        let start = Instant::now();
        loop {
            let description = self.describe().await?;
            let indexes_active = description
                .global_secondary_indexes()
                .iter()
                // ACTIVE once the backfill is done; the flag is checked too, as
                // DynamoDB documents it apart.
                .all(|i| i.index_status() == Some(&IndexStatus::Active) && i.backfilling() != Some(true));
            if description.table_status() == Some(&TableStatus::Active) && indexes_active {
                return Ok(description);
            }
            if start.elapsed() > timeout {
                return Err(ErrorKind::Dynamo {
                    operation: "create_table",
                    table: self.name().to_owned(),
                    source: format!("not ACTIVE after {timeout:?}").into(),
                }
                .into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Table {
    /// Adds global index `name`, as the registered entities declare it, to the
    /// existing table and waits until it is ACTIVE (DynamoDB backfills it from the
    /// items that already carry its key attributes). Returns `false`, doing nothing,
    /// when the table has the index already.
    pub async fn create_global_index(&self, name: &str, timeout: Duration) -> Result<bool, Error> {
        let index =
            self.indexes().iter().find(|i| i.name == name && i.kind == IndexKind::Global).ok_or_else(
                || ErrorKind::Schema(format!("no registered entity declares a global index {name}")),
            )?;
        let description = self.describe().await?;
        if let Some(existing) =
            description.global_secondary_indexes().iter().find(|i| i.index_name() == Some(name))
        {
            let declared = index_keys(index);
            let types = description.attribute_definitions();
            let same = existing.key_schema() == declared.as_slice()
                && typed(index).all(|(attribute, scalar)| {
                    types.iter().any(|d| {
                        d.attribute_name() == attribute && *d.attribute_type() == scalar_type(scalar)
                    })
                });
            if !same {
                return Err(ErrorKind::Schema(format!(
                    "table {} has index {name} keyed {}, the entities declare it keyed {}: remove the index (or rename the declared one) before it can be added",
                    self.name(),
                    describe_keys(existing.key_schema(), types),
                    describe_keys(&declared, &definitions(self.name(), typed(index))?),
                ))
                .into());
            }
            return Ok(false);
        }
        let table = self.name();
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .set_key_schema(Some(index_keys(index)))
            .projection(projection(index.include.as_deref()))
            .build()
            .map_err(|e| invalid_request(table, e))?;
        let request = self
            .client()
            .update_table()
            .table_name(table)
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().create(create).build())
            .set_attribute_definitions(Some(definitions(table, typed(index))?));
        self.send(&Call::new("create_global_index", ""), request)
            .await
            .map_err(manage_error("update_table"))?;
        self.wait_active(timeout).await?;
        Ok(true)
    }

    /// Removes global index `name` and waits until the table is ACTIVE again. Returns
    /// `false`, doing nothing, when the table has no such index. Its key attributes
    /// stay on the items until they are rewritten; they are harmless.
    pub async fn delete_global_index(&self, name: &str, timeout: Duration) -> Result<bool, Error> {
        let exists =
            self.describe().await?.global_secondary_indexes().iter().any(|i| i.index_name() == Some(name));
        if !exists {
            return Ok(false);
        }
        let delete = DeleteGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .build()
            .map_err(|e| invalid_request(self.name(), e))?;
        let request = self
            .client()
            .update_table()
            .table_name(self.name())
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().delete(delete).build());
        self.send(&Call::new("delete_global_index", ""), request)
            .await
            .map_err(manage_error("update_table"))?;
        self.wait_active(timeout).await?;
        Ok(true)
    }
}
