use onetable::Entity;

// Multi-attribute index keys: fields DynamoDB cannot index, lists where they cannot
// go, and too many attributes, each an error at its token.
#[derive(Entity)]
#[key(pk = "P#${id}", sk = "P")]
#[index(name = "packed", pk = [city])]
#[index(name = "secret", pk = [token])]
#[index(name = "local", local, sk = [org])]
#[index(name = "mixed", pk = [org], sk = "P#${id}")]
#[index(name = "wide", pk = [a, b, c, d, e])]
#[index(name = "twice", pk = [org, org])]
#[index(name = "unknown", pk = [nowhere])]
#[index(name = "renamed", pk = [org], pk_attr = "gs9pk")]
#[index(name = "sortonly", sk = [org])]
struct Profile {
    id: String,
    org: String,
    #[attr(map = "data")]
    city: String,
    #[attr(crypt)]
    token: String,
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
}

fn main() {}
