//! Migration 0.3.0: users move into their account's partition.

use crate::model::{User, UserV2};
use onetable::migrate::{Context, Migration};
use onetable::Error;

pub fn migration() -> Migration {
    Migration::new("0.3.0", "users move into their account's partition").up(up).down(down)
}

/// Re-keys every user while the service keeps serving (see `migrate::Rekey` for the
/// reads and writes of the code deployed meanwhile).
async fn up(ctx: Context) -> Result<(), Error> {
    let rekey = |u: UserV2| Some(User { id: u.id, account: u.account, email: u.email });
    ctx.transform("rekey", rekey).segments(2).run().await.map(|_| ())
}

async fn down(ctx: Context) -> Result<(), Error> {
    let back = |u: User| Some(UserV2 { id: u.id, account: u.account, email: u.email });
    ctx.transform("rekey", back).segments(2).run().await.map(|_| ())
}
