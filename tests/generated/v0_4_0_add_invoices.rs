//! Migration 0.4.0: add invoices.

use onetable::migrate::{Context, Migration};
use onetable::Error;

pub fn migration() -> Migration {
    Migration::new("0.4.0", "add invoices").up(up).down(down)
}

/// Applies it. Add before you remove: a new index, field or key form goes in while
/// the old one still serves (`ctx.transform::<Old, New>(..)` rewrites items in place
/// beside live traffic; `ctx.add_global_index::<E>(..)` creates and backfills).
async fn up(ctx: Context) -> Result<(), Error> {
    let _ = ctx;
    Ok(())
}

/// Undoes it. Remove `.down(down)` above if it cannot be undone.
async fn down(ctx: Context) -> Result<(), Error> {
    let _ = ctx;
    Ok(())
}
