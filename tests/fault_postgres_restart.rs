//! The database restarted under a running `earshot serve` on Postgres, while a crawl is
//! in flight: the process keeps running, reconnects, stores that crawl once the database
//! is back, and carries on. It stops and starts the local Postgres cluster, so it is a
//! test binary of its own (tests in one binary run in parallel; binaries run one after
//! another), and it waits for Postgres to answer again before it ends, pass or fail.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::fault_site::{FaultSite, LATE};
use support::{ServeProcess, TestDb};

/// `pg_ctlcluster` for the one cluster this machine runs (`ls /etc/postgresql`).
fn pg_ctl(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql: this test drives the local Debian Postgres cluster")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .expect("a Postgres version under /etc/postgresql");
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", action])
        .status()
        .expect("run pg_ctlcluster");
    assert!(status.success(), "pg_ctlcluster {version} main {action}");
}

/// Starts Postgres (if it is down) and waits until it takes connections again.
struct PostgresBack;

impl Drop for PostgresBack {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args(["-c", "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | tail -1) main start 2>/dev/null"])
            .status();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

async fn source_state(db: &TestDb, name: &str) -> Option<earshot_domain::SourceState> {
    let sources = db.store.sources().await.ok()?;
    sources
        .into_iter()
        .find(|s| s.source.name.as_str() == name)
        .map(|s| s.state)
}

#[tokio::test]
async fn a_server_carries_on_after_postgres_restarts_mid_crawl() {
    let db = TestDb::postgres().await;
    let site = FaultSite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[database]
url = "{db}"
[server]
listen = "127.0.0.1:0"
[crawler]
tick = "1s"
host_interval = "0s"
timeout = "20s"
[sentiment]
enabled = false
[[brands]]
slug = "acme"
name = "Acme"
terms = ["Acme"]
[[sources]]
name = "quick"
kind = "feed"
url = "{quick}"
every = "1h"
[[sources]]
name = "late"
kind = "feed"
url = "{late}"
every = "1h"
"#,
        db = db.url,
        quick = site.url("good"),
        late = site.url("late"),
    );
    std::fs::write(dir.path().join("earshot.toml"), config).unwrap();
    let mut server = ServeProcess::start(dir.path(), &[("RUST_LOG", "warn")]);
    let api = server.base.clone();

    // The quick source is stored at once; the late one is in flight for LATE.
    let started = Instant::now();
    let until = started + Duration::from_secs(10);
    while source_state(&db, "quick")
        .await
        .and_then(|s| s.last_success_at)
        .is_none()
    {
        assert!(Instant::now() < until, "the quick source was never crawled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(site.hits("late") >= 1, "the late source is being fetched");

    // The database goes away until after the late crawl has its answer, so its write
    // meets a database that is down, and then comes back.
    let back = PostgresBack;
    pg_ctl("stop");
    tokio::time::sleep(LATE + Duration::from_secs(2)).await;
    assert!(
        server.running(),
        "the server survives the database going away"
    );
    pg_ctl("start");

    // The late crawl is stored after all, by this process, without waiting out its
    // lease: its mention is there and its state says it succeeded.
    let until = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(state) = source_state(&db, "late").await {
            if state.last_success_at.is_some() {
                assert_eq!(state.error_count, 0);
                break;
            }
        }
        assert!(
            Instant::now() < until,
            "the crawl in flight when Postgres stopped was never stored"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stored = db.store.count_mentions().await.unwrap();
    assert_eq!(stored, 2, "quick's and late's items, once each");

    // The API answers from the new connections, and the process is still the same.
    let ready = reqwest::get(format!("{api}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(server.running(), "still running");

    // It stops cleanly when asked.
    let (status, log) = server.stop();
    assert!(status.success(), "serve exited with {status}: {log:#?}");
    assert!(
        !log.iter().any(|l| l.contains("panicked")),
        "no panic: {log:#?}"
    );
    drop(back);
    db.cleanup().await;
}
