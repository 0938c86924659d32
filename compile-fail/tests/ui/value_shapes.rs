use onetable::{Collection, Entity, Value};

/// A newtype over two values: which one would be stored?
#[derive(Value)]
struct Pair(String, u64);

/// An unknown option, and `crate` given twice.
#[derive(Value)]
#[value(rename = "x", crate = "a", crate = "b")]
struct UserId(String);

/// Options given twice, and a case serde does not know.
#[derive(Value)]
#[value(rename_all = "lowercase", rename_all = "Title Case")]
enum Plan {
    #[attr(rename = "f", rename = "g")]
    Free,
    Pro,
}

/// Fields of the types above report nothing more: each derive's mistakes once.
#[derive(Entity)]
#[key(pk = "A#${id}")]
struct Account {
    id: UserId,
    plan: Plan,
    pair: Pair,
}

/// Every variant's mistake at once, and no error where the collection is used.
#[derive(Collection)]
enum Items {
    Account(Account),
    Two(Account, Account),
    Named { account: Account },
}

fn uses(_: impl Collection) {}

fn main() {
    uses(Items::Account(Account { id: UserId(String::new()), plan: Plan::Pro, pair: Pair(String::new(), 0) }));
}
