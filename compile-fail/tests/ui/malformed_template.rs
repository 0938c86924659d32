use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id", sk = "${a}${b}")]
struct User {
    id: String,
    a: String,
    b: String,
}

fn main() {}
