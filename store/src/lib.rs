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
//! between fetch and store loses nothing that the next run won't fetch again.

mod postgres;
mod shared;
mod sqlite;

use async_trait::async_trait;
use earshot_domain::{
    Brand, BrandSlug, Label, Mention, MentionId, NewMention, Sentiment, Source, SourceId,
    SourceName, SourceState, Timestamp,
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
    #[error("mention for brand {0:?}, which is not in the database (sync the config first)")]
    UnknownBrand(String),
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
    /// Set when the source left the config; its mentions are kept.
    pub retired_at: Option<Timestamp>,
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
    pub limit: u32,
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
}

/// Everything Earshot stores. Implemented by [`SqliteStore`] and [`PostgresStore`];
/// both pass the same conformance suite.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Makes the stored brands and sources match the config. Brands and sources are
    /// upserted by slug and name. A source whose URL changed forgets its ETag and
    /// Last-Modified. Sources missing from the config are retired, not deleted, so their
    /// mentions stay; a retired source that comes back is un-retired.
    async fn sync_config(
        &self,
        brands: &[Brand],
        sources: &[Source],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every source that is not retired, by name.
    async fn sources(&self) -> Result<Vec<StoredSource>, StoreError>;

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

    /// Mentions, newest discovered first.
    async fn mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError>;

    /// How many mentions are stored in all.
    async fn count_mentions(&self) -> Result<u64, StoreError>;

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
    async fn save_sentiments(
        &self,
        worker: &str,
        results: &[(MentionId, Sentiment)],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// How many mentions still need classifying by `model` (see [`ClassifyClaim::reclassify`]).
    async fn count_unclassified(&self, model: &str, reclassify: bool) -> Result<u64, StoreError>;
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
