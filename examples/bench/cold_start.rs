//! Cold start, as a Lambda function meets it: one process per run, from `exec` to its
//! first completed get against DynamoDB Local, through onetable and through
//! hand-written aws-sdk-dynamodb code, the two sides alternating in one run.
//!
//! The parent times each child from spawn to exit; the child reports its own phases
//! from the top of `main`: building the SDK client, building the table (onetable: the
//! schema checks of `Table::builder(..).build()`; the derive's work was done when the
//! binary compiled), and the first get (its connection included).

use crate::workload::{self, User};
use std::process::Command;
use std::time::Instant;

/// Runs per side.
const RUNS: usize = 21;

/// The child: one cold start of `side`, printed as one JSON line.
pub fn child(side: &str, endpoint: &str, table: &str, started: Instant) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let client = aws_sdk_dynamodb::Client::from_conf(workload::config().endpoint_url(endpoint).build());
    let client_built = started.elapsed();
    let (build, found) = runtime.block_on(async {
        match side {
            "onetable" => {
                let built = Instant::now();
                let table =
                    onetable::Table::builder(client, table).entity::<User>().build().expect("the schema");
                let build = built.elapsed();
                let users = table.model::<User>();
                let found = users.get(User::key("p0", "000000")).await.expect("get").is_some();
                (build, found)
            }
            _ => {
                let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
                let out = client
                    .get_item()
                    .table_name(table)
                    .key("pk", s("ACCOUNT#p0"))
                    .key("sk", s("USER#000000"))
                    .send()
                    .await
                    .expect("get");
                let user = out.item.map(workload::raw::parse);
                (std::time::Duration::ZERO, user.is_some())
            }
        }
    });
    assert!(found, "the seeded user is read");
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    serde_json::json!({
        "client_ms": ms(client_built),
        "table_build_ms": ms(build),
        "main_to_first_get_ms": ms(started.elapsed()),
    })
}

/// The parent: seeds a table, then times `RUNS` cold starts of each side, alternating.
pub fn run(local: &onetable_local::DynamoDbLocal, runtime: &tokio::runtime::Runtime) -> serde_json::Value {
    let table =
        onetable::Table::builder(local.client(), "cold-start").entity::<User>().build().expect("schema");
    runtime.block_on(async {
        table.create_table().send().await.expect("create table");
        table.model::<User>().create(workload::user(0)).await.expect("seed");
    });
    let exe = std::env::current_exe().expect("this benchmark");
    let mut figures: std::collections::BTreeMap<&str, Vec<(f64, serde_json::Value)>> = Default::default();
    for i in 0..RUNS * 2 {
        let side = if i % 2 == 0 { "raw_sdk" } else { "onetable" };
        let spawned = Instant::now();
        let out = Command::new(&exe)
            .args(["--cold", side, "--endpoint", local.endpoint(), "--table", table.name()])
            .output()
            .expect("a cold child");
        let total = spawned.elapsed().as_secs_f64() * 1e3;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let reported: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|_| {
                panic!("the child failed: {stdout} {}", String::from_utf8_lossy(&out.stderr))
            });
        figures.entry(side).or_default().push((total, reported));
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let mut report = serde_json::Map::new();
    for (side, runs) in &figures {
        let field =
            |name: &str| runs.iter().map(|(_, r)| r[name].as_f64().unwrap_or_default()).collect::<Vec<_>>();
        let mut spawn_to_exit: Vec<f64> = runs.iter().map(|(t, _)| *t).collect();
        report.insert(
            (*side).to_owned(),
            serde_json::json!({
                "runs": runs.len(),
                "spawn_to_exit_ms": median(&mut spawn_to_exit),
                "main_to_first_get_ms": median(&mut field("main_to_first_get_ms")),
                "client_ms": median(&mut field("client_ms")),
                "table_build_ms": median(&mut field("table_build_ms")),
            }),
        );
    }
    serde_json::Value::Object(report)
}
