//! A service that runs its migrations at start-up: `cargo run --example startup`.
//!
//! Three replicas of the service start together, as a rolling deploy starts them.
//! Each runs `Migrator::up` before it serves: one applies the migrations (creating the
//! email index, re-keying every user), the others wait for it, take part in its data
//! migration meanwhile, and find nothing left to do. Then every replica serves.
//!
//! The same binary is its own migration CLI (`cargo run --example startup -- migrate
//! status --table ..`): `cli::run_async` runs inside the service's `#[tokio::main]`.
//!
//! It uses a DynamoDB Local of its own unless given `--aws` (then the standard AWS
//! configuration, and the table named by `--table`).

#[path = "migrations/migrations/mod.rs"]
mod migrations;
#[path = "migrations/model.rs"]
mod model;
mod support;

use model::{User, UserV1};
use onetable::migrate::{cli, Migrator};
use onetable::Table;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What every replica does before serving: bring the table to the design this code
/// reads and writes. Waits up to two minutes for a replica that got there first.
async fn migrate(table: &Table, replica: usize) -> Result<(), onetable::Error> {
    let started = Instant::now();
    let ran = Migrator::new(table.clone())
        .migrations(migrations::all())
        .wait(Duration::from_secs(120))
        .up(None)
        .await?;
    let applied: Vec<String> = ran.iter().filter(|r| !r.worker).map(|r| r.version.to_string()).collect();
    let helped: u64 = ran.iter().filter(|r| r.worker).map(|r| r.items).sum();
    println!(
        "replica {replica}: {} in {:.1} s",
        match (applied.is_empty(), helped) {
            (false, _) => format!("applied {}", applied.join(", ")),
            (true, 0) => "waited for another replica, then found the migrations applied".to_owned(),
            (true, n) => format!("waited, re-keying {n} users meanwhile as a worker"),
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("migrate") {
        // `startup migrate <command>`: the migration CLI, on this runtime.
        let build = |client, table| {
            let table = Table::builder(client, table).entity::<User>().build()?;
            Ok(Migrator::new(table).migrations(migrations::all()))
        };
        return Ok(cli::run_async_from(args.into_iter().skip(1), build).await);
    }

    let target = support::connect().await?;
    println!("using {}", target.description);
    let name = support::table_name("onetable-startup");
    // The service as version 1 left it: a table of users, no index.
    let v1 = Table::builder(target.client.clone(), &name).entity::<UserV1>().build()?;
    if !v1.exists().await? {
        v1.create_table().send().await?;
        let mut batch = v1.batch_write();
        for i in 0..1_000 {
            let (id, account, email) = (format!("u{i}"), format!("a{}", i % 10), format!("u{i}@example.com"));
            batch = batch.put(UserV1 { id, account, email });
        }
        batch.await?;
        println!("version 1 stored 1000 users under USER#<id>");
    }
    println!("three replicas of version 3 start");

    let table = Table::builder(target.client.clone(), &name).entity::<User>().build()?;
    let replicas = (1..=3).map(|replica| {
        let table = table.clone();
        tokio::spawn(async move {
            migrate(&table, replica).await?;
            // Serving: today's reads find users in their account's partition.
            let users = table.model::<User>().find(User::partition(format!("a{replica}"))).await?;
            println!("replica {replica} serves: account a{replica} has {} users", users.items.len());
            Ok::<_, onetable::Error>(())
        })
    });
    for replica in futures_util::future::join_all(replicas).await {
        replica??;
    }
    Ok(ExitCode::SUCCESS)
}
