//! Which local DynamoDB a test or an example runs against.

use crate::{DynamoDbLocal, Error};
use std::sync::OnceLock;

/// The environment variable that picks the engine [`DynamoDbLocal::shared`] starts:
/// `embedded` (the default, when the `embedded` feature is on) or `dynamodb-local`.
pub const ENGINE_VARIABLE: &str = "ONETABLE_ENGINE";

/// A local DynamoDB this crate can start.
///
/// ```no_run
/// // No Java, no npm, no download; starts in milliseconds.
/// let local = onetable_local::Engine::Embedded.shared()?;
/// let client = local.client();
/// # Ok::<(), &'static onetable_local::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// AWS's DynamoDB Local: a Java process, installed from npm on first use. The
    /// reference: onetable's CI runs every test against it.
    DynamoDbLocal,
    /// dynoxide, a DynamoDB engine on SQLite, served from a thread of this process
    /// (the `embedded` feature, on by default). It starts in milliseconds and needs
    /// nothing installed; where it differs from DynamoDB Local is listed in the
    /// README ("The embedded engine").
    Embedded,
}

impl Engine {
    /// The engine [`ENGINE_VARIABLE`] names; when it is unset, [`Engine::Embedded`]
    /// (or, in a build without the `embedded` feature, [`Engine::DynamoDbLocal`]).
    pub fn from_env() -> Result<Engine, Error> {
        Engine::from_env_or(Engine::DEFAULT)
    }

    /// The engine used when none is named.
    #[cfg(feature = "embedded")]
    pub const DEFAULT: Engine = Engine::Embedded;
    /// The engine used when none is named.
    #[cfg(not(feature = "embedded"))]
    pub const DEFAULT: Engine = Engine::DynamoDbLocal;

    /// The engine [`ENGINE_VARIABLE`] names, `default` when it is unset or empty; a
    /// name it does not know is an error, never a silent default.
    pub fn from_env_or(default: Engine) -> Result<Engine, Error> {
        match std::env::var_os(ENGINE_VARIABLE) {
            None => Ok(default),
            Some(name) if name.is_empty() => Ok(default),
            Some(name) => name.to_string_lossy().parse(),
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
    /// first use. For DynamoDB Local, the endpoint [`crate::ENDPOINT_VARIABLE`] names
    /// when it is set (one instance for several test binaries); the embedded engine
    /// is always this process's own.
    pub fn shared(self) -> Result<&'static DynamoDbLocal, &'static Error> {
        static LOCAL: OnceLock<Result<DynamoDbLocal, Error>> = OnceLock::new();
        static EMBEDDED: OnceLock<Result<DynamoDbLocal, Error>> = OnceLock::new();
        let cell = match self {
            Engine::DynamoDbLocal => &LOCAL,
            Engine::Embedded => &EMBEDDED,
        };
        cell.get_or_init(|| match (self, crate::process::endpoint_from_env()) {
            (Engine::DynamoDbLocal, Some(endpoint)) => Ok(DynamoDbLocal::connect(endpoint)),
            _ => self.start(),
        })
        .as_ref()
    }
}

impl std::str::FromStr for Engine {
    type Err = Error;

    fn from_str(name: &str) -> Result<Engine, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "dynamodb-local" => Ok(Engine::DynamoDbLocal),
            "embedded" => Ok(Engine::Embedded),
            _ => Err(Error::UnknownEngine { name: name.to_owned() }),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
