//! The key attributes of a secondary index as the table declares them to DynamoDB:
//! the templated key attribute (always a string), or the fields of a multi-attribute
//! key with the types their values are stored as.

use super::SecondaryIndex;
use onetable_core::{EntitySchema, Error, ErrorKind, Format, IndexSchema, ScalarType};

/// An index's partition and sort key attributes, with their types.
pub(crate) type KeyLists = (Vec<(String, ScalarType)>, Vec<(String, ScalarType)>);

/// The key attributes of `index` of `entity`; `table_hash` is the partition key a
/// local index shares.
pub(crate) fn attributes(
    entity: &EntitySchema,
    index: &IndexSchema,
    table_hash: &str,
    format: &Format,
) -> Result<KeyLists, Error> {
    let Some(multi) = &index.multi else {
        let hash = index.hash.as_ref().map_or(table_hash, |k| k.attribute);
        let sort = index.sort.iter().map(|k| (k.attribute.to_owned(), ScalarType::String));
        return Ok((vec![(hash.to_owned(), ScalarType::String)], sort.collect()));
    };
    let typed = |fields: &[onetable_core::KeyField]| -> Result<Vec<(String, ScalarType)>, Error> {
        fields
            .iter()
            .map(|f| {
                let refuse = |why: String| -> Error {
                    ErrorKind::Schema(format!("{}.{} keys index {}: {why}", entity.name, f.field, index.name)).into()
                };
                let scalar = ScalarType::of(f.onetable_type, format).ok_or_else(|| {
                    refuse(format!("a {} cannot be an index key, only strings, numbers and binary", f.onetable_type))
                })?;
                // With `nulls`, an absent value is written as NULL, which DynamoDB
                // refuses in an index key attribute: the write would fail.
                // However the path is spelled (`std::option::Option<..>` included).
                let optional = entity.field(f.field).is_some_and(|s| s.rust_type.contains("Option<"));
                if optional && format.nulls {
                    return Err(refuse(
                        "the table writes an absent value as NULL (`nulls`), which DynamoDB refuses in an index key; make the field required or keep nulls off".to_owned(),
                    ));
                }
                Ok((f.attribute.to_owned(), scalar))
            })
            .collect()
    };
    Ok((typed(multi.hash)?, typed(multi.sort)?))
}

/// One type per attribute across the table's key and every index: DynamoDB has one
/// attribute definition for each name.
pub(crate) fn check_types<'i>(
    hash: &str,
    sort: Option<&str>,
    indexes: impl Iterator<Item = &'i SecondaryIndex>,
) -> Result<(), Error> {
    let mut seen: Vec<(&str, ScalarType, &str)> = vec![(hash, ScalarType::String, "the table")];
    seen.extend(sort.map(|s| (s, ScalarType::String, "the table")));
    for index in indexes {
        for (attribute, scalar) in index.hash.iter().chain(&index.sort) {
            match seen.iter().find(|(a, ..)| a == attribute) {
                Some((_, other, by)) if other != scalar => {
                    return Err(ErrorKind::Schema(format!(
                        "attribute `{attribute}` is a key of {by} as {} and of index {} as {}: DynamoDB gives an attribute one type",
                        other.letter(),
                        index.name,
                        scalar.letter()
                    ))
                    .into())
                }
                Some(_) => {}
                None => seen.push((attribute.as_str(), *scalar, index.name.as_str())),
            }
        }
    }
    Ok(())
}

/// Attributes the library's own items carry (the migration history, lock and
/// checkpoints, the `_Schema` item), with the type each has; `None`: not a string,
/// number or binary. An index keyed on one of them reads these items too, so a
/// type that differs would make DynamoDB refuse the library's own writes.
const BOOKKEEPING: &[(&str, Option<ScalarType>)] = &[
    ("version", Some(ScalarType::String)),
    ("path", Some(ScalarType::String)),
    ("description", Some(ScalarType::String)),
    ("status", Some(ScalarType::String)),
    ("checksum", Some(ScalarType::String)),
    ("owner", Some(ScalarType::String)),
    ("name", Some(ScalarType::String)),
    ("format", Some(ScalarType::String)),
    ("duration", Some(ScalarType::Number)),
    ("items", Some(ScalarType::Number)),
    ("verified", Some(ScalarType::Number)),
    ("epoch", Some(ScalarType::Number)),
    ("expires", Some(ScalarType::Number)),
    ("done", None),
    ("skipped", None),
    ("indexes", None),
    ("models", None),
    ("params", None),
    ("queries", None),
    ("process", None),
];

/// Every top-level attribute any registered entity writes, and the library's own
/// items, has the type of the index key attribute of the same name: an item whose
/// attribute has another type is refused by DynamoDB once the index exists. Key
/// attributes of templates (`gs1pk`) are the library's own names; attributes of a
/// multi-attribute key are ordinary field names (`status`, `prio`) that another
/// entity may use for something else.
pub(crate) fn check_fields<'i>(
    entities: &[&'static EntitySchema],
    format: &Format,
    indexes: impl Iterator<Item = &'i SecondaryIndex> + Clone,
) -> Result<(), Error> {
    let refuse = |what: String, attribute: &str, index: &str, scalar: ScalarType| -> Error {
        ErrorKind::Schema(format!(
            "{what} is stored as `{attribute}`, which index {index} reads as {}: DynamoDB would refuse those writes once the index exists; store it under another name",
            scalar.letter()
        ))
        .into()
    };
    for index in indexes {
        for (attribute, scalar) in index.hash.iter().chain(&index.sort) {
            for entity in entities {
                for field in entity.fields.iter().filter(|f| f.top_attribute() == attribute) {
                    let stored = match field {
                        f if f.map.is_some() => None,
                        f if f.ttl => Some(ScalarType::Number),
                        f if f.crypt => Some(ScalarType::String),
                        f => ScalarType::of(f.onetable_type, format),
                    };
                    if stored != Some(*scalar) {
                        let what = format!("{}.{} (a {})", entity.name, field.name, field.onetable_type);
                        return Err(refuse(what, attribute, &index.name, *scalar));
                    }
                }
            }
            let library = BOOKKEEPING.iter().find(|(name, _)| name == attribute);
            if let Some((_, stored)) = library.filter(|(_, stored)| *stored != Some(*scalar)) {
                let kind = stored.map_or("a list, map or boolean", |s| s.letter());
                let what = format!("onetable's migration and schema items' `{attribute}` ({kind})");
                return Err(refuse(what, attribute, &index.name, *scalar));
            }
        }
    }
    Ok(())
}
