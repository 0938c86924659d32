//! Evolving a single-table design with migrations: `cargo run --example migrations`.
//!
//! Three migrations change one schema while it holds data: 0.1.0 creates the table;
//! 0.2.0 adds an index by email and backfills it; 0.3.0 re-keys users under their
//! account. Each is a file of `migrations/`, listed in its `mod.rs`; `generate` adds
//! the next one (`cargo run --example migrations -- generate "add a nickname"`). With
//! no arguments the example starts the embedded engine (`ONETABLE_ENGINE=dynamodb-local`:
//! DynamoDB Local) and runs a scripted session through the migration CLI; with arguments it is that CLI
//! (`cargo run --example migrations -- --endpoint http://localhost:8000 --table app status`).

mod migrations;
mod model;

use model::{User, UserV1};
use onetable::migrate::{cli, Migrator};
use onetable::Table;
use std::process::ExitCode;

/// The migrator of today's code: its table knows today's entities, its migrations are
/// the files of `migrations/`.
fn migrator(client: onetable::aws_sdk_dynamodb::Client, table: String) -> Result<Migrator, onetable::Error> {
    let table = Table::builder(client, table).entity::<User>().build()?;
    Ok(Migrator::new(table).migrations(migrations::all()))
}

fn cli(args: &[&str]) -> ExitCode {
    println!("\n$ migrations {}", args.join(" "));
    cli::run_from(std::iter::once("migrations").chain(args.iter().copied()), migrator)
}

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    if std::env::args().len() > 1 {
        return Ok(cli::run(migrator));
    }
    // The CLI builds its client from the standard AWS chain; a local engine takes any
    // credentials. Set before the engine starts its threads.
    std::env::set_var("AWS_ACCESS_KEY_ID", "local");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "local");
    // The embedded engine unless ONETABLE_ENGINE=dynamodb-local asks for DynamoDB Local.
    let engine = onetable_local::Engine::from_env_or(onetable_local::Engine::Embedded)?;
    let local = engine.start()?;
    println!("{engine} engine started at {}", local.endpoint());
    let endpoint = local.endpoint().to_owned();
    let with = |rest: &[&str]| -> Vec<String> {
        ["--endpoint", endpoint.as_str(), "--region", "us-east-1", "--table", "app"]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    let run = |rest: &[&str]| -> ExitCode {
        let args = with(rest);
        cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    run(&["up", "--to", "0.1.0"]);
    // Version 1 of the service writes its users.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let v1 = Table::builder(local.client(), "app").entity::<UserV1>().build()?;
        let users = v1.model::<UserV1>();
        for i in 0..50 {
            users
                .create(UserV1 {
                    id: format!("u{i}"),
                    account: format!("a{}", i % 5),
                    email: format!("u{i}@example.com"),
                })
                .await?;
        }
        println!("version 1 wrote 50 users under USER#<id>");
        Ok::<_, onetable::Error>(())
    })?;
    run(&["status"]);
    run(&["up", "--dry-run"]);
    run(&["up"]);
    runtime.block_on(async {
        let table = Table::builder(local.client(), "app").entity::<User>().build()?;
        let users = table.model::<User>();
        let in_a3 = users.find(User::partition("a3")).await?;
        let by_email = users.find(User::gs1_partition("u7@example.com")).await?;
        println!(
            "account a3 now holds {} users; u7 found by email in {}",
            in_a3.items.len(),
            by_email.items[0].account
        );
        Ok::<_, onetable::Error>(())
    })?;
    run(&["down", "-n", "1"]);
    run(&["status"]);
    Ok(ExitCode::SUCCESS)
}
