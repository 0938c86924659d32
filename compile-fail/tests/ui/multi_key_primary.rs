use onetable::Entity;

// The table's key is a template: lists of fields key global indexes only.
#[derive(Entity)]
#[key(pk = [id])]
struct Profile {
    id: String,
}

fn main() {}
