//! What the CLI shows while it works: a progress bar per data migration on a
//! terminal, `tracing` lines (text or JSON) on stderr otherwise. `RUST_LOG` narrows
//! or widens them (`RUST_LOG=onetable_client=debug`).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The log line format.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Format {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// Installs a subscriber writing to stderr, unless the process has one already (a
/// service calling the CLI from its own `main`).
pub(super) fn init(format: Format, verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    // On a terminal the progress bars tell the story; elsewhere the log lines do.
    let default = match (quiet, verbose, std::io::stderr().is_terminal()) {
        (true, _, _) => LevelFilter::ERROR,
        (false, 0, true) => LevelFilter::WARN,
        (false, 0, false) | (false, 1, true) => LevelFilter::INFO,
        (false, 1, false) | (false, 2, _) => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter =
        std::env::var("RUST_LOG").ok().and_then(|text| text.parse::<Targets>().ok()).unwrap_or_else(|| {
            // aws-config warns of every source it tries for a region or credentials
            // (IMDS off an EC2 host, a missing profile): noise unless asked for.
            let sdk = if verbose >= 2 { default } else { LevelFilter::ERROR };
            Targets::new().with_default(default).with_target("aws_config", sdk)
        });
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        Format::Text => layer.boxed(),
        Format::Json => layer.json().boxed(),
    };
    let _ = tracing_subscriber::registry().with(layer.with_filter(filter)).try_init();
}
