use onetable::{Entity, Model, Projection};

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    id: String,
    name: String,
    #[attr(skip)]
    cache: Option<String>,
}

#[derive(Entity)]
#[key(pk = "POST#${id}")]
struct Post {
    id: String,
    title: String,
}

#[derive(Projection)]
#[projection(entity = User)]
struct UserCard {
    // Not a field of User.
    nmae: String,
    // A field of User, with another type.
    id: u64,
    // Skipped: not stored, so not readable.
    cache: Option<String>,
}

#[derive(Projection)]
struct NoEntity {
    name: String,
}

#[derive(Projection)]
#[projection(entity = User, table = "x")]
struct BadOption {
    #[attr(rename = "n")]
    name: String,
}

#[derive(Projection)]
#[projection(entity = Post)]
struct PostTitle {
    title: String,
}

// A projection of another entity cannot be read from this model.
fn read(users: Model<User>) {
    let _ = users.get(User::key("u1")).project::<PostTitle>();
}

fn main() {}
