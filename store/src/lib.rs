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
//! transaction.

mod alerts;
mod heads;
mod keys;
mod postgres;
mod reviews;
mod setup;
mod shared;
mod sqlite;

use async_trait::async_trait;
use earshot_domain::{
    Actor, Alert, AlertEvent, AlertId, AlertRule, AlertRuleId, AlertRuleSpec, AlertStatus, ApiKey,
    ApiKeyId, Assignee, Brand, BrandSlug, Excerpt, InvalidReviewAction, InvalidTransition, KeyHash,
    KeyName, Label, LanguageCode, Mention, MentionId, NewMention, Note, Origin, Review, ReviewId,
    ReviewStatus, Role, Sentiment, Severity, Source, SourceId, SourceName, SourceState, Timestamp,
    Transition,
};
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
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
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

/// Which alerts to list: newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub brand: Option<BrandSlug>,
    pub severity: Option<Severity>,
    /// Only alerts with an id below this (the cursor of the previous page).
    pub before: Option<AlertId>,
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

    /// Alerts, newest first, each with its mention.
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
