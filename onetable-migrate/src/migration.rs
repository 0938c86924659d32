//! One migration: a version, a description, `up` and `down` steps, and the checksum
//! that tells an applied migration edited since it ran.

use crate::context::Context;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use onetable_core::{Error, Version};
use std::future::Future;
use std::sync::Arc;

pub(crate) type Step = Arc<dyn Fn(Context) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// One migration: a version, a description, `up` and (unless it is irreversible)
/// `down`.
///
/// Kept as a file of a migrations directory (see [`migrations!`](crate::migrations)),
/// its source is part of its checksum, so editing it after it ran is reported before
/// anything runs.
#[derive(Clone)]
pub struct Migration {
    pub(crate) version: Result<Version, String>,
    pub(crate) description: String,
    pub(crate) up: Option<Step>,
    pub(crate) down: Option<Step>,
    pub(crate) source: String,
    /// The file it was declared in, within its migrations directory.
    pub(crate) file: Option<&'static str>,
}

impl std::fmt::Debug for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("version", &self.version)
            .field("description", &self.description)
            .field("file", &self.file)
            .finish()
    }
}

/// The checksum algorithm, named in every checksum recorded.
const CHECKSUM: &str = "sha256";

impl Migration {
    /// A migration with version `MAJOR.MINOR.PATCH`.
    pub fn new(version: &str, description: impl Into<String>) -> Migration {
        Migration {
            version: Version::parse(version).map_err(|_| version.to_owned()),
            description: description.into(),
            up: None,
            down: None,
            source: String::new(),
            file: None,
        }
    }

    /// What the migration does.
    pub fn up<F, Fut>(mut self, step: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.up = Some(Arc::new(move |ctx| step(ctx).boxed()));
        self
    }

    /// How to undo it. Without one the migration is irreversible and `down` says so.
    pub fn down<F, Fut>(mut self, step: F) -> Self
    where
        F: Fn(Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.down = Some(Arc::new(move |ctx| step(ctx).boxed()));
        self
    }

    /// The migration's source text, part of its checksum. A migration declared in a
    /// migrations directory ([`migrations!`](crate::migrations)) has its file's text
    /// already; this is for migrations kept elsewhere.
    pub fn source(mut self, text: &str) -> Self {
        // Line endings depend on the checkout (git on Windows), not on the code.
        self.source = text.replace("\r\n", "\n");
        self
    }

    /// The version, as written.
    pub fn version(&self) -> Result<&Version, &str> {
        self.version.as_ref().map_err(String::as_str)
    }

    /// What it does.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The file it was declared in, for a migration of a migrations directory.
    pub fn file(&self) -> Option<&'static str> {
        self.file
    }

    /// The checksum recorded when it runs: SHA-256 over version, description and
    /// source, written `sha256:<hex>` so that the history names its algorithm.
    pub fn checksum(&self) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        for part in [self.version_text().as_bytes(), self.description.as_bytes(), self.source.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut out = String::with_capacity(CHECKSUM.len() + 1 + 64);
        out.push_str(CHECKSUM);
        out.push(':');
        for byte in digest {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        out
    }

    /// True when `recorded` (from the history) is this migration's checksum. Records
    /// written before checksums named their algorithm hold a bare FNV-1a hash.
    pub(crate) fn checksum_matches(&self, recorded: &str) -> bool {
        // onetable-migrate (OneTable's CLI) records no checksum: nothing to compare.
        if recorded.is_empty() {
            return true;
        }
        if recorded.contains(':') {
            return recorded == self.checksum();
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let version = self.version_text();
        for byte in
            version.bytes().chain([0]).chain(self.description.bytes()).chain([0]).chain(self.source.bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        recorded == format!("{hash:016x}")
    }

    fn version_text(&self) -> String {
        self.version.as_ref().map_or_else(Clone::clone, ToString::to_string)
    }
}

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying it.
    Up,
    /// Undoing it.
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
