//! `GET /metrics`: Prometheus text exposition (format 0.0.4) of what an operator
//! watches: mentions per brand and the sentiment backlog, alerts and reviews per status,
//! each source's health, the model, and the requests this process answered.
//!
//! It needs a key of any role (a `viewer` key for the scraper): the counts name brands
//! and sources, which are a company's business, and the API may face the internet for
//! the public review feed. The database figures are counted at each scrape; after them
//! come the metrics the process recorded as it worked (crawls, fetch latency, items and
//! new mentions, classification, alerts opened, notifications, lease takeovers, request
//! latency), whose names are defined once in the `earshot-telemetry` crate.

use crate::auth::{Caller, ReadSetup};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use earshot_domain::Timestamp;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Requests this process answered, by status class (1xx to 5xx).
#[derive(Debug, Default)]
pub struct RequestCounts([AtomicU64; 5]);

impl RequestCounts {
    pub(crate) fn record(&self, status: u16) {
        if let Some(n) = self.0.get(usize::from(status / 100).wrapping_sub(1)) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
}

const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(
    _: Caller<ReadSetup>,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let counts = state.store.counts().await?;
    let sources = state.store.sources().await?;
    let now = Timestamp::now();
    let mut out = Exposition::default();

    out.family("earshot_mentions", "gauge", "Mentions stored, per brand.");
    for (brand, n) in &counts.mentions_by_brand {
        out.sample("earshot_mentions", &[("brand", brand.as_str())], *n as f64);
    }
    out.family(
        "earshot_mentions_unclassified",
        "gauge",
        "Mentions waiting for a sentiment.",
    );
    out.sample(
        "earshot_mentions_unclassified",
        &[],
        counts.unclassified as f64,
    );
    out.family("earshot_alerts", "gauge", "Alerts, per status.");
    for (status, n) in &counts.alerts_by_status {
        out.sample("earshot_alerts", &[("status", status)], *n as f64);
    }
    out.family("earshot_reviews", "gauge", "Review candidates, per status.");
    for (status, n) in &counts.reviews_by_status {
        out.sample("earshot_reviews", &[("status", status)], *n as f64);
    }

    out.family(
        "earshot_source_consecutive_errors",
        "gauge",
        "Failed crawls of a live source since its last success.",
    );
    for s in &sources {
        let labels = [("source", s.source.name.as_str())];
        let errors = s.state.error_count as f64;
        out.sample("earshot_source_consecutive_errors", &labels, errors);
    }
    out.family(
        "earshot_source_last_success_timestamp_seconds",
        "gauge",
        "When a live source was last crawled successfully (Unix time; absent if never).",
    );
    for s in &sources {
        if let Some(t) = s.state.last_success_at {
            let labels = [("source", s.source.name.as_str())];
            let secs = t.as_millis() as f64 / 1000.0;
            out.sample(
                "earshot_source_last_success_timestamp_seconds",
                &labels,
                secs,
            );
        }
    }
    out.family(
        "earshot_source_overdue_seconds",
        "gauge",
        "How long past its next check a live source is (0 when not due yet).",
    );
    for s in &sources {
        let overdue = s
            .state
            .next_check_at
            .map_or(0, |t| now.as_millis().saturating_sub(t.as_millis()).max(0));
        let labels = [("source", s.source.name.as_str())];
        out.sample(
            "earshot_source_overdue_seconds",
            &labels,
            overdue as f64 / 1000.0,
        );
    }

    if let Some(model) = &state.model {
        out.family(
            "earshot_model_running",
            "gauge",
            "1 while this process's sentiment model can classify.",
        );
        let running = f64::from(u8::from((model.running)()));
        out.sample("earshot_model_running", &[("model", &model.key)], running);
    }
    out.family(
        "earshot_http_requests_total",
        "counter",
        "Requests this process answered, by status class.",
    );
    for (i, n) in state.requests.0.iter().enumerate() {
        let class = format!("{}xx", i + 1);
        let n = n.load(Ordering::Relaxed) as f64;
        out.sample("earshot_http_requests_total", &[("code", &class)], n);
    }
    if let Some(render) = &state.recorded {
        out.0.push_str(&render());
    }
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], out.0))
}

/// The text being written.
#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the text format wants it: backslash, double quote and line feed
/// escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition::default();
        out.sample("m", &[("a", "x\"y\\z\nw"), ("b", "ok")], 1.5);
        assert_eq!(out.0, "m{a=\"x\\\"y\\\\z\\nw\",b=\"ok\"} 1.5\n");
    }

    #[test]
    fn statuses_are_counted_by_class_and_nonsense_is_ignored() {
        let counts = RequestCounts::default();
        for s in [200, 204, 404, 503, 0, 99, 600, 999] {
            counts.record(s);
        }
        let got: Vec<u64> = counts.0.iter().map(|n| n.load(Ordering::Relaxed)).collect();
        assert_eq!(got, [0, 2, 0, 1, 1]);
    }
}
