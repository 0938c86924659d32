use onetable::Entity;

struct Opaque;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
    thing: Opaque,
}

fn main() {}
