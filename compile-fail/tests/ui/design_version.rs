use onetable::Entity;

#[derive(Entity)]
#[entity(design = "1.2")]
#[key(pk = "A#${id}")]
struct TwoNumbers {
    id: String,
}

#[derive(Entity)]
#[entity(design = "v1.2.3")]
#[key(pk = "B#${id}")]
struct Prefixed {
    id: String,
}

#[derive(Entity)]
#[entity(name = "NotANumber", design = "1.2.x")]
#[key(pk = "C#${id}")]
struct NotANumber {
    id: String,
}

#[derive(Entity)]
#[entity(design = "+1.2.3")]
#[key(pk = "D#${id}")]
struct Signed {
    id: String,
}

// Leading zeros are accepted, and written back without them ("0.3.0").
#[derive(Entity)]
#[entity(design = "0.03.0")]
#[key(pk = "E#${id}")]
struct LeadingZeros {
    id: String,
}

fn main() {}
