//! The quickstart: `cargo run -p quickstart`.
//!
//! Two entities in one table — an Account and its Users — through every basic
//! operation. It runs against the embedded engine, in this process
//! (`ONETABLE_ENGINE=dynamodb-local` starts AWS's DynamoDB Local instead); with `--aws`
//! it uses the standard AWS configuration (AWS_PROFILE, AWS_REGION,
//! AWS_ENDPOINT_URL_DYNAMODB), and `--table NAME` picks the table (created from the
//! schema when missing).

mod connect;

use onetable::{Entity, Table, Value};

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Account", timestamps)]
#[key(pk = "ACCOUNT#${id}", sk = "ACCOUNT")]
struct Account {
    id: String,
    name: String,
}

#[derive(Value, Debug, Clone, Copy, PartialEq)]
#[value(rename_all = "lowercase")]
enum Role {
    Owner,
    Member,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "User", timestamps)]
#[key(pk = "ACCOUNT#${account_id}", sk = "USER#${id}")]
#[index(name = "gs1", pk = "EMAIL#${email}", sk = "USER")]
struct User {
    account_id: String,
    #[attr(generate = "ulid")]
    id: String,
    email: String,
    name: String,
    role: Role,
    #[attr(default)]
    logins: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let target = connect::connect().await?;
    println!("using {}", target.description);

    // One table, two entities; the builder checks they cannot overwrite each other.
    let table = Table::builder(target.client.clone(), connect::table_name("onetable-quickstart"))
        .entity::<Account>()
        .entity::<User>()
        .build()?;
    if !table.exists().await? {
        table.create_table().send().await?;
        println!("created table {} with keys pk/sk and index gs1", table.name());
    }
    let accounts = table.model::<Account>();
    let users = table.model::<User>();

    // Put writes whether or not the item exists, so reruns on a kept table work.
    let acme = accounts.put(Account { id: "acme".into(), name: "Acme Corp".into() }).await?;
    println!("account {acme:?}");

    // Create fails if the key is taken; empty ids are generated, timestamps written.
    let mut created = Vec::new();
    for (name, role) in [("Ann", Role::Owner), ("Bob", Role::Member), ("Cy", Role::Member)] {
        let user = User {
            account_id: acme.id.clone(),
            id: String::new(),
            email: format!("{}@acme.example", name.to_lowercase()),
            name: name.into(),
            role,
            logins: 0,
        };
        let user = users.create(user).await?;
        println!("created {} (id {})", user.name, user.id);
        created.push(user);
    }

    // Get by the full key.
    let ann = users.get(User::key(&acme.id, &created[0].id)).await?.ok_or("Ann was not found")?;
    println!("read back {ann:?}");

    // Find: the account's users (never the account item in the same partition).
    let all = users.find(User::partition(&acme.id)).await?;
    println!("the account has {} users", all.items.len());

    // Pagination: two at a time, with an opaque cursor.
    let first = users.find(User::partition(&acme.id)).limit(2).await?;
    let cursor = first.next.ok_or("a second page was expected")?;
    let second = users.find(User::partition(&acme.id)).limit(2).next(cursor.clone()).await?;
    println!("page 1: {} users, page 2: {} (cursor {cursor})", first.items.len(), second.items.len());

    // A query on the global index: users by email.
    let by_email = users.find(User::gs1_partition("bob@acme.example")).await?;
    println!("by email: {:?}", by_email.items.iter().map(|u| &u.name).collect::<Vec<_>>());

    // Update: typed on the field constants; a counter and a condition.
    let ann = users
        .update(User::key(&acme.id, &ann.id))
        .set(User::NAME, "Ann Smith")
        .add(User::LOGINS, 1)
        .condition(User::ROLE.eq(Role::Owner))
        .await?;
    println!("updated {} (logins {})", ann.name, ann.logins);

    // Filtered find: only members.
    let members = users.find(User::partition(&acme.id)).filter(User::ROLE.eq(Role::Member)).await?;
    println!("members: {:?}", members.items.iter().map(|u| &u.name).collect::<Vec<_>>());

    // Remove, returning what was removed.
    for user in &created {
        users.remove(User::key(&acme.id, &user.id)).await?;
    }
    let left = users.find(User::partition(&acme.id)).await?;
    println!("removed the users; {} left", left.items.len());
    Ok(())
}
