use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${tags}")]
struct User {
    tags: Vec<String>,
}

fn main() {}
