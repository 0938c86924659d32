//! Progress of a data migration: a bar (items, rate, ETA) on a terminal when the `cli`
//! feature is on; `tracing` log lines always.

use onetable_client::Table;

pub(crate) struct Progress {
    #[cfg(feature = "cli")]
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Starts a bar sized by DynamoDB's item count (an estimate, refreshed every few
    /// hours on AWS) when stderr is a terminal.
    #[cfg_attr(not(feature = "cli"), allow(unused_variables))]
    pub(crate) async fn start(table: &Table, label: String, dry_run: bool) -> Progress {
        #[cfg(feature = "cli")]
        {
            use std::io::IsTerminal;
            if dry_run || !std::io::stderr().is_terminal() {
                return Progress { bar: None };
            }
            let total = table.describe().await.ok().and_then(|d| d.item_count()).unwrap_or(0).max(0) as u64;
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {pos}/~{len} items, {per_sec}, ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(label);
            Progress { bar: Some(bar) }
        }
        #[cfg(not(feature = "cli"))]
        Progress {}
    }

    #[cfg_attr(not(feature = "cli"), allow(unused_variables))]
    pub(crate) fn advance(&self, items: u64) {
        #[cfg(feature = "cli")]
        if let Some(bar) = &self.bar {
            bar.inc(items);
        }
    }

    pub(crate) fn finish(&self) {
        #[cfg(feature = "cli")]
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
