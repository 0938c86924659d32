//! The examples run against an embedded engine of their own whatever AWS configuration
//! the shell exports: only `--aws` sends them to a real account. (The quickstart, a
//! crate of its own, is tested in `examples/quickstart/tests`.)

use std::path::PathBuf;
use std::process::Command;

/// An example as `cargo test` built it, beside this test's binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(|deps| deps.parent()).unwrap();
    debug.join("examples").join(name)
}

#[test]
fn the_startup_example_applies_the_migrations_in_one_replica_and_every_replica_serves() {
    let out = Command::new(example("startup"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("ONETABLE_ENGINE")
        .output()
        .expect("the startup example is built by cargo test");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("using the embedded engine"), "{stdout}");
    assert_eq!(
        stdout.matches("applied 0.1.0, 0.2.0, 0.3.0").count(),
        1,
        "one replica applies them: {stdout}"
    );
    assert_eq!(stdout.matches("has 100 users").count(), 3, "every replica serves today's reads: {stdout}");
}

#[test]
fn the_changes_example_prints_every_write_as_a_typed_change() {
    let out = Command::new(example("changes"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("ONETABLE_ENGINE")
        .output()
        .expect("the changes example is built by cargo test");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let changes: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("  ")).collect();
    // The records of one item come in the order of its writes; those of a transaction's
    // items (the email change and its sentinels) in any order.
    let position = |line: &str| changes.iter().position(|c| *c == line);
    assert!(
        position("insert  order c1/o1 120 (open)")
            < position("modify  order c1/o1 120 (open)  ->  order c1/o1 120 (shipped)")
    );
    let mut sorted = changes.clone();
    sorted.sort_unstable();
    let mut expected = [
        "insert  customer c1 <ann@example.com>",
        "insert  unique sentinel _unique#Customer#email#ann@example.com _unique#",
        "insert  order c1/o1 120 (open)",
        "insert  order c1/o2 35 (open)",
        "modify  order c1/o1 120 (open)  ->  order c1/o1 120 (shipped)",
        "modify  customer c1 <ann@example.com>  ->  customer c1 <ann@example.org>",
        "remove  unique sentinel _unique#Customer#email#ann@example.com _unique#",
        "insert  unique sentinel _unique#Customer#email#ann@example.org _unique#",
        "remove  order c1/o2 35 (open)",
    ];
    expected.sort_unstable();
    assert_eq!(sorted, expected, "{stdout}");
}
