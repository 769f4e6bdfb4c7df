//! Scale-out benchmark: 2,000 local feed sources, each answering after 50 ms, crawled by 1
//! and then by 3 `earshot serve --role crawler` processes sharing one Postgres database.
//! Reports sources per second (first crawl started to last crawl recorded, from the
//! database's crawl runs), the speed-up, and each process's resident memory (VmRSS) at its
//! peak while crawling and idle afterwards with the 2,000 sources loaded.
//!
//! Run it with `benches/run-scale.sh` (it starts Postgres if needed), or
//! `cargo bench --bench scale -- [--sources N] [--latency-ms MS] [--runs R] [--procs 1,3]`.
//! Needs the Postgres at `EARSHOT_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each run gets a fresh database.

use sqlx::Connection;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    sources: usize,
    latency: Duration,
    runs: usize,
    procs: Vec<usize>,
}

fn options() -> Options {
    let mut o = Options {
        sources: 2000,
        latency: Duration::from_millis(50),
        runs: 3,
        procs: vec![1, 3],
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--sources" => o.sources = value.parse().expect("--sources N"),
            "--latency-ms" => {
                o.latency = Duration::from_millis(value.parse().expect("--latency-ms MS"))
            }
            "--runs" => o.runs = value.parse().expect("--runs R"),
            "--procs" => {
                o.procs = value
                    .split(',')
                    .map(|p| p.parse().expect("--procs 1,3"))
                    .collect()
            }
            // `cargo bench` passes --bench; anything else unknown is ignored likewise.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// An RSS feed of three items naming Acme, with guids unique to feed `n`.
fn feed(n: usize) -> String {
    let items: String = (0..3)
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

fn admin_url() -> String {
    std::env::var("EARSHOT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh database; returns its URL and name.
async fn fresh_database(tag: &str) -> (String, String) {
    let admin = admin_url();
    let name = format!("earshot_scale_{tag}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("Postgres is reachable (benches/run-scale.sh starts it)");
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&name);
    (url.to_string(), name)
}

async fn drop_database(name: &str) {
    let mut conn = sqlx::PgConnection::connect(&admin_url()).await.unwrap();
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}

/// VmRSS of `pid` in MiB, if it is still running.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

struct RunResult {
    sources_per_sec: f64,
    span: Duration,
    peak_rss: f64,
    idle_rss: f64,
}

async fn run(o: &Options, procs: usize, site: &str, run: usize) -> RunResult {
    let (db_url, db_name) = fresh_database(&format!("p{procs}_r{run}")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[database]\nurl = \"{db_url}\"\n\n[sentiment]\nenabled = false\n\n\
         [[brands]]\nslug = \"acme\"\nterms = [\"Acme\"]\n"
    );
    for n in 0..o.sources {
        config.push_str(&format!(
            "\n[[sources]]\nname = \"feed-{n}\"\nkind = \"feed\"\nurl = \"{site}/feed/{n}\"\nevery = \"1h\"\n"
        ));
    }
    std::fs::write(dir.path().join("earshot.toml"), config).unwrap();
    // Migrate and load the sources once, so every process starts from the same state.
    let store = earshot_store::connect(&db_url).await.unwrap();
    drop(store);
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let mut children: Vec<Child> = (0..procs)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_earshot"))
                .args(["serve", "--role", "crawler"])
                .current_dir(dir.path())
                .env_remove("EARSHOT_CONFIG")
                .env("RUST_LOG", "error")
                .env("EARSHOT__CRAWLER__TICK", "1s")
                .env("EARSHOT__CRAWLER__HOST_INTERVAL", "0s")
                .env("EARSHOT__CRAWLER__HOST_CONCURRENCY", "64")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let mut peak = vec![0.0f64; procs];
    loop {
        for child in &mut children {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("a crawler exited early ({status}); run it by hand to see why");
            }
        }
        for (p, child) in children.iter().enumerate() {
            if let Some(r) = rss_mib(child.id()) {
                peak[p] = peak[p].max(r);
            }
        }
        let done: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT source_id) FROM crawl_runs")
            .fetch_one(&pool)
            .await
            .unwrap_or(0);
        if done as usize >= o.sources {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not done in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (first, last): (i64, i64) =
        sqlx::query_as("SELECT MIN(started_at), MAX(finished_at) FROM crawl_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM crawl_runs WHERE error IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(failed, 0, "every crawl succeeded");
    // Idle: every source crawled and not due for an hour; a few ticks to settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle: Vec<f64> = children
        .iter()
        .map(|c| rss_mib(c.id()).unwrap_or(0.0))
        .collect();
    for child in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    for child in &mut children {
        let _ = child.wait();
    }
    pool.close().await;
    drop_database(&db_name).await;
    let span = Duration::from_millis(u64::try_from(last - first).unwrap_or(1).max(1));
    RunResult {
        sources_per_sec: o.sources as f64 / span.as_secs_f64(),
        span,
        peak_rss: peak.iter().cloned().fold(0.0, f64::max),
        idle_rss: idle.iter().cloned().fold(0.0, f64::max),
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[tokio::main]
async fn main() {
    let o = options();
    let site = feed_site(o.latency).await;
    println!(
        "{} feed sources on 127.0.0.1, {} ms per answer; {} runs per setting; \
         `earshot serve --role crawler` with the default [crawler] concurrency (8 per process)",
        o.sources,
        o.latency.as_millis(),
        o.runs
    );
    let mut baseline = None;
    for &procs in &o.procs {
        let mut results = Vec::new();
        for r in 0..o.runs {
            let res = run(&o, procs, &site, r).await;
            println!(
                "  {procs} process(es), run {}: {:.1} sources/s ({:.2} s), peak RSS {:.1} MiB, idle RSS {:.1} MiB",
                r + 1,
                res.sources_per_sec,
                res.span.as_secs_f64(),
                res.peak_rss,
                res.idle_rss
            );
            results.push(res);
        }
        let rate = median(results.iter().map(|r| r.sources_per_sec).collect());
        let peak = median(results.iter().map(|r| r.peak_rss).collect());
        let idle = median(results.iter().map(|r| r.idle_rss).collect());
        let speedup = baseline.map(|b: f64| rate / b);
        baseline.get_or_insert(rate);
        println!(
            "{procs} process(es): median {rate:.1} sources/s{}; per process: peak RSS {peak:.1} MiB while crawling, {idle:.1} MiB idle",
            speedup
                .map(|s| format!(" ({s:.2}x the first setting)"))
                .unwrap_or_default()
        );
    }
}
