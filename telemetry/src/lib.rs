//! Earshot's metrics: every name, label and help text is defined here, once, with a
//! small function per event that records it through the [`metrics`] facade.
//!
//! Libraries (crawler, sentiment, store) call these functions and nothing else of
//! `metrics`; they never install a recorder. The binary installs one (a Prometheus
//! recorder, rendered at `/metrics` next to the figures counted from the database), so a
//! library used without it records into the facade's no-op recorder and costs nothing.
//!
//! Names follow Prometheus conventions: `earshot_` first, counters end in `_total`,
//! durations are in seconds and end in `_seconds`. Label values are small closed sets
//! (enums below), never source names or URLs, so the number of series stays bounded.

use std::time::Duration;

/// Crawls finished, by [`CrawlOutcome`] (counter).
pub const CRAWLS: &str = "earshot_crawls_total";
/// How long one HTTP fetch took, from sending the request to the end of its body,
/// whatever the answer (histogram, seconds).
pub const FETCH_DURATION: &str = "earshot_fetch_duration_seconds";
/// Items (feed entries, posts, reviews, pages) read by crawls (counter).
pub const ITEMS_SEEN: &str = "earshot_items_seen_total";
/// Mentions stored for the first time (counter).
pub const NEW_MENTIONS: &str = "earshot_new_mentions_total";
/// Mentions whose sentiment was classified and stored (counter).
pub const MENTIONS_CLASSIFIED: &str = "earshot_mentions_classified_total";
/// How long the model took over one claimed batch of mentions (histogram, seconds).
pub const CLASSIFY_BATCH_DURATION: &str = "earshot_classify_batch_duration_seconds";
/// Alerts opened, by [`AlertKind`] (counter).
pub const ALERTS_OPENED: &str = "earshot_alerts_opened_total";
/// Notification deliveries, by [`NotificationOutcome`] (counter).
pub const NOTIFICATIONS: &str = "earshot_notifications_total";
/// Leases (of sources or mentions) taken over from a worker whose lease had expired
/// (counter): each one is work a stopped or stuck process left behind.
pub const LEASE_TAKEOVERS: &str = "earshot_lease_takeovers_total";

/// How long the API took to answer one request, whatever it answered (histogram,
/// seconds). Requests are counted by status class in `earshot_http_requests_total`.
pub const HTTP_REQUEST_DURATION: &str = "earshot_http_request_duration_seconds";

/// Histogram buckets, in seconds, per histogram: an HTTP fetch takes from milliseconds
/// up to the crawler's timeout; an API answer from a millisecond up; a model batch from tens of milliseconds to a minute.
pub const BUCKETS: &[(&str, &[f64])] = &[
    (
        FETCH_DURATION,
        &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
    ),
    (
        HTTP_REQUEST_DURATION,
        &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0],
    ),
    (
        CLASSIFY_BATCH_DURATION,
        &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
    ),
];

/// How a crawl of one source ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrawlOutcome {
    /// Read and stored.
    Ok,
    /// The server answered 304: nothing changed since the last fetch.
    NotModified,
    /// The fetch or the parse failed; the failure is recorded against the source.
    Failed,
    /// The crawl ran but its outcome could not be stored (the database failed); the
    /// source's lease expires and it is crawled again.
    Unsaved,
}

impl CrawlOutcome {
    /// Every outcome, in the order they are listed.
    pub const ALL: [CrawlOutcome; 4] = [Self::Ok, Self::NotModified, Self::Failed, Self::Unsaved];

    /// The `outcome` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::NotModified => "not_modified",
            Self::Failed => "failed",
            Self::Unsaved => "unsaved",
        }
    }
}

/// What opened an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A negative mention that an alert rule matched.
    Mention,
    /// A jump in a brand's negative volume.
    Spike,
    /// A source that keeps failing.
    Source,
}

impl AlertKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [AlertKind; 3] = [Self::Mention, Self::Spike, Self::Source];

    /// The `kind` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Spike => "spike",
            Self::Source => "source",
        }
    }
}

/// How one attempt to deliver a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// The receiver accepted it.
    Delivered,
    /// This attempt failed; it will be tried again.
    Failed,
    /// It failed for the last time allowed and will not be tried again.
    GaveUp,
}

impl NotificationOutcome {
    /// Every outcome, in the order they are listed.
    pub const ALL: [NotificationOutcome; 3] = [Self::Delivered, Self::Failed, Self::GaveUp];

    /// The `outcome` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::GaveUp => "gave_up",
        }
    }
}

/// Gives every metric its help text and makes every series exist at zero, so a scrape
/// shows the whole list (and a rate over a counter that has not moved yet is 0, not
/// absent). Call it once, after installing a recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram, Unit};
    describe_counter!(CRAWLS, "Crawls finished, by outcome.");
    describe_histogram!(
        FETCH_DURATION,
        Unit::Seconds,
        "HTTP fetches, from request to the end of the body, whatever the answer."
    );
    describe_counter!(ITEMS_SEEN, "Items read by crawls.");
    describe_counter!(NEW_MENTIONS, "Mentions stored for the first time.");
    describe_counter!(MENTIONS_CLASSIFIED, "Mentions classified and stored.");
    describe_histogram!(
        CLASSIFY_BATCH_DURATION,
        Unit::Seconds,
        "Time the model took over one claimed batch of mentions."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time the API took to answer a request."
    );
    describe_counter!(ALERTS_OPENED, "Alerts opened, by kind.");
    describe_counter!(NOTIFICATIONS, "Notification delivery attempts, by outcome.");
    describe_counter!(
        LEASE_TAKEOVERS,
        "Leases taken over from a worker whose lease had expired."
    );
    for o in CrawlOutcome::ALL {
        metrics::counter!(CRAWLS, "outcome" => o.as_str()).absolute(0);
    }
    for name in [
        ITEMS_SEEN,
        NEW_MENTIONS,
        MENTIONS_CLASSIFIED,
        LEASE_TAKEOVERS,
    ] {
        metrics::counter!(name).absolute(0);
    }
    for k in AlertKind::ALL {
        metrics::counter!(ALERTS_OPENED, "kind" => k.as_str()).absolute(0);
    }
    for o in NotificationOutcome::ALL {
        metrics::counter!(NOTIFICATIONS, "outcome" => o.as_str()).absolute(0);
    }
}

/// One crawl of one source ended with `outcome`, having read `items_seen` items and
/// stored `new_mentions` new mentions.
pub fn crawl_finished(outcome: CrawlOutcome, items_seen: u64, new_mentions: u64) {
    metrics::counter!(CRAWLS, "outcome" => outcome.as_str()).increment(1);
    metrics::counter!(ITEMS_SEEN).increment(items_seen);
    metrics::counter!(NEW_MENTIONS).increment(new_mentions);
}

/// One HTTP fetch took `took`, whatever it answered.
pub fn fetch_finished(took: Duration) {
    metrics::histogram!(FETCH_DURATION).record(took.as_secs_f64());
}

/// The model classified a batch in `took`, and `stored` of its results were stored.
pub fn batch_classified(stored: u64, took: Duration) {
    metrics::histogram!(CLASSIFY_BATCH_DURATION).record(took.as_secs_f64());
    metrics::counter!(MENTIONS_CLASSIFIED).increment(stored);
}

/// The API answered a request in `took`.
pub fn request_answered(took: Duration) {
    metrics::histogram!(HTTP_REQUEST_DURATION).record(took.as_secs_f64());
}

/// `n` alerts of `kind` were opened (and committed).
pub fn alerts_opened(kind: AlertKind, n: u64) {
    metrics::counter!(ALERTS_OPENED, "kind" => kind.as_str()).increment(n);
}

/// One notification delivery attempt ended with `outcome`.
pub fn notification(outcome: NotificationOutcome) {
    metrics::counter!(NOTIFICATIONS, "outcome" => outcome.as_str()).increment(1);
}

/// `n` expired leases were taken over.
pub fn lease_takeovers(n: u64) {
    metrics::counter!(LEASE_TAKEOVERS).increment(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prometheus_names_and_unique() {
        let names = [
            CRAWLS,
            FETCH_DURATION,
            ITEMS_SEEN,
            NEW_MENTIONS,
            MENTIONS_CLASSIFIED,
            CLASSIFY_BATCH_DURATION,
            HTTP_REQUEST_DURATION,
            ALERTS_OPENED,
            NOTIFICATIONS,
            LEASE_TAKEOVERS,
        ];
        for n in names {
            assert!(n.starts_with("earshot_"), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
            assert!(n.ends_with("_total") || n.ends_with("_seconds"), "{n}");
        }
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        for (name, buckets) in BUCKETS {
            assert!(names.contains(name));
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{name}");
        }
    }
}
