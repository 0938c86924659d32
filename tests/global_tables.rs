//! A data migration on a global table: refused while its replicas are eventually
//! consistent across regions, unless the operator confirms that every writer writes
//! in one region; run on strongly consistent replicas. DynamoDB Local has no
//! replicas: its `DescribeTable` answers are given replicas here, every other request
//! is Local's.

mod common;

use onetable::migrate::{MigrateErrorExt, Migration, Migrator};
use onetable::{Entity, Table};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "COUNTER#${id}", sk = "COUNTER")]
struct Counter {
    id: u32,
    hits: u64,
}

/// Hands `DescribeTable`'s answer over as a global table's with a replica in
/// eu-west-1 would be, with the given multi-region consistency.
#[derive(Debug, Clone)]
struct Replicated(&'static str);

impl aws_sdk_dynamodb::config::Intercept for Replicated {
    fn name(&self) -> &'static str {
        "replicated"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        common::Target::record(context, cfg);
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if !common::Target::is(cfg, "DescribeTable") {
            return Ok(());
        }
        let Some(Ok(output)) = context.output_or_error_mut() else { return Ok(()) };
        let described =
            output.downcast_mut::<aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput>();
        if let Some(table) = described.and_then(|d| d.table.as_mut()) {
            let replica =
                aws_sdk_dynamodb::types::ReplicaDescription::builder().region_name("eu-west-1").build();
            table.replicas = Some(vec![replica]);
            table.multi_region_consistency = Some(self.0.into());
        }
        Ok(())
    }
}

/// A view of `table` through a client that sees it replicated.
fn replicated(table: &Table, consistency: &'static str) -> Table {
    let config = common::local().sdk_config().to_builder().interceptor(Replicated(consistency)).build();
    Table::builder(aws_sdk_dynamodb::Client::from_conf(config), table.name())
        .entity::<Counter>()
        .build()
        .unwrap()
}

fn one_more_hit(table: &Table) -> Migrator {
    Migrator::new(table.clone()).migration(Migration::new("0.1.0", "one more hit").up(|ctx| async move {
        ctx.transform("hits", |c: Counter| Some(Counter { hits: c.hits + 1, ..c })).run().await.map(|_| ())
    }))
}

async fn counters() -> Table {
    let table = common::table(|t| t.entity::<Counter>()).await;
    let mut batch = table.batch_write();
    for id in 0..20 {
        batch = batch.put(Counter { id, hits: 0 });
    }
    batch.await.unwrap();
    table
}

async fn hits(table: &Table) -> Vec<u64> {
    let mut all = table.model::<Counter>().scan().await.unwrap();
    all.sort_by_key(|c| c.id);
    all.into_iter().map(|c| c.hits).collect()
}

#[tokio::test]
async fn eventually_consistent_replicas_refuse_a_data_migration_until_one_write_region_is_confirmed() {
    let table = counters().await;
    let global = replicated(&table, "EVENTUAL");
    let err = one_more_hit(&global).up(None).await.unwrap_err();
    assert!(err.is_multi_region(), "{err}");
    let message = err.to_string();
    assert!(message.contains("eu-west-1") && message.contains("writers_in_one_region"), "{message}");
    assert_eq!(hits(&table).await, vec![0; 20], "nothing was written");

    // Confirmed: the migration runs (the refused one was not recorded).
    let ran = one_more_hit(&global).writers_in_one_region(true).up(None).await.unwrap();
    assert_eq!(ran.last().unwrap().items, 20);
    assert_eq!(hits(&table).await, vec![1; 20]);
}

#[tokio::test]
async fn strongly_consistent_replicas_run_a_data_migration() {
    let table = counters().await;
    let ran = one_more_hit(&replicated(&table, "STRONG")).up(None).await.unwrap();
    assert_eq!(ran.last().unwrap().items, 20);
    assert_eq!(hits(&table).await, vec![1; 20]);
}
