use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct NotText {
    id: String,
    #[attr(crypt)]
    pin: u64,
}

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct UniqueSecret {
    id: String,
    #[attr(crypt, unique)]
    email: String,
}

#[derive(Entity)]
#[key(pk = "USER#${email}")]
struct SecretKey {
    #[attr(crypt)]
    email: String,
}

fn main() {}
