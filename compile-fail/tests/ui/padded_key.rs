use onetable::Entity;

// Padding is for unsigned integers: a padded string or negative number would neither
// sort nor read back.
#[derive(Entity)]
#[key(pk = "LOG#${name:8}", sk = "AT#${offset:6:0}")]
struct Log {
    name: String,
    offset: i64,
}

#[derive(Entity)]
#[key(pk = "SEQ#${seq:wide}")]
struct BadWidth {
    seq: u64,
}

#[derive(Entity)]
#[key(pk = "SEQ#${seq:4:#}")]
struct PadIsDelimiter {
    seq: u64,
}

fn main() {}
