use onetable::{Entity, Value};

#[derive(Value, Debug, Clone, PartialEq)]
struct Address {
    city: String,
}

/// A newtype of text: indexable as the text it wraps.
#[derive(Value, Debug, Clone, PartialEq)]
struct Org(String);

// DynamoDB indexes strings, numbers and binary: a boolean, a map and a list are type
// errors at the field's type.
#[derive(Entity)]
#[key(pk = "P#${id}", sk = "P")]
#[index(name = "flags", pk = [org], sk = [active])]
#[index(name = "maps", pk = [address])]
#[index(name = "lists", pk = [tags])]
struct Profile {
    id: String,
    org: Org,
    active: bool,
    address: Address,
    tags: Vec<String>,
}

fn main() {}
