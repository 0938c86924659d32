//! The dry run of adding an index keyed on the items' own attributes: no item is
//! rewritten, so what is worth knowing beforehand is which items DynamoDB would leave
//! out of the index because an attribute holds another type than the key's, or an
//! empty string or binary (which DynamoDB also refuses in a write once the index
//! exists).

use super::Plan;
use onetable_client::raw::{Call, ScanPage};
use onetable_client::{describe_key, Table};
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Entity, Error, MultiKey, ScalarType};

/// Reads every item of `E` (its key attributes and the index's) and plans the index.
pub(crate) async fn index<E: Entity>(table: &Table, name: &str, key: &MultiKey) -> Result<Plan, Error> {
    let entity = E::SCHEMA.name;
    let call = Call::new("migration plan", entity);
    let mut plan = Plan { entity, transform: format!("index {name} (no backfill)"), ..Plan::default() };
    let (hash, sort) = table.key_attributes();
    let mut start = None;
    loop {
        let mut p = Placeholders::new();
        let type_field = table.format().type_field;
        let filter = format!("{} = {}", p.name(type_field), p.value(AttributeValue::S(entity.to_owned())));
        let mut attributes: Vec<String> =
            std::iter::once(hash).chain(sort).map(|a| p.name(a).into_owned()).collect();
        attributes.extend(key.fields().map(|f| p.name(f.attribute).into_owned()));
        let mut page = ScanPage::new(0, 1);
        page.filter = Some(filter);
        page.projection = Some(attributes.join(", "));
        page.placeholders = p;
        page.start = start;
        let scanned = table.raw().scan(&call, page).await?;
        for item in &scanned.items {
            let mismatch = key.fields().find_map(|f| {
                let want = ScalarType::of(f.onetable_type, table.format())?;
                let got = match item.get(f.attribute)? {
                    AttributeValue::S(s) if s.is_empty() => "an empty S",
                    AttributeValue::B(b) if b.as_ref().is_empty() => "an empty B",
                    AttributeValue::S(_) => "S",
                    AttributeValue::N(_) => "N",
                    AttributeValue::B(_) => "B",
                    AttributeValue::Null(_) => "NULL",
                    _ => "neither S, N nor B",
                };
                (got != want.letter())
                    .then(|| format!("{} is {got}, the index reads {}", f.field, want.letter()))
            });
            if let Some(why) = mismatch {
                let key = item.iter().filter(|(k, _)| *k == hash || Some(k.as_str()) == sort);
                let key = key.map(|(k, v)| (k.clone(), v.clone())).collect();
                plan.unindexed.push(format!("{}: {why}", describe_key(&key)));
            }
        }
        match scanned.last {
            Some(last) => start = Some(last),
            None => return Ok(plan),
        }
    }
}
