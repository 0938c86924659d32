use onetable::Entity;

#[derive(Entity)]
#[key(pk = "P#${id}")]
struct NotText {
    id: String,
    first: String,
    #[attr(value = "${first}")]
    len: u64,
}

#[derive(Entity)]
#[key(pk = "P#${id}")]
struct Inputs {
    id: String,
    nick: Option<String>,
    #[attr(value = "${id}:${nick}")]
    handle: String,
    #[attr(value = "${missing}")]
    other: Option<String>,
}

#[derive(Entity)]
#[key(pk = "P#${full}")]
struct ComputedKey {
    first: String,
    #[attr(value = "${first}!")]
    full: String,
}

fn main() {}
