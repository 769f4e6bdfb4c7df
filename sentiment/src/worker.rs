//! The classifier worker: claims unclassified mentions from the store in batches under a
//! lease, classifies them on the [`SentimentService`], and stores each batch's results in
//! one transaction. A worker killed mid-batch stored nothing of that batch; its lease
//! expires and the mentions are classified again, once.

use crate::{language, Scores, SentimentError, SentimentService};
use earshot_domain::{label_with_rating, Label, Sentiment, Timestamp};
use earshot_store::{ClassifyClaim, ClassifyJob, Store, StoreError};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Why a classification round failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The database failed; the claimed mentions' leases expire and they are retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The model failed on this batch.
    #[error(transparent)]
    Model(#[from] SentimentError),
}

/// Which mentions a run classifies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection {
    /// Also re-classify mentions that another model version classified.
    pub reclassify: bool,
    /// Only mentions discovered at or after this.
    pub since: Option<Timestamp>,
}

/// Claims, classifies and stores. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    service: Arc<SentimentService>,
    store: Arc<dyn Store>,
    /// This process's name in leases.
    name: Arc<str>,
    /// Mentions claimed, classified and stored per round.
    claim: u32,
    /// How long claimed mentions stay leased if this process dies.
    lease: Duration,
    /// Mentions claimed from another worker whose lease had expired.
    lease_takeovers: Arc<AtomicU64>,
}

impl Worker {
    /// How long claimed mentions stay leased by default: far longer than one batch takes,
    /// short enough that another worker soon takes over from one that died.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

    /// A worker named `name` in leases, claiming `claim` mentions per round under `lease`.
    /// A claim larger than the model's batch size lets the classifier sort more texts by
    /// length, so its runs pad less; each round's results are stored in one transaction.
    pub fn new(
        service: Arc<SentimentService>,
        store: Arc<dyn Store>,
        name: &str,
        claim: u32,
        lease: Duration,
    ) -> Self {
        Self {
            service,
            store,
            name: name.into(),
            claim: claim.max(1),
            lease,
            lease_takeovers: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The model's `model_id@version`, stored with every result.
    pub fn model(&self) -> &str {
        self.service.model_key()
    }

    /// How many mentions `selection` would classify now.
    pub async fn pending(&self, selection: Selection) -> Result<u64, WorkerError> {
        Ok(self
            .store
            .count_unclassified(self.model(), selection.reclassify)
            .await?)
    }

    /// This worker's name in leases.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many mentions this worker (and its clones) claimed from another worker whose
    /// lease had expired before it stored a sentiment: the count behind
    /// `earshot_lease_takeovers_total`. Each claim with takeovers is also logged at warn
    /// level with the field `lease_takeover = true`.
    pub fn lease_takeovers(&self) -> u64 {
        self.lease_takeovers.load(Ordering::Relaxed)
    }

    /// The service this worker classifies on.
    pub fn service(&self) -> &Arc<SentimentService> {
        &self.service
    }

    /// One round: claim a batch, classify it, store it. Returns how many mentions were
    /// stored, or `None` when nothing was left to claim.
    #[tracing::instrument(name = "classify_batch", skip_all, fields(worker = %self.name, claimed, stored))]
    pub async fn round(&self, selection: Selection) -> Result<Option<u64>, WorkerError> {
        let jobs = self
            .store
            .claim_unclassified(&ClassifyClaim {
                worker: &self.name,
                now: Timestamp::now(),
                lease: self.lease,
                limit: self.claim,
                model: self.model(),
                reclassify: selection.reclassify,
                since: selection.since,
            })
            .await?;
        if jobs.is_empty() {
            return Ok(None);
        }
        let span = tracing::Span::current();
        span.record("claimed", jobs.len());
        let taken: Vec<&ClassifyJob> = jobs
            .iter()
            .filter(|j| j.taken_over_from.is_some())
            .collect();
        if let Some(first) = taken.first() {
            self.lease_takeovers
                .fetch_add(taken.len() as u64, Ordering::Relaxed);
            earshot_telemetry::lease_takeovers(taken.len() as u64);
            tracing::warn!(
                lease_takeover = true,
                mentions = taken.len(),
                previous_worker = first.taken_over_from.as_deref().unwrap_or_default(),
                "took over mentions whose classification lease expired unstored"
            );
        }
        let texts: Vec<String> = jobs.iter().map(text_of).collect();
        let started = std::time::Instant::now();
        let scores = self.service.classify(texts.clone()).await?;
        let took = started.elapsed();
        let results: Vec<_> = jobs
            .iter()
            .zip(texts.iter().zip(scores))
            .map(|(job, (text, scores))| {
                (job.id, sentiment_of(text, scores, job.rating, self.model()))
            })
            .collect();
        let saved = self
            .store
            .save_sentiments(&self.name, &results, Timestamp::now())
            .await?;
        earshot_telemetry::batch_classified(saved, took);
        span.record("stored", saved);
        tracing::debug!(duration_ms = took.as_millis() as u64, "batch classified");
        Ok(Some(saved))
    }

    /// Classifies everything `selection` names, round after round, calling `progress`
    /// with each round's count. Returns the total stored.
    pub async fn drain(
        &self,
        selection: Selection,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, WorkerError> {
        let mut total = 0;
        while let Some(n) = self.round(selection).await? {
            total += n;
            progress(n);
        }
        Ok(total)
    }

    /// The unattended loop inside `earshot serve`: drains new mentions, then waits
    /// `tick`, until `shutdown` resolves; a round in flight finishes and is stored.
    pub async fn run(&self, tick: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let busy = match self.round(Selection::default()).await {
                Ok(found) => found.is_some(),
                Err(e) => {
                    tracing::error!(error = %e, "classification round failed");
                    false
                }
            };
            // While there is work, go straight on; when idle, wait a tick. Shutdown is
            // checked first either way.
            let wait = if busy { Duration::ZERO } else { tick };
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// The text a mention is classified on: its snippet, led by its title when the snippet
/// does not already start with it (a title often carries the verdict).
pub fn text_of(job: &ClassifyJob) -> String {
    let title = job.title.trim();
    if title.is_empty() || job.snippet.trim_start().starts_with(title) {
        job.snippet.clone()
    } else {
        format!("{title}. {}", job.snippet)
    }
}

/// The stored sentiment of one text: the model's probabilities, the final label after
/// the rating rules, and the detected language.
pub fn sentiment_of(text: &str, scores: Scores, rating: Option<f64>, model: &str) -> Sentiment {
    let p = scores.probabilities;
    Sentiment {
        label: label_with_rating(p, rating),
        model_label: Label::argmax(p),
        probabilities: p,
        score: p[2] - p[0],
        language: language::detect(text).map(str::to_owned),
        model: model.to_owned(),
        embedding: scores.embedding,
        signals: scores.signals,
    }
}
