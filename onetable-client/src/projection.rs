//! Reading less: the `ProjectionExpression` of a [`Projection`], and whether an index
//! holds what it reads.

use crate::table::Table;
use onetable_core::expr::Placeholders;
use onetable_core::{EntitySchema, Error, ErrorKind, IndexProjection, IndexSchema, Projection};

/// The attributes a read of `P` asks for, written with `p`'s placeholders: each field's
/// attribute (its path inside the map it is packed into), the type attribute (checked
/// on every item read), the TTL attribute while expired items are hidden (`get`
/// checks it on the item), and `keys` — the table's key, and a query's cursor
/// attributes — which pages and `get_many` read back. `None` reads whole items.
pub(crate) fn expression<P: Projection>(
    table: &Table,
    keys: &[String],
    index: Option<&IndexSchema>,
    p: &mut Placeholders,
) -> Option<String> {
    let schema = <P::Entity as onetable_core::Entity>::SCHEMA;
    expression_of(table, &[(schema, P::FIELDS)], keys, index, p)
}

/// [`expression`] for the members of a collection, each an entity's schema and the
/// fields its variant reads: the union of theirs, or whole items if one reads whole
/// items.
pub(crate) fn expression_of(
    table: &Table,
    members: &[(&'static EntitySchema, Option<&'static [&'static str]>)],
    keys: &[String],
    index: Option<&IndexSchema>,
    p: &mut Placeholders,
) -> Option<String> {
    // Decided before any name is written into `p`: a name no expression uses is
    // refused by DynamoDB.
    if members.iter().any(|(_, fields)| fields.is_none()) {
        return None;
    }
    let (hash, sort) = table.key_attributes();
    let mut paths: Vec<String> = Vec::new();
    let mut add = |path: std::borrow::Cow<'static, str>| {
        if !paths.iter().any(|x| *x == path) {
            paths.push(path.into_owned());
        }
    };
    for (schema, fields) in members {
        // The derive names only fields the entity has (checked at compile time).
        for f in fields.iter().flat_map(|f| f.iter()).filter_map(|name| schema.field(name)) {
            add(p.path(f.map, f.attribute));
        }
    }
    add(p.name(table.format().type_field));
    add(p.name(hash));
    if let Some(sort) = sort {
        add(p.name(sort));
    }
    for key in keys {
        add(p.name(key));
    }
    for (schema, _) in members {
        if let Some(ttl) = schema.fields.iter().find(|f| f.ttl).filter(|_| table.hides_expired()) {
            // A global index cannot return what it does not hold.
            if index.is_none_or(|i| holds(i, schema, ttl.top_attribute())) {
                add(p.name(ttl.attribute));
            }
        }
    }
    Some(paths.join(", "))
}

/// Whether reading `P` from `index` returns every field it holds: any projection of a
/// table or an index that projects all attributes does; an index that projects
/// some attributes (`project = "keys"` or a list) must hold each of `P`'s.
pub(crate) fn readable<P: Projection>(index: &IndexSchema) -> Result<(), Error> {
    readable_by(index, <P::Entity as onetable_core::Entity>::SCHEMA, P::FIELDS)
}

/// [`readable`] for an entity's schema and the fields read of it (`None`: all).
pub(crate) fn readable_by(
    index: &IndexSchema,
    schema: &'static EntitySchema,
    fields: Option<&'static [&'static str]>,
) -> Result<(), Error> {
    let holds_text = match index.projection {
        IndexProjection::All => return Ok(()),
        IndexProjection::KeysOnly => "only the keys".to_owned(),
        IndexProjection::Include(attributes) => format!("only the keys and {}", attributes.join(", ")),
    };
    let Some(fields) = fields else {
        let message = format!(
            "index {} holds {holds_text} of each item, not whole {} items: read a projection of the fields it holds, or query the table or an index that projects all attributes",
            index.name, schema.name
        );
        return Err(ErrorKind::Invalid { entity: schema.name, message }.into());
    };
    let missing: Vec<String> = fields
        .iter()
        .filter_map(|name| schema.field(name))
        .filter(|f| !holds(index, schema, f.top_attribute()))
        .map(|f| format!("{}.{} (attribute {})", schema.name, f.name, f.top_attribute()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let message = format!(
        "index {} holds {holds_text} of each item, not {}: leave them out of the projection, or add them to the index's `project` list",
        index.name,
        missing.join(", ")
    );
    Err(ErrorKind::Invalid { entity: schema.name, message }.into())
}

/// Whether `index` holds `attribute` of each item of `schema` (key attributes are
/// always held, and those are asked for separately; `create_table` adds the TTL to
/// the attributes an index includes).
fn holds(index: &IndexSchema, schema: &EntitySchema, attribute: &str) -> bool {
    match index.projection {
        IndexProjection::All => true,
        IndexProjection::KeysOnly => false,
        IndexProjection::Include(attributes) => {
            attributes.contains(&attribute)
                || schema.fields.iter().any(|f| f.ttl && f.top_attribute() == attribute)
        }
    }
}
