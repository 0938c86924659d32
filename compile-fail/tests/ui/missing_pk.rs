use onetable::Entity;

#[derive(Entity)]
struct NoKey {
    id: String,
}

#[derive(Entity)]
#[key(sk = "USER#${id}")]
struct NoPartitionKey {
    id: String,
}

fn main() {}
