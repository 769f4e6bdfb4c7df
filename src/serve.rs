//! `earshot serve`: the scheduler, the sentiment worker, the spike watch, the notification
//! loop and the HTTP API in one process, until Ctrl-C/SIGTERM.

use crate::settings::Settings;
use crate::{app, classify, spike_watch};
use anyhow::Context;
use earshot_api::{AppState, ModelProbe};
use earshot_crawler::crawl::Crawler;
use earshot_notify::{Notifier, NotifierOptions};
use earshot_sentiment::worker::Worker;
use earshot_store::Store;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Runs until a shutdown signal; then stops claiming, lets crawls and requests in
/// flight finish their writes, and returns.
pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let store = app::open_store(settings).await?;
    let listener = TcpListener::bind(settings.listen).await.with_context(|| {
        format!(
            "listening on {} (is another Earshot running? set [server] listen)",
            settings.listen
        )
    })?;
    let worker = classify::start_worker(settings, store.clone()).await?;
    let crawler = app::crawler(settings, store.clone())?;
    println!("Earshot API on http://{}", listener.local_addr()?);
    run_until_shutdown(
        listener,
        store,
        crawler,
        worker,
        settings,
        app::shutdown_signal(),
    )
    .await
}

/// The scheduler and API on an already-bound listener until `shutdown` resolves.
pub async fn run_until_shutdown(
    listener: TcpListener,
    store: Arc<dyn Store>,
    crawler: Crawler,
    worker: Option<Worker>,
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let model = worker.as_ref().map(|worker| {
        let service = worker.service().clone();
        ModelProbe {
            key: service.model_key().to_owned(),
            running: Arc::new(move || service.is_running()),
        }
    });
    let metrics = crate::observability::install_metrics()?;
    crate::observability::spawn_metrics_upkeep(metrics.clone());
    let state = AppState::new(store.clone())
        .with_model(model)
        .with_recorded_metrics(Arc::new(move || metrics.render()));
    let api = tokio::spawn(earshot_api::serve(
        listener,
        state.with_channels(settings.channels.iter().map(|c| c.name.clone()).collect()),
        stopped(stop_rx.clone()),
    ));
    let (concurrency, tick) = (settings.crawler.concurrency, settings.crawler.tick);
    let scheduler = tokio::spawn({
        let rx = stop_rx.clone();
        async move { crawler.run_scheduler(concurrency, tick, stopped(rx)).await }
    });
    let classifier = worker.map(|worker| {
        let rx = stop_rx.clone();
        tokio::spawn(async move { worker.run(tick, stopped(rx)).await })
    });
    let spikes = settings.spikes.enabled.then(|| {
        let rx = stop_rx.clone();
        let (store, rule, every) = (store.clone(), settings.spikes.rule, settings.spikes.every);
        tokio::spawn(async move { spike_watch::run(store, rule, every, stopped(rx)).await })
    });
    let notifier = if settings.channels.is_empty() {
        None
    } else {
        let notifier = notifier(settings, store.clone())?;
        let rx = stop_rx.clone();
        Some(tokio::spawn(async move { notifier.run(stopped(rx)).await }))
    };
    shutdown.await;
    tracing::info!("shutting down: finishing crawls and requests in flight");
    let _ = stop_tx.send(true);
    scheduler.await.context("the scheduler task failed")?;
    if let Some(notifier) = notifier {
        notifier.await.context("the notification loop failed")?;
    }
    if let Some(classifier) = classifier {
        classifier.await.context("the sentiment worker failed")?;
    }
    if let Some(spikes) = spikes {
        spikes.await.context("the spike watch failed")?;
    }
    api.await
        .context("the API task failed")?
        .context("the API server failed")?;
    Ok(())
}

/// The loop that delivers queued notifications to the configured channels.
pub fn notifier(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Notifier> {
    let n = &settings.notifications;
    let options = NotifierOptions {
        worker: format!("{}/notify", app::worker_name()),
        tick: n.tick,
        timeout: n.timeout,
        concurrency: n.concurrency,
        retry: n.retry,
        ..NotifierOptions::default()
    };
    Notifier::new(store, settings.channels.clone(), options)
        .context("starting the notification loop")
}
