//! `earshot serve`: the scheduler, the sentiment worker, the spike watch, the notification
//! loop and the HTTP API, in one process (`--role all`, the default) or split by role
//! (`--role crawler|classifier|api`), until Ctrl-C/SIGTERM.
//!
//! Processes share nothing but the database: sources, mentions and notifications are
//! claimed under leases, so any number of crawler and classifier processes, on any number
//! of machines, can work from one Postgres database. Only the roles that serve HTTP bind a
//! listener; a crawler or classifier process has no port, so many can run on one machine,
//! and the process itself is its liveness (systemd, or the orchestrator, restarts it if it
//! dies). The spike watch and the notification loop run in every worker role (all,
//! crawler, classifier) but not in `api`, which stays stateless: several of them at once
//! are safe (a spike is opened by a compare-and-set, a notification is claimed under a
//! lease).

use crate::cli::Role;
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
use tokio::task::JoinHandle;

/// Runs `role` until a shutdown signal; then stops claiming, lets crawls, batches and
/// requests in flight finish within `[server] shutdown_grace`, releases the leases of
/// whatever did not finish, and returns.
pub async fn run(settings: &Settings, role: Role) -> anyhow::Result<()> {
    let _lock = app::lock_database(settings)?;
    let store = app::open_store(settings).await?;
    let listener = if role.serves_http() {
        Some(TcpListener::bind(settings.listen).await.with_context(|| {
            format!(
                "listening on {} (is another Earshot running? set [server] listen)",
                settings.listen
            )
        })?)
    } else {
        None
    };
    let worker = if role.classifies() {
        let worker = classify::start_worker(settings, store.clone()).await?;
        if worker.is_none() && role == Role::Classifier {
            anyhow::bail!(
                "--role classifier, but sentiment is switched off in {} ([sentiment] enabled = false)",
                settings.path.display()
            );
        }
        worker
    } else {
        None
    };
    let crawler = if role.crawls() {
        Some(app::crawler(settings, store.clone())?)
    } else {
        None
    };
    match &listener {
        Some(listener) => println!("Earshot API on http://{}", listener.local_addr()?),
        None => println!(
            "Earshot {} worker {} running (no HTTP listener in this role)",
            match role {
                Role::Crawler => "crawler",
                _ => "classifier",
            },
            app::worker_name()
        ),
    }
    run_until_shutdown(
        Parts {
            listener,
            crawler,
            worker,
        },
        store,
        settings,
        app::shutdown_signal(),
    )
    .await
}

/// What one process runs; `None` parts are not run.
pub struct Parts {
    /// The API's listener, already bound.
    pub listener: Option<TcpListener>,
    /// The scheduler's crawler.
    pub crawler: Option<Crawler>,
    /// The sentiment worker.
    pub worker: Option<Worker>,
}

/// Runs `parts` until `shutdown` resolves. Then nothing new is claimed or accepted; work
/// in flight has `settings.shutdown_grace` to finish and be stored. Whatever has not by
/// then is abandoned, and every lease this process still holds is released, so another
/// worker can take that work at once. Returns within the grace period plus the time one
/// database write takes.
pub async fn run_until_shutdown(
    parts: Parts,
    store: Arc<dyn Store>,
    settings: &Settings,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let mut tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)> = Vec::new();
    // Every role records metrics; only the roles with a listener serve them, but all keep
    // the recorder's memory bounded.
    let metrics = crate::observability::install_metrics()?;
    crate::observability::spawn_metrics_upkeep(metrics.clone());
    if let Some(listener) = parts.listener {
        let model = parts.worker.as_ref().map(|worker| {
            let service = worker.service().clone();
            ModelProbe {
                key: service.model_key().to_owned(),
                running: Arc::new(move || service.is_running()),
            }
        });
        let state = AppState::new(store.clone())
            .with_model(model)
            .with_recorded_metrics(Arc::new(move || metrics.render()))
            .with_channels(settings.channels.iter().map(|c| c.name.clone()).collect());
        let rx = stop_rx.clone();
        tasks.push((
            "API",
            tokio::spawn(async move {
                earshot_api::serve(listener, state, stopped(rx))
                    .await
                    .context("the API server failed")
            }),
        ));
    }
    let tick = settings.crawler.tick;
    let is_worker = parts.crawler.is_some() || parts.worker.is_some();
    if is_worker && settings.spikes.enabled {
        let rx = stop_rx.clone();
        let (store, rule, every) = (store.clone(), settings.spikes.rule, settings.spikes.every);
        tasks.push((
            "spike watch",
            tokio::spawn(async move {
                spike_watch::run(store, rule, every, stopped(rx)).await;
                Ok(())
            }),
        ));
    }
    if is_worker && !settings.channels.is_empty() {
        let notifier = notifier(settings, store.clone())?;
        let rx = stop_rx.clone();
        tasks.push((
            "notification loop",
            tokio::spawn(async move {
                notifier.run(stopped(rx)).await;
                Ok(())
            }),
        ));
    }
    if let Some(crawler) = parts.crawler {
        let (concurrency, rx) = (settings.crawler.concurrency, stop_rx.clone());
        tasks.push((
            "scheduler",
            tokio::spawn(async move {
                crawler.run_scheduler(concurrency, tick, stopped(rx)).await;
                Ok(())
            }),
        ));
    }
    if let Some(worker) = parts.worker {
        let rx = stop_rx.clone();
        tasks.push((
            "sentiment worker",
            tokio::spawn(async move {
                worker.run(tick, stopped(rx)).await;
                Ok(())
            }),
        ));
    }
    shutdown.await;
    let grace = settings.shutdown_grace;
    tracing::info!(
        grace = %humantime::format_duration(grace),
        "shutting down: finishing crawls and requests in flight"
    );
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    let mut result = Ok(());
    for (what, mut task) in tasks {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => result = result.and(Err(e)),
            Ok(Err(e)) => result = result.and(Err(anyhow::anyhow!("the {what} task failed: {e}"))),
            Err(_) => {
                // Dropping the scheduler's task drops its crawls with it; a write in
                // flight is rolled back, never half-stored.
                task.abort();
                let _ = task.await;
                tracing::warn!(
                    task = what,
                    grace = %humantime::format_duration(grace),
                    "did not finish within the shutdown grace; its work in flight is left to other workers"
                );
            }
        }
    }
    // Leases of abandoned work (or of a crawl whose record failed) go back now rather
    // than when they expire.
    match store.release_leases(&app::worker_name()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(released = n, "released the leases of unfinished work"),
        Err(e) => {
            tracing::error!(error = %e, "could not release this process's leases; they expire by themselves")
        }
    }
    result
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
