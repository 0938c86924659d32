//! The migration CLI your own migration binary gets with one call:
//!
//! ```no_run
//! use onetable_client::{migrate::{cli, Migration, Migrator}, Table};
//!
//! fn main() -> std::process::ExitCode {
//!     cli::run(|client, table| {
//!         let table = Table::builder(client, table).build()?;
//!         Ok(Migrator::new(table).migration(Migration::new("0.1.0", "initial").up(|_| async { Ok(()) })))
//!     })
//! }
//! ```
//!
//! `my-migrations status | list | outstanding | up [--to V] | down [-n N | --to V] | repeat |
//! retry | repair V | reset --yes | generate "description"`, with `--dry-run` for every
//! command that writes, and `--table`, `--endpoint`, `--profile`, `--region`, or a
//! config file of named environments (`--config migrate.json --env prod`).

use super::{Migrator, Ran, Status};
use clap::{Parser, Subcommand};
use onetable_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Runs this service's onetable migrations")]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    /// Print what would run, with item counts, and write nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Confirm a destructive command (reset).
    #[arg(long, global = true)]
    yes: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where the table is.
#[derive(clap::Args, Debug)]
struct Connection {
    /// The DynamoDB table.
    #[arg(long, global = true)]
    table: Option<String>,
    /// A DynamoDB endpoint (DynamoDB Local), instead of AWS's.
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// The AWS profile.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// The AWS region.
    #[arg(long, global = true)]
    region: Option<String>,
    /// A JSON file of named environments: {"prod": {"table": .., "region": .., "profile": .., "endpoint": ..}}.
    #[arg(long, global = true, default_value = "migrate.json")]
    config: PathBuf,
    /// The environment of the config file to use.
    #[arg(long, global = true)]
    env: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The current version, applied, outstanding, failed and edited migrations.
    Status,
    /// Every migration and whether it is applied.
    List,
    /// The migrations `up` would run.
    Outstanding,
    /// Applies outstanding migrations, up to --to.
    Up {
        #[arg(long)]
        to: Option<String>,
        /// When another migrator holds the lock: wait up to this many seconds for it,
        /// taking part in its data migrations as one worker of many meanwhile.
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Undoes the last -n applied migrations, or those above --to.
    Down {
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: usize,
        #[arg(long, conflicts_with = "steps")]
        to: Option<String>,
    },
    /// Undoes and re-applies the latest migration.
    Repeat,
    /// Runs a failed migration again, then the rest.
    Retry {
        #[arg(long)]
        to: Option<String>,
    },
    /// Marks a failed migration as applied after fixing it by hand.
    Repair { version: String },
    /// Undoes every migration (development only; needs --yes).
    Reset,
    /// Prints the code of the next migration to add.
    Generate { description: String },
}

/// Settings from the command line, completed by the config file's environment.
struct Target {
    table: String,
    endpoint: Option<String>,
    profile: Option<String>,
    region: Option<String>,
}

fn target(cli: &Connection) -> Result<Target, String> {
    let mut t = Target {
        table: String::new(),
        endpoint: cli.endpoint.clone(),
        profile: cli.profile.clone(),
        region: cli.region.clone(),
    };
    let mut table = cli.table.clone();
    if let Some(env) = &cli.env {
        let text = std::fs::read_to_string(&cli.config)
            .map_err(|e| format!("cannot read {}: {e}", cli.config.display()))?;
        let config: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cli.config.display()))?;
        let section =
            config.get(env).ok_or_else(|| format!("{} has no environment {env:?}", cli.config.display()))?;
        let field = |name: &str| section.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        table = table.or_else(|| field("table"));
        t.endpoint = t.endpoint.or_else(|| field("endpoint"));
        t.profile = t.profile.or_else(|| field("profile"));
        t.region = t.region.or_else(|| field("region"));
    }
    t.table = table.ok_or("no table: give --table, or --env with a config file that names one")?;
    Ok(t)
}

async fn client(t: &Target) -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(p) = &t.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &t.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(e) = &t.endpoint {
        loader = loader.endpoint_url(e);
    }
    aws_sdk_dynamodb::Client::new(&loader.load().await)
}

fn print_steps(steps: &[Ran], dry_run: bool) {
    if steps.is_empty() {
        println!("nothing to do");
    }
    for s in steps {
        let verb = match (dry_run, s.worker) {
            (true, _) => "would run",
            (false, true) => "took part as a worker in",
            (false, false) => "ran",
        };
        println!("{verb} {} {} ({}): {} items", s.direction, s.version, s.description, s.items);
    }
}

fn print_status(status: &Status) {
    println!("current version: {}", status.current.as_ref().map_or("none".to_owned(), ToString::to_string));
    for r in &status.applied {
        println!(
            "  {} {:?} {} ({} ms, {} items) {}",
            r.version, r.outcome, r.description, r.duration_ms, r.items, r.date
        );
    }
    for v in &status.outstanding {
        println!("  {v} outstanding");
    }
    if let Some(f) = &status.failed {
        println!("FAILED {}: {}", f.version, f.error.as_deref().unwrap_or(""));
    }
    for v in &status.edited {
        println!("EDITED {v}: changed since it was applied");
    }
}

/// The scaffold of the migration after the latest one.
fn generate(migrator: &Migrator, description: &str) -> String {
    let next = migrator
        .migrations()
        .iter()
        .filter_map(|m| m.version.as_ref().ok())
        .max()
        .map_or("0.1.0".to_owned(), |v| format!("{}.{}.0", v.0[0], v.0[1] + 1));
    format!(
        "Migration::new(\"{next}\", \"{description}\")\n    .source(include_str!(file!()))\n    .up(|ctx| async move {{\n        // ctx.transform(\"..\", |old: Old| Some(New {{ .. }})).run().await?;\n        Ok(())\n    }})\n    .down(|ctx| async move {{\n        Ok(())\n    }})\n"
    )
}

async fn execute(cli: Cli, migrator: Migrator) -> Result<(), Error> {
    match cli.command {
        Command::Status | Command::List => print_status(&migrator.status().await?),
        Command::Outstanding => {
            for v in migrator.status().await?.outstanding {
                println!("{v}");
            }
        }
        Command::Up { to, wait } => {
            let migrator = match wait {
                Some(seconds) => migrator.wait(std::time::Duration::from_secs(seconds)),
                None => migrator,
            };
            let steps = if cli.dry_run {
                migrator.up_dry_run(to.as_deref()).await?
            } else {
                migrator.up(to.as_deref()).await?
            };
            print_steps(&steps, cli.dry_run);
        }
        Command::Down { to: Some(to), .. } => {
            print_steps(&migrator.down_to(&to, cli.dry_run).await?, cli.dry_run)
        }
        Command::Down { steps, to: None } => {
            let done =
                if cli.dry_run { migrator.down_dry_run(steps).await? } else { migrator.down(steps).await? };
            print_steps(&done, cli.dry_run);
        }
        Command::Repeat if cli.dry_run => print_steps(&migrator.down_dry_run(1).await?, true),
        Command::Repeat => print_steps(&migrator.repeat().await?, false),
        Command::Retry { to } if cli.dry_run => print_steps(&migrator.up_dry_run(to.as_deref()).await?, true),
        Command::Retry { to } => print_steps(&migrator.retry(to.as_deref()).await?, false),
        Command::Repair { version } if cli.dry_run => println!("would mark {version} as applied"),
        Command::Repair { version } => {
            migrator.repair(&version).await?;
            println!("{version} marked as applied");
        }
        Command::Reset if cli.dry_run => print_steps(&migrator.down_dry_run(usize::MAX).await?, true),
        Command::Reset => print_steps(&migrator.reset(cli.yes).await?, false),
        Command::Generate { description } => print!("{}", generate(&migrator, &description)),
    }
    Ok(())
}

/// Parses the command line and runs the command; `build` makes the migrator from a
/// DynamoDB client and the table name chosen on the command line.
pub fn run<F>(build: F) -> ExitCode
where
    F: FnOnce(aws_sdk_dynamodb::Client, String) -> Result<Migrator, Error>,
{
    run_from(std::env::args_os(), build)
}

/// [`run`] with the arguments given (the first is the program name).
pub fn run_from<I, T, F>(args: I, build: F) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
    F: FnOnce(aws_sdk_dynamodb::Client, String) -> Result<Migrator, Error>,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let connection = match target(&cli.connection) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    block_on(async {
        let client = client(&connection).await;
        let migrator = build(client, connection.table.clone())?;
        execute(cli, migrator).await
    })
}

/// Runs `work` on a runtime of its own, turning its outcome into an exit code.
fn block_on(work: impl std::future::Future<Output = Result<(), Error>>) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        eprintln!("error: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The generic `onetable` tool: `onetable status | schema` with the connection flags
/// shows the migration history and the `_Schema` item of any table.
#[derive(Parser, Debug)]
#[command(
    name = "onetable",
    about = "Shows the migration history and schema of a onetable or OneTable table"
)]
struct Inspect {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: InspectCommand,
}

#[derive(Subcommand, Debug)]
enum InspectCommand {
    /// The current version and the recorded migrations.
    Status,
    /// The `_Schema` item, as JSON.
    Schema,
}

fn json(value: &onetable_core::AttributeValue) -> serde_json::Value {
    use onetable_core::AttributeValue as A;
    match value {
        A::S(s) => serde_json::Value::String(s.clone()),
        A::N(n) => n
            .parse::<f64>()
            .map(serde_json::Value::from)
            .unwrap_or_else(|_| serde_json::Value::String(n.clone())),
        A::Bool(b) => serde_json::Value::Bool(*b),
        A::L(l) => serde_json::Value::Array(l.iter().map(json).collect()),
        A::M(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
        A::Ss(v) | A::Ns(v) => {
            serde_json::Value::Array(v.iter().cloned().map(serde_json::Value::String).collect())
        }
        _ => serde_json::Value::Null,
    }
}

/// Runs the generic `onetable` tool on the process's arguments.
pub fn inspect() -> ExitCode {
    inspect_from(std::env::args_os())
}

/// [`inspect`] with the arguments given (the first is the program name).
pub fn inspect_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Inspect::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let target = match target(&cli.connection) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    block_on(async {
        let table = crate::Table::from_description(client(&target).await, target.table.clone()).await?;
        match cli.command {
            InspectCommand::Status => print_status(&Migrator::new(table).status().await?),
            InspectCommand::Schema => {
                let t = &table.inner;
                let item = t
                    .client
                    .get_item()
                    .table_name(&t.name)
                    .set_key(Some(table.raw_key("_schema", "_schema:Current")))
                    .send()
                    .await
                    .map_err(|e| crate::error::sdk("schema", &t.name, e))?
                    .item;
                match item {
                    Some(item) => {
                        let value = json(&onetable_core::AttributeValue::M(item));
                        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
                    }
                    None => println!("no _Schema item in {}", t.name),
                }
            }
        }
        Ok(())
    })
}
