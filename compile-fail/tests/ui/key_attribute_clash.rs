use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}", sk = "USER")]
#[index(name = "gs1", pk = "EMAIL#${email}")]
struct User {
    id: String,
    email: String,
    pk: String,
    #[attr(rename = "gs1pk")]
    shadow: String,
    #[attr(rename = "_type")]
    kind: String,
}

fn main() {}
