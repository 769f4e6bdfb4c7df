//! Spike detection's shell: every `[spikes] every`, each live brand's hourly negative
//! mentions are read from the store (one counting query per brand), judged by the pure
//! [`SpikeRule::spikes`], and any spike is handed to [`Store::open_spike_alert`], which
//! keeps the cooldown in the database.
//!
//! Why its own tick, and not after each sentiment batch or on the crawl scheduler's
//! tick: a mention becomes negative when it is classified, which may be in another
//! process (`earshot classify`, a worker on another machine); the crawler knows nothing
//! of sentiment. A periodic check of the database sees every process's results, costs
//! a few queries per brand per minute, and does not grow with the classification
//! backlog. Several processes may run it at once: the cooldown's compare-and-set in the
//! store lets one of them open the alert.
//!
//! The hours judged are the last [`LOOKBACK_HOURS`] (the current, unfinished hour
//! included: a count already above the threshold only grows), so that mentions found or
//! classified a few hours late still count towards their hour.

use earshot_domain::{hour_of, AlertId, BrandSlug, SpikeRule, Timestamp, HOUR_MS, WINDOW_HOURS};
use earshot_store::{Store, StoreError};
use std::future::Future;
use std::time::Duration;

/// How many recent hours are judged on each check.
pub const LOOKBACK_HOURS: i64 = 24;

/// Checks every live brand now, and opens the spike alerts due. Returns the alerts
/// opened. A brand whose check fails is logged and skipped; the others are checked.
pub async fn check_all(
    store: &dyn Store,
    rule: &SpikeRule,
    now: Timestamp,
) -> Result<Vec<AlertId>, StoreError> {
    let mut opened = Vec::new();
    for brand in store.brands().await? {
        let slug = &brand.brand.slug;
        match check_brand(store, slug, rule, now).await {
            Ok(ids) => opened.extend(ids),
            Err(e) => tracing::error!(brand = %slug, error = %e, "spike check failed"),
        }
    }
    Ok(opened)
}

/// Judges the brand's last [`LOOKBACK_HOURS`] against the week before each, and opens
/// a spike alert for each spike the store's cooldown allows.
pub async fn check_brand(
    store: &dyn Store,
    brand: &BrandSlug,
    rule: &SpikeRule,
    now: Timestamp,
) -> Result<Vec<AlertId>, StoreError> {
    let now_hour = hour_of(now).as_millis();
    let first_judged = now_hour - (LOOKBACK_HOURS - 1) * HOUR_MS;
    let from = first_judged - WINDOW_HOURS as i64 * HOUR_MS;
    let found = store
        .negative_hours(
            brand,
            Timestamp::from_millis(from),
            Timestamp::from_millis(now_hour + HOUR_MS),
        )
        .await?;
    let Some(first) = found.first_discovered_at else {
        return Ok(Vec::new()); // no mention yet: nothing to judge
    };
    // Hours before the brand's first mention are unknown, not quiet.
    let start = from.max(hour_of(first).as_millis());
    if start > now_hour {
        return Ok(Vec::new());
    }
    let mut counts = vec![0u32; ((now_hour - start) / HOUR_MS + 1) as usize];
    for (hour, n) in &found.counts {
        let at = hour.as_millis();
        if at >= start && at <= now_hour {
            counts[((at - start) / HOUR_MS) as usize] = *n;
        }
    }
    let judge_from = ((first_judged - start).max(0) / HOUR_MS) as usize;
    let mut opened = Vec::new();
    let spikes = rule.spikes(
        Timestamp::from_millis(start),
        &counts,
        judge_from,
        found.last_spike,
    );
    for spike in spikes {
        if let Some(id) = store.open_spike_alert(brand, &spike, rule, now).await? {
            tracing::info!(
                brand = %brand,
                alert_id = id.0,
                hour = %spike.hour,
                count = spike.count,
                threshold = spike.baseline.threshold,
                "spike alert opened"
            );
            opened.push(id);
        }
    }
    Ok(opened)
}

/// `earshot spikes`: one check of every brand now; prints each alert opened, one line
/// each (id, brand, hour, count and threshold). Runs even when `[spikes] enabled` is off.
pub async fn check_now(settings: &crate::settings::Settings) -> anyhow::Result<()> {
    let store = crate::app::open_store(settings).await?;
    let rule = &settings.spikes.rule;
    let opened = check_all(store.as_ref(), rule, Timestamp::now()).await?;
    for id in &opened {
        if let Some((alert, _)) = store.alert(*id).await? {
            if let earshot_domain::AlertSubject::Spike { brand, spike } = &alert.subject {
                println!(
                    "alert {}: {brand} had {} negative mentions in the hour from {} (threshold {:.2})",
                    id.0, spike.count, spike.hour, spike.threshold
                );
            }
        }
    }
    println!("{} spike alert(s) opened", opened.len());
    Ok(())
}

/// Checks every `every` until `shutdown` resolves; a check in progress finishes first.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    rule: SpikeRule,
    every: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = check_all(store.as_ref(), &rule, Timestamp::now()).await {
            tracing::error!(error = %e, "spike check failed");
        }
    }
}
