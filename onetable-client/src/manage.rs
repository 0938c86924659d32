//! Creating, describing and deleting the table from the registered schema.

use crate::error::sdk;
use crate::table::Table;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TableDescription, TableStatus,
};
use onetable_core::{Error, ErrorKind, IndexKind};
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
        let mut inner = (*table.inner).clone();
        inner.hash = key(KeyType::Hash).unwrap_or(inner.hash);
        inner.sort = key(KeyType::Range);
        Ok(Table { inner: std::sync::Arc::new(inner) })
    }

    /// Creates the table from the schema; see [`CreateTable`].
    pub fn create_table(&self) -> CreateTable {
        CreateTable { table: self.clone(), throughput: None, stream: None, timeout: Duration::from_secs(300) }
    }

    /// The table's description from DynamoDB.
    pub async fn describe(&self) -> Result<TableDescription, Error> {
        let out = self
            .client()
            .describe_table()
            .table_name(self.name())
            .send()
            .await
            .map_err(|e| sdk("describe_table", self.name(), e))?;
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
        self.check_writable("enable_ttl")?;
        let Some(attribute) = &self.inner.ttl else {
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
        self.client()
            .update_time_to_live()
            .table_name(self.name())
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| sdk("enable_ttl", self.name(), e))?;
        Ok(())
    }

    /// Deletes the table and everything in it.
    pub async fn delete_table(&self) -> Result<(), Error> {
        self.check_writable("delete_table")?;
        self.client()
            .delete_table()
            .table_name(self.name())
            .send()
            .await
            .map_err(|e| sdk("delete_table", self.name(), e))?;
        Ok(())
    }
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
}

fn keys(hash: &str, sort: Option<&str>) -> Vec<KeySchemaElement> {
    std::iter::once(key(hash, KeyType::Hash)).chain(sort.map(|s| key(s, KeyType::Range))).collect()
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
        self.table.check_writable("create_table")?;
        let t = &self.table.inner;
        let throughput = self.throughput.map(|(r, w)| {
            ProvisionedThroughput::builder()
                .read_capacity_units(r)
                .write_capacity_units(w)
                .build()
                .expect("set")
        });
        let mut attributes: Vec<&str> = vec![&t.hash];
        attributes.extend(t.sort.as_deref());
        let mut request = self
            .table
            .client()
            .create_table()
            .table_name(&t.name)
            .set_key_schema(Some(keys(&t.hash, t.sort.as_deref())))
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
                .map_err(|e| invalid_request(&t.name, e))?;
            request = request.stream_specification(stream);
        }
        for index in &t.indexes {
            attributes.push(&index.hash);
            attributes.extend(index.sort.as_deref());
            let key_schema = keys(&index.hash, index.sort.as_deref());
            request = match index.kind {
                IndexKind::Local => request.local_secondary_indexes(
                    LocalSecondaryIndex::builder()
                        .index_name(&index.name)
                        .set_key_schema(Some(key_schema))
                        .projection(projection(index.include.as_deref()))
                        .build()
                        .map_err(|e| invalid_request(&t.name, e))?,
                ),
                _ => request.global_secondary_indexes(
                    GlobalSecondaryIndex::builder()
                        .index_name(&index.name)
                        .set_key_schema(Some(key_schema))
                        .projection(projection(index.include.as_deref()))
                        .set_provisioned_throughput(throughput.clone())
                        .build()
                        .map_err(|e| invalid_request(&t.name, e))?,
                ),
            };
        }
        attributes.sort_unstable();
        attributes.dedup();
        for name in attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| invalid_request(&t.name, e))?,
            );
        }
        request.send().await.map_err(|e| sdk("create_table", &t.name, e))?;
        let description = self.table.wait_active(self.timeout).await?;
        if t.ttl.is_some() {
            self.table.enable_ttl().await?;
        }
        Ok(description)
    }
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
                .all(|i| i.index_status() == Some(&IndexStatus::Active));
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
