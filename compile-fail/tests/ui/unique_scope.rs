use onetable::Entity;

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct UnknownField {
    id: String,
    #[attr(unique(scope = "ORG#${org}"))]
    email: String,
}

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct Malformed {
    id: String,
    #[attr(unique(scope = "ORG#${id"))]
    email: String,
}

#[derive(Entity)]
#[key(pk = "USER#${id}")]
struct NotKeyable {
    id: String,
    tags: Vec<String>,
    #[attr(unique(scope = "${tags}"))]
    email: String,
}

fn main() {}
