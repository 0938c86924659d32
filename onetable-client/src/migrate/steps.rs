//! Ready-made evolution steps for `up` and `down`: adding and removing a global index
//! (with the backfill of existing items), on top of [`Context::transform`] for
//! re-keying, renaming, adding and removing fields.

use super::Context;
use crate::error::sdk;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, ScalarAttributeType,
};
use onetable_core::{Entity, Error, ErrorKind, IndexKind};
use std::time::Duration;

fn build_error(table: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    ErrorKind::Dynamo { operation: "update_table", table: table.to_owned(), source: Box::new(e) }.into()
}

impl Context {
    /// Adds global index `name` as entity `E` declares it (`#[index(name = ..)]`), waits
    /// until it is ACTIVE, then backfills the index keys of the existing `E` items. In a
    /// dry run: counts the items to backfill.
    ///
    /// Expand/contract: deploy the code that writes the new index keys (it declares the
    /// index) before this migration; deploy code that queries the index after it.
    pub async fn add_global_index<E: Entity>(&self, name: &str) -> Result<u64, Error> {
        let table = self.table();
        let t = &table.inner;
        let index = E::SCHEMA.index(name).filter(|i| i.kind == IndexKind::Global).ok_or_else(|| {
            ErrorKind::Schema(format!("{} declares no global index {name}", E::SCHEMA.name))
        })?;
        let exists =
            table.describe().await?.global_secondary_indexes().iter().any(|i| i.index_name() == Some(name));
        if !exists && !self.is_dry_run() {
            let hash = index.hash.as_ref().map(|k| k.attribute).unwrap_or(&t.hash);
            let mut keys = vec![KeySchemaElement::builder()
                .attribute_name(hash)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| build_error(&t.name, e))?];
            let mut attributes = vec![hash];
            if let Some(sort) = &index.sort {
                keys.push(
                    KeySchemaElement::builder()
                        .attribute_name(sort.attribute)
                        .key_type(KeyType::Range)
                        .build()
                        .map_err(|e| build_error(&t.name, e))?,
                );
                attributes.push(sort.attribute);
            }
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(name)
                .set_key_schema(Some(keys))
                .projection(crate::manage::projection(
                    t.indexes.iter().find(|i| i.name == name).and_then(|i| i.include.as_deref()),
                ))
                .build()
                .map_err(|e| build_error(&t.name, e))?;
            let mut request =
                t.client.update_table().table_name(&t.name).global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                );
            for a in attributes {
                request = request.attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(a)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(|e| build_error(&t.name, e))?,
                );
            }
            request.send().await.map_err(|e| sdk("update_table", &t.name, e))?;
            table.wait_active(Duration::from_secs(3600)).await?;
        }
        // Rewriting each item through the new schema writes its index keys.
        self.transform(&format!("backfill-{name}"), |e: E| Some(e)).run().await
    }

    /// Removes global index `name`. Its key attributes stay on the items until they are
    /// rewritten; they are harmless.
    ///
    /// Expand/contract: deploy code that no longer queries the index before this
    /// migration.
    pub async fn drop_global_index(&self, name: &str) -> Result<(), Error> {
        let table = self.table();
        let t = &table.inner;
        let exists =
            table.describe().await?.global_secondary_indexes().iter().any(|i| i.index_name() == Some(name));
        if !exists || self.is_dry_run() {
            return Ok(());
        }
        let delete = DeleteGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .build()
            .map_err(|e| build_error(&t.name, e))?;
        t.client
            .update_table()
            .table_name(&t.name)
            .global_secondary_index_updates(GlobalSecondaryIndexUpdate::builder().delete(delete).build())
            .send()
            .await
            .map_err(|e| sdk("update_table", &t.name, e))?;
        table.wait_active(Duration::from_secs(3600)).await.map(|_| ())
    }
}
