//! Earshot's storage: the only crate that contains SQL.
//!
//! One [`Store`] trait, two backends: SQLite (the default, a file next to the config) and
//! Postgres (chosen by a `postgres://` URL, for deployments that outgrow one machine).
//! Both run the same SQL text wherever they can (`shared.rs`); each backend's own module
//! holds only what differs (connecting, pragmas, migrations). One conformance suite
//! (`tests/store_conformance.rs` at the workspace root) runs the same story on both.
//!
//! Every mutation that belongs together is one transaction: a crawl's new mentions, the
//! source's new state and the crawl-run record commit together or not at all, so a crash
//! between fetch and store loses nothing that the next run won't fetch again. In the
//! same spirit, the alerts a batch of sentiments opens are written in the batch's own
//! transaction, and so are the notifications each new alert queues for its rule's
//! channels (the outbox: `notifications.rs`).

mod alerts;
mod heads;
mod keys;
mod notifications;
mod postgres;
mod reviews;
mod setup;
mod shared;
mod sqlite;
mod users;

use async_trait::async_trait;
use earshot_domain::{
    Actor, Alert, AlertEvent, AlertId, AlertKind, AlertRule, AlertRuleId, AlertRuleSpec,
    AlertStatus, ApiKey, ApiKeyId, Assignee, Brand, BrandSlug, ChannelName, Excerpt,
    InvalidReviewAction, InvalidTransition, KeyHash, KeyName, Label, LanguageCode, Mention,
    MentionId, NewMention, Note, Notification, NotificationId, NotificationStatus, Origin, Review,
    ReviewId, ReviewStatus, Role, Sentiment, Severity, Source, SourceHealth, SourceId, SourceName,
    SourceState, Spike, SpikeRule, Timestamp, Transition, UnhealthyAfter,
};
use earshot_domain::{Session, SessionHash, SessionOwner, User, Username};
use std::sync::Arc;
use std::time::Duration;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// What can go wrong in storage. Messages never contain a database password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("could not open the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("brand {0:?} is not in the database (it must be in the config)")]
    UnknownBrand(String),
    #[error("source {0:?} is not in the database (it must be in the config)")]
    UnknownSource(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The disk that holds the database is full (SQLite's `SQLITE_FULL`, Postgres's
    /// `disk_full`). The write was rolled back whole.
    #[error("the database's disk is full ({0}); nothing of this change was stored. Free space on the disk that holds the database (or move it to a larger one); Earshot retries the work")]
    DiskFull(sqlx::Error),
    /// The database refuses writes: a read-only file, folder or mount, a `mode=ro`
    /// SQLite URL, or a read-only Postgres (a standby, `default_transaction_read_only`).
    #[error("the database is read-only ({0}); nothing was stored. Give Earshot write access: for SQLite, to the database file and its folder (it writes -wal and -shm files beside it) on a writable mount, without mode=ro in the URL; for Postgres, connect to the primary with a user that may write")]
    ReadOnly(sqlx::Error),
    /// SQLite could not read or write its files (`SQLITE_IOERR`): on a full disk this is
    /// often what it says, or the disk is failing, or a file size limit was reached.
    #[error("the database's files could not be written or read ({0}); nothing of this change was stored. Check the disk that holds the database: free space on the disk (a full disk often shows up like this), its health, and any file size limit (ulimit -f)")]
    Io(sqlx::Error),
    #[error("database error: {0}")]
    Query(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    /// Sorts out the failures an operator must act on (a full disk, a read-only
    /// database, failing I/O) so that their message says what to do.
    fn from(e: sqlx::Error) -> Self {
        match Trouble::of(&e) {
            Some(Trouble::DiskFull) => Self::DiskFull(e),
            Some(Trouble::ReadOnly) => Self::ReadOnly(e),
            Some(Trouble::Io) => Self::Io(e),
            None => Self::Query(e),
        }
    }
}

impl StoreError {
    /// A failure to open the database at `url`: one an operator must act on keeps its
    /// own variant (and message); anything else is [`StoreError::Connect`].
    pub(crate) fn connecting(url: &str, source: sqlx::Error) -> Self {
        match Trouble::of(&source) {
            Some(_) => Self::from(source),
            None => Self::Connect {
                url: redact(url),
                source,
            },
        }
    }
}

impl StoreError {
    /// A failed migration: one that failed for a reason an operator must act on (a
    /// read-only or full database) says so; anything else is [`StoreError::Migrate`].
    pub(crate) fn migrating(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) if Trouble::of(&inner).is_some() => {
                Self::from(inner)
            }
            e => Self::Migrate(e),
        }
    }
}

/// Database failures that name their own remedy.
enum Trouble {
    DiskFull,
    ReadOnly,
    Io,
}

impl Trouble {
    fn of(e: &sqlx::Error) -> Option<Trouble> {
        let sqlx::Error::Database(db) = e else {
            return None;
        };
        let code = db.code()?;
        // SQLite gives its extended result code in digits (the primary code is the low
        // byte); Postgres its five-character SQLSTATE.
        if let Ok(extended) = code.parse::<i64>() {
            return match extended & 0xff {
                13 => Some(Trouble::DiskFull),
                8 => Some(Trouble::ReadOnly),
                10 => Some(Trouble::Io),
                _ => None,
            };
        }
        match code.as_ref() {
            "53100" => Some(Trouble::DiskFull),
            "25006" => Some(Trouble::ReadOnly),
            _ => None,
        }
    }
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A source as stored: its config, its id, and its crawl state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredSource {
    pub id: SourceId,
    #[serde(flatten)]
    pub source: Source,
    #[serde(flatten)]
    pub state: SourceState,
    /// Set when the source was retired (it left the config, or the API retired it); its
    /// mentions are kept.
    pub retired_at: Option<Timestamp>,
    /// Whether the config file or the API defined it (and so where it is changed).
    pub origin: Origin,
    /// Whether it is healthy: see [`CrawlRecord::unhealthy_after`].
    #[serde(flatten)]
    pub health: SourceHealth,
    /// The worker whose lease on this source the latest claim took over: that worker
    /// claimed it and neither recorded a crawl nor released it before the lease expired
    /// (it died or hung). `None` when the latest claim found the source free. In a claim's
    /// result, `Some` means this very claim was a lease takeover.
    #[serde(skip)]
    pub lease_taken_from: Option<String>,
}

/// Totals for monitoring (see [`Store::counts`]). Statuses are the words the API uses;
/// each list is sorted by its key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts {
    /// Every brand ever stored, retired ones too, with its mentions.
    pub mentions_by_brand: Vec<(BrandSlug, u64)>,
    /// Mentions that have no sentiment yet.
    pub unclassified: u64,
    pub alerts_by_status: Vec<(String, u64)>,
    pub reviews_by_status: Vec<(String, u64)>,
}

/// A brand as stored: its definition, and where it was defined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredBrand {
    #[serde(flatten)]
    pub brand: Brand,
    pub origin: Origin,
    pub updated_at: Timestamp,
}

/// A request to lease sources for crawling.
///
/// A lease (`claimed_by`, `claimed_until`) keeps two workers (threads, processes or
/// machines) from crawling one source at the same time. It ends when the crawl is
/// recorded, or by itself at `now + lease` if the worker died.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// Who is claiming: a stable name for this process.
    pub worker: &'a str,
    pub now: Timestamp,
    pub lease: Duration,
    pub limit: u32,
    /// Only sources whose `next_check_at` has passed (the scheduler); `false` claims
    /// every unleased source (a one-off crawl).
    pub due_only: bool,
    /// Only the source with this name.
    pub name: Option<&'a SourceName>,
}

/// The outcome of one crawl of one source, written in one transaction.
#[derive(Debug, Clone)]
pub struct CrawlRecord {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub http_status: Option<u16>,
    pub bytes: u64,
    pub items_seen: u64,
    /// Why the crawl failed, if it did (the source's `last_error` is set from it too).
    pub error: Option<String>,
    /// Mentions found; those already stored are skipped by the unique dedup index.
    pub mentions: Vec<NewMention>,
    /// The source's state after this crawl.
    pub state: SourceState,
    /// What a crawl that did not fail could still not read (a broken JSON-LD block, a
    /// post without a body), in words.
    pub problems: Vec<String>,
    /// A review page's aggregate rating, kept per source over time.
    pub aggregate: Option<AggregateRating>,
    /// When set, a failed crawl that leaves the source at this many consecutive failures
    /// or more marks it unhealthy and, the first time only, opens a `source` alert, in
    /// this crawl's transaction. Any crawl that does not fail marks it healthy again and
    /// resolves its open source alerts, whether this is set or not.
    pub unhealthy_after: Option<UnhealthyAfter>,
}

/// A review page's aggregate rating (schema.org `AggregateRating`) as read.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AggregateRating {
    /// Normalised to 0..1: (raw_value - worst) / (best - worst).
    pub value: f64,
    /// As the page gave it, on its own scale (`4.6` of 5).
    pub raw_value: f64,
    /// The best possible rating (`bestRating`, default 5).
    pub best: f64,
    /// The worst possible rating (`worstRating`, default 1).
    pub worst: f64,
    /// How many ratings it summarises: `ratingCount`, else `reviewCount`, if the page said.
    pub count: Option<u64>,
}

/// An aggregate rating and when it was read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceRating {
    pub observed_at: Timestamp,
    #[serde(flatten)]
    pub rating: AggregateRating,
}

/// A stored crawl run, as listed for operators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrawlRun {
    pub id: i64,
    pub source: SourceName,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub http_status: Option<u16>,
    pub bytes: u64,
    pub items_seen: u64,
    pub new_mentions: u64,
    pub error: Option<String>,
    /// What this run could not read although it did not fail.
    pub problems: Vec<String>,
}

/// Which mentions to list: newest discovered first.
#[derive(Debug, Clone, Default)]
pub struct MentionQuery {
    pub brand: Option<BrandSlug>,
    /// Mentions published (or, when the date is unknown, discovered) at or after this.
    pub since: Option<Timestamp>,
    /// Only mentions with an id below this (the cursor of the previous page).
    pub before: Option<MentionId>,
    /// Only mentions whose current sentiment has this label.
    pub label: Option<Label>,
    /// Only mentions from the source with this name (none, if there is no such source).
    pub source: Option<SourceName>,
    /// Only mentions whose current sentiment detected this language.
    pub language: Option<LanguageCode>,
    /// Only mentions whose title or snippet contains this text, ignoring case: every
    /// letter's case on Postgres (in a UTF-8 database), ASCII letters' case only on
    /// SQLite, whose `LOWER` knows no other letters. `%`, `_` and `\` match themselves.
    pub text: Option<String>,
    pub limit: u32,
}

/// How wide a [`StatsQuery`]'s buckets are. Buckets are aligned in UTC: hours on the
/// hour, days at midnight, weeks at midnight on Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
    Week,
}

impl Bucket {
    const HOUR_MS: i64 = 3_600_000;
    /// 1970-01-05, the first Monday after the epoch, in milliseconds.
    const FIRST_MONDAY_MS: i64 = 4 * 24 * Self::HOUR_MS;

    pub fn parse(raw: &str) -> Result<Self, earshot_domain::InvalidValue> {
        match raw {
            "hour" => Ok(Self::Hour),
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            _ => Err(earshot_domain::InvalidValue(format!(
                "bucket {raw:?} must be hour, day or week"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
        }
    }

    /// The bucket's width in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Self::Hour => Self::HOUR_MS,
            Self::Day => 24 * Self::HOUR_MS,
            Self::Week => 7 * 24 * Self::HOUR_MS,
        }
    }

    /// The start of the bucket `t` falls in (the earliest time, for a time so early
    /// that its bucket would start before it).
    pub fn floor(self, t: Timestamp) -> Timestamp {
        let origin = match self {
            Self::Week => Self::FIRST_MONDAY_MS,
            Self::Hour | Self::Day => 0,
        };
        let ms = i128::from(t.as_millis());
        let start = ms - (ms - i128::from(origin)).rem_euclid(i128::from(self.millis()));
        Timestamp::from_millis(i64::try_from(start).unwrap_or(i64::MIN))
    }

    /// How many buckets cover `from..to` (at least one).
    pub fn count(self, from: Timestamp, to: Timestamp) -> i64 {
        let span = i128::from(to.as_millis()) - i128::from(self.floor(from).as_millis());
        let width = i128::from(self.millis());
        i64::try_from(((span + width - 1) / width).max(1)).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod bucket_tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn buckets_start_on_the_hour_at_midnight_and_on_mondays() {
        let t = at("2026-11-19T13:45:00Z"); // a Thursday
        assert_eq!(Bucket::Hour.floor(t), at("2026-11-19T13:00:00Z"));
        assert_eq!(Bucket::Day.floor(t), at("2026-11-19T00:00:00Z"));
        assert_eq!(Bucket::Week.floor(t), at("2026-11-16T00:00:00Z"));
        assert_eq!(
            Bucket::Week.floor(at("2026-11-16T00:00:00Z")),
            at("2026-11-16T00:00:00Z")
        );
        assert_eq!(
            Bucket::Day.floor(at("1969-12-31T23:00:00Z")),
            at("1969-12-31T00:00:00Z")
        );
    }

    #[test]
    fn a_range_is_covered_by_whole_buckets() {
        let from = at("2026-11-19T13:45:00Z");
        assert_eq!(Bucket::Day.count(from, at("2026-11-20T00:00:00Z")), 1);
        assert_eq!(Bucket::Day.count(from, at("2026-11-20T00:00:01Z")), 2);
        assert_eq!(Bucket::Hour.count(from, at("2026-11-19T15:00:00Z")), 2);
        let far = Bucket::Week.count(
            Timestamp::from_millis(i64::MIN),
            Timestamp::from_millis(i64::MAX),
        );
        assert!(far > 1000);
    }
}

/// One brand's mention volume and sentiment over `from..to`, in buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub brand: BrandSlug,
    /// The first instant counted; the first bucket starts at or before it.
    pub from: Timestamp,
    /// The first instant not counted.
    pub to: Timestamp,
    pub bucket: Bucket,
}

/// How many mentions had each final label (after star ratings; corrections do not
/// count), and the net sentiment they make.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LabelCounts {
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
    /// Mentions not classified yet.
    pub unclassified: u64,
    pub total: u64,
    /// (positive − negative) / classified mentions; `None` when none is classified.
    pub net_sentiment: Option<f64>,
}

impl LabelCounts {
    fn add(&mut self, label: Option<Label>, n: u64) {
        match label {
            Some(Label::Negative) => self.negative += n,
            Some(Label::Neutral) => self.neutral += n,
            Some(Label::Positive) => self.positive += n,
            None => self.unclassified += n,
        }
        self.total += n;
        let classified = self.negative + self.neutral + self.positive;
        self.net_sentiment = (classified > 0)
            .then(|| (self.positive as f64 - self.negative as f64) / classified as f64);
    }
}

/// One bucket of [`Stats`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsBucket {
    pub start: Timestamp,
    #[serde(flatten)]
    pub counts: LabelCounts,
    /// Mentions per source name in this bucket (sources with none are left out).
    pub sources: std::collections::BTreeMap<SourceName, u64>,
}

/// What [`Store::stats`] answers: every bucket of the range, empty ones included, oldest
/// first, and the totals over the whole range, also per source. Mentions count at their
/// published time, or their discovery time when the date is unknown (as `since` does).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stats {
    pub brand: BrandSlug,
    pub from: Timestamp,
    pub to: Timestamp,
    pub bucket: Bucket,
    pub totals: LabelCounts,
    pub sources: std::collections::BTreeMap<SourceName, LabelCounts>,
    pub buckets: Vec<StatsBucket>,
}

impl Stats {
    /// Builds the stats from grouped counts: (bucket index counted from the first
    /// bucket, source name, final label, mentions).
    pub(crate) fn assemble(
        query: &StatsQuery,
        groups: impl IntoIterator<Item = (i64, SourceName, Option<Label>, u64)>,
    ) -> Self {
        let first = query.bucket.floor(query.from);
        let mut buckets: Vec<StatsBucket> = (0..query.bucket.count(query.from, query.to))
            .map(|i| StatsBucket {
                start: Timestamp::from_millis(first.as_millis() + i * query.bucket.millis()),
                counts: LabelCounts::default(),
                sources: Default::default(),
            })
            .collect();
        let mut totals = LabelCounts::default();
        let mut sources = std::collections::BTreeMap::<SourceName, LabelCounts>::new();
        for (index, source, label, n) in groups {
            let Some(bucket) = usize::try_from(index).ok().and_then(|i| buckets.get_mut(i)) else {
                continue;
            };
            bucket.counts.add(label, n);
            *bucket.sources.entry(source.clone()).or_default() += n;
            totals.add(label, n);
            sources.entry(source).or_default().add(label, n);
        }
        Stats {
            brand: query.brand.clone(),
            from: query.from,
            to: query.to,
            bucket: query.bucket,
            totals,
            sources,
            buckets,
        }
    }
}

/// A request to lease mentions for classification, oldest first.
#[derive(Debug, Clone)]
pub struct ClassifyClaim<'a> {
    pub worker: &'a str,
    pub now: Timestamp,
    pub lease: Duration,
    pub limit: u32,
    /// The model that will classify them (`model_id@version`).
    pub model: &'a str,
    /// Also claim mentions classified by another model (`earshot classify --all`);
    /// otherwise only mentions with no sentiment yet.
    pub reclassify: bool,
    /// Only mentions discovered at or after this.
    pub since: Option<Timestamp>,
}

/// A mention waiting for its sentiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyJob {
    pub id: MentionId,
    pub title: String,
    pub snippet: String,
    /// A review's star rating, normalised to 0..1.
    pub rating: Option<f64>,
    /// Set when this claim took the mention over from another worker whose lease expired
    /// before it stored a sentiment (it died or hung): that worker's name.
    pub taken_over_from: Option<String>,
}

/// A person's correction of a mention, as training data for a sentiment head (see
/// [`Store::training_corrections`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCorrection {
    /// The corrected mention, with the text the classifier reads (title and snippet).
    pub job: ClassifyJob,
    pub brand: BrandSlug,
    /// The mention's latest correction: the label it should have had.
    pub label: Label,
    /// The model key of the mention's stored sentiment (`earshot/e5-small-sentiment@1+head:…`),
    /// `None` when it has not been classified.
    pub model: Option<String>,
    /// The embedding stored with that sentiment; empty when there is none.
    pub embedding: Vec<f32>,
}

/// A sentiment head to record (see [`Store::save_head`]).
#[derive(Debug, Clone)]
pub struct NewHead<'a> {
    /// The head's version id (the `+head:<id>` of model keys).
    pub head_id: &'a str,
    /// The model key of the encoder whose embeddings it reads (`earshot/e5-small-sentiment@1`).
    pub encoder: &'a str,
    /// The head file, as JSON.
    pub head_json: &'a str,
    /// How it scored, as JSON (free-form, for people and later runs).
    pub evaluation: &'a str,
    pub trained_at: Timestamp,
    /// Make it the encoder's active head now; `None` records it as kept back.
    pub activated_at: Option<Timestamp>,
}

/// A sentiment head as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHead {
    /// The row's id, in the order heads were recorded.
    pub id: i64,
    pub head_id: String,
    pub encoder: String,
    pub head_json: String,
    pub evaluation: String,
    pub trained_at: Timestamp,
    /// When it was activated; `None` when it was kept back.
    pub activated_at: Option<Timestamp>,
}

/// A key to store. Only the hash of its secret is kept.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub name: &'a KeyName,
    pub role: Role,
    pub hash: &'a KeyHash,
}

/// A console user to store (see [`Store::create_user`]).
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a Username,
    pub role: Role,
    /// The password's argon2 hash in PHC string form; never the password.
    pub password_hash: &'a str,
}

/// A console session to store (see [`Store::create_session`]).
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token: &'a SessionHash,
    pub csrf_token: &'a str,
    pub owner: SessionOwner,
    pub expires_at: Timestamp,
}

/// Which alerts to list: newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub brand: Option<BrandSlug>,
    pub severity: Option<Severity>,
    /// Only alerts with an id below this (the cursor of the previous page).
    pub before: Option<AlertId>,
    pub limit: u32,
    /// Only alerts of this kind.
    pub kind: Option<AlertKind>,
}

/// One brand's negative mentions per hour (see [`Store::negative_hours`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegativeHours {
    /// When the brand's first mention was discovered, if it has any: the hours before
    /// are not known to be quiet, so they are not history.
    pub first_discovered_at: Option<Timestamp>,
    /// Each hour that had negative mentions (by its start), with how many, oldest first.
    /// Hours with none are left out.
    pub counts: Vec<(Timestamp, u32)>,
    /// The hour of the brand's latest spike alert, if it has had one.
    pub last_spike: Option<Timestamp>,
}

/// A request to lease one channel's due notifications for delivery, oldest first.
///
/// A lease keeps two delivery workers from sending one notification at once. It ends
/// when the outcome is recorded ([`Store::record_delivery`]), or by itself at
/// `now + lease` if the worker died; the row is then sent again (at least once).
#[derive(Debug, Clone)]
pub struct NotificationClaim<'a> {
    /// Who is claiming: a stable name for this process.
    pub worker: &'a str,
    pub channel: &'a ChannelName,
    pub now: Timestamp,
    /// Longer than a delivery can take, so a live worker never loses its rows.
    pub lease: Duration,
    pub limit: u32,
}

/// What became of one attempt to deliver notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The channel accepted it.
    Sent,
    /// It failed, for this reason; it is tried again at `retry_at`, or (`None`) given up
    /// on with status `failed`.
    Failed {
        error: String,
        retry_at: Option<Timestamp>,
    },
}

/// Which notifications to list: newest first.
#[derive(Debug, Clone, Default)]
pub struct NotificationQuery {
    pub status: Option<NotificationStatus>,
    pub channel: Option<ChannelName>,
    pub alert: Option<AlertId>,
    /// Only notifications with an id below this (the cursor of the previous page).
    pub before: Option<NotificationId>,
    pub limit: u32,
}

/// A change to an alert's assignee and notes. `None` leaves a field as it is;
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct AlertEdit {
    pub assignee: Option<Option<Assignee>>,
    pub notes: Option<Option<Note>>,
}

/// What became of a change to an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    Done,
    NotFound,
    /// The lifecycle does not allow it from the alert's current status.
    Refused(InvalidTransition),
}

/// Which reviews to list: newest first.
#[derive(Debug, Clone, Default)]
pub struct ReviewQuery {
    pub status: Option<ReviewStatus>,
    pub brand: Option<BrandSlug>,
    /// Only reviews with an id below this (the cursor of the previous page).
    pub before: Option<ReviewId>,
    pub limit: u32,
}

/// A person's decision on a review.
#[derive(Debug, Clone, Copy)]
pub enum ReviewDecision<'a> {
    /// Publish it: all of its text, or only this excerpt of it (already checked against
    /// the text with [`Excerpt::parse`]).
    Approve { excerpt: Option<&'a Excerpt> },
    /// Do not publish it (or withdraw it), for this reason.
    Reject { reason: &'a Note },
}

impl ReviewDecision<'_> {
    /// The lifecycle action this decision is.
    pub fn action(&self) -> earshot_domain::ReviewAction {
        match self {
            Self::Approve { .. } => earshot_domain::ReviewAction::Approve,
            Self::Reject { .. } => earshot_domain::ReviewAction::Reject,
        }
    }
}

/// A brand's public feed as of a moment: its name (shown in the feed) and the version of
/// its approved reviews. Two equal stamps mean the feed's content is the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStamp {
    pub name: String,
    pub version: i64,
}

/// What became of a decision on a review.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewChange {
    /// The review as it now is (boxed: it is large, the other answers are small).
    Done(Box<Review>),
    NotFound,
    /// The lifecycle does not allow it from the review's current status.
    Refused(InvalidReviewAction),
}

/// What became of an API change to something the config file may define instead: an
/// alert rule, a brand or a source.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// The thing as it now is (for a deletion, as it was, or nothing).
    Done(T),
    NotFound,
    /// It comes from the config file and can only be changed there.
    FromConfig,
    /// A new one's name is taken by a live one.
    Taken,
}

/// What became of a change to an alert rule.
pub type RuleChange = Change<AlertRule>;

/// Everything Earshot stores. Implemented by [`SqliteStore`] and [`PostgresStore`];
/// both pass the same conformance suite.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Makes the stored brands and sources match the config. Brands and sources are
    /// upserted by slug and name, and become the file's (one the API made under the same
    /// name is taken over). A source whose URL changed forgets its ETag and Last-Modified.
    /// Config brands and sources missing from the file are retired, not deleted, so their
    /// mentions stay; one that comes back is un-retired. What the API made is left alone.
    async fn sync_config(
        &self,
        brands: &[Brand],
        sources: &[Source],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every source that is not retired, by name.
    async fn sources(&self) -> Result<Vec<StoredSource>, StoreError>;

    /// Every brand that is not retired, by slug: those the crawler matches.
    async fn brands(&self) -> Result<Vec<StoredBrand>, StoreError>;

    /// Adds a brand made through the API. [`Change::Taken`] when a live brand has its
    /// slug; a retired brand with that slug comes back under the new definition.
    async fn create_brand(
        &self,
        brand: &Brand,
        now: Timestamp,
    ) -> Result<Change<StoredBrand>, StoreError>;

    /// Replaces an API brand's definition (the slug names it). Config brands are refused.
    async fn update_brand(
        &self,
        brand: &Brand,
        now: Timestamp,
    ) -> Result<Change<StoredBrand>, StoreError>;

    /// Retires an API brand: no new mentions are matched for it; its mentions, alerts
    /// and reviews stay. Config brands are refused.
    async fn retire_brand(
        &self,
        slug: &BrandSlug,
        now: Timestamp,
    ) -> Result<Change<()>, StoreError>;

    /// Adds a source made through the API, due at once. [`Change::Taken`] when a live
    /// source has its name; a retired one with that name comes back as new.
    async fn create_source(
        &self,
        source: &Source,
        now: Timestamp,
    ) -> Result<Change<StoredSource>, StoreError>;

    /// Replaces an API source's kind, URL and interval (the name names it). A new URL
    /// makes it due at once and forgets the old URL's ETag and Last-Modified. Config
    /// sources are refused.
    async fn update_source(
        &self,
        source: &Source,
        now: Timestamp,
    ) -> Result<Change<StoredSource>, StoreError>;

    /// Retires an API source: it is no longer crawled; its mentions stay. Config
    /// sources are refused.
    async fn retire_source(
        &self,
        name: &SourceName,
        now: Timestamp,
    ) -> Result<Change<()>, StoreError>;

    /// Leases up to `claim.limit` sources, most overdue first. A source already leased
    /// to a live lease is never returned, so concurrent claimers get disjoint sets.
    async fn claim_sources(&self, claim: &Claim<'_>) -> Result<Vec<StoredSource>, StoreError>;

    /// Stores a crawl's outcome in one transaction: inserts the new mentions (skipping
    /// those already stored), sets the source's state, appends a crawl run, and releases
    /// the lease. Returns how many mentions were new.
    async fn record_crawl(
        &self,
        source: SourceId,
        worker: &str,
        record: &CrawlRecord,
    ) -> Result<u64, StoreError>;

    /// Crawl runs, newest first.
    async fn crawl_runs(&self, limit: u32) -> Result<Vec<CrawlRun>, StoreError>;

    /// The source's aggregate ratings (review pages), newest first, at most `limit`.
    async fn source_ratings(
        &self,
        name: &SourceName,
        limit: u32,
    ) -> Result<Vec<SourceRating>, StoreError>;

    /// Mentions, newest discovered first.
    async fn mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError>;

    /// One brand's mention volume and sentiment per bucket of `query.from..query.to`
    /// (see [`Stats`]). The caller bounds the number of buckets ([`Bucket::count`]).
    async fn stats(&self, query: &StatsQuery) -> Result<Stats, StoreError>;

    /// How many mentions are stored in all.
    async fn count_mentions(&self) -> Result<u64, StoreError>;

    /// What `/metrics` reports from the database: mentions per brand, how many wait for
    /// a sentiment, and alerts and reviews per status. One full count per call: meant for
    /// a scrape every few seconds at most, not per request.
    async fn counts(&self) -> Result<Counts, StoreError>;

    /// Leases up to `claim.limit` mentions that need classifying, oldest first. A
    /// mention under a live lease is never returned, so concurrent classifiers get
    /// disjoint sets; a lease whose worker died expires and its mentions come back.
    async fn claim_unclassified(
        &self,
        claim: &ClassifyClaim<'_>,
    ) -> Result<Vec<ClassifyJob>, StoreError>;

    /// Stores sentiments in one transaction, each replacing the mention's previous one
    /// (there is only ever one current sentiment per mention), and releases the leases.
    /// A result whose lease `worker` no longer holds is skipped, so a worker that lost
    /// its lease never overwrites the one that took over. Returns how many were stored.
    ///
    /// In the same transaction, each stored result that an active alert rule matches
    /// (see [`earshot_domain::alert_for`]) opens an alert, with an `open` event in its
    /// history. A mention has at most one alert: re-classifying it opens no second one.
    /// Likewise each result that makes its mention a review candidate (see
    /// [`earshot_domain::review_for`]) creates the mention's one review: pending, or
    /// approved by its brand's auto-approve rule.
    async fn save_sentiments(
        &self,
        worker: &str,
        results: &[(MentionId, Sentiment)],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Gives up every lease `worker` holds, on sources and on mentions, so that other
    /// workers may claim them at once rather than when the leases expire. A worker calls
    /// it when it stops with work unrecorded (a bounded shutdown). Returns how many leases
    /// were released.
    async fn release_leases(&self, worker: &str) -> Result<u64, StoreError>;

    /// How many mentions still need classifying by `model` (see [`ClassifyClaim::reclassify`]).
    async fn count_unclassified(&self, model: &str, reclassify: bool) -> Result<u64, StoreError>;

    /// One mention, as [`Store::mentions`] lists it.
    async fn mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError>;

    /// Records a person's label for a mention beside the model's (which stays as it
    /// is). The latest correction is the one a mention shows. Returns `false` when there
    /// is no such mention.
    async fn correct_sentiment(
        &self,
        mention: MentionId,
        label: Label,
        by: &Actor,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Every mention that has a correction, with its latest corrected label, the text the
    /// classifier reads and its stored sentiment's model key and embedding, oldest mention
    /// first; only `brand`'s mentions when given.
    async fn training_corrections(
        &self,
        brand: Option<&BrandSlug>,
    ) -> Result<Vec<TrainingCorrection>, StoreError>;

    /// Records a trained head, activated or kept back, and returns its row id. An activated
    /// head becomes [`Store::active_head`] for its encoder at once, for every process.
    async fn save_head(&self, head: &NewHead<'_>) -> Result<i64, StoreError>;

    /// The most recently activated head for the encoder with model key `encoder`, if any.
    async fn active_head(&self, encoder: &str) -> Result<Option<StoredHead>, StoreError>;

    /// Every head recorded for the encoder `encoder`, activated or not, newest first.
    async fn heads(&self, encoder: &str) -> Result<Vec<StoredHead>, StoreError>;

    /// Stores a new API key.
    async fn create_api_key(
        &self,
        key: &NewApiKey<'_>,
        now: Timestamp,
    ) -> Result<ApiKey, StoreError>;

    /// Every key, revoked ones included, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes a key; revoking it again keeps the first time. `None` when there is no
    /// such key.
    async fn revoke_api_key(
        &self,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// The key whose secret hashes to `hash`, revoked or not (the caller refuses revoked
    /// ones). A live key's `last_used_at` is moved to `now` when it is more than a minute
    /// old, so busy clients do not turn every request into a write.
    async fn authenticate(
        &self,
        hash: &KeyHash,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError>;

    /// Stores a console user; `None` when the username is taken.
    async fn create_user(
        &self,
        user: &NewUser<'_>,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError>;

    /// Every console user, disabled ones too, by username.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// A user and their stored password hash, for signing in; disabled users too (the
    /// caller refuses them).
    async fn user_credentials(
        &self,
        username: &Username,
    ) -> Result<Option<(User, String)>, StoreError>;

    /// Disables a user (ending their sessions in the same transaction) or enables them
    /// again. `None` when there is no such user.
    async fn set_user_disabled(
        &self,
        username: &Username,
        disabled: bool,
        now: Timestamp,
    ) -> Result<Option<User>, StoreError>;

    /// Deletes a user and their sessions (what they did stays in history under their
    /// name). `false` when there is no such user.
    async fn delete_user(&self, username: &Username) -> Result<bool, StoreError>;

    /// Stores a new console session, and removes sessions that expired by `now`.
    async fn create_session(
        &self,
        session: &NewSession<'_>,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The live session whose token hashes to `token`: `None` when there is none, it
    /// expired by `now`, or its user is disabled or its key revoked.
    async fn session(
        &self,
        token: &SessionHash,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError>;

    /// Ends a session (signing out); ending one that does not exist is not an error.
    async fn end_session(&self, token: &SessionHash) -> Result<(), StoreError>;

    /// Makes the stored config rules match the config's `[[alert_rules]]`: a rule is
    /// identified by its content, so an unchanged rule keeps its id, a changed one is a
    /// new rule, and one gone from the file is retired (its alerts stay). Rules created
    /// through the API are left alone. Run after [`Store::sync_config`].
    async fn sync_alert_rules(
        &self,
        rules: &[AlertRuleSpec],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The active alert rules, oldest first.
    async fn alert_rules(&self) -> Result<Vec<AlertRule>, StoreError>;

    /// One active alert rule.
    async fn alert_rule(&self, id: AlertRuleId) -> Result<Option<AlertRule>, StoreError>;

    /// Stores a rule made through the API. Its brand and sources must be in the
    /// database ([`StoreError::UnknownBrand`], [`StoreError::UnknownSource`]).
    async fn create_alert_rule(
        &self,
        spec: &AlertRuleSpec,
        now: Timestamp,
    ) -> Result<AlertRule, StoreError>;

    /// Replaces an API rule's spec. Config rules are refused.
    async fn update_alert_rule(
        &self,
        id: AlertRuleId,
        spec: &AlertRuleSpec,
        now: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    /// Retires an API rule: it opens no more alerts, and those it opened stay. Config
    /// rules are refused.
    async fn retire_alert_rule(
        &self,
        id: AlertRuleId,
        now: Timestamp,
    ) -> Result<RuleChange, StoreError>;

    /// One brand's mentions whose final label (after star ratings) is negative, per hour
    /// of `from..to` (`from` on the hour). A mention counts at its published time, or
    /// its discovery time when the date is unknown, as in [`Store::stats`]. One query
    /// for the counts, bounded by the mentions discovered since `from`, and two one-row
    /// reads (the brand's first mention, its latest spike).
    async fn negative_hours(
        &self,
        brand: &BrandSlug,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<NegativeHours, StoreError>;

    /// Opens a `spike` alert for `brand`'s `spike`, with an `open` event, unless the
    /// brand's latest spike alert is less than `rule.cooldown()` before `spike.hour` (or
    /// after it). The check and the new alert are one transaction, and the cooldown is
    /// kept in the database, so restarts and concurrent workers open one alert per
    /// burst. The alert lists the hour's negative mentions (see
    /// [`earshot_domain::SpikeAlert`]). Returns the new alert's id, or `None`.
    async fn open_spike_alert(
        &self,
        brand: &BrandSlug,
        spike: &Spike,
        rule: &SpikeRule,
        now: Timestamp,
    ) -> Result<Option<AlertId>, StoreError>;

    /// Alerts, newest first: mention alerts each with its mention, spike alerts with
    /// their numbers, source alerts with the source's failure.
    async fn alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError>;

    /// One alert and its history, oldest event first.
    async fn alert(&self, id: AlertId) -> Result<Option<(Alert, Vec<AlertEvent>)>, StoreError>;

    /// Moves an alert through its lifecycle and records who did it, with an optional
    /// note, in one transaction. Two people acting at once cannot both move it from the
    /// same status: the second is refused.
    async fn transition_alert(
        &self,
        id: AlertId,
        transition: Transition,
        by: &Actor,
        note: Option<&Note>,
        now: Timestamp,
    ) -> Result<AlertChange, StoreError>;

    /// Sets or clears an alert's assignee and notes, recording each change in its
    /// history. Closed alerts can still be annotated.
    async fn edit_alert(
        &self,
        id: AlertId,
        edit: &AlertEdit,
        by: &Actor,
        now: Timestamp,
    ) -> Result<AlertChange, StoreError>;

    /// Leases up to `claim.limit` of a channel's pending notifications that are due,
    /// oldest first. A notification under a live lease is never returned, so concurrent
    /// delivery workers get disjoint sets. Notifications are queued only by the
    /// transactions that open alerts (each alert's rule names its channels).
    async fn claim_notifications(
        &self,
        claim: &NotificationClaim<'_>,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Records the outcome of delivering these notifications (one, or a digest's
    /// several) in one transaction, each counting one more attempt, and releases their
    /// leases. A row whose lease `worker` no longer holds is skipped: whoever holds it
    /// now will send it. Returns how many were recorded.
    async fn record_delivery(
        &self,
        worker: &str,
        ids: &[NotificationId],
        outcome: &Delivery,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// When a notification to `channel` was last sent, if ever (a digest channel sends
    /// at most one message per window).
    async fn last_sent(&self, channel: &ChannelName) -> Result<Option<Timestamp>, StoreError>;

    /// Notifications, newest first.
    async fn notifications(
        &self,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Reviews, newest first, each with its mention.
    async fn reviews(&self, query: &ReviewQuery) -> Result<Vec<Review>, StoreError>;

    /// One review.
    async fn review(&self, id: ReviewId) -> Result<Option<Review>, StoreError>;

    /// Approves or rejects a review, recording who did it and when, if its lifecycle
    /// allows that from its current status. Two people deciding at once cannot both
    /// move it from the same status: the second is refused.
    async fn decide_review(
        &self,
        id: ReviewId,
        decision: &ReviewDecision<'_>,
        by: &Actor,
        now: Timestamp,
    ) -> Result<ReviewChange, StoreError>;

    /// The display name of the brand with this slug, if there is one.
    async fn brand_name(&self, slug: &BrandSlug) -> Result<Option<String>, StoreError>;

    /// The brand's name and the version stamp of its public review feed, if there is such
    /// a brand: one indexed read, cheap enough for every request. Migration 0006's
    /// triggers raise the stamp in the same transaction as any committed change to what
    /// the feed shows (a review approved, withdrawn or given another excerpt, the text of
    /// an approved review's mention, a source's name), whichever process makes it; a feed
    /// built after reading a stamp is therefore at least as new as the stamp says.
    async fn feed_stamp(&self, slug: &BrandSlug) -> Result<Option<FeedStamp>, StoreError>;
}

/// Opens the database a URL names, applying migrations. `sqlite://PATH` (created if
/// missing) or `postgres://...`/`postgresql://...`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://earshot.db"), "sqlite://earshot.db");
    }
}
