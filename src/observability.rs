//! The process's logs and metrics: the `tracing` subscriber that `[log]` describes, and
//! the one Prometheus recorder behind `/metrics`. Both are installed here, once per
//! process, and nowhere in the libraries.

use crate::settings::{LogFormat, LogSettings};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The log format in force, once [`init_logging`] ran.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Sends logs to stderr in `log`'s format. The filter is `RUST_LOG` when set; else
/// warnings from the libraries Earshot uses and `log.level` (default info) from Earshot's
/// own crates (a target filter is a prefix, so `earshot` covers `earshot_crawler` and the
/// rest). Earshot's spans are at info level, so at the default level every warning
/// carries the span it happened in (`crawl` with its `source`, `request`, ...). Only the
/// first call in a process has an effect.
pub fn init_logging(log: &LogSettings) {
    use tracing_subscriber::EnvFilter;
    if FORMAT.set(log.format).is_err() {
        return;
    }
    let level = log.level.map_or("info", |l| l.as_str());
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,earshot={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match log.format {
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// Whether logs are JSON lines, so that messages meant for a person (the final error)
/// go through the log instead of being printed beside it.
pub fn logs_are_json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// Installs the process's metrics recorder (histograms get Earshot's buckets, so they
/// render as Prometheus histograms) and gives every metric its help text and a zero.
/// A second call returns the first recorder's handle.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in earshot_telemetry::BUCKETS {
        builder = builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)?;
    }
    let handle = builder.install_recorder()?;
    earshot_telemetry::describe();
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Keeps the recorder's memory bounded between scrapes (histogram samples are folded in
/// regularly, not only when `/metrics` is read), for as long as the runtime runs.
pub fn spawn_metrics_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
}
