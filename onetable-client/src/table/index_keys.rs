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
                let optional = entity.field(f.field).is_some_and(|s| s.rust_type.starts_with("Option<"));
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
