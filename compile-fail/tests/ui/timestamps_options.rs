use onetable::Entity;

#[derive(Entity)]
#[entity(timestamps = "sometimes")]
#[key(pk = "A#${id}")]
struct Unknown {
    id: String,
}

#[derive(Entity)]
#[entity(timestamps, timestamps = "create")]
#[key(pk = "B#${id}")]
struct Twice {
    id: String,
}

fn main() {}
