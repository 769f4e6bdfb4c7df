//! `earshot classify`, and the sentiment worker that `crawl --once`, `serve` and `demo`
//! run: the model is loaded once, on its own thread, and mentions are claimed from the
//! database in leased batches.

use crate::app;
use crate::settings::{SentimentSettings, Settings};
use anyhow::Context;
use earshot_domain::Timestamp;
use earshot_sentiment::worker::{Selection, Worker};
use earshot_sentiment::{HeadChoice, ModelConfig, SentimentService};
use earshot_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

/// Loads the model (on its own thread) and returns the worker, or `None` when sentiment
/// is switched off in the config. A missing or broken model is an error that names the
/// file and the command that builds it.
pub async fn start_worker(
    settings: &Settings,
    store: Arc<dyn Store>,
) -> anyhow::Result<Option<Worker>> {
    let s: &SentimentSettings = &settings.sentiment;
    if !s.enabled {
        return Ok(None);
    }
    let mut opts = s.classifier_options();
    let (head, why) = head_in_use(s, store.as_ref()).await?;
    tracing::info!(reason = why.as_str(), "sentiment head chosen");
    opts.head = head;
    let service = tokio::task::spawn_blocking(move || {
        SentimentService::start(opts, SentimentService::DEFAULT_QUEUE_DEPTH)
    })
    .await
    .context("the model thread failed to start")?
    .context("loading the sentiment model (or set [sentiment] enabled = false)")?;
    Ok(Some(Worker::new(
        Arc::new(service),
        store,
        &app::worker_name(),
        u32::try_from(s.claim_size).unwrap_or(u32::MAX),
        s.lease,
    )))
}

/// The head the classifier should use, and why, in a sentence for the log: the head the
/// config names (`[sentiment] head` or `EARSHOT__SENTIMENT__HEAD`) when it names one; else
/// the head `earshot train-head --from-corrections` last activated in the database for this
/// model's encoder; else the shipped default. When the model directory cannot be read, the
/// config's choice is returned as it is, and loading the model reports the problem.
pub async fn head_in_use(
    s: &SentimentSettings,
    store: &dyn Store,
) -> anyhow::Result<(HeadChoice, String)> {
    if s.head_from_config {
        return Ok((
            s.head.clone(),
            "[sentiment] head names it (the config's choice wins over an activated head)"
                .to_owned(),
        ));
    }
    let Ok(config) = ModelConfig::load(&s.model_dir) else {
        return Ok((s.head.clone(), "the default".to_owned()));
    };
    let encoder = config.model_key();
    match store
        .active_head(encoder)
        .await
        .context("reading the active sentiment head")?
    {
        Some(active) => Ok((
            HeadChoice::Text {
                origin: format!(
                    "head {} (activated in the database for {encoder})",
                    active.head_id
                ),
                json: active.head_json,
            },
            format!(
                "head {} was activated in the database at {} by `earshot train-head \
                 --from-corrections`",
                active.head_id,
                active
                    .activated_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            ),
        )),
        None => Ok((
            s.head.clone(),
            format!(
                "no head is activated in the database for {encoder}, so the default ({})",
                if matches!(s.head, HeadChoice::Shipped) {
                    "the shipped head"
                } else {
                    "the model's own"
                }
            ),
        )),
    }
}

/// Classifies every mention `selection` names, with a progress bar on a terminal, and
/// returns a one-line summary.
pub async fn drain_with_progress(worker: &Worker, selection: Selection) -> anyhow::Result<String> {
    let pending = worker.pending(selection).await?;
    let bar = if std::io::stderr().is_terminal() && pending > 0 {
        let bar = ProgressBar::new(pending);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} classifying [{bar:30}] {pos}/{len} mentions ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let done = worker.drain(selection, |n| bar.inc(n)).await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    Ok(format!(
        "Classified {done} mention{} with {} in {secs:.1}s{}.\n",
        if done == 1 { "" } else { "s" },
        worker.model(),
        if done > 0 {
            format!(" ({:.0}/s)", done as f64 / secs.max(1e-9))
        } else {
            String::new()
        }
    ))
}

/// `earshot classify [--all] [--since WHEN]`: mentions with no sentiment yet; with `--all`,
/// also those another model version (model or head) scored; with `--since`, only mentions
/// discovered since then, re-scoring those another version scored.
pub async fn run(settings: &Settings, all: bool, since: Option<&str>) -> anyhow::Result<()> {
    let since = since
        .map(|s| Timestamp::parse_since(s, Timestamp::now()))
        .transpose()?;
    let store = app::open_store(settings).await?;
    let Some(worker) = start_worker(settings, store).await? else {
        anyhow::bail!(
            "sentiment is switched off in {} ([sentiment] enabled = false)",
            settings.path.display()
        );
    };
    print!(
        "{}",
        drain_with_progress(
            &worker,
            Selection {
                // A bounded re-score: recent mentions another model or head version scored
                // are scored again, so a newly activated head reaches them.
                reclassify: all || since.is_some(),
                since
            }
        )
        .await?
    );
    Ok(())
}
