//! Migration 0.2.0: find users by email.

use crate::model::UserV2;
use onetable::migrate::{Context, Migration};
use onetable::Error;

pub fn migration() -> Migration {
    Migration::new("0.2.0", "find users by email").up(up).down(down)
}

/// Creates the index, waits until it is active, and fills it for the users stored
/// before it existed.
async fn up(ctx: Context) -> Result<(), Error> {
    ctx.add_global_index::<UserV2>("gs1").await.map(|_| ())
}

async fn down(ctx: Context) -> Result<(), Error> {
    ctx.drop_global_index("gs1").await
}
