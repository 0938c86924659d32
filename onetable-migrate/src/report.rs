//! What the migrator reports: where the table stands, each known migration's state,
//! and what a run did.

use crate::store::Record;
use crate::Direction;
use onetable_core::Version;

/// Where the table stands against the migrator's migrations.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Status {
    /// The highest applied version.
    pub current: Option<Version>,
    /// The recorded migrations, oldest first.
    pub applied: Vec<Record>,
    /// Migrations not applied yet, in the order `up` runs them.
    pub outstanding: Vec<Version>,
    /// A migration recorded as failed, which blocks `up`.
    pub failed: Option<Record>,
    /// Applied migrations whose checksum no longer matches their code.
    pub edited: Vec<Version>,
}

/// One migration a migrator knows, as [`Migrator::list`](crate::Migrator::list) shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Listed {
    /// Its version.
    pub version: Version,
    /// What it does.
    pub description: String,
    /// The file it is declared in, for a migration of a migrations directory.
    pub file: Option<&'static str>,
    /// Where it stands.
    pub state: State,
    /// When it was last run (ISO-8601), if it was.
    pub date: Option<String>,
}

/// Where a known migration stands in the table's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Applied, and unchanged since.
    Applied,
    /// Not applied yet.
    Outstanding,
    /// Its last run failed: `up` waits for `retry` or `repair`.
    Failed,
    /// Applied, and its code changed since (its checksum differs).
    Edited,
    /// Its data migration ended with items still in the old form: `up` resumes it.
    Incomplete,
}

impl State {
    /// `applied`, `outstanding`, `failed`, `edited` or `incomplete`.
    pub fn label(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Outstanding => "outstanding",
            State::Failed => "failed",
            State::Edited => "edited",
            State::Incomplete => "incomplete",
        }
    }
}

/// What a run did, or in a dry run would do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ran {
    /// The migration.
    pub version: Version,
    /// Its description.
    pub description: String,
    /// Up or down.
    pub direction: Direction,
    /// Items it processed (or would).
    pub items: u64,
    /// Items a data migration's final pass found already in the new form.
    pub verified: u64,
    /// Keys of the items a data migration left as they were because they do not
    /// read as its old entity (with `skip_unreadable`).
    pub skipped: Vec<String>,
    /// Write units its data migrations consumed (as DynamoDB reports them).
    pub write_units: f64,
    /// True when this process took part in another migrator's run of it (as a
    /// worker of its data migrations): `items` are the ones this process migrated.
    pub worker: bool,
    /// Items left as they are for a re-key collision or a unique conflict (with
    /// [`Conflicts::Leave`](crate::Conflicts::Leave)), each naming its items.
    pub conflicts: Vec<String>,
    /// In a dry run: the plan of each data migration.
    pub plans: Vec<crate::Plan>,
}
