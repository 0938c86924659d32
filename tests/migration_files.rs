//! Migrations kept as files, the way a service keeps them: the example's
//! `migrations/` directory compiled into this test as it is into the example. Each
//! file's text is part of its checksum; `generate` writes a file that compiles (the
//! copy in `tests/generated/` is what it wrote, compiled here); replicas of a service
//! running the migrations at start-up apply each once.

mod common;

#[path = "generated/mod.rs"]
mod generated;
#[path = "../examples/migrations/migrations/mod.rs"]
mod migrations;
#[path = "../examples/migrations/model.rs"]
mod model;

use model::{User, UserV1};
use onetable::migrate::MigrateErrorExt;
use onetable::migrate::{Bump, Migration, Migrations, Migrator, State};
use onetable::Table;
use std::path::{Path, PathBuf};

fn example_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/migrations/migrations")
}

/// The migration of `file` as if it were written from `text`.
fn from_text(m: &Migration, text: &str) -> Migration {
    let version = m.version().unwrap().to_string();
    Migration::new(&version, m.description()).source(text)
}

#[test]
fn each_file_is_embedded_whole_in_its_checksum() {
    let all = migrations::all();
    assert_eq!(
        all.directory().map(|d| d.canonicalize().unwrap()),
        Some(example_directory().canonicalize().unwrap()),
        "the directory is found from where the files were compiled"
    );
    assert_eq!(all.list().len(), 3);
    for m in all.list() {
        let text = std::fs::read_to_string(example_directory().join(m.file().unwrap())).unwrap();
        assert_eq!(m.checksum(), from_text(m, &text).checksum(), "{:?}", m.file());
        assert!(m.checksum().starts_with("sha256:"), "the checksum names its algorithm");
        // The same text with Windows line endings is the same code.
        assert_eq!(m.checksum(), from_text(m, &text.replace('\n', "\r\n")).checksum());
    }
}

#[tokio::test]
async fn editing_one_character_of_an_applied_migration_is_reported_before_anything_runs() {
    let name = onetable_local::unique_table_name("files");
    let client = common::local().client();
    let table = Table::builder(client.clone(), &name).entity::<User>().build().unwrap();
    let migrator = Migrator::new(table.clone()).migrations(migrations::all());
    let ran = migrator.up(Some("0.2.0")).await.unwrap();
    assert_eq!(ran.len(), 2);

    // One character of 0.2.0's `up` body changes: "gs1" becomes "gs2".
    let original = migrations::all();
    let file = example_directory().join(original.list()[1].file().unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let body = text.find("async fn up").unwrap();
    let at = body + text[body..].find("gs1").unwrap() + 2;
    let edited_text = format!("{}2{}", &text[..at], &text[at + 1..]);
    assert_eq!(edited_text.len(), text.len());
    let edited = Migrations::new(original.list().iter().map(|m| {
        if m.version().unwrap().to_string() == "0.2.0" {
            m.clone().source(&edited_text)
        } else {
            m.clone()
        }
    }));
    let edited = Migrator::new(table.clone()).migrations(edited);

    let status = edited.status().await.unwrap();
    assert_eq!(status.edited.iter().map(ToString::to_string).collect::<Vec<_>>(), ["0.2.0"]);
    let listed = edited.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|l| (l.version.to_string(), l.state)).collect::<Vec<_>>(),
        [
            ("0.1.0".into(), State::Applied),
            ("0.2.0".into(), State::Edited),
            ("0.3.0".into(), State::Outstanding)
        ]
    );
    let err = edited.up(None).await.unwrap_err();
    assert!(err.is_edited(), "{err}");
    assert!(err.to_string().contains("0.2.0"), "{err}");
    assert_eq!(edited.status().await.unwrap().outstanding.len(), 1, "0.3.0 did not run");

    // An edit made on purpose is recorded with `repair`; then up goes on.
    edited.repair("0.2.0").await.unwrap();
    assert!(edited.status().await.unwrap().edited.is_empty());
    assert_eq!(edited.up(None).await.unwrap().len(), 1);
    table.delete_table().await.unwrap();
}

#[test]
fn generate_writes_the_file_compiled_into_this_test() {
    let dir = std::env::temp_dir().join(format!("onetable-generate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let client = common::local().client();
    let table = Table::builder(client, "unused").entity::<User>().build().unwrap();
    let migrator = Migrator::new(table).migrations(migrations::all());
    let file = migrator.generate("add invoices", Bump::Minor, Some(&dir)).unwrap();
    assert_eq!(file, dir.join("v0_4_0_add_invoices.rs"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/generated");
    for name in ["mod.rs", "v0_4_0_add_invoices.rs"] {
        assert_eq!(
            std::fs::read_to_string(dir.join(name)).unwrap(),
            std::fs::read_to_string(fixture.join(name)).unwrap(),
            "{name}: tests/generated holds what generate writes"
        );
    }
    // The compiled copy is a migration like any other, its text in its checksum.
    let compiled = generated::all();
    let text = std::fs::read_to_string(fixture.join("v0_4_0_add_invoices.rs")).unwrap();
    assert_eq!(compiled.list()[0].checksum(), from_text(&compiled.list()[0], &text).checksum());
    // A second one goes after it, in the same list.
    let again = Migrator::new(Table::builder(common::local().client(), "unused").build().unwrap())
        .migrations(migrations::all())
        .migrations(generated::all());
    again.generate("bill monthly", Bump::Patch, Some(&dir)).unwrap();
    let registry = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
    assert!(registry.contains("    v0_4_0_add_invoices,\n    v0_4_1_bill_monthly,\n}"), "{registry}");
    // Until the binary is rebuilt it knows no 0.4.1, and would write it again: an
    // existing file is never overwritten.
    let err = again.generate("bill monthly", Bump::Patch, Some(&dir)).unwrap_err();
    assert!(err.to_string().contains("exists"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Replicas of a service deployed together, each running the migrations at start-up
/// (`Migrator::up` with the default wait): one applies them, the others wait, work on
/// its data migration meanwhile, and find nothing left to do. Every user is re-keyed
/// exactly once, and each migration is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_apply_each_migration_once() {
    const USERS: u32 = 2_000;
    let v1 = common::table(|t| t.entity::<UserV1>()).await;
    let mut batch = v1.batch_write().concurrency(8);
    for i in 0..USERS {
        batch = batch.put(UserV1 {
            id: format!("u{i}"),
            account: format!("a{}", i % 7),
            email: format!("u{i}@x"),
        });
    }
    batch.await.unwrap();
    let today = Table::builder(v1.client().clone(), v1.name()).entity::<User>().build().unwrap();

    let replicas = (0..4).map(|_| {
        let table = today.clone();
        tokio::spawn(async move { Migrator::new(table).migrations(migrations::all()).up(None).await })
    });
    let results: Vec<_> =
        futures_util::future::join_all(replicas).await.into_iter().map(|r| r.unwrap()).collect();
    let mut runners = 0;
    for result in &results {
        let ran = result.as_ref().unwrap_or_else(|e| panic!("every replica starts: {e}"));
        let own: Vec<String> = ran.iter().filter(|r| !r.worker).map(|r| r.version.to_string()).collect();
        match own.len() {
            0 => {}
            _ => {
                assert_eq!(own, ["0.1.0", "0.2.0", "0.3.0"]);
                runners += 1;
            }
        }
    }
    assert_eq!(runners, 1, "one replica applied the migrations: {results:?}");

    let status = Migrator::new(today.clone()).migrations(migrations::all()).status().await.unwrap();
    assert_eq!(status.applied.len(), 3, "each recorded once: {:?}", status.applied);
    assert!(status.outstanding.is_empty());
    let users = today.model::<User>();
    let mut found = 0;
    for a in 0..7 {
        found += users.find(User::partition(format!("a{a}"))).await.unwrap().items.len();
    }
    assert_eq!(found, USERS as usize, "every user in its account's partition");
    assert_eq!(
        common::scan_all(&today)
            .await
            .iter()
            .filter(|i| i.get("_type").is_some_and(|t| t.as_s().is_ok_and(|t| t == "User")))
            .count(),
        USERS as usize,
        "and nowhere else"
    );
    today.delete_table().await.unwrap();
}

/// Replicas of a new environment, whose table does not exist yet, start together: all
/// of them may try the migration that creates it before any lock can be kept in it. A
/// step that failed then runs again under the lock before its failure is recorded, so
/// every replica starts and each migration is recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_of_a_new_environment_create_its_table_once() {
    let name = onetable_local::unique_table_name("fresh");
    let today = Table::builder(common::local().client(), &name).entity::<User>().build().unwrap();
    let replicas = (0..4).map(|_| {
        let table = today.clone();
        tokio::spawn(async move { Migrator::new(table).migrations(migrations::all()).up(None).await })
    });
    for result in futures_util::future::join_all(replicas).await {
        result.unwrap().unwrap_or_else(|e| panic!("every replica starts: {e}"));
    }
    let status = Migrator::new(today.clone()).migrations(migrations::all()).status().await.unwrap();
    let recorded: Vec<String> =
        status.applied.iter().map(|r| format!("{} {:?}", r.version, r.outcome)).collect();
    assert_eq!(recorded, ["0.1.0 Applied", "0.2.0 Applied", "0.3.0 Applied"]);
    assert!(status.failed.is_none());
    today.delete_table().await.unwrap();
}
