use onetable::Value;

/// A newtype over two values: which one would be stored?
#[derive(Value)]
struct Pair(String, u64);

/// An unknown option, and `crate` given twice.
#[derive(Value)]
#[value(rename = "x", crate = "a", crate = "b")]
struct UserId(String);

fn main() {}
