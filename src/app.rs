//! Wiring shared by the commands: settings, the store, the crawler, shutdown.

use crate::settings::{self, Settings};
use anyhow::Context;
use earshot_crawler::crawl::Crawler;
use earshot_crawler::fetch::Fetcher;
use earshot_domain::Timestamp;
use earshot_store::Store;
use std::path::Path;
use std::sync::Arc;

/// Loads the config file (`--config`/`EARSHOT_CONFIG`, else `earshot.toml`) with
/// environment overrides.
pub fn load_settings(path: Option<&Path>) -> anyhow::Result<Settings> {
    let path = path.unwrap_or(Path::new(settings::DEFAULT_PATH));
    Ok(settings::load(path, std::env::vars())?)
}

/// Like [`load_settings`], but a missing default config file means the defaults, for
/// commands that need no brands or sources (`earshot eval`).
pub fn load_settings_or_defaults(path: Option<&Path>) -> anyhow::Result<Settings> {
    match (path, load_settings(path)) {
        (None, Err(e))
            if matches!(
                e.downcast_ref(),
                Some(settings::ConfigError::Missing { .. })
            ) =>
        {
            Ok(settings::parse(
                Path::new(settings::DEFAULT_PATH),
                "",
                std::env::vars(),
            )?)
        }
        (_, result) => result,
    }
}

/// Opens the database (applying migrations) and makes its brands, sources and alert rules
/// match the config.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = earshot_store::connect(settings.database.expose())
        .await
        .with_context(|| format!("opening the database {}", settings.database))?;
    let now = Timestamp::now();
    store
        .sync_config(&settings.brands, &settings.sources, now)
        .await
        .context("saving brands and sources from the config")?;
    store
        .sync_alert_rules(&settings.alert_rules, now)
        .await
        .context("saving alert rules from the config")?;
    Ok(store)
}

/// The crawler for these settings.
pub fn crawler(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Crawler> {
    let fetcher =
        Fetcher::new(settings.crawler.limits.clone()).context("starting the HTTP client")?;
    Ok(Crawler::new(fetcher, store, &worker_name())
        .with_unhealthy_after(settings.crawler.unhealthy_after))
}

/// This process's name in leases and crawl runs: host and process id.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "earshot".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
