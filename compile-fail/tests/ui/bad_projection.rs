use onetable::Entity;

#[derive(Entity)]
#[key(pk = "DOC#${id}")]
#[index(name = "gs1", pk = "OWNER#${owner}", project = "some")]
#[index(name = "gs2", pk = "TITLE#${title}", project = ["title", "author"])]
struct Doc {
    id: String,
    owner: String,
    title: String,
}

fn main() {}
