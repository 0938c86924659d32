//! The migration CLI your own migration binary gets with one call.
//!
//! A plain `fn main`:
//!
//! ```no_run
//! use onetable_client::Table;
//! use onetable_migrate::{cli, Migration, Migrator};
//!
//! fn main() -> std::process::ExitCode {
//!     cli::run(|client, table| {
//!         let table = Table::builder(client, table).build()?;
//!         Ok(Migrator::new(table).migration(Migration::new("0.1.0", "initial").up(|_| async { Ok(()) })))
//!     })
//! }
//! ```
//!
//! Inside a `#[tokio::main]` binary (a service that also migrates), [`run_async`]:
//! `cli::run_async(build).await`.
//!
//! Commands: `status | list | outstanding | up [--to V] [--wait S] | down [-n N | --to V]
//! | repeat | retry | repair V | reset --yes | generate "description" [--bump ..]
//! | completions SHELL`, with `--dry-run` for every command that writes.
//!
//! Where the table is: `--table`, `--endpoint`, `--aws-profile`, `--aws-region`, each
//! also read from the environment (`ONETABLE_TABLE`, `AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_PROFILE`, `AWS_REGION`), then from a configuration file in OneTable CLI's
//! layout (`migrate.json` or `migrate.json5`, `--profile` selecting one of its
//! `profiles`).
//!
//! Exit codes: 0 done; 1 a migration or request failed; 2 the command line or
//! configuration is wrong; 3 another migrator holds the lock (after `--wait`); 4
//! applied migrations were edited since they ran.

mod config;
mod logging;

use crate::{Bump, Direction, Listed, MigrateErrorExt, Migrator, Outcome, Ran, State, Status};
use clap::{CommandFactory, Parser, Subcommand};
use onetable_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "Exit codes: 0 done; 1 a migration or request failed; 2 the command line or configuration is wrong; 3 another migrator holds the lock; 4 applied migrations were edited since they ran.";

#[derive(Parser, Debug)]
#[command(
    about = "Runs this service's onetable migrations",
    version = concat!("(onetable ", env!("CARGO_PKG_VERSION"), ")"),
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    /// Print what would run, with item counts, and write nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Confirm a destructive command (reset).
    #[arg(long, global = true)]
    yes: bool,
    /// Confirm that every writer of a global table writes in one region, so that data
    /// migrations run on its eventually consistent replicas.
    #[arg(long, global = true)]
    writers_in_one_region: bool,
    /// More log lines (-v info on a terminal, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Log lines as text or as JSON objects.
    #[arg(long, global = true, value_enum, default_value_t, env = "ONETABLE_LOG_FORMAT")]
    log_format: logging::Format,
    #[command(subcommand)]
    command: Command,
}

/// Where the table is.
#[derive(clap::Args, Debug)]
struct Connection {
    /// The DynamoDB table.
    #[arg(long, global = true, env = "ONETABLE_TABLE")]
    table: Option<String>,
    /// A DynamoDB endpoint (DynamoDB Local), instead of AWS's.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint: Option<String>,
    /// The AWS profile (of ~/.aws/config).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    aws_profile: Option<String>,
    /// The AWS region.
    #[arg(long, global = true, env = "AWS_REGION", visible_alias = "region")]
    aws_region: Option<String>,
    /// The configuration file, in OneTable CLI's layout [default: migrate.json or
    /// migrate.json5, when present].
    #[arg(long, global = true, env = "ONETABLE_CONFIG")]
    config: Option<PathBuf>,
    /// The profile of the configuration file to use (its `profiles` entry).
    #[arg(long, global = true, env = "ONETABLE_PROFILE")]
    profile: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The table's history: current version, each recorded run, and what is outstanding.
    Status,
    /// The migrations this binary knows, each with its state in the table.
    List,
    /// The migrations `up` would run.
    Outstanding,
    /// Applies outstanding migrations, up to --to.
    Up {
        #[arg(long)]
        to: Option<String>,
        /// When another migrator holds the lock: wait up to this many seconds for it
        /// (taking part in its data migrations as one worker of many meanwhile).
        /// 0 fails at once.
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
    /// Marks a failed migration as applied after fixing it by hand, or records the new
    /// checksum of an applied migration edited on purpose.
    Repair { version: String },
    /// Undoes every migration (development only; needs --yes).
    Reset,
    /// Writes the next migration file and adds it to the directory's mod.rs.
    Generate {
        description: String,
        /// Which part of the latest version to raise.
        #[arg(long, value_enum, default_value = "minor")]
        bump: BumpArg,
        /// The migrations directory [default: the one the migrations were compiled from].
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Prints a shell completion script (`source <(migrations completions bash)`).
    Completions { shell: clap_complete::Shell },
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum BumpArg {
    Major,
    Minor,
    Patch,
}

/// Settings from the command line and environment, completed by the config file.
struct Target {
    table: String,
    endpoint: Option<String>,
    profile: Option<String>,
    region: Option<String>,
    credentials: Option<(String, String, Option<String>)>,
    dir: Option<PathBuf>,
}

fn target(cli: &Connection) -> Result<Target, String> {
    let file = cli
        .config
        .clone()
        .or_else(|| ["migrate.json", "migrate.json5"].into_iter().map(PathBuf::from).find(|p| p.is_file()));
    let settings = match file {
        Some(path) => config::read(&path, cli.profile.as_deref())?,
        None if cli.profile.is_some() => {
            return Err(
                "--profile selects a profile of migrate.json, and there is none here (--config)".into()
            )
        }
        None => config::Settings::default(),
    };
    if !settings.ignored.is_empty() {
        tracing::info!(keys = ?settings.ignored, "configuration keys the migration binary's Table defines instead: ignored");
    }
    Ok(Target {
        table: cli
            .table
            .clone()
            .or(settings.table)
            .ok_or("no table: give --table (or ONETABLE_TABLE), or a migrate.json that names one")?,
        endpoint: cli.endpoint.clone().or(settings.endpoint),
        profile: cli.aws_profile.clone().or(settings.profile),
        region: cli.aws_region.clone().or(settings.region),
        credentials: settings.credentials,
        dir: settings.dir.map(PathBuf::from),
    })
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
    if let Some((id, secret, token)) = &t.credentials {
        let credentials =
            aws_sdk_dynamodb::config::Credentials::new(id, secret, token.clone(), None, "migrate.json");
        loader = loader.credentials_provider(credentials);
    }
    aws_sdk_dynamodb::Client::new(&loader.load().await)
}

/// One line per migration, printed as it finishes.
fn print_ran(ran: &Ran, dry_run: bool) {
    let verb = match (dry_run, ran.worker, ran.direction) {
        (true, _, Direction::Up) => "would apply",
        (true, _, Direction::Down) => "would undo",
        (false, true, _) => "took part as a worker in",
        (false, false, Direction::Up) => "applied",
        (false, false, Direction::Down) => "undid",
    };
    println!("{verb} {} {}: {} items", ran.version, ran.description, ran.items);
    for plan in ran.plans.iter().filter(|p| !p.unindexed.is_empty()) {
        println!(
            "  {} items of {} would stay out of the {}:",
            plan.unindexed.len(),
            plan.entity,
            plan.transform
        );
        for item in &plan.unindexed {
            println!("    {item}");
        }
    }
}

fn print_status(status: &Status) {
    println!("current version: {}", status.current.as_ref().map_or("none".to_owned(), ToString::to_string));
    for r in &status.applied {
        let outcome = match r.outcome {
            Outcome::Applied => "applied",
            Outcome::Failed => "failed",
            Outcome::Incomplete => "incomplete",
        };
        println!(
            "  {} {outcome} {} ({} ms, {} items) {}",
            r.version, r.description, r.duration_ms, r.items, r.date
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

fn print_list(list: &[Listed]) {
    if list.is_empty() {
        println!("no migrations");
    }
    for m in list {
        let state = match m.state {
            State::Applied | State::Failed => {
                format!("{} {}", m.state.label(), m.date.as_deref().unwrap_or(""))
            }
            state => state.label().to_owned(),
        };
        let file = m.file.map_or(String::new(), |f| format!(" [{f}]"));
        println!("{}  {state}  {}{file}", m.version, m.description);
    }
}

async fn execute(cli: Cli, target: Target, migrator: Migrator) -> Result<(), Error> {
    let dry_run = cli.dry_run;
    let migrator = migrator.dry_run(dry_run).on_each(move |ran| print_ran(ran, dry_run));
    // The flag confirms; its absence leaves what the code chose.
    let migrator = match cli.writers_in_one_region {
        true => migrator.writers_in_one_region(true),
        false => migrator,
    };
    let done = match cli.command {
        Command::Status => {
            print_status(&migrator.status().await?);
            return Ok(());
        }
        Command::List => {
            print_list(&migrator.list().await?);
            return Ok(());
        }
        Command::Outstanding => {
            for v in migrator.status().await?.outstanding {
                println!("{v}");
            }
            return Ok(());
        }
        Command::Up { to, wait } => {
            let migrator = match wait {
                Some(seconds) => migrator.wait(std::time::Duration::from_secs(seconds)),
                None => migrator,
            };
            let ran = migrator.up(to.as_deref()).await?;
            // What it did as a worker while another migrator ran them.
            for r in ran.iter().filter(|r| r.worker) {
                print_ran(r, false);
            }
            ran
        }
        Command::Down { to: Some(to), .. } => migrator.down_to(&to).await?,
        Command::Down { steps, to: None } => migrator.down(steps).await?,
        Command::Repeat => migrator.repeat().await?,
        Command::Retry { to } => migrator.retry(to.as_deref()).await?,
        Command::Repair { version } => {
            migrator.repair(&version).await?;
            let verb = if dry_run { "would mark" } else { "marked" };
            println!("{verb} {version} as applied with its current checksum");
            return Ok(());
        }
        Command::Reset => migrator.reset(cli.yes || dry_run).await?,
        Command::Generate { description, bump, dir } => {
            let bump = match bump {
                BumpArg::Major => Bump::Major,
                BumpArg::Minor => Bump::Minor,
                BumpArg::Patch => Bump::Patch,
            };
            // The directory the migrations were compiled from comes before the
            // configuration's, which is often OneTable's `.`.
            let dir = dir.or(target.dir.filter(|_| migrator.directory().is_none()));
            let file = migrator.generate(&description, bump, dir.as_deref())?;
            println!("wrote {}", file.display());
            if migrator.directory().is_none() && dir.is_some() {
                println!("declare the directory once (`mod migrations;`) and give `migrations::all()` to the Migrator");
            }
            return Ok(());
        }
        Command::Completions { .. } => return Ok(()),
    };
    if done.is_empty() {
        println!("nothing to do");
    }
    Ok(())
}

/// The exit code for a failure (see the module documentation).
fn exit_code(e: &Error) -> ExitCode {
    match e {
        e if e.is_locked() => ExitCode::from(3),
        e if e.is_edited() => ExitCode::from(4),
        _ => ExitCode::FAILURE,
    }
}

/// Parses the command line and runs the command on a runtime of its own; `build`
/// makes the migrator from a DynamoDB client and the table name chosen on the command
/// line. For a plain `fn main`; inside an async runtime use [`run_async`].
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
    match runtime() {
        Some(runtime) => runtime.block_on(run_async_from(args, build)),
        None => ExitCode::FAILURE,
    }
}

/// [`run`] for a binary that has its runtime already (`#[tokio::main]`).
pub async fn run_async<F>(build: F) -> ExitCode
where
    F: FnOnce(aws_sdk_dynamodb::Client, String) -> Result<Migrator, Error>,
{
    run_async_from(std::env::args_os(), build).await
}

/// [`run_async`] with the arguments given (the first is the program name).
pub async fn run_async_from<I, T, F>(args: I, build: F) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
    F: FnOnce(aws_sdk_dynamodb::Client, String) -> Result<Migrator, Error>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    // The binary is the user's: its name, not this crate's, in help and --version.
    let name = args
        .first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map_or_else(|| "migrations".to_owned(), |n| n.to_string_lossy().into_owned());
    let command = Cli::command().name(name.clone());
    let cli = match parse::<Cli>(command, &args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command().name(name.clone()), name, &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    logging::init(cli.log_format, cli.verbose, cli.quiet);
    let target = match connect(&cli.connection) {
        Ok(target) => target,
        Err(code) => return code,
    };
    let client = client(&target).await;
    let outcome = match build(client, target.table.clone()) {
        Ok(migrator) => execute(cli, target, migrator).await,
        Err(e) => Err(e),
    };
    finish(outcome)
}

/// The command line as `C`; on a usage error, `--help` or `--version` (printed), the
/// exit code to return.
fn parse<C: clap::FromArgMatches>(
    command: clap::Command,
    args: &[std::ffi::OsString],
) -> Result<C, ExitCode> {
    command.try_get_matches_from(args).and_then(|m| C::from_arg_matches(&m)).map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// Where the table is; on a wrong configuration (printed), exit code 2.
fn connect(connection: &Connection) -> Result<Target, ExitCode> {
    target(connection).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// The exit code of a command's outcome, its error printed.
fn finish(outcome: Result<(), Error>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            exit_code(&e)
        }
    }
}

/// A runtime for a plain `fn main` (the error said if there is none).
fn runtime() -> Option<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    runtime.map_err(|e| eprintln!("error: cannot start the async runtime: {e}")).ok()
}

/// Runs `work` on a runtime of its own, turning its outcome into an exit code.
fn block_on(work: impl std::future::Future<Output = Result<(), Error>>) -> ExitCode {
    match runtime() {
        Some(runtime) => finish(runtime.block_on(work)),
        None => ExitCode::FAILURE,
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
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let cli = match parse::<Inspect>(Inspect::command(), &args) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let target = match connect(&cli.connection) {
        Ok(target) => target,
        Err(code) => return code,
    };
    block_on(async {
        let table =
            onetable_client::Table::from_description(client(&target).await, target.table.clone()).await?;
        match cli.command {
            InspectCommand::Status => print_status(&Migrator::new(table).status().await?),
            InspectCommand::Schema => {
                let call = onetable_client::raw::Call::new("schema", "_Schema");
                let item = table.raw().get(&call, table.schema_item_key()).await?;
                match item {
                    Some(item) => {
                        let value = json(&onetable_core::AttributeValue::M(item));
                        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
                    }
                    None => println!("no _Schema item in {}", table.name()),
                }
            }
        }
        Ok(())
    })
}
