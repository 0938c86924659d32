use onetable::Entity;

// A pattern the engine cannot run, bounds out of order or not numbers, and rules on
// fields they cannot check: each an error at its token.
#[derive(Entity)]
#[key(pk = "P#${id}", sk = "P")]
struct Profile {
    id: String,
    #[attr(validate = "(?<=a)b")]
    lookbehind: String,
    #[attr(validate = "[unclosed")]
    unclosed: String,
    #[attr(length(min = 10, max = 2))]
    reversed: String,
    #[attr(length(min = -1))]
    negative: String,
    #[attr(length(min = 1.5))]
    fraction: String,
    #[attr(range())]
    empty: u32,
    #[attr(range(least = 1))]
    unknown: u32,
    #[attr(range(min = "one"))]
    text_bound: u32,
    #[attr(value = "${id}!", validate = "^a")]
    computed: String,
    #[attr(validate = "(?i)^abc$")]
    flagged: String,
    #[attr(validate = "^abc\\z")]
    anchored: String,
}

// A pattern or length on a number, a range on text.
#[derive(Entity)]
#[key(pk = "Q#${id}", sk = "Q")]
struct Typed {
    id: String,
    #[attr(validate = "^[0-9]+$")]
    count: u32,
    #[attr(length(max = 3))]
    tags: Vec<String>,
    #[attr(range(max = 10))]
    name: String,
}

// Inside a nested value, fields take no rules.
#[derive(onetable::Value)]
struct Address {
    #[attr(length(max = 10))]
    city: String,
}

fn main() {}
