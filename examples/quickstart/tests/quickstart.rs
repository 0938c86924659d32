//! The quickstart runs with no Java and no npm, whatever AWS configuration the shell exports:
//! only `--aws` sends it to a real account.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

fn quickstart(configure: impl FnOnce(&mut Command) -> &mut Command) -> (Output, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
    command
        .env_remove("ONETABLE_ENGINE")
        .env_remove("ONETABLE_DYNAMODB_ENDPOINT")
        .env_remove("ONETABLE_TABLE");
    let out = configure(&mut command).output().expect("the quickstart runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[test]
fn the_quickstart_runs_on_the_embedded_engine_and_ignores_an_aws_configuration_it_was_not_asked_to_use() {
    let (out, stdout, stderr) = quickstart(|c| {
        c.env("AWS_PROFILE", "someone-elses-production")
            .env("AWS_REGION", "eu-west-1")
            // Were it used, every request would fail: nothing listens there.
            .env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
            // Nothing to install: no Java, no npm.
            .env("ONETABLE_JAVA", "/nonexistent/java")
            .env("ONETABLE_NPM", "/nonexistent/npm")
    });
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("using the embedded engine"), "{stdout}");
    assert!(
        stdout.contains("the account has 3 users") && stdout.contains("removed the users; 0 left"),
        "{stdout}"
    );
    assert!(stderr.contains("Pass --aws"), "the user is told how to use their configuration: {stderr}");
}

#[test]
fn the_quickstart_runs_on_dynamodb_local_when_asked() {
    let (out, stdout, stderr) = quickstart(|c| c.env("ONETABLE_ENGINE", "dynamodb-local"));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("using DynamoDB Local"), "{stdout}");
    assert!(stdout.contains("removed the users; 0 left"), "{stdout}");
}

#[test]
fn an_engine_that_does_not_exist_is_a_clear_error() {
    let (out, stdout, stderr) = quickstart(|c| c.env("ONETABLE_ENGINE", "dynalite"));
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("`dynalite`, which names no engine"), "{stderr}");
}

/// Every crate the quickstart and `cargo test --workspace` both build, with the
/// features each build turns on in it, as `cargo tree` resolves them.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut crates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        if let Some((package, features)) = line.split_once('|') {
            let mut words = package.split(' ');
            let id = format!("{} {}", words.next().unwrap_or(""), words.next().unwrap_or(""));
            crates.entry(id).or_default().insert(features.to_owned());
        }
    }
    crates
}

#[test]
fn the_test_command_after_the_quickstart_compiles_the_sdk_stack_no_second_time() {
    let quickstart = features(&["-p", "quickstart", "-e", "normal,build"]);
    let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
    // The facade and the client are compiled again with the features the tests use
    // (migrations, encryption, metrics, streams): onetable's own crates, seconds.
    let ours = ["onetable v", "onetable-client v"];
    let differ: Vec<String> = quickstart
        .iter()
        .filter(|(id, _)| !ours.iter().any(|o| id.starts_with(o)))
        .filter_map(|(id, features)| {
            let theirs = workspace.get(id)?;
            // Each artifact the quickstart built is one the tests build too: reused.
            (!features.is_subset(theirs)).then(|| format!("{id}: quickstart {features:?}, tests {theirs:?}"))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "add these features to the unify-* dependencies of examples/quickstart/Cargo.toml:\n{}",
        differ.join("\n")
    );
}
