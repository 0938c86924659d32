use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
    #[attr(ttl)]
    expires: String,
}

fn main() {}
