use onetable::{Entity, Value};

#[derive(Entity)]
enum NotAStruct {
    A,
}

#[derive(Entity)]
#[key(pk = "T#${0}")]
struct Tuple(String);

#[derive(Value)]
enum WithData {
    A(String),
    B,
}

#[derive(Value)]
enum Clash {
    #[attr(rename = "x")]
    A,
    #[attr(rename = "x")]
    B,
}

fn main() {}
