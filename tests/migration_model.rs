//! Data migrations checked against a model, against DynamoDB Local: cases drawn from a
//! seed, each a random evolution of one entity (renamed attribute, new map key, unique
//! value lower-cased or not, in place or re-keyed), random items (attributes of
//! another service's, map keys the entity does not declare, unique values that clash,
//! new keys already taken), and application tasks mixing the old code (design 0.1.0)
//! and the new (design 0.2.0, with the migration's conversion registered or through
//! `Rekey`) through updates, puts, removes, creates and transactions while the
//! migration runs. Each task owns its ids, so its model of them is exact; afterwards
//! the whole table is compared with the model: every acknowledged write there, every
//! item converted once, in the new form, keeping what is not the entity's, one unique
//! sentinel per value held, the conflicts left as they were and listed.
//!
//! `ONETABLE_MODEL_CASES` sets the number of cases (default 200), `ONETABLE_MODEL_SEED`
//! the first seed; a failure names its seed, which alone replays it.

mod common;

/// Cases in a run, unless `ONETABLE_MODEL_CASES` says otherwise.
const CASES: u64 = 200;

/// Cases run at once.
const AT_ONCE: usize = 4;

use futures_util::StreamExt;
use onetable::migrate::{Conflicts, MigrateErrorExt, Migration, Migrator, Rekey, DESIGN_ATTRIBUTE};
use onetable::{AttributeValue, Entity, Item, Table, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Value, Debug, Clone, PartialEq)]
struct PrefsV1 {
    theme: String,
}

#[derive(Value, Debug, Clone, PartialEq)]
struct Prefs {
    theme: String,
    lang: String,
}

/// The old code's profile.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Profile", design = "0.1.0")]
#[key(pk = "PROFILE#${id}", sk = "PROFILE")]
struct ProfileV1 {
    id: u32,
    org: u32,
    #[attr(unique)]
    email: String,
    name: String,
    prefs: PrefsV1,
    count: u32,
    passes: u32,
}

/// The new code's, in place: `name` became `display`, the preferences gained `lang`.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Profile", design = "0.2.0")]
#[key(pk = "PROFILE#${id}", sk = "PROFILE")]
struct Profile {
    id: u32,
    org: u32,
    #[attr(unique)]
    email: String,
    display: String,
    prefs: Prefs,
    count: u32,
    passes: u32,
}

/// The new code's, re-keyed into the organisation's partition.
#[derive(Entity, Debug, Clone, PartialEq)]
#[entity(name = "Profile", design = "0.2.0")]
#[key(pk = "ORG#${org}", sk = "PROFILE#${id}")]
struct ProfileMoved {
    id: u32,
    org: u32,
    #[attr(unique)]
    email: String,
    display: String,
    prefs: Prefs,
    count: u32,
    passes: u32,
}

impl From<Profile> for ProfileMoved {
    fn from(p: Profile) -> Self {
        ProfileMoved {
            id: p.id,
            org: p.org,
            email: p.email,
            display: p.display,
            prefs: p.prefs,
            count: p.count,
            passes: p.passes,
        }
    }
}

/// The migration's conversion (which the new code registers too). Not idempotent:
/// `passes + 1`, and `display` gains a `!`, so an item converted twice shows.
fn convert(lower: bool) -> impl Fn(ProfileV1) -> Profile + Clone + Send + Sync + 'static {
    move |p| Profile {
        id: p.id,
        org: p.org,
        email: if lower { p.email.to_lowercase() } else { p.email },
        display: format!("{}!", p.name),
        prefs: Prefs { theme: p.prefs.theme, lang: "en".into() },
        count: p.count,
        passes: p.passes + 1,
    }
}

/// splitmix64: cases and tasks drawn from a seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

/// One case: the evolution, the data, the traffic and the migration's options.
#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    rekey: bool,
    lower: bool,
    /// Items the application tasks own.
    items: u32,
    /// Pairs of items whose unique values clash once lower-cased.
    clashes: u32,
    /// Items whose new key another item holds already.
    collisions: u32,
    /// Items with attributes and map keys of another service's.
    foreign: BTreeSet<u32>,
    tasks: u32,
    /// The share of the tasks' operations made by the old code, in percent.
    old_share: u32,
    segments: u32,
    concurrency: usize,
    /// How long the traffic runs before the migration starts.
    head_start: Duration,
}

impl Case {
    fn draw(seed: u64) -> Case {
        let mut rng = Rng(seed);
        let (rekey, lower) = (rng.chance(50), rng.chance(60));
        let items = 4 + rng.below(24);
        Case {
            seed,
            rekey,
            lower,
            items,
            clashes: if lower { rng.below(3) } else { 0 },
            collisions: if rekey { rng.below(3) } else { 0 },
            foreign: (0..items + 20).filter(|_| rng.chance(50)).collect(),
            tasks: 1 + rng.below(3),
            old_share: rng.below(101),
            segments: 1 + rng.below(4),
            concurrency: 1 + rng.below(8) as usize,
            head_start: Duration::from_millis(u64::from(rng.below(150))),
        }
    }

    /// The ids of the clashing pairs: the mixed-case one (left by the migration) and
    /// the lower-case one.
    fn clash(&self, k: u32) -> (u32, u32) {
        (self.items + 2 * k, self.items + 2 * k + 1)
    }

    fn collision(&self, k: u32) -> u32 {
        self.items + 10 + k
    }

    /// The items the migration must leave as they are.
    fn conflicting(&self) -> BTreeSet<u32> {
        let clashes = (0..self.clashes).map(|k| self.clash(k).0);
        clashes.chain((0..self.collisions).map(|k| self.collision(k))).collect()
    }

    fn email(id: u32) -> String {
        format!("User{id}@Mail.COM")
    }
}

fn org(id: u32) -> u32 {
    id % 3
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

/// What the application knows of one item it owns, in the new form.
#[derive(Debug, Clone, PartialEq)]
struct Expect {
    count: u32,
    display: String,
    email: String,
    theme: String,
    /// The item still holds another service's attribute and map key.
    foreign: bool,
}

type Model = BTreeMap<u32, Option<Expect>>;

/// Both views of the table: the old code's and the new code's.
#[derive(Clone)]
struct Code {
    old: Table,
    new: Table,
    lower: bool,
    rekey: bool,
}

impl Code {
    fn new_email(&self, email: &str) -> String {
        if self.lower {
            email.to_lowercase()
        } else {
            email.to_owned()
        }
    }
}

/// What one task saw.
#[derive(Default)]
struct Seen {
    model: Model,
    failures: Vec<String>,
    acknowledged: usize,
    /// Old-code writes refused because the item was in the new design already.
    refused: usize,
}

/// One application task: random operations on its own ids until `stop`.
async fn task(code: Code, mut rng: Rng, mut model: Model, old_share: u32, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let ids: Vec<u32> = model.keys().copied().collect();
    let rekey = Rekey::new(&code.new, {
        let convert = convert(code.lower);
        move |p: ProfileV1| ProfileMoved::from(convert(p))
    });
    let mut generation = 0u32;
    while !stop.load(Ordering::Relaxed) {
        generation += 1;
        let id = ids[rng.below(ids.len() as u32) as usize];
        let expect = model[&id].clone();
        let outcome = if rng.chance(old_share) {
            old_code(&code, &mut rng, id, expect, generation).await
        } else {
            new_code(&code, &rekey, &mut rng, id, expect, generation, &ids, &model).await
        };
        match outcome {
            Outcome::Done(changes) => {
                seen.acknowledged += 1;
                model.extend(changes);
            }
            Outcome::Refused => seen.refused += 1,
            Outcome::Nothing => {}
            Outcome::Failed(why) => seen.failures.push(format!("{id}: {why}")),
        }
        tokio::task::yield_now().await;
    }
    seen.model = model;
    seen
}

enum Outcome {
    /// Acknowledged: the model's new state of these ids.
    Done(Vec<(u32, Option<Expect>)>),
    /// Refused, as it must be: nothing written.
    Refused,
    /// Nothing to do, or nothing found where the old code cannot find it any more.
    Nothing,
    /// An outcome the model says cannot happen.
    Failed(String),
}

/// The old code: updates, puts and removes of its own form. During a re-key it only
/// updates (a re-key is deployed as `Rekey` code first: old code that puts or removes
/// an old key after the item moved would write beside it).
async fn old_code(code: &Code, rng: &mut Rng, id: u32, expect: Option<Expect>, generation: u32) -> Outcome {
    let profiles = code.old.model::<ProfileV1>();
    let refused = |e: onetable::Error, what: &str| {
        if e.is_newer_design() {
            Outcome::Refused
        } else if e.is_not_found() && (expect.is_none() || code.rekey) {
            Outcome::Nothing
        } else {
            Outcome::Failed(format!("old {what}: {e}"))
        }
    };
    match (rng.below(3), &expect) {
        (1, Some(e)) if !code.rekey => {
            let name = format!("o{id}-{generation}");
            let theme = format!("t{generation}");
            let put = ProfileV1 {
                id,
                org: org(id),
                email: Case::email(id),
                name: name.clone(),
                prefs: PrefsV1 { theme: theme.clone() },
                count: e.count + 1,
                passes: 0,
            };
            match profiles.put(put).await {
                Ok(_) => Outcome::Done(vec![(
                    id,
                    Some(Expect { count: e.count + 1, display: format!("{name}!"), theme, ..e.clone() }),
                )]),
                Err(err) => refused(err, "put"),
            }
        }
        (2, Some(_)) if !code.rekey => match profiles.remove(ProfileV1::key(id)).await {
            Ok(_) => Outcome::Done(vec![(id, None)]),
            Err(err) => refused(err, "remove"),
        },
        (_, _) => match profiles.update(ProfileV1::key(id)).add(ProfileV1::COUNT, 1).await {
            Ok(p) => match &expect {
                Some(e) if p.count == e.count + 1 => {
                    Outcome::Done(vec![(id, Some(Expect { count: e.count + 1, ..e.clone() }))])
                }
                _ => Outcome::Failed(format!("old update: count {} after {expect:?}", p.count)),
            },
            Err(err) => refused(err, "update"),
        },
    }
}

/// The new code: every write API, on its own form, through the conversion it
/// registered (in place) or through `Rekey`.
#[allow(clippy::too_many_arguments)]
async fn new_code(
    code: &Code,
    rekey: &Rekey<ProfileV1, ProfileMoved>,
    rng: &mut Rng,
    id: u32,
    expect: Option<Expect>,
    generation: u32,
    ids: &[u32],
    model: &Model,
) -> Outcome {
    let fresh = |id: u32| {
        let email = format!("new{id}-{generation}@x.com");
        let display = format!("c{generation}");
        let profile = Profile {
            id,
            org: org(id),
            email: email.clone(),
            display: display.clone(),
            prefs: Prefs { theme: "fresh".into(), lang: "en".into() },
            count: 0,
            passes: 1,
        };
        let expect = Expect { count: 0, display, email, theme: "fresh".into(), foreign: false };
        (profile, expect)
    };
    let Some(e) = expect else {
        // Created anew by the new code.
        let (profile, expect) = fresh(id);
        let created = match code.rekey {
            true => code.new.model::<ProfileMoved>().create(profile.into()).await.map(|_| ()),
            false => code.new.model::<Profile>().create(profile).await.map(|_| ()),
        };
        return match created {
            Ok(()) => Outcome::Done(vec![(id, Some(expect))]),
            Err(err) => Outcome::Failed(format!("create: {err}")),
        };
    };
    let check = |count: u32, display: &str, email: &str, passes: u32, want: &Expect| {
        let got = (count, display, email, passes);
        let wanted = (want.count, want.display.as_str(), want.email.as_str(), 1);
        (got != wanted).then(|| format!("read {got:?}, the model says {wanted:?}"))
    };
    match rng.below(5) {
        // An update of one attribute.
        0 | 1 => {
            let updated = match code.rekey {
                true => rekey
                    .update(ProfileMoved::key(org(id), id), ProfileV1::key(id), |u| {
                        u.add(ProfileMoved::COUNT, 1)
                    })
                    .await
                    .map(|p| (p.count, p.display, p.email, p.passes)),
                false => code
                    .new
                    .model::<Profile>()
                    .update(Profile::key(id))
                    .add(Profile::COUNT, 1)
                    .await
                    .map(|p| (p.count, p.display, p.email, p.passes)),
            };
            let want = Expect { count: e.count + 1, ..e };
            match updated {
                Ok((count, display, email, passes)) => match check(count, &display, &email, passes, &want) {
                    None => Outcome::Done(vec![(id, Some(want))]),
                    Some(why) => Outcome::Failed(format!("update: {why}")),
                },
                Err(err) => Outcome::Failed(format!("update: {err}")),
            }
        }
        // A read, then a put of the whole entity.
        2 => {
            let display = format!("w{generation}");
            let theme = format!("n{generation}");
            let want =
                Expect { count: e.count + 1, display: display.clone(), theme: theme.clone(), ..e.clone() };
            let put = match code.rekey {
                true => match rekey.get(ProfileMoved::key(org(id), id), ProfileV1::key(id)).await {
                    Ok(Some(p)) => match check(p.count, &p.display, &p.email, p.passes, &e) {
                        None => {
                            let next = ProfileMoved {
                                display,
                                prefs: Prefs { theme, lang: "en".into() },
                                count: p.count + 1,
                                ..p
                            };
                            rekey.put(next, ProfileV1::key(id)).await.map(|_| ())
                        }
                        Some(why) => return Outcome::Failed(format!("get: {why}")),
                    },
                    other => return Outcome::Failed(format!("get: {other:?}")),
                },
                false => {
                    let profiles = code.new.model::<Profile>();
                    match profiles.get(Profile::key(id)).consistent().await {
                        Ok(Some(p)) => match check(p.count, &p.display, &p.email, p.passes, &e) {
                            None => {
                                let next = Profile {
                                    display,
                                    prefs: Prefs { theme, lang: "en".into() },
                                    count: p.count + 1,
                                    ..p
                                };
                                profiles.put(next).await.map(|_| ())
                            }
                            Some(why) => return Outcome::Failed(format!("get: {why}")),
                        },
                        other => return Outcome::Failed(format!("get: {other:?}")),
                    }
                }
            };
            match put {
                Ok(()) => Outcome::Done(vec![(id, Some(want))]),
                Err(err) => Outcome::Failed(format!("put: {err}")),
            }
        }
        3 => {
            let removed = match code.rekey {
                true => rekey.remove(ProfileMoved::key(org(id), id), ProfileV1::key(id)).await,
                false => code.new.model::<Profile>().remove(Profile::key(id)).await.map(|_| ()),
            };
            match removed {
                Ok(()) => Outcome::Done(vec![(id, None)]),
                Err(err) => Outcome::Failed(format!("remove: {err}")),
            }
        }
        // A transaction updating two items (in place: a re-key's transaction writes
        // whole new-form items, which `Rekey::put` stands for).
        _ if !code.rekey => {
            let other = ids[rng.below(ids.len() as u32) as usize];
            let Some(o) = model[&other].clone().filter(|_| other != id) else { return Outcome::Nothing };
            let profiles = code.new.model::<Profile>();
            let sent = code
                .new
                .transaction()
                .update(profiles.update(Profile::key(id)).add(Profile::COUNT, 1))
                .update(profiles.update(Profile::key(other)).add(Profile::COUNT, 1))
                .await;
            match sent {
                Ok(()) => Outcome::Done(vec![
                    (id, Some(Expect { count: e.count + 1, ..e })),
                    (other, Some(Expect { count: o.count + 1, ..o })),
                ]),
                Err(err) => Outcome::Failed(format!("transaction: {err}")),
            }
        }
        _ => Outcome::Nothing,
    }
}

/// Writes the case's items in the old form, as the old code does, then gives some
/// of them attributes and map keys of another service's; and, for a re-key, items of
/// another entity where some new keys fall. Returns the items the migration must
/// leave, as they are.
async fn seed(case: &Case, code: &Code) -> BTreeMap<u32, Item> {
    let profiles = code.old.model::<ProfileV1>();
    let mut all: Vec<(u32, String)> = (0..case.items).map(|id| (id, Case::email(id))).collect();
    for k in 0..case.clashes {
        let (upper, lower) = case.clash(k);
        all.push((upper, format!("Twin{k}@X.com")));
        all.push((lower, format!("twin{k}@x.com")));
    }
    all.extend((0..case.collisions).map(|k| (case.collision(k), Case::email(case.collision(k)))));
    for (id, email) in all {
        let name = format!("n{id}");
        let prefs = PrefsV1 { theme: "dark".into() };
        profiles
            .create(ProfileV1 { id, org: org(id), email, name, prefs, count: 0, passes: 0 })
            .await
            .unwrap();
        if case.foreign.contains(&id) {
            let key = ProfileV1::key(id).into_attrs().unwrap();
            code.old
                .client()
                .update_item()
                .table_name(code.old.name())
                .set_key(Some(key))
                .update_expression("SET x_theirs = :t, prefs.ext = :e")
                .expression_attribute_values(":t", s(&format!("theirs {id}")))
                .expression_attribute_values(":e", s("keep"))
                .send()
                .await
                .unwrap();
        }
    }
    for k in 0..case.collisions {
        let id = case.collision(k);
        let occupant = Item::from([
            ("pk".to_owned(), s(&format!("ORG#{}", org(id)))),
            ("sk".to_owned(), s(&format!("PROFILE#{id}"))),
            ("_type".to_owned(), s("Other")),
        ]);
        code.old
            .client()
            .put_item()
            .table_name(code.old.name())
            .set_item(Some(occupant))
            .send()
            .await
            .unwrap();
    }
    let stored: BTreeMap<u32, Item> = common::scan_all(&code.old)
        .await
        .into_iter()
        .filter(|i| i.get("_type") == Some(&s("Profile")))
        .map(|i| (i["id"].as_n().unwrap().parse().unwrap(), i))
        .collect();
    case.conflicting().into_iter().map(|id| (id, stored[&id].clone())).collect()
}

fn migrator(case: &Case, table: &Table) -> Migrator {
    let (rekey, lower, segments, concurrency) = (case.rekey, case.lower, case.segments, case.concurrency);
    Migrator::new(table.clone()).migration(Migration::new("0.2.0", "profiles: display names, languages").up(
        move |ctx| async move {
            let run = match rekey {
                true => {
                    let convert = convert(lower);
                    ctx.transform("move", move |p: ProfileV1| Some(ProfileMoved::from(convert(p))))
                        .segments(segments)
                        .concurrency(concurrency)
                        .on_conflict(Conflicts::Leave)
                        .run()
                        .await
                }
                false => {
                    ctx.transform("in place", move |p: ProfileV1| Some(convert(lower)(p)))
                        .segments(segments)
                        .concurrency(concurrency)
                        .on_conflict(Conflicts::Leave)
                        .run()
                        .await
                }
            };
            run.map(|_| ())
        },
    ))
}

/// What a case ran into, for the summary.
#[derive(Default, Debug)]
struct Totals {
    acknowledged: usize,
    refused: usize,
    incomplete: usize,
}

async fn run_case(case: &Case, totals: &mut Totals) {
    let new = match case.rekey {
        true => common::table(|t| t.entity::<ProfileMoved>()).await,
        false => common::table(|t| t.entity::<Profile>().upgrade(convert(case.lower))).await,
    };
    let old = common::table_named(new.name(), |t| t.entity::<ProfileV1>());
    let code = Code { old, new: new.clone(), lower: case.lower, rekey: case.rekey };
    let left = seed(case, &code).await;

    // The tasks own the items of `0..items`, dealt round-robin.
    let stop = Arc::new(AtomicBool::new(false));
    let mut rng = Rng(case.seed ^ 0x5EED);
    let tasks: Vec<_> = (0..case.tasks)
        .map(|t| {
            let model: Model = (0..case.items)
                .filter(|id| id % case.tasks == t)
                .map(|id| {
                    let expect = Expect {
                        count: 0,
                        display: format!("n{id}!"),
                        email: code.new_email(&Case::email(id)),
                        theme: "dark".into(),
                        foreign: case.foreign.contains(&id),
                    };
                    (id, Some(expect))
                })
                .collect();
            let rng = Rng(rng.next());
            tokio::spawn(task(code.clone(), rng, model, case.old_share, stop.clone()))
        })
        .collect();
    tokio::time::sleep(case.head_start).await;
    let migrator = migrator(case, &new);
    let first = migrator.up(None).await;
    // The traffic goes on a little after the migration, then stops: old code keeps
    // being refused, new code keeps writing the new form.
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let mut model = Model::new();
    let mut failures = Vec::new();
    for task in tasks {
        let seen = task.await.unwrap();
        model.extend(seen.model);
        failures.extend(seen.failures);
        totals.acknowledged += seen.acknowledged;
        totals.refused += seen.refused;
    }
    let ran = match first {
        Ok(ran) => ran,
        // Old-form writes kept coming: once they stop, `up` finishes it.
        Err(e) if e.is_incomplete() => {
            totals.incomplete += 1;
            migrator.up(None).await.unwrap_or_else(|e| panic!("{case:?}: the second up: {e}"))
        }
        Err(e) => panic!("{case:?}: {e}"),
    };
    assert!(failures.is_empty(), "{case:?}: the application saw {failures:#?}");
    let conflicts: Vec<&String> = ran.iter().flat_map(|r| &r.conflicts).collect();
    assert_eq!(conflicts.len(), left.len(), "{case:?}: conflicts {conflicts:#?}");
    for id in left.keys() {
        let key = format!("PROFILE#{id}");
        assert!(conflicts.iter().any(|c| c.contains(&key)), "{case:?}: {key} listed in {conflicts:#?}");
    }
    check_table(case, &code, &model, &left).await;
}

/// The whole table against the model.
async fn check_table(case: &Case, code: &Code, model: &Model, left: &BTreeMap<u32, Item>) {
    let items = common::scan_all(&code.new).await;
    let text = |i: &Item, a: &str| i.get(a).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let mut profiles: BTreeMap<u32, Item> = BTreeMap::new();
    let mut sentinels = BTreeSet::new();
    for item in items {
        let pk = text(&item, "pk");
        if pk.starts_with("_unique#") {
            sentinels.insert(pk.rsplit('#').next().unwrap().to_owned());
            continue;
        }
        match text(&item, "_type").as_str() {
            "Profile" => {
                let id: u32 = item["id"].as_n().unwrap().parse().unwrap();
                let key = format!("{pk}|{}", text(&item, "sk"));
                if let Some(twin) = profiles.insert(id, item) {
                    panic!("{case:?}: profile {id} twice: {key} and {twin:?}");
                }
            }
            "Other" if case.rekey => {}
            _ if pk.starts_with("_migration") || pk.starts_with("_schema") => {}
            other => panic!("{case:?}: an item nobody wrote ({other}): {item:?}"),
        }
    }
    // One sentinel per unique value held, none left behind.
    let held: BTreeSet<String> = profiles.values().map(|p| text(p, "email")).collect();
    assert_eq!(sentinels, held, "{case:?}: sentinels and the values held");
    for (id, stored) in left {
        assert_eq!(profiles.get(id), Some(stored), "{case:?}: {id} left as it was");
    }
    let untouched = (case.items..case.items + 2 * case.clashes).filter(|id| !left.contains_key(id));
    for id in untouched {
        let p = profiles.get(&id).unwrap_or_else(|| panic!("{case:?}: {id} lost"));
        assert_eq!(text(p, DESIGN_ATTRIBUTE), "0.2.0", "{case:?}: {id} migrated");
    }
    for (id, expect) in model {
        let found = profiles.get(id);
        let Some(e) = expect else {
            assert!(found.is_none(), "{case:?}: {id} was removed, yet {found:?}");
            continue;
        };
        let p = found.unwrap_or_else(|| panic!("{case:?}: {id} lost; the model has {e:?}"));
        let (pk, sk) = match case.rekey {
            true => (format!("ORG#{}", org(*id)), format!("PROFILE#{id}")),
            false => (format!("PROFILE#{id}"), "PROFILE".to_owned()),
        };
        let what = format!("{case:?}: {id}");
        assert_eq!((text(p, "pk"), text(p, "sk")), (pk, sk), "{what}: its key");
        assert_eq!(text(p, DESIGN_ATTRIBUTE), "0.2.0", "{what}: in the new design");
        let number = |a: &str| p.get(a).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u32>().ok());
        assert_eq!(number("count"), Some(e.count), "{what}: every acknowledged write counted, none twice");
        assert_eq!(number("passes"), Some(1), "{what}: converted exactly once");
        assert_eq!(text(p, "display"), e.display, "{what}: the last write's display name");
        assert_eq!(text(p, "email"), e.email, "{what}: its unique value");
        assert!(!p.contains_key("name"), "{what}: the old attribute is gone: {p:?}");
        let prefs = p["prefs"].as_m().unwrap();
        assert_eq!(prefs.get("theme"), Some(&s(&e.theme)), "{what}: the last write's theme");
        assert_eq!(prefs.get("lang"), Some(&s("en")), "{what}: the new map key");
        let theirs = (p.get("x_theirs").cloned(), prefs.get("ext").cloned());
        let want = match e.foreign {
            true => (Some(s(&format!("theirs {id}"))), Some(s("keep"))),
            false => (None, None),
        };
        assert_eq!(theirs, want, "{what}: another service's attribute and map key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_beside_old_and_new_code_match_the_model_in_every_drawn_case() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("ONETABLE_MODEL_CASES").unwrap_or(CASES);
    let first = env("ONETABLE_MODEL_SEED").unwrap_or(1);
    let drawn: Vec<Case> = (first..first + cases).map(Case::draw).collect();
    let mut kinds = BTreeMap::new();
    for case in &drawn {
        *kinds.entry((case.rekey, case.lower)).or_insert(0) += 1;
    }
    // Several cases at once, each on a table of its own: DynamoDB Local is busy while
    // one case waits.
    let totals: Vec<Totals> = futures_util::stream::iter(drawn)
        .map(|case| async move {
            let mut totals = Totals::default();
            run_case(&case, &mut totals).await;
            totals
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let sum = |f: fn(&Totals) -> usize| totals.iter().map(f).sum::<usize>();
    let (acknowledged, refused, incomplete) =
        (sum(|t| t.acknowledged), sum(|t| t.refused), sum(|t| t.incomplete));
    eprintln!(
        "{cases} cases from seed {first}, by (re-key, lower-case): {kinds:?}; {acknowledged} writes \
         acknowledged, {refused} old-code writes refused, {incomplete} migrations incomplete at first"
    );
    // The cases did meet what they are about.
    if cases >= 16 {
        assert!(kinds.len() == 4, "every kind of evolution drawn: {kinds:?}");
        assert!(refused > 0, "old code was refused at least once");
    }
}
