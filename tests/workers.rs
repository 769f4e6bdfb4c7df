//! Many workers on one database, as the real binary runs them: three `earshot serve --role
//! crawler` processes on one Postgres crawl 300 local feeds while one of them is killed
//! with SIGKILL; three `--role classifier` processes classify with the real model while
//! one is killed; two processes on one SQLite file; and a bounded stop on SIGTERM in the
//! middle of a slow crawl.

mod support;

use earshot_domain::Timestamp;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{acme, feed_source, TestDb};

const FEEDS: usize = 300;
const ITEMS_PER_FEED: usize = 3;

/// An RSS feed of `ITEMS_PER_FEED` items naming Acme, with guids unique to feed `n`.
fn feed(n: usize) -> String {
    let items: String = (0..ITEMS_PER_FEED)
        .map(|k| {
            format!(
                "<item><guid>f{n}-i{k}</guid><title>Acme post {k} on feed {n}</title>\
                 <description>What people think of Acme, item {k}.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>feed {n}</title>{items}</channel></rss>"
    )
}

/// A site on 127.0.0.1 serving `/feed/N` after `latency` (no robots.txt: everything is
/// allowed); returns its base URL.
async fn feed_site(latency: Duration) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        let Some(n) = uri
            .path()
            .strip_prefix("/feed/")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return (axum::http::StatusCode::NOT_FOUND, String::new());
        };
        tokio::time::sleep(latency).await;
        (axum::http::StatusCode::OK, feed(n))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A config in `dir` for `database` with the Acme brand and `feeds` sources at `site`,
/// each checked hourly (so each is crawled once in a test).
fn write_config(dir: &Path, database: &str, site: &str, feeds: usize, sentiment: bool) {
    let mut config = format!(
        "[database]\nurl = \"{database}\"\n\n[sentiment]\nenabled = {sentiment}\n\n\
         [[brands]]\nslug = \"acme\"\nterms = [\"Acme\"]\n"
    );
    for n in 0..feeds {
        config.push_str(&format!(
            "\n[[sources]]\nname = \"feed-{n}\"\nkind = \"feed\"\nurl = \"{site}/feed/{n}\"\nevery = \"1h\"\n"
        ));
    }
    std::fs::write(dir.join("earshot.toml"), config).unwrap();
}

/// Starts `earshot serve --role ROLE` in `dir` with the environment overrides given,
/// logging warnings to a file (read with [`log_of`]).
fn start(dir: &Path, role: &str, tag: &str, env: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_earshot"));
    cmd.args(["serve", "--role", role])
        .current_dir(dir)
        .env_remove("EARSHOT_CONFIG")
        .env("RUST_LOG", "warn")
        .env("EARSHOT__SERVER__LISTEN", "127.0.0.1:0")
        .env("EARSHOT__CRAWLER__TICK", "1s")
        // The test site is ours: no per-host wait, and many requests to it at once.
        .env("EARSHOT__CRAWLER__HOST_INTERVAL", "0s")
        .env("EARSHOT__CRAWLER__HOST_CONCURRENCY", "64")
        .stdout(Stdio::null())
        .stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn log_of(dir: &Path, tag: &str) -> String {
    let mut text = String::new();
    std::fs::File::open(dir.join(format!("{tag}.log")))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// SIGTERM, then a wait for the exit; returns the status and how long it took.
async fn terminate(child: &mut Child) -> (std::process::ExitStatus, Duration) {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status, start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no exit within 60 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

async fn pg(url: &str) -> sqlx::PgPool {
    sqlx::PgPool::connect(url).await.unwrap()
}

async fn scalar(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Leases the process with this pid holds now (the worker name is `host:pid`).
async fn leases_of(pool: &sqlx::PgPool, table_column: (&str, &str), pid: u32) -> i64 {
    let (table, column) = table_column;
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE {column} LIKE $1"
    ))
    .bind(format!("%:{pid}"))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until `done` holds, failing after `limit` with `what`.
async fn wait_until<F, Fut>(limit: Duration, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_crawler_processes_one_killed_store_every_item_once_and_crawl_every_source() {
    let db = TestDb::postgres().await;
    let site = feed_site(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db.url, &site, FEEDS, false);
    // A short lease, so the killed process's sources are taken over within the test.
    let env = [("EARSHOT__CRAWLER__LEASE", "3s")];
    let mut victim = start(dir.path(), "crawler", "victim", &env);
    let mut others = [
        start(dir.path(), "crawler", "a", &env),
        start(dir.path(), "crawler", "b", &env),
    ];
    let pool = pg(&db.url).await;

    // SIGKILL the victim mid-run: when crawls are being recorded and it holds leases.
    wait_until(
        Duration::from_secs(60),
        "the victim is crawling",
        || async {
            scalar(&pool, "SELECT COUNT(*) FROM crawl_runs").await >= 30
                && leases_of(&pool, ("sources", "claimed_by"), victim.id()).await > 0
        },
    )
    .await;
    let victim_name_pattern = format!("%:{}", victim.id());
    kill(&mut victim);
    let held: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sources WHERE claimed_by LIKE $1 AND claimed_until IS NOT NULL",
    )
    .bind(&victim_name_pattern)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(held > 0, "the victim died holding leases");
    assert!(
        scalar(&pool, "SELECT COUNT(*) FROM crawl_runs").await < FEEDS as i64,
        "the victim was killed before the run finished"
    );

    wait_until(Duration::from_secs(90), "every source crawled", || async {
        scalar(
            &pool,
            "SELECT COUNT(*) FROM sources WHERE last_success_at IS NOT NULL",
        )
        .await
            == FEEDS as i64
    })
    .await;

    // Every item exactly once, every source crawled once (the victim's unrecorded crawls
    // left nothing), no failures, no lease left behind.
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM mentions").await,
        (FEEDS * ITEMS_PER_FEED) as i64
    );
    assert_eq!(
        scalar(&pool, "SELECT COUNT(DISTINCT dedup_key) FROM mentions").await,
        (FEEDS * ITEMS_PER_FEED) as i64
    );
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM crawl_runs WHERE error IS NULL").await,
        FEEDS as i64,
        "one successful run per source"
    );
    assert_eq!(
        scalar(&pool, "SELECT COUNT(DISTINCT source_id) FROM crawl_runs").await,
        FEEDS as i64
    );
    assert_eq!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM sources WHERE claimed_by IS NOT NULL"
        )
        .await,
        0
    );
    // The takeovers are recorded (whom each was taken from) and logged by the takers.
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sources WHERE lease_taken_from LIKE $1")
            .bind(&victim_name_pattern)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(taken, held, "each of the victim's leases was taken over");
    assert_eq!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM sources WHERE lease_taken_from IS NOT NULL"
        )
        .await,
        held,
        "no other takeovers"
    );
    let mut logged = 0;
    for (tag, child) in ["a", "b"].into_iter().zip(others.iter_mut()) {
        let (status, _) = terminate(child).await;
        assert!(
            status.success(),
            "{tag}: {status:?}\n{}",
            log_of(dir.path(), tag)
        );
        logged += log_of(dir.path(), tag)
            .lines()
            .filter(|l| l.contains("lease_takeover=true"))
            .count();
    }
    assert_eq!(logged as i64, held, "each takeover is logged once");
    pool.close().await;
    db.cleanup().await;
}

const MENTIONS: usize = 240;

const PHRASES: &[&str] = &[
    "Acme anvil broke after a week, support never answered.",
    "Дуже задоволена Acme, чудова якість і швидка доставка!",
    "El servicio de Acme es pésimo, no lo recomiendo.",
    "Acme opens a new store on Monday at nine.",
];

#[tokio::test(flavor = "multi_thread")]
async fn three_classifier_processes_one_killed_leave_every_mention_exactly_one_sentiment() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &db.url, "http://127.0.0.1:9", 1, true);
    let now = Timestamp::now();
    db.store
        .sync_config(
            &[acme()],
            &[feed_source(
                "feed-0",
                "http://127.0.0.1:9/feed/0",
                Duration::from_secs(3600),
            )],
            now,
        )
        .await
        .unwrap();
    support::crawl(
        db.store.as_ref(),
        "feed-0",
        support::numbered(PHRASES, MENTIONS),
        now,
    )
    .await;
    let model = support::default_model_key();
    let env = [
        ("EARSHOT__SENTIMENT__BATCH_SIZE", "8"),
        ("EARSHOT__SENTIMENT__CLAIM_SIZE", "8"),
        ("EARSHOT__SENTIMENT__THREADS", "1"),
        ("EARSHOT__SENTIMENT__LEASE", "3s"),
    ];
    let mut victim = start(dir.path(), "classifier", "victim", &env);
    let mut others = [
        start(dir.path(), "classifier", "a", &env),
        start(dir.path(), "classifier", "b", &env),
    ];
    let pool = pg(&db.url).await;
    wait_until(
        Duration::from_secs(90),
        "the victim is classifying",
        || async {
            scalar(&pool, "SELECT COUNT(*) FROM sentiments").await >= 16
                && leases_of(&pool, ("mentions", "classify_claimed_by"), victim.id()).await > 0
        },
    )
    .await;
    let pattern = format!("%:{}", victim.id());
    kill(&mut victim);
    let held: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mentions WHERE classify_claimed_by LIKE $1")
            .bind(&pattern)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(held > 0, "the victim died holding leases");
    wait_until(
        Duration::from_secs(90),
        "every mention classified",
        || async { db.store.count_unclassified(&model, false).await.unwrap() == 0 },
    )
    .await;
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM sentiments").await,
        MENTIONS as i64,
        "exactly one current sentiment per mention"
    );
    let by_model: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sentiments WHERE model = $1")
        .bind(&model)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(by_model, MENTIONS as i64);
    let taken: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mentions WHERE classify_taken_from LIKE $1")
            .bind(&pattern)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(taken, held, "each of the victim's leases was taken over");
    let mut logged = 0;
    for (tag, child) in ["a", "b"].into_iter().zip(others.iter_mut()) {
        let (status, _) = terminate(child).await;
        assert!(
            status.success(),
            "{tag}: {status:?}\n{}",
            log_of(dir.path(), tag)
        );
        logged += log_of(dir.path(), tag)
            .lines()
            .filter(|l| l.contains("lease_takeover=true"))
            .count();
    }
    assert!(logged > 0, "the takeover is logged");
    pool.close().await;
    db.cleanup().await;
}

/// A site on 127.0.0.1 whose `/quick` feed answers after 1 s and `/stuck` after a minute;
/// returns its base URL and a count of feed requests received.
async fn slow_site() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let asked = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let counter = counter.clone();
        async move {
            let wait = match uri.path() {
                "/quick" => Duration::from_secs(1),
                "/stuck" => Duration::from_secs(60),
                _ => return (axum::http::StatusCode::NOT_FOUND, String::new()),
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(wait).await;
            (axum::http::StatusCode::OK, feed(7))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, asked)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_crawl_stores_what_finishes_in_the_grace_period_and_releases_the_rest() {
    use std::sync::atomic::Ordering;
    let db = TestDb::sqlite().await;
    let (site, asked) = slow_site().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        format!(
            "[database]\nurl = \"{}\"\n\n[sentiment]\nenabled = false\n\n\
             [[brands]]\nslug = \"acme\"\nterms = [\"Acme\"]\n\n\
             [[sources]]\nname = \"quick\"\nkind = \"feed\"\nurl = \"{site}/quick\"\n\n\
             [[sources]]\nname = \"stuck\"\nkind = \"feed\"\nurl = \"{site}/stuck\"\n",
            db.url
        ),
    )
    .unwrap();
    let grace = Duration::from_secs(3);
    let mut serve = start(
        dir.path(),
        "crawler",
        "serve",
        &[
            ("EARSHOT__SERVER__SHUTDOWN_GRACE", "3s"),
            ("EARSHOT__CRAWLER__TIMEOUT", "120s"),
        ],
    );
    wait_until(Duration::from_secs(30), "both feeds requested", || async {
        asked.load(Ordering::SeqCst) == 2
    })
    .await;
    let (status, took) = terminate(&mut serve).await;
    assert!(
        status.success(),
        "{status:?}\n{}",
        log_of(dir.path(), "serve")
    );
    assert!(
        took < grace + Duration::from_secs(2),
        "exited {took:?} after SIGTERM; the bound is {grace:?}"
    );
    assert!(
        took >= Duration::from_millis(500),
        "the quick crawl was waited for"
    );

    // The quick crawl finished within the grace period and was stored; the stuck one was
    // abandoned, and its lease released: it can be claimed again at once.
    let runs = db.store.crawl_runs(10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].source.as_str(), "quick");
    assert_eq!(
        db.store.count_mentions().await.unwrap(),
        ITEMS_PER_FEED as u64
    );
    let claimed = db
        .store
        .claim_sources(&earshot_store::Claim {
            worker: "next",
            now: Timestamp::now(),
            lease: Duration::from_secs(60),
            limit: 10,
            due_only: true,
            name: None,
        })
        .await
        .unwrap();
    let names: Vec<&str> = claimed.iter().map(|s| s.source.name.as_str()).collect();
    assert_eq!(
        names,
        ["stuck"],
        "only the abandoned source is due, and free"
    );
    assert_eq!(claimed[0].lease_taken_from, None, "released, not expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_earshot_on_one_sqlite_file_fails_fast_and_names_the_first() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "sqlite://earshot.db",
        "http://127.0.0.1:9",
        1,
        false,
    );
    let mut first = start(dir.path(), "all", "first", &[]);
    let lock = dir.path().join("earshot.db.lock");
    let pid = first.id().to_string();
    wait_until(
        Duration::from_secs(30),
        "the first process holds the lock",
        || {
            let lock = lock.clone();
            let pid = pid.clone();
            async move { std::fs::read_to_string(&lock).is_ok_and(|held| held == pid) }
        },
    )
    .await;

    for args in [
        &["serve"][..],
        &["serve", "--role", "crawler"],
        &["crawl", "--once"],
    ] {
        let started = Instant::now();
        let out = support::earshot(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} ran beside the first: {stderr}"
        );
        assert!(
            stderr.contains(&format!("is locked by another Earshot (pid {pid}")),
            "{args:?}: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{args:?} failed slowly"
        );
    }
    // Reading needs no lock.
    let listing = support::earshot(dir.path(), &["sources", "--format", "json"]);
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );

    // Once the first has stopped, the lock is free again.
    let (status, _) = terminate(&mut first).await;
    assert!(status.success(), "{}", log_of(dir.path(), "first"));
    let mut second = start(dir.path(), "all", "second", &[]);
    let pid = second.id().to_string();
    wait_until(
        Duration::from_secs(30),
        "the second process holds the lock",
        || {
            let lock = lock.clone();
            let pid = pid.clone();
            async move { std::fs::read_to_string(&lock).is_ok_and(|held| held == pid) }
        },
    )
    .await;
    let (status, _) = terminate(&mut second).await;
    assert!(status.success(), "{}", log_of(dir.path(), "second"));
}
