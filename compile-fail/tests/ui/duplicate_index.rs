use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}")]
#[index(name = "gs1", pk = "NAME#${name}")]
struct User {
    id: String,
    email: String,
    name: String,
}

fn main() {}
