use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${user_id}", sk = "USER")]
struct User {
    id: String,
    name: String,
}

fn main() {}
