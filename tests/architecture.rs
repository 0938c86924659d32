//! The shape of the code, checked from the sources: in every crate of the workspace,
//! the top-level modules form no import cycle (each can be read, and changed, knowing
//! only the modules below it); and no module of the migration engine builds or sends
//! a DynamoDB request itself — every request goes through the client's request layer,
//! where it is observed, costed and typed like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library crates, by directory.
const CRATES: [&str; 6] = [
    "onetable-core",
    "onetable-derive",
    "onetable-client",
    "onetable-migrate",
    "onetable-local",
    "onetable-cli",
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`store/lease.rs` → `store`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next().expect("a component").as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The lines of a source file that are code: comments (line and doc) left out.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.starts_with("//"))
}

/// Module → the other top-level modules its code names through `crate::`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let roots = ["lib", "main"];
    let modules: BTreeSet<String> =
        all.iter().map(|f| module_of(src, f)).filter(|m| !roots.contains(&m.as_str())).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &all {
        let from = module_of(src, file);
        if roots.contains(&from.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        let edges = graph.entry(from.clone()).or_default();
        for line in code_lines(&text) {
            // `crate::x::…` and `use crate::{x, y::…}`.
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(list) => {
                        list.split(',').map(|n| n.trim().split("::").next().unwrap_or("")).collect()
                    }
                    None => vec![rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or("")],
                };
                for name in names {
                    if modules.contains(name) && name != from {
                        edges.insert(name.to_owned());
                    }
                }
            }
        }
    }
    graph
}

/// A cycle through `start`, if any, as the path of modules.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty");
        for next in graph.get(last).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_of_any_crate_imports_one_that_imports_it_back() {
    let mut cycles = Vec::new();
    for krate in CRATES {
        let graph = graph(&workspace().join(krate).join("src"));
        cycles.extend(
            graph.keys().filter_map(|m| cycle(&graph, m)).map(|c| format!("{krate}: {}", c.join(" → "))),
        );
    }
    // The graph is really read: the client's update path imports the write path.
    let client = graph(&workspace().join("onetable-client/src"));
    assert!(client["update"].contains("write"), "imports are read: {client:?}");
    let migrate = graph(&workspace().join("onetable-migrate/src"));
    assert!(migrate.len() >= 8 && migrate["runner"].contains("store"), "imports are read: {migrate:?}");
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

/// What building or sending a DynamoDB request looks like in code: the SDK client, or
/// one of its operations.
const SDK_REQUESTS: [&str; 16] = [
    ".client()",
    "aws_sdk_dynamodb::Client",
    "aws_sdk_dynamodb::operation",
    ".get_item()",
    ".put_item()",
    ".update_item()",
    ".delete_item()",
    ".query()",
    ".scan()",
    ".batch_get_item()",
    ".batch_write_item()",
    ".transact_write_items()",
    ".describe_table()",
    ".create_table()",
    ".update_table()",
    ".delete_table()",
];

#[test]
fn the_migration_engine_sends_every_request_through_the_client_request_layer() {
    let src = workspace().join("onetable-migrate/src");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(all.len() > 10, "the engine's sources were found: {all:?}");
    let mut found = Vec::new();
    for file in &all {
        // The CLI builds the client the application's table is given (from
        // aws-config): it configures a client, it sends nothing with it.
        let building_the_client = file.ends_with("cli/mod.rs");
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in code_lines(&text).enumerate() {
            for pattern in SDK_REQUESTS {
                if line.contains(pattern) && !(building_the_client && pattern == "aws_sdk_dynamodb::Client") {
                    found.push(format!("{}:{}: {pattern} in `{line}`", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "the engine builds requests of its own: {found:#?}");
    // The check would see one: the client's request layer builds them.
    let layer = std::fs::read_to_string(workspace().join("onetable-client/src/raw.rs")).expect("read");
    assert!(code_lines(&layer).any(|l| l.contains(".get_item()")), "the patterns match real code");
}

#[test]
fn no_library_file_is_over_600_lines() {
    let mut long = Vec::new();
    for krate in CRATES.iter().chain(["src"].iter()) {
        let dir = if *krate == "src" { workspace().join("src") } else { workspace().join(krate).join("src") };
        let mut all = Vec::new();
        files(&dir, &mut all);
        for file in all {
            let lines = std::fs::read_to_string(&file).expect("read").lines().count();
            if lines > 600 {
                long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "a file is one idea; these hold more: {long:#?}");
}
