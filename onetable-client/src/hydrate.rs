//! Hydrated finds: a query of an index that holds too few of an entity's attributes
//! (only the keys, or some) returns the keys, in the index's order; the items are
//! then read whole (or as the projection asks) from the table by key, 100 a request,
//! and returned in that order (ElectroDB's `hydrate`).

use crate::batch_get::{get_items, Read};
use crate::keys::describe as key_text;
use crate::model::Model;
use crate::retry::Backoff;
use crate::send::Call;
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Entity, Error, IndexProjection, IndexSchema, Item, Projection};

/// What a hydrated query asks the index for: the keys (`keys`: the table's and the
/// index's) and the type attribute when the index holds it.
pub(crate) fn key_projection(
    type_field: &str,
    index: &IndexSchema,
    keys: &[String],
    p: &mut Placeholders,
) -> String {
    let mut names: Vec<String> = keys.iter().map(|k| p.name(k).into_owned()).collect();
    if holds_type(index) {
        names.push(p.name(type_field).into_owned());
    }
    names.join(", ")
}

/// Whether `index` surely holds the type attribute: only one that projects every
/// attribute (`create_table` adds the type to an index of some attributes, but a
/// table created by other tools may not have it).
pub(crate) fn holds_type(index: &IndexSchema) -> bool {
    index.projection == IndexProjection::All
}

/// The items of `E` under the keys of `found` (items a query of an index returned),
/// read from the table as `P`, in the order of `found`, each read or its error (the
/// reads failing is the error of them all). An item removed since the
/// index was read, another entity's item (an index that holds only keys cannot
/// filter on the type), or an expired one the table hides, is left out.
pub(crate) async fn items<E: Entity, P: Projection<Entity = E>>(
    model: &Model<E>,
    found: Vec<Item>,
    consistent: bool,
) -> Result<Vec<Result<P, Error>>, Error> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let table = &model.table;
    let keys: Vec<Item> = found.iter().map(|item| table.key_of(item)).collect();
    let mut p = Placeholders::new();
    let projection = crate::projection::expression::<P>(table, &[], None, &mut p);
    let read = Read {
        call: Call::new("hydrate", E::SCHEMA.name),
        consistent,
        projection,
        names: p.into_maps().0,
        concurrency: 4,
        backoff: Backoff::default(),
        direct: false,
    };
    let mut read_items = get_items(table, keys.clone(), &read).await?;
    let type_field = table.format().type_field;
    let mut out = Vec::with_capacity(keys.len());
    for key in &keys {
        let Some(item) = read_items.remove(&key_text(key)) else { continue };
        let own = matches!(item.get(type_field), Some(AttributeValue::S(t)) if t == E::SCHEMA.name);
        if own && !table.is_expired(E::SCHEMA, &item) {
            // An item that does not read is its own error, as in a find's stream.
            out.push(model.read_as::<P>(item));
        }
    }
    Ok(out)
}
