//! Field validation against DynamoDB Local: every write path checks each value it
//! writes against its field's rules before anything is sent, and refuses a value that
//! breaks one with an error naming the entity, field, value and rule.

mod common;

use common::Requests;
use onetable::Entity;

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "PROFILE#${id}", sk = "PROFILE")]
struct Profile {
    id: String,
    #[attr(validate = "^[a-z0-9_]+$", length(min = 3, max = 16))]
    handle: String,
    #[attr(range(min = 0, max = 150))]
    age: u32,
    #[attr(range(min = -1.5, max = 1.5))]
    score: Option<f64>,
    #[attr(map = "data.bio", length(max = 20))]
    bio: Option<String>,
    #[attr(crypt, validate = "^\\+[0-9]{6,15}$")]
    phone: Option<String>,
}

fn profile(id: &str) -> Profile {
    Profile {
        id: id.into(),
        handle: "ann_42".into(),
        age: 30,
        score: Some(0.5),
        bio: Some("hello".into()),
        phone: Some("+4412345678".into()),
    }
}

/// Each bad profile, and the field and words its error must name.
fn bad_profiles() -> Vec<(Profile, &'static str, &'static str)> {
    vec![
        (
            Profile { handle: "Ann!".into(), ..profile("b1") },
            "Profile.handle",
            "does not match /^[a-z0-9_]+$/",
        ),
        (Profile { handle: "an".into(), ..profile("b2") }, "Profile.handle", "under the minimum of 3"),
        (Profile { handle: "a".repeat(17), ..profile("b3") }, "Profile.handle", "over the maximum of 16"),
        (Profile { age: 151, ..profile("b4") }, "Profile.age", "over the maximum of 150"),
        (Profile { score: Some(-2.0), ..profile("b5") }, "Profile.score", "under the minimum of -1.5"),
        (Profile { bio: Some("é".repeat(21)), ..profile("b6") }, "Profile.bio", "21 characters long"),
        (Profile { phone: Some("12345".into()), ..profile("b7") }, "Profile.phone", "does not match"),
    ]
}

#[tokio::test]
async fn every_write_path_refuses_a_value_that_breaks_its_rules_before_sending() {
    let requests = Requests::default();
    let table =
        common::table_with_client(requests.client(), |t| t.entity::<Profile>().crypto("primary", "pw")).await;
    let profiles = table.model::<Profile>();

    // Values within the rules, and absent ones, are written.
    profiles.create(profile("ok")).await.unwrap();
    profiles.create(Profile { score: None, bio: None, phone: None, ..profile("sparse") }).await.unwrap();
    let stored = profiles.get(Profile::key("ok")).await.unwrap().unwrap();
    assert_eq!(stored, profile("ok"), "the encrypted phone was checked in clear and reads back");

    requests.reset();
    for (bad, field, rule) in bad_profiles() {
        let check = |e: onetable::Error, how: &str| {
            assert!(e.is_validation() && e.is_invalid(), "{how}: {e}");
            let message = e.to_string();
            assert!(message.contains(field) && message.contains(rule), "{how}: {message}");
        };
        check(profiles.create(bad.clone()).await.unwrap_err(), "create");
        check(profiles.put(bad.clone()).await.unwrap_err(), "put");
        check(table.batch_write().put(bad.clone()).await.unwrap_err(), "batch put");
        check(table.transaction().create(profiles.create(bad.clone())).await.unwrap_err(), "transaction");
    }
    // An encrypted field's value stays out of the message.
    let err = profiles.create(Profile { phone: Some("12345".into()), ..profile("b8") }).await.unwrap_err();
    assert!(!err.to_string().contains("12345") && err.to_string().contains("not shown"), "{err}");
    assert_eq!(requests.total(), 0, "nothing was sent for a value that breaks a rule");

    // An update checks each value it sets; an `add` is a delta, left to DynamoDB.
    let err = profiles.update(Profile::key("ok")).set(Profile::HANDLE, "NO").await.unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert!(err.to_string().contains(r#"Profile.handle: the value "NO" does not match"#), "{err}");
    let err = profiles.update(Profile::key("ok")).set_if_not_exists(Profile::AGE, 200u32).await.unwrap_err();
    assert!(err.to_string().contains("Profile.age: the value \"200\" is over the maximum of 150"), "{err}");
    let err = profiles.update(Profile::key("ok")).set(Profile::BIO, Some("x".repeat(30))).await.unwrap_err();
    assert!(err.is_validation(), "a packed field too: {err}");
    let err =
        profiles.update(Profile::key("ok")).set(Profile::PHONE, Some("0".to_owned())).await.unwrap_err();
    assert!(err.is_validation(), "an encrypted field is checked in clear: {err}");
    assert_eq!(requests.total(), 0);
    profiles
        .update(Profile::key("ok"))
        .set(Profile::HANDLE, "ann_43")
        .set(Profile::SCORE, None::<f64>)
        .await
        .unwrap();
    profiles.update(Profile::key("ok")).add(Profile::AGE, 1u32).await.unwrap();
    let stored = profiles.get(Profile::key("ok")).await.unwrap().unwrap();
    assert_eq!((stored.handle.as_str(), stored.age, stored.score), ("ann_43", 31, None));
}

#[tokio::test]
async fn the_saved_schema_spells_a_pattern_as_onetable_does() {
    let table = common::table_named("schema-only", |t| t.entity::<Profile>().crypto("primary", "pw"));
    let item = table.schema_item(&onetable::migrate::Version::parse("0.1.0").unwrap());
    let text = format!("{item:?}");
    assert!(text.contains(r#"S("/^[a-z0-9_]+$/")"#), "{text}");
}

#[tokio::test]
async fn items_stored_before_a_rule_existed_read_and_migrate_but_an_application_write_keeps_the_rule() {
    let table = common::table(|t| t.entity::<Profile>().crypto("primary", "pw")).await;
    let profiles = table.model::<Profile>();
    // Written before the rule (or by a tool that knows none): a handle too short.
    let old = Profile { handle: "x".into(), phone: None, ..profile("old") };
    let item = profiles.to_item(&old).expect("a conversion checks no rule");
    table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    assert_eq!(profiles.get(Profile::key("old")).await.unwrap(), Some(old.clone()), "it reads");

    // A data migration rewrites it as stored; the application cannot write it so.
    let migrator = onetable::migrate::Migrator::new(table.clone()).migration(
        onetable::migrate::Migration::new("0.1.0", "a year older").up(|ctx| async move {
            ctx.transform("age", |p: Profile| Some(Profile { age: p.age + 1, ..p })).run().await.map(|_| ())
        }),
    );
    migrator.up(None).await.unwrap();
    let migrated = profiles.get(Profile::key("old")).await.unwrap().unwrap();
    assert_eq!((migrated.handle.as_str(), migrated.age), ("x", 31));
    let err = profiles.put(migrated).await.unwrap_err();
    assert!(err.is_validation(), "{err}");
}
