//! `earshot crawl --once`: crawl every source (or one) now, with a progress bar on a
//! terminal, and a summary that lists each failure with its reason.

use crate::settings::Settings;
use crate::{app, classify};
use anyhow::bail;
use earshot_crawler::crawl::{CrawlReport, Crawler};
use earshot_domain::SourceName;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// Runs the crawl. Succeeds when the run finished, even if some sources failed; fails
/// only when the crawl could not run at all (bad source name, database unreachable).
pub async fn run(settings: &Settings, only: Option<&str>) -> anyhow::Result<()> {
    let only = match only {
        Some(raw) => {
            let name = SourceName::parse(raw)?;
            if !settings.sources.iter().any(|s| s.name == name) {
                let known: Vec<&str> = settings.sources.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "no source named {name} in {}; known: {}",
                    settings.path.display(),
                    known.join(", ")
                );
            }
            Some(name)
        }
        None => None,
    };
    if settings.sources.is_empty() {
        bail!(
            "{} has no [[sources]]; add one (the README shows how)",
            settings.path.display()
        );
    }
    let _lock = app::lock_database(settings)?;
    let store = app::open_store(settings).await?;
    // The model loads first, so a missing model stops the run before any crawling.
    let worker = classify::start_worker(settings, store.clone()).await?;
    let crawler = app::crawler(settings, store)?;
    let reports =
        crawl_with_progress(&crawler, only.as_ref(), settings.crawler.concurrency).await?;
    print!("{}", summary(&reports));
    if let Some(worker) = worker {
        print!(
            "{}",
            classify::drain_with_progress(&worker, Default::default()).await?
        );
    }
    Ok(())
}

/// Crawls now, drawing a progress bar on stderr when it is a terminal.
pub async fn crawl_with_progress(
    crawler: &Crawler,
    only: Option<&SourceName>,
    concurrency: usize,
) -> anyhow::Result<Vec<CrawlReport>> {
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} crawling [{bar:30}] {pos}/{len} sources, {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut new_total = 0u64;
    let reports = crawler
        .crawl_all_once(
            only,
            concurrency,
            |n| bar.set_length(n as u64),
            |r| {
                new_total += r.new_mentions;
                bar.set_message(format!("{new_total} new mentions"));
                bar.inc(1);
            },
        )
        .await?;
    bar.finish_and_clear();
    if reports.is_empty() {
        eprintln!(
            "Nothing to crawl: every source is being crawled by another Earshot process right now."
        );
    }
    tracing::debug!(elapsed = ?started.elapsed(), "crawl finished");
    Ok(reports)
}

/// The human summary: totals, then one line per failed source with its reason and
/// when it will be tried again.
pub fn summary(reports: &[CrawlReport]) -> String {
    let failed: Vec<&CrawlReport> = reports.iter().filter(|r| r.error.is_some()).collect();
    let items: u64 = reports.iter().map(|r| r.items_seen).sum();
    let new: u64 = reports.iter().map(|r| r.new_mentions).sum();
    let unchanged = reports.iter().filter(|r| r.not_modified).count();
    let mut out = format!(
        "Crawled {} source{}: {items} items read, {new} new mention{}, {unchanged} unchanged (304), {} failed.\n",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        if new == 1 { "" } else { "s" },
        failed.len()
    );
    for r in failed {
        let next = r
            .next_check_at
            .map(|t| format!(" (next try {t})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  FAILED {}: {}{next}\n",
            r.source,
            r.error.as_deref().unwrap_or_default()
        ));
    }
    for r in reports.iter().filter(|r| !r.problems.is_empty()) {
        const SHOWN: usize = 3;
        out.push_str(&format!(
            "  PARTLY READ {} ({} problem{}):\n",
            r.source,
            r.problems.len(),
            if r.problems.len() == 1 { "" } else { "s" }
        ));
        for p in r.problems.iter().take(SHOWN) {
            out.push_str(&format!("    {p}\n"));
        }
        if r.problems.len() > SHOWN {
            out.push_str(&format!(
                "    ... and {} more (each is logged at warn level)\n",
                r.problems.len() - SHOWN
            ));
        }
    }
    out
}
