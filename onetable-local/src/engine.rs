//! Which local DynamoDB a test or an example runs against.

use crate::{DynamoDbLocal, Error};
use std::sync::OnceLock;

/// The environment variable that picks the engine [`DynamoDbLocal::shared`] starts:
/// `dynamodb-local` (the default) or `embedded`.
pub const ENGINE_VARIABLE: &str = "ONETABLE_ENGINE";

/// A local DynamoDB this crate can start.
///
/// ```no_run
/// // Rust alone: no Java, no npm, no download; starts in milliseconds.
/// let local = onetable_local::Engine::Embedded.shared()?;
/// let client = local.client();
/// # Ok::<(), &'static onetable_local::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// AWS's DynamoDB Local: a Java process, installed from npm on first use. The
    /// reference: every behaviour onetable promises is tested against it.
    DynamoDbLocal,
    /// dynoxide, a DynamoDB engine on SQLite, served from a thread of this process
    /// (the `embedded` feature, on by default). It starts in milliseconds and needs
    /// nothing installed; where it differs from DynamoDB Local is listed in the
    /// README ("The embedded engine").
    Embedded,
}

impl Engine {
    /// The engine [`ENGINE_VARIABLE`] names, [`Engine::DynamoDbLocal`] when it is unset.
    pub fn from_env() -> Result<Engine, Error> {
        Engine::from_env_or(Engine::DynamoDbLocal)
    }

    /// The engine [`ENGINE_VARIABLE`] names, `default` when it is unset; a name it
    /// does not know is an error, never a silent default.
    pub fn from_env_or(default: Engine) -> Result<Engine, Error> {
        match std::env::var(ENGINE_VARIABLE) {
            Err(_) => Ok(default),
            Ok(name) => name.parse(),
        }
    }

    /// The name [`ENGINE_VARIABLE`] takes: `dynamodb-local` or `embedded`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::DynamoDbLocal => "dynamodb-local",
            Engine::Embedded => "embedded",
        }
    }

    /// Starts a new instance of this engine; dropping the handle stops it.
    pub fn start(self) -> Result<DynamoDbLocal, Error> {
        match self {
            Engine::DynamoDbLocal => crate::Launcher::default().start(),
            Engine::Embedded => DynamoDbLocal::embedded(),
        }
    }

    /// The instance of this engine shared by everything in this process, started on
    /// first use (the endpoint [`crate::ENDPOINT_VARIABLE`] names, when it is set).
    pub fn shared(self) -> Result<&'static DynamoDbLocal, &'static Error> {
        static LOCAL: OnceLock<Result<DynamoDbLocal, Error>> = OnceLock::new();
        static EMBEDDED: OnceLock<Result<DynamoDbLocal, Error>> = OnceLock::new();
        let cell = match self {
            Engine::DynamoDbLocal => &LOCAL,
            Engine::Embedded => &EMBEDDED,
        };
        cell.get_or_init(|| match std::env::var(crate::ENDPOINT_VARIABLE) {
            Ok(endpoint) if !endpoint.is_empty() => Ok(DynamoDbLocal::connect(endpoint)),
            _ => self.start(),
        })
        .as_ref()
    }
}

impl std::str::FromStr for Engine {
    type Err = Error;

    fn from_str(name: &str) -> Result<Engine, Error> {
        match name.trim() {
            "dynamodb-local" | "local" | "" => Ok(Engine::DynamoDbLocal),
            "embedded" => Ok(Engine::Embedded),
            other => Err(Error::UnknownEngine { name: other.to_owned() }),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
