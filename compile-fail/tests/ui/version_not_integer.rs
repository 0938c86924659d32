use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
    #[attr(version)]
    version: String,
}

fn main() {}
