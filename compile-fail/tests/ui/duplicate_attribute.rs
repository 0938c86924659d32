use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
    #[attr(rename = "n")]
    name: String,
    #[attr(rename = "n")]
    nickname: String,
}

fn main() {}
