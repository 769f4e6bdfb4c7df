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

/// Held for as long as this process may schedule work in a SQLite database: an
/// exclusive lock on `<database file>.lock`, which the operating system releases when the
/// process exits, however it exits.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: std::fs::File,
}

/// On SQLite, takes the database's exclusive lock, so that one process does everything
/// (two schedulers on one file would crawl each source twice and fight over its write
/// lock). Fails at once, naming the holder's pid, when another Earshot holds it. Postgres
/// needs no lock (leases let any number of processes share it): `None`. Read-only
/// commands (listings) never take it.
pub fn lock_database(settings: &Settings) -> anyhow::Result<Option<DatabaseLock>> {
    use std::io::{Read, Seek, Write};
    let url = settings.database.expose();
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(None);
    };
    let file = rest.split_once('?').map_or(rest, |(f, _)| f);
    if file.is_empty() || file.contains(":memory:") {
        return Ok(None);
    }
    let path = std::path::PathBuf::from(format!("{file}.lock"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the database folder {}", dir.display()))?;
    }
    let mut lock = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(lock) => lock,
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => anyhow::bail!(
            "the database's file system is read-only ({}): Earshot needs write access to the              database and to its lock file beside it; remount it read-write or point              [database] url somewhere writable",
            path.display()
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("opening the database lock file {}", path.display()))
        }
    };
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = holder.trim();
            anyhow::bail!(
                "database {file} is locked by another Earshot (pid {}; lock file {}). \
                 On SQLite one process does everything: stop the other one first, or move \
                 to Postgres to run several",
                if holder.is_empty() { "unknown" } else { holder },
                path.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    let pid = std::process::id().to_string();
    lock.set_len(0)
        .and_then(|()| lock.rewind())
        .and_then(|()| lock.write_all(pid.as_bytes()))
        .and_then(|()| lock.flush())
        .with_context(|| format!("writing this process's pid to {}", path.display()))?;
    Ok(Some(DatabaseLock { _file: lock }))
}

/// The crawler for these settings.
pub fn crawler(settings: &Settings, store: Arc<dyn Store>) -> anyhow::Result<Crawler> {
    let fetcher =
        Fetcher::new(settings.crawler.limits.clone()).context("starting the HTTP client")?;
    let crawler = Crawler::new(fetcher, store, &worker_name())
        .with_unhealthy_after(settings.crawler.unhealthy_after)
        .with_policy(earshot_crawler::schedule::Policy {
            adaptive: settings.crawler.adaptive,
        });
    Ok(match settings.crawler.lease {
        Some(lease) => crawler.with_lease(lease),
        None => crawler,
    })
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
