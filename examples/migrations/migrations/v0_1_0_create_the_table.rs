//! Migration 0.1.0: create the table.

use crate::model::UserV1;
use onetable::migrate::{Context, Migration};
use onetable::{Error, Table};

pub fn migration() -> Migration {
    Migration::new("0.1.0", "create the table").up(up).down(down)
}

/// Creates the table as version 1 of the service knew it: no index yet. The table of
/// version 1 is built from the context's client, which refuses writes in a dry run.
async fn up(ctx: Context) -> Result<(), Error> {
    let v1 = Table::builder(ctx.table().client().clone(), ctx.table().name()).entity::<UserV1>().build()?;
    if !ctx.is_dry_run() && !v1.exists().await? {
        v1.create_table().send().await?;
    }
    Ok(())
}

async fn down(ctx: Context) -> Result<(), Error> {
    if !ctx.is_dry_run() {
        ctx.table().delete_table().await?;
    }
    Ok(())
}
