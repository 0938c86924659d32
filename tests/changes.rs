//! Change streams as entities: DynamoDB Local's stream of a table, read with
//! aws-sdk-dynamodbstreams, decoded into entities and collections and compared with a
//! model of every acknowledged write; Lambda events decoded the same way.

mod common;
#[path = "../examples/support/stream.rs"]
mod stream;

use aws_sdk_dynamodb::types::StreamViewType;
use onetable::changes::{Change, Event, OtherKind, Others, StreamRecord};
use onetable::{AttributeValue, Collection, Entity, Item, Table};

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TEAM#${team}", sk = "TEAM")]
struct Team {
    team: String,
    name: String,
}

#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TEAM#${team}", sk = "PLAYER#${id}")]
struct Player {
    team: String,
    id: String,
    #[attr(unique)]
    email: String,
    goals: u32,
    #[attr(crypt)]
    phone: String,
}

#[derive(Collection, Debug, Clone, PartialEq)]
enum Roster {
    Team(Team),
    Player(Player),
}

/// An entity the decoders below do not know.
#[derive(Entity, Debug, Clone, PartialEq)]
#[key(pk = "TEAM#${team}", sk = "NOTE#${id}")]
struct Note {
    team: String,
    id: String,
}

async fn table(view: StreamViewType) -> Table {
    let name = onetable_local::unique_table_name("changes");
    let table = Table::builder(common::local().client(), name)
        .entity::<Team>()
        .entity::<Player>()
        .entity::<Note>()
        .crypto("primary", "pw")
        .build()
        .unwrap();
    table.create_table().stream(view).send().await.unwrap();
    table
}

fn player(id: &str, goals: u32) -> Player {
    Player {
        team: "red".into(),
        id: id.into(),
        email: format!("{id}@example.com"),
        goals,
        phone: format!("555-{id}"),
    }
}

async fn records(table: &Table, wanted: usize) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    stream::read_all(table.client(), &stream::local_client(common::local().endpoint()), table.name(), wanted)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_acknowledged_write_comes_back_as_a_typed_change() {
    let table = table(StreamViewType::NewAndOldImages).await;
    let (teams, players) = (table.model::<Team>(), table.model::<Player>());
    // The model: every change the writes below make to entities, in order.
    let mut expected: Vec<Change<Roster>> = Vec::new();

    let red = Team { team: "red".into(), name: "Red".into() };
    teams.create(red.clone()).await.unwrap();
    expected.push(Change::Insert(Roster::Team(red.clone())));
    for i in 0..5 {
        let p = players.create(player(&format!("p{i}"), 0)).await.unwrap();
        expected.push(Change::Insert(Roster::Player(p)));
    }
    let before = player("p1", 0);
    let after = players.update(Player::key("red", "p1")).add(Player::GOALS, 2).await.unwrap();
    expected.push(Change::Modify { old: Some(Roster::Player(before)), new: Roster::Player(after.clone()) });
    let renamed = Team { name: "Red Rovers".into(), ..red.clone() };
    teams.put(renamed.clone()).await.unwrap();
    expected.push(Change::Modify { old: Some(Roster::Team(red)), new: Roster::Team(renamed) });
    let removed = players.remove(Player::key("red", "p3")).await.unwrap().unwrap();
    expected.push(Change::Remove { old: Roster::Player(removed), expired: false });
    let mut batch = table.batch_write();
    for i in 5..8 {
        let team = Team { team: format!("t{i}"), name: format!("Team {i}") };
        batch = batch.put(team.clone());
        expected.push(Change::Insert(Roster::Team(team)));
    }
    batch.await.unwrap();
    table.model::<Note>().create(Note { team: "red".into(), id: "n1".into() }).await.unwrap();
    // A raw SDK write of an item in onetable's format is decoded like any other.
    let raw = player("p9", 9);
    let item = players.to_item(&raw).unwrap();
    table.client().put_item().table_name(table.name()).set_item(Some(item)).send().await.unwrap();
    expected.push(Change::Insert(Roster::Player(raw)));

    // 1 team, 5 players and their sentinels, an update, a put, a removal and its
    // sentinel, 3 batch puts, a note, a raw put.
    let records = records(&table, 20).await;
    assert_eq!(records.len(), 20);

    // Decoding into the collection, others skipped: exactly the model, in order.
    let changes = table.changes::<Roster>();
    let decoded: Vec<Change<Roster>> =
        records.iter().cloned().filter_map(|r| changes.decode(r).unwrap()).collect();
    assert_eq!(decoded, expected);

    // Reported, the others are the sentinels and the unknown note, nothing else.
    let reported = table.changes::<Roster>().others(Others::Report);
    let others: Vec<(OtherKind, Event)> = records
        .iter()
        .cloned()
        .filter_map(|r| match reported.decode(r).unwrap() {
            Some(Change::Other(o)) => Some((o.kind, o.event)),
            _ => None,
        })
        .collect();
    let sentinels = others.iter().filter(|(k, _)| *k == OtherKind::Unique).count();
    assert_eq!(sentinels, 5 + 1, "one per created player, one released by the removal: {others:?}");
    assert!(others.contains(&(OtherKind::Unknown(Some("Note".into())), Event::Insert)), "{others:?}");
    assert_eq!(others.len() + expected.len(), records.len(), "every record is a change or an other");

    // Refusing others fails on the first sentinel, naming what it is.
    let strict = table.changes::<Roster>().others(Others::Error);
    let err = records.iter().cloned().map(|r| strict.decode(r)).find_map(Result::err).unwrap();
    assert!(err.to_string().contains("unique-field sentinel"), "{err}");

    // One entity's decoder leaves the others out, as unknown types.
    let players_only = players.changes();
    let inserted: Vec<String> = records
        .iter()
        .cloned()
        .filter_map(|r| match players_only.decode(r).unwrap() {
            Some(Change::Insert(p)) => Some(p.id),
            _ => None,
        })
        .collect();
    assert_eq!(inserted, ["p0", "p1", "p2", "p3", "p4", "p9"]);
    // The phone number was stored encrypted and is read decrypted.
    let stored = table
        .client()
        .get_item()
        .table_name(table.name())
        .set_key(Some(key("TEAM#red", "PLAYER#p1")))
        .send()
        .await
        .unwrap();
    assert_ne!(stored.item.unwrap()["phone"], AttributeValue::S("555-p1".into()));
    assert!(matches!(&decoded[6], Change::Modify { new: Roster::Player(p), .. } if p.phone == "555-p1"));
}

fn key(pk: &str, sk: &str) -> Item {
    [("pk".to_owned(), AttributeValue::S(pk.into())), ("sk".to_owned(), AttributeValue::S(sk.into()))].into()
}

#[tokio::test]
async fn a_stream_without_the_images_needed_is_refused_not_guessed() {
    // New images only: a modification has no old entity, a removal cannot be read.
    let table = table(StreamViewType::NewImage).await;
    let teams = table.model::<Team>();
    teams.create(Team { team: "blue".into(), name: "Blue".into() }).await.unwrap();
    teams.update(Team::key("blue")).set(Team::NAME, "Navy".to_owned()).await.unwrap();
    teams.remove(Team::key("blue")).await.unwrap();
    let records = records(&table, 3).await;
    assert_eq!(records.len(), 3);
    let changes = teams.changes();
    let mut decoded = records.into_iter().map(|r| changes.decode(r));
    assert!(matches!(decoded.next(), Some(Ok(Some(Change::Insert(t)))) if t.name == "Blue"));
    assert!(
        matches!(decoded.next(), Some(Ok(Some(Change::Modify { old: None, new }))) if new.name == "Navy")
    );
    let err = decoded.next().unwrap().unwrap_err();
    assert!(err.to_string().contains("NEW_AND_OLD_IMAGES"), "{err}");

    // Keys only: nothing can be decoded, and each record says why.
    let table = self::table(StreamViewType::KeysOnly).await;
    table.model::<Team>().create(Team { team: "green".into(), name: "Green".into() }).await.unwrap();
    let records = self::records(&table, 1).await;
    let err = table.model::<Team>().changes().decode(records[0].clone()).unwrap_err();
    assert!(err.to_string().contains("has no image"), "{err}");
}

/// A Lambda event as DynamoDB Streams delivers it, of items onetable wrote.
fn lambda_event(table: &Table) -> serde_json::Value {
    fn json(value: &AttributeValue) -> serde_json::Value {
        match value {
            AttributeValue::S(s) => serde_json::json!({ "S": s }),
            AttributeValue::N(n) => serde_json::json!({ "N": n }),
            AttributeValue::Bool(b) => serde_json::json!({ "BOOL": b }),
            AttributeValue::M(m) => serde_json::json!({ "M": image(m) }),
            other => panic!("not in this event: {other:?}"),
        }
    }
    fn image(item: &Item) -> serde_json::Value {
        item.iter().map(|(k, v)| (k.clone(), json(v))).collect::<serde_json::Map<_, _>>().into()
    }
    let players = table.model::<Player>();
    let (old, new) = (players.to_item(&player("p1", 0)).unwrap(), players.to_item(&player("p1", 3)).unwrap());
    let keys = image(&key("TEAM#red", "PLAYER#p1"));
    let record = |name: &str, images: serde_json::Value, identity: Option<serde_json::Value>| {
        let mut dynamodb = serde_json::json!({
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": keys,
            "SequenceNumber": "100",
            "SizeBytes": 200,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        });
        dynamodb.as_object_mut().unwrap().extend(images.as_object().unwrap().clone());
        let mut record = serde_json::json!({
            "eventID": "1",
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": dynamodb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/app/stream/2026-11-30T00:00:00.000",
        });
        if let Some(identity) = identity {
            record["userIdentity"] = identity;
        }
        record
    };
    let ttl = serde_json::json!({ "type": "Service", "principalId": "dynamodb.amazonaws.com" });
    serde_json::json!({ "Records": [
        record("INSERT", serde_json::json!({ "NewImage": image(&old) }), None),
        record("MODIFY", serde_json::json!({ "OldImage": image(&old), "NewImage": image(&new) }), None),
        record("REMOVE", serde_json::json!({ "OldImage": image(&new) }), Some(ttl)),
    ]})
}

#[tokio::test]
async fn a_lambda_event_decodes_like_the_stream() {
    let table = table(StreamViewType::NewAndOldImages).await;
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(lambda_event(&table)).unwrap();
    let changes = table.model::<Player>().changes();
    let decoded: Vec<Change<Player>> =
        event.records.into_iter().map(|r| changes.decode(r).unwrap().unwrap()).collect();
    assert_eq!(
        decoded,
        [
            Change::Insert(player("p1", 0)),
            Change::Modify { old: Some(player("p1", 0)), new: player("p1", 3) },
            Change::Remove { old: player("p1", 3), expired: true },
        ]
    );

    // A record made by hand (another source) decodes the same way.
    let record = StreamRecord {
        event: Event::Insert,
        keys: key("TEAM#red", "PLAYER#p1"),
        old_image: None,
        new_image: Some(table.model::<Player>().to_item(&player("p1", 0)).unwrap()),
        expired: false,
    };
    assert_eq!(changes.decode(record).unwrap(), Some(Change::Insert(player("p1", 0))));
}
