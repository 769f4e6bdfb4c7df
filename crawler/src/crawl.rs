//! The crawl loop's shell: claim sources from the store, fetch, parse, match, and record
//! each outcome in one transaction. A failure is recorded against its source and never
//! stops the others.

use crate::fetch::{Fetcher, Validators};
use crate::matching::BrandMatcher;
use crate::schedule;
use earshot_domain::{Brand, SourceName, Timestamp, UnhealthyAfter};
use earshot_store::{Claim, CrawlRecord, Store, StoreError, StoredSource};
use earshot_telemetry::CrawlOutcome;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// What one crawl of one source did, for summaries and progress lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrawlReport {
    pub source: SourceName,
    pub http_status: Option<u16>,
    /// The server answered 304: nothing changed since the last fetch.
    pub not_modified: bool,
    pub bytes: u64,
    pub items_seen: u64,
    pub new_mentions: u64,
    /// Why the crawl failed, if it did.
    pub error: Option<String>,
    /// What a crawl that did not fail could still not read.
    pub problems: Vec<String>,
    pub next_check_at: Option<Timestamp>,
}

/// Crawls sources. Cheap to clone: clones share the HTTP client, the matcher and the store.
///
/// The brands to match come from the store (the config file's and those made through
/// the admin API), read again after each claim that found work, so a brand added,
/// changed or retired through the API applies from the next round, in every process.
#[derive(Clone)]
pub struct Crawler {
    fetcher: Fetcher,
    matching: Arc<Mutex<Matching>>,
    store: Arc<dyn Store>,
    /// This process's name in leases and crawl runs.
    worker: Arc<str>,
    /// Consecutive failures that make a source unhealthy (see
    /// [`CrawlRecord::unhealthy_after`]); `None` leaves health to successes alone.
    unhealthy_after: Option<UnhealthyAfter>,
    /// Claims that took a source over from another worker whose lease had expired.
    lease_takeovers: Arc<AtomicU64>,
    /// How long a claimed source stays leased; `None`: [`Crawler::default_lease`].
    lease: Option<Duration>,
    /// How the next check is chosen after a success.
    policy: schedule::Policy,
}

/// The brands last read from the store, and the matcher built from them.
struct Matching {
    brands: Vec<Brand>,
    matcher: Arc<BrandMatcher>,
}

impl Crawler {
    pub fn new(fetcher: Fetcher, store: Arc<dyn Store>, worker: &str) -> Self {
        Self {
            fetcher,
            matching: Arc::new(Mutex::new(Matching {
                brands: Vec::new(),
                matcher: Arc::new(BrandMatcher::new(&[])),
            })),
            store,
            worker: worker.into(),
            unhealthy_after: None,
            lease_takeovers: Arc::new(AtomicU64::new(0)),
            lease: None,
            policy: schedule::Policy::default(),
        }
    }

    /// The same crawler, scheduling next checks by `policy` (by default each source's
    /// own interval, jittered; see [`crate::schedule`]).
    pub fn with_policy(mut self, policy: schedule::Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The same crawler, leasing what it claims for `lease` instead of the default (see
    /// [`Crawler::default_lease`]). A lease shorter than a crawl lets another worker crawl
    /// the source again meanwhile; the dedup index still stores its items once.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// How many sources this crawler (and its clones) claimed from another worker whose
    /// lease had expired unrecorded, since it was made: the count behind
    /// `earshot_lease_takeovers_total`. Each one is also logged at warn level with the
    /// field `lease_takeover = true`.
    pub fn lease_takeovers(&self) -> u64 {
        self.lease_takeovers.load(Ordering::Relaxed)
    }

    /// Claims sources, counting and logging each lease takeover among them.
    async fn claim(&self, claim: &Claim<'_>) -> Result<Vec<StoredSource>, StoreError> {
        let claimed = self.store.claim_sources(claim).await?;
        for source in &claimed {
            if let Some(from) = &source.lease_taken_from {
                self.lease_takeovers.fetch_add(1, Ordering::Relaxed);
                earshot_telemetry::lease_takeovers(1);
                tracing::warn!(
                    lease_takeover = true,
                    source = %source.source.name,
                    previous_worker = %from,
                    "took over a source whose lease expired unrecorded"
                );
            }
        }
        Ok(claimed)
    }

    /// Marks a source unhealthy, and opens its one source alert, when a crawl leaves it
    /// at `failures` consecutive failures (`[crawler] unhealthy_after`).
    pub fn with_unhealthy_after(mut self, failures: UnhealthyAfter) -> Self {
        self.unhealthy_after = Some(failures);
        self
    }

    /// The matcher for the brands stored now; rebuilt only when they changed.
    async fn matcher(&self) -> Result<Arc<BrandMatcher>, StoreError> {
        let brands: Vec<Brand> = self
            .store
            .brands()
            .await?
            .into_iter()
            .map(|b| b.brand)
            .collect();
        let mut matching = self.matching.lock().unwrap_or_else(|e| e.into_inner());
        if matching.brands != brands {
            matching.matcher = Arc::new(BrandMatcher::new(&brands));
            matching.brands = brands;
        }
        Ok(matching.matcher.clone())
    }

    /// The matcher for this round: the stored brands, or, when they cannot be read, the
    /// last ones read (the claim that follows will most likely fail and say why).
    async fn matcher_or_last(&self) -> Arc<BrandMatcher> {
        match self.matcher().await {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "could not read the brands; matching the last ones read");
                let matching = self.matching.lock().unwrap_or_else(|e| e.into_inner());
                matching.matcher.clone()
            }
        }
    }

    /// How long a claimed source stays leased by default if this process dies mid-crawl:
    /// longer than a crawl usually takes (a feed is one fetch; a forum a few polite pages),
    /// short enough that another worker picks it up soon. A crawl that outlives its
    /// lease may be repeated by another worker; the dedup index keeps its mentions once.
    pub fn default_lease(&self) -> Duration {
        self.fetcher.limits().total_timeout * 2 + Duration::from_secs(120)
    }

    /// The lease this crawler takes on what it claims.
    fn lease(&self) -> Duration {
        self.lease.unwrap_or_else(|| self.default_lease())
    }

    /// Crawls one claimed source, matching `matcher`'s brands, and records the outcome
    /// (which releases the lease).
    #[tracing::instrument(skip_all, fields(source = %source.source.name, source_id = source.id.0))]
    async fn crawl(&self, source: &StoredSource, matcher: &BrandMatcher) -> CrawlReport {
        let started_at = Timestamp::now();
        let prev = &source.state;
        let every = source.source.every;
        let validators = Validators {
            etag: prev.etag.as_deref(),
            last_modified: prev.last_modified.as_deref(),
        };
        let harvest = crate::harvest::harvest(&self.fetcher, &source.source, &validators).await;
        let now = Timestamp::now();
        let mut record = CrawlRecord {
            started_at,
            finished_at: now,
            http_status: None,
            bytes: 0,
            items_seen: 0,
            error: None,
            mentions: Vec::new(),
            state: prev.clone(),
            problems: Vec::new(),
            aggregate: None,
            unhealthy_after: self.unhealthy_after,
        };
        let mut not_modified = false;
        match harvest {
            Ok(h) => {
                not_modified = h.not_modified;
                record.http_status = h.http_status;
                record.bytes = h.bytes;
                record.items_seen = h.docs.len() as u64;
                record.mentions = h.docs.iter().flat_map(|d| matcher.mentions(d)).collect();
                record.problems = h.problems;
                record.aggregate = h.aggregate;
                let activity = schedule::Activity::of(
                    h.not_modified,
                    prev.last_success_at,
                    h.docs.iter().map(|d| d.published_at),
                );
                let wait = schedule::next_interval(
                    prev,
                    every,
                    source.source.name.as_str(),
                    self.policy,
                    activity,
                    h.fresh_for,
                );
                record.state = schedule::after_success(prev, now, wait, h.etag, h.last_modified);
            }
            Err(e) => {
                record.http_status = e.http_status;
                record.state =
                    schedule::after_failure(prev, now, every, e.message.clone(), e.retry_after);
                record.error = Some(e.message);
            }
        }
        if let Some(error) = &record.error {
            tracing::warn!(error = %error, "crawl failed");
        }
        for problem in &record.problems {
            tracing::warn!(problem = %problem, "part of the source could not be read");
        }
        let mut report = CrawlReport {
            source: source.source.name.clone(),
            http_status: record.http_status,
            not_modified,
            bytes: record.bytes,
            items_seen: record.items_seen,
            new_mentions: 0,
            error: record.error.clone(),
            problems: record.problems.clone(),
            next_check_at: record.state.next_check_at,
        };
        let outcome = match self
            .store
            .record_crawl(source.id, &self.worker, &record)
            .await
        {
            Ok(new) => {
                report.new_mentions = new;
                if record.error.is_some() {
                    CrawlOutcome::Failed
                } else if not_modified {
                    CrawlOutcome::NotModified
                } else {
                    CrawlOutcome::Ok
                }
            }
            Err(e) => {
                // The lease stays and expires; the next claim fetches this source again,
                // so nothing is lost.
                tracing::error!(error = %e, "could not store the crawl");
                report.error = Some(format!("could not store the crawl: {e}"));
                CrawlOutcome::Unsaved
            }
        };
        earshot_telemetry::crawl_finished(outcome, report.items_seen, report.new_mentions);
        tracing::debug!(
            outcome = outcome.as_str(),
            http_status = report.http_status,
            bytes = report.bytes,
            items_seen = report.items_seen,
            new_mentions = report.new_mentions,
            duration_ms = Timestamp::now().since(started_at).as_millis() as u64,
            "crawl finished"
        );
        report
    }

    /// Crawls every source now (or only `only`), due or not, at most `concurrency` at a
    /// time, calling `on_start` with the number claimed and `on_done` as each finishes.
    /// Sources leased by another worker are skipped.
    pub async fn crawl_all_once(
        &self,
        only: Option<&SourceName>,
        concurrency: usize,
        on_start: impl FnOnce(usize),
        mut on_done: impl FnMut(&CrawlReport),
    ) -> Result<Vec<CrawlReport>, StoreError> {
        let claimed = self
            .claim(&Claim {
                worker: &self.worker,
                now: Timestamp::now(),
                lease: self.lease(),
                limit: u32::MAX,
                due_only: false,
                name: only,
            })
            .await?;
        // The brands after the claim: a brand made before a source was (and so before
        // any claim of it) is always matched in that source's first crawl.
        let matcher = self.matcher().await?;
        on_start(claimed.len());
        let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for source in claimed {
            let me = self.clone();
            let limit = limit.clone();
            let matcher = matcher.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                me.crawl(&source, &matcher).await
            });
        }
        let mut reports = Vec::new();
        while let Some(done) = tasks.join_next().await {
            if let Ok(report) = done {
                on_done(&report);
                reports.push(report);
            }
        }
        reports.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(reports)
    }

    /// The unattended scheduler: every `tick`, claims the sources that are due and
    /// crawls them, at most `concurrency` at a time, until `shutdown` resolves. Then it
    /// stops claiming and waits for the crawls in flight, so their writes finish.
    pub async fn run_scheduler(
        &self,
        concurrency: usize,
        tick: Duration,
        shutdown: impl Future<Output = ()>,
    ) {
        let concurrency = concurrency.max(1);
        let mut tasks: JoinSet<CrawlReport> = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            while tasks.try_join_next().is_some() {}
            let free = concurrency.saturating_sub(tasks.len());
            if free > 0 {
                let claim = Claim {
                    worker: &self.worker,
                    now: Timestamp::now(),
                    lease: self.lease(),
                    limit: u32::try_from(free).unwrap_or(u32::MAX),
                    due_only: true,
                    name: None,
                };
                match self.claim(&claim).await {
                    Ok(due) if due.is_empty() => {}
                    Ok(due) => {
                        // After the claim, as in `crawl_all_once`.
                        let matcher = self.matcher_or_last().await;
                        for source in due {
                            let (me, matcher) = (self.clone(), matcher.clone());
                            tasks.spawn(async move { me.crawl(&source, &matcher).await });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "could not claim due sources"),
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(tick) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tracing::info!(
            in_flight = tasks.len(),
            "scheduler stopping; finishing crawls in flight"
        );
        while tasks.join_next().await.is_some() {}
    }
}
