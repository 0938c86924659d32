//! Leases on items of the table: the migration lock, and each segment of a data
//! migration that several workers share (the pattern of the Kinesis Client Library:
//! owner, expiry, a counter bumped by every take, a checkpoint).
//!
//! A lease alone cannot keep a paused process (a GC pause, a frozen VM, a process
//! stopped with SIGSTOP) from writing after another one took over: it wakes up
//! believing it still holds it. So a lease carries an **epoch** that grows with every
//! take, and every write made under it goes through its [`Fence`]: conditional on the
//! lease item still naming this owner and epoch. DynamoDB refuses the write once
//! another process took the lease. The fence also stops trusting the lease locally
//! once no renewal got through in time, so a woken process stops before it sends
//! anything.

use crate::retry::retrying;
use crate::MigrateError;
use onetable_client::raw::{Call, Transacted, Write, Written};
use onetable_client::Table;
use onetable_core::expr::Placeholders;
use onetable_core::{AttributeValue, Error, Item};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The entity label of the migration engine's own requests.
pub(crate) const BOOKKEEPING: &str = "_Migration";

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// How long after a renewal was sent this process still trusts its lease: a little
/// less than the lease, so that it stops before another process (whose clock may run
/// a little ahead) can take over.
fn trusted(lease: Duration) -> Duration {
    lease - lease / 10
}

/// The proof that this process holds a lease: the item, owner and epoch. Shared by the
/// heartbeat, which renews it, and every task that writes under it.
pub(crate) struct Fence {
    table: Table,
    key: Item,
    what: String,
    owner: String,
    epoch: u64,
    lost: AtomicBool,
    valid_until: Mutex<Instant>,
}

/// The outcome of [`take`].
pub(crate) enum Take {
    /// Ours, with the lease item as it is now.
    Taken(Arc<Fence>, Item),
    /// Held by another live owner (the item as it is), or not takeable.
    Refused(Option<Item>),
}

/// Who may take a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takeover {
    /// The lock: created when absent, and taken back at once by an owner of the same
    /// name (a migrator restarted under a fixed name).
    CreateOrReclaim,
    /// A segment: only an existing item not marked done (each take names its owner
    /// apart, so that two tasks of one process never hold the same one).
    ExistingOnly,
}

/// Takes the lease on the item with `key` for `lease`, under a new epoch: when it has
/// no owner or its lease expired. `set` adds attributes.
pub(crate) async fn take(
    table: &Table,
    key: Item,
    what: String,
    owner: &str,
    lease: Duration,
    takeover: Takeover,
    set: &[(&str, AttributeValue)],
) -> Result<Take, Error> {
    let sent = Instant::now();
    let mut p = Placeholders::new();
    let (o, e) = (p.name("owner").into_owned(), p.name("expires").into_owned());
    let me = p.value(AttributeValue::S(owner.to_owned())).into_owned();
    let expires = p.value(AttributeValue::N((now_ms() + lease.as_millis() as i64).to_string())).into_owned();
    let now = p.value(AttributeValue::N(now_ms().to_string())).into_owned();
    let mut assignments = vec![format!("{o} = {me}"), format!("{e} = {expires}")];
    for (name, value) in set {
        assignments.push(format!("{} = {}", p.name(name), p.value(value.clone())));
    }
    // The same owner may take it again: a take whose response was lost is retried,
    // and a migrator restarted under a fixed name takes its lock back at once.
    let free = format!("attribute_not_exists({o}) OR {e} < {now} OR {o} = {me}");
    let condition = match takeover {
        Takeover::CreateOrReclaim => format!("({free})"),
        Takeover::ExistingOnly => {
            let (hash, _) = table.key_attributes();
            format!(
                "attribute_exists({}) AND NOT {} = {} AND ({free})",
                p.name(hash),
                p.name("done"),
                p.value(AttributeValue::Bool(true))
            )
        }
    };
    let expression = format!(
        "SET {} ADD {} {}",
        assignments.join(", "),
        p.name("epoch"),
        p.value(AttributeValue::N("1".into()))
    );
    let write = Write::update(BOOKKEEPING, key.clone(), expression)
        .condition(condition)
        .placeholders(p)
        .returning(aws_sdk_dynamodb::types::ReturnValue::AllNew);
    let call = Call::new("migration lease", BOOKKEEPING);
    // A take whose response was lost is taken again by the same owner (its condition
    // holds for it), so it is worth retrying.
    let raw = table.raw();
    match retrying("migration lease", || raw.write(&call, write.clone())).await? {
        Written::Done { attributes, .. } => {
            let item = attributes.unwrap_or_default();
            let epoch =
                item.get("epoch").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(1);
            let fence = Arc::new(Fence {
                table: table.clone(),
                key,
                what,
                owner: owner.to_owned(),
                epoch,
                lost: AtomicBool::new(false),
                valid_until: Mutex::new(sent + trusted(lease)),
            });
            Ok(Take::Taken(fence, item))
        }
        Written::Refused { current } => Ok(Take::Refused(current)),
    }
}

impl Fence {
    fn lost_error(&self) -> Error {
        MigrateError::LockLost { lease: self.what.clone(), owner: self.owner.clone(), epoch: self.epoch }
            .into()
    }

    /// The epoch this process holds.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Fails with [`MigrateError::LockLost`] once the lease is lost or no longer
    /// trusted (no renewal got through in time). Cheap: called before every write.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let expired = self.valid_until.lock().map_or(true, |until| Instant::now() >= *until);
        if expired || self.lost.load(Ordering::Acquire) {
            self.lost.store(true, Ordering::Release);
            return Err(self.lost_error());
        }
        Ok(())
    }

    fn mark_lost(&self) -> Error {
        self.lost.store(true, Ordering::Release);
        self.lost_error()
    }

    /// `owner = me AND epoch = mine`.
    fn held(&self, p: &mut Placeholders) -> String {
        let (o, ep) = (p.name("owner").into_owned(), p.name("epoch").into_owned());
        let me = p.value(AttributeValue::S(self.owner.clone())).into_owned();
        let epoch = p.value(AttributeValue::N(self.epoch.to_string())).into_owned();
        format!("{o} = {me} AND {ep} = {epoch}")
    }

    /// Writes `write` (a put or delete of another item) only while this process holds
    /// the lease: one transaction with a check of the lease item's owner and epoch.
    pub(crate) async fn write(&self, write: Write) -> Result<(), Error> {
        self.check()?;
        let mut p = Placeholders::new();
        let held = self.held(&mut p);
        let check = Write::check(BOOKKEEPING, self.key.clone()).condition(held).placeholders(p);
        let call = Call::new("migration bookkeeping", BOOKKEEPING);
        let raw = self.table.raw();
        let writes = vec![check, write];
        match retrying("migration bookkeeping", || raw.transact(&call, writes.clone(), None)).await? {
            Transacted::Done { .. } => Ok(()),
            Transacted::Cancelled(reasons)
                if reasons.iter().all(|r| r.is_fine() || r.is_condition_failed()) =>
            {
                Err(self.mark_lost())
            }
            Transacted::Cancelled(reasons) => {
                let reasons = reasons.iter().filter_map(|r| r.code.clone()).collect::<Vec<_>>().join(", ");
                Err(onetable_core::ErrorKind::Unexpected {
                    operation: "migration bookkeeping",
                    table: self.table.name().to_owned(),
                    message: format!("the fenced write was cancelled: {reasons}"),
                }
                .into())
            }
        }
    }

    /// Updates the lease item itself (a checkpoint, a renewal, a release) only while
    /// this process holds the lease. `set` and `remove` name attributes; the lease is
    /// renewed for `lease`, or with none, made to expire now.
    pub(crate) async fn update(
        &self,
        set: &[(&str, AttributeValue)],
        remove: &[&str],
        lease: Option<Duration>,
    ) -> Result<(), Error> {
        self.check()?;
        let sent = Instant::now();
        let mut p = Placeholders::new();
        let condition = self.held(&mut p);
        let mut assignments: Vec<String> = set
            .iter()
            .map(|(name, value)| format!("{} = {}", p.name(name), p.value(value.clone())))
            .collect();
        let expires = lease.map_or(0, |l| now_ms() + l.as_millis() as i64);
        assignments.push(format!(
            "{} = {}",
            p.name("expires"),
            p.value(AttributeValue::N(expires.to_string()))
        ));
        let mut expression = format!("SET {}", assignments.join(", "));
        if !remove.is_empty() {
            let removed: Vec<String> = remove.iter().map(|name| p.name(name).into_owned()).collect();
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let write =
            Write::update(BOOKKEEPING, self.key.clone(), expression).condition(condition).placeholders(p);
        let call = Call::new("migration lease", BOOKKEEPING);
        let raw = self.table.raw();
        match retrying("migration lease", || raw.write(&call, write.clone())).await? {
            Written::Done { .. } => {
                if let (Some(lease), Ok(mut until)) = (lease, self.valid_until.lock()) {
                    *until = sent + trusted(lease);
                }
                Ok(())
            }
            Written::Refused { .. } => Err(self.mark_lost()),
        }
    }

    /// Gives the lease up (owner removed, expired): only if still held.
    pub(crate) async fn release(&self, set: &[(&str, AttributeValue)]) -> Result<(), Error> {
        self.update(set, &["owner"], None).await
    }
}

/// Renews the lease every third of it until aborted. A renewal refused because
/// another process took the lease marks the fence lost; one that does not get through
/// leaves the lease to run out locally (the fence stops trusting it).
pub(crate) fn heartbeat(fence: Arc<Fence>, lease: Duration) -> tokio::task::JoinHandle<()> {
    use crate::MigrateErrorExt;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            if fence.check().is_err() {
                return;
            }
            match fence.update(&[], &[], Some(lease)).await {
                Ok(()) => {}
                Err(e) if e.is_lock_lost() => {
                    tracing::warn!(lease = %fence.what, owner = %fence.owner, epoch = fence.epoch, "lease taken over by another process: stopping");
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = %fence.what, error = %e, "lease renewal failed");
                    if !matches!(fence.table.exists().await, Ok(true)) {
                        return;
                    }
                }
            }
        }
    })
}
