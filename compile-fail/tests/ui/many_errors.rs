// Several mistakes at once: every one is reported in the same build.
use onetable::Entity;

#[derive(Entity)]
#[key(pk = "ACCOUNT#${acount_id}", sk = "USER#${id")]
#[index(name = "gs1", pk = "EMAIL#${email}")]
#[index(name = "gs1", sk = "X")]
struct User {
    id: String,
    account_id: String,
    email: String,
    #[attr(rename = "sk")]
    sort: String,
    #[attr(version)]
    version: f64,
    #[attr(colour = "red")]
    name: String,
}

fn main() {}
