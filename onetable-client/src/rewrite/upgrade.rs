//! Upgrading an item to the form the current code writes before that code writes on
//! it: what keeps a write of new code from landing on the old form (where the
//! migration would then overwrite it).

use super::{Rewrite, Rewritten, Target};
use crate::raw::Call;
use crate::table::forms::{form_of, Form};
use crate::table::Table;
use onetable_core::{EntitySchema, Error, ErrorKind, Item};

/// How many times a concurrent change is met before giving up.
const TRIES: u32 = 20;

/// Rewrites the item under `key` in the form `schema` declares, when it is in an
/// earlier form the table knows (converted as the migration converts it, and written
/// only if unchanged since read: in-place, its unknown attributes kept). Returns
/// whether the write that was refused is worth sending again: the item is in the
/// current form now (upgraded here, or by the migration meanwhile) — not when the
/// table cannot upgrade it (the write stays refused with a typed error) or it is gone.
pub(crate) async fn upgrade(table: &Table, schema: &'static EntitySchema, key: Item) -> Result<bool, Error> {
    let call = Call::new("upgrade", schema.name);
    let mut read = match table.raw().get(&call, key.clone()).await? {
        Some(item) => item,
        None => return Ok(false),
    };
    for _ in 0..TRIES {
        let design = match form_of(schema, &read) {
            Form::Older(design) => design,
            Form::Current => return Ok(true),
            Form::Newer(_) => return Ok(false),
        };
        let Some(earlier) = table.earlier_form(schema.name, design.as_deref()) else { return Ok(false) };
        let (as_read, mut new) = (earlier.convert)(table, read.clone())?;
        let rewrite = Rewrite::new(table, call.clone(), earlier.schema, schema);
        rewrite.carry_over(&read, &as_read, &mut new);
        match rewrite.apply(&read, Target::InPlace(new), Vec::new()).await?.0 {
            Rewritten::Done => {
                tracing::debug!(entity = schema.name, "item upgraded before a write");
                return Ok(true);
            }
            Rewritten::Changed(now) => read = now,
            Rewritten::Gone => return Ok(false),
            Rewritten::Conflict => match table.raw().get(&call, key.clone()).await? {
                Some(now) => read = now,
                None => return Ok(false),
            },
            Rewritten::Unique { field, value } => {
                return Err(ErrorKind::UniqueViolation { entity: schema.name, field, value }.into())
            }
            Rewritten::Collision(_) => return Ok(false),
        }
    }
    Err(ErrorKind::Unexpected {
        operation: "upgrade",
        table: table.name().to_owned(),
        message: format!("{}: the item changed {TRIES} times while it was upgraded", schema.name),
    }
    .into())
}
