use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct User {
    #[attr(generate = "nanoid")]
    id: String,
    #[attr(skip, unique)]
    cache: String,
    #[attr(ttl, map = "data")]
    expires: i64,
    #[attr(map = "data.a.b")]
    deep: String,
    #[attr(skip)]
    hidden: String,
}

#[derive(Entity)]
#[key(pk = "X#${hidden}")]
struct SkippedKey {
    #[attr(skip)]
    hidden: String,
}

#[derive(Entity)]
#[key(pk = "X#${id}")]
#[index(name = "ls1", pk = "Y#${id}", local)]
#[index(name = "primary", pk = "Z#${id}")]
struct BadIndexes {
    id: String,
}

fn main() {}
