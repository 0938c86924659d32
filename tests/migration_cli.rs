//! The migration CLI as users run it: the example's migration binary, driven as a
//! process, configured through the environment or a OneTable CLI configuration file.

mod common;

#[path = "../examples/migrations/model.rs"]
#[allow(dead_code)]
mod model;

use model::UserV1;
use onetable::{AttributeValue, Table};
use std::path::PathBuf;
use std::process::{Command, Output};

/// The example's binary as `cargo test` built it, beside this test's binary.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples").join("migrations")
}

/// The binary reaching the shared DynamoDB Local and `table` through the environment
/// variables alone.
fn cli(table: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .env("ONETABLE_TABLE", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", common::local().endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env_remove("AWS_PROFILE")
        .env_remove("ONETABLE_CONFIG")
        .env_remove("ONETABLE_PROFILE")
        .env_remove("RUST_LOG");
    command
}

fn run(command: &mut Command, args: &[&str]) -> (Output, String, String) {
    let out = command.args(args).output().expect("the migrations example is built by cargo test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// Runs `args`, expecting success; returns stdout.
fn ok(table: &str, args: &[&str]) -> String {
    let (out, stdout, stderr) = run(&mut cli(table), args);
    assert!(out.status.success(), "{args:?}: {:?}\n{stdout}\n{stderr}", out.status);
    stdout
}

/// Everything a migration can change: the items, byte for byte, and the table's
/// keys, indexes and TTL.
async fn snapshot(name: &str) -> String {
    let table = Table::builder(common::local().client(), name).build().unwrap();
    let Ok(description) = table.describe().await else { return "no table".into() };
    let mut items: Vec<String> = common::scan_all(&table)
        .await
        .iter()
        .map(|item| common::canonical(&AttributeValue::M(item.clone())))
        .collect();
    items.sort();
    let mut indexes: Vec<String> =
        description.global_secondary_indexes().iter().map(|g| format!("{:?}", g.key_schema())).collect();
    indexes.sort();
    format!("{:?}\n{indexes:?}\n{}", description.key_schema(), items.join("\n"))
}

#[test]
fn version_help_and_completions() {
    let (out, stdout, _) = run(&mut Command::new(binary()), &["--version"]);
    assert!(out.status.success());
    assert_eq!(stdout.trim(), format!("migrations (onetable {})", env!("CARGO_PKG_VERSION")));
    let (out, stdout, _) = run(&mut Command::new(binary()), &["--help"]);
    assert!(out.status.success());
    for documented in
        ["Exit codes", "ONETABLE_TABLE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "AWS_REGION"]
    {
        assert!(stdout.contains(documented), "{documented}: {stdout}");
    }
    let (out, stdout, _) = run(&mut Command::new(binary()), &["completions", "bash"]);
    assert!(out.status.success());
    assert!(stdout.contains("_migrations()") && stdout.contains("outstanding"), "{stdout}");
    let (out, _, stderr) = run(&mut Command::new(binary()), &["up", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
}

#[tokio::test]
async fn a_session_from_the_environment_with_results_as_each_migration_finishes() {
    let name = onetable_local::unique_table_name("cli");
    let first = ok(&name, &["up", "--to", "0.1.0"]);
    assert_eq!(first.trim(), "applied 0.1.0 create the table: 0 items");
    let v1 = Table::builder(common::local().client(), &name).entity::<UserV1>().build().unwrap();
    for i in 0..20 {
        v1.model::<UserV1>()
            .create(UserV1 { id: format!("u{i}"), account: format!("a{}", i % 3), email: format!("u{i}@x") })
            .await
            .unwrap();
    }

    // list: what the binary knows, with its files; status: the table's history.
    let list = ok(&name, &["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[0].starts_with("0.1.0  applied 20") && lines[0].ends_with("[v0_1_0_create_the_table.rs]"),
        "{list}"
    );
    assert_eq!(lines[1], "0.2.0  outstanding  find users by email [v0_2_0_find_users_by_email.rs]");
    let status = ok(&name, &["status"]);
    assert!(status.starts_with("current version: 0.1.0\n"), "{status}");
    assert!(status.contains("0.2.0 outstanding") && !status.contains(".rs]"), "{status}");

    // Dry runs of every example migration, both ways, leave the table as it was.
    let before = snapshot(&name).await;
    let plan = ok(&name, &["up", "--dry-run"]);
    assert_eq!(
        plan.lines().collect::<Vec<_>>(),
        [
            "would apply 0.2.0 find users by email: 20 items",
            "would apply 0.3.0 users move into their account's partition: 20 items"
        ]
    );
    ok(&name, &["repeat", "--dry-run"]);
    ok(&name, &["reset", "--dry-run"]);
    assert_eq!(snapshot(&name).await, before, "dry runs wrote nothing");

    // JSON log lines on stderr, a line per migration on stdout as it finishes.
    let (out, stdout, stderr) = run(&mut cli(&name), &["up", "--log-format", "json"]);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("applied ")).count(), 2, "{stdout}");
    let events: Vec<serde_json::Value> = stderr.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "migration done" && e["fields"]["version"] == "0.3.0"),
        "{stderr}"
    );

    let after = snapshot(&name).await;
    let repeat = ok(&name, &["repeat", "--dry-run"]);
    assert_eq!(
        repeat.lines().collect::<Vec<_>>(),
        [
            "would undo 0.3.0 users move into their account's partition: 20 items",
            "would apply 0.3.0 users move into their account's partition: 0 items"
        ],
        "both steps of repeat are shown"
    );
    ok(&name, &["down", "--dry-run", "-n", "3"]);
    assert_eq!(snapshot(&name).await, after, "dry runs of the way down wrote nothing");

    // An applied migration edited since (here: its recorded checksum no longer
    // matches) stops `up` with exit code 4.
    let history = v1
        .client()
        .query()
        .table_name(&name)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("_migration".into()))
        .send()
        .await
        .unwrap();
    let record = history
        .items()
        .iter()
        .find(|r| r.get("version").and_then(|v| v.as_s().ok()).is_some_and(|v| v == "0.2.0"))
        .unwrap();
    v1.client()
        .update_item()
        .table_name(&name)
        .key("pk", record["pk"].clone())
        .key("sk", record["sk"].clone())
        .update_expression("SET checksum = :c")
        .expression_attribute_values(":c", AttributeValue::S("sha256:0000".into()))
        .send()
        .await
        .unwrap();
    let (out, _, stderr) = run(&mut cli(&name), &["up"]);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("0.2.0 edited"), "{stderr}");
    let list = ok(&name, &["list"]);
    assert!(list.lines().nth(1).unwrap().starts_with("0.2.0  edited"), "{list}");
    v1.delete_table().await.unwrap();
}

#[test]
fn a_onetable_cli_configuration_with_profiles_and_its_mistakes() {
    let dir = std::env::temp_dir().join(format!("onetable-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let endpoint = common::local().endpoint();
    let name = onetable_local::unique_table_name("cfg");
    std::fs::write(
        dir.join("migrate.json5"),
        format!(
            "// OneTable CLI's layout\n{{\n  onetable: {{ name: 'not-this-one', typeField: '_type' }},\n  profiles: {{\n    dev: {{ onetable: {{ name: '{name}' }}, endpoint: '{endpoint}', aws: {{ region: 'us-east-1' }} }},\n  }},\n}}\n"
        ),
    )
    .unwrap();
    // Found in the working directory, the profile chosen with --profile.
    let mut command = cli("ignored");
    command.env_remove("ONETABLE_TABLE").env_remove("AWS_ENDPOINT_URL_DYNAMODB").current_dir(&dir);
    let (out, stdout, stderr) = run(&mut command, &["--profile", "dev", "up", "--to", "0.1.0"]);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("applied 0.1.0"), "{stdout}");

    // A misspelt key is named, and nothing runs.
    std::fs::write(dir.join("migrate.json"), r#"{"name": "t", "aws": {"regoin": "us-east-1"}}"#).unwrap();
    let mut command = cli("ignored");
    command.current_dir(&dir);
    let (out, _, stderr) = run(&mut command, &["--config", "migrate.json", "status"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown field `regoin`"), "{stderr}");
    let mut command = cli("ignored");
    command.current_dir(&dir);
    let (out, _, stderr) = run(&mut command, &["--config", "migrate.json5", "--profile", "prod", "status"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no profile \"prod\""), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
