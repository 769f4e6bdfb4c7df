//! Politeness benchmark: how close to the politeness lower bound a polite crawl of many
//! hosts gets, and that it never breaks a host's limits while doing so.
//!
//! Run it with `benches/run-politeness.sh` (or `cargo bench --bench politeness`). Results
//! go to stdout as Markdown, progress to stderr; BENCHMARKS.md quotes them.
//!
//! What it does, per run:
//!
//! 1. Starts 20 axum servers on 127.0.0.1, each on its own port and so its own host (an
//!    origin), each serving 50 pages and answering 404 to `/robots.txt`. Every server logs
//!    when each request arrived.
//! 2. Builds a fresh `Fetcher` (so each run fetches every robots.txt again) with a 0.2 s
//!    per-host interval and a per-host concurrency of 1, and fetches all 1,000 pages
//!    through it: one task per page, interleaved across hosts, at most 64 at once overall.
//! 3. Reports the wall time over the lower bound, 50 pages x 0.2 s = 10 s, and counts
//!    violations: two successive requests to one host (robots.txt included) closer than
//!    0.2 s, or two in flight at once. Every page must arrive, with its own content.
//!
//! The lower bound is what any crawler obeying the same rule needs: one host's 50 pages
//! take at least 49 gaps of 0.2 s plus the pages' own time, and all hosts run side by side.
//!
//! Environment: `EARSHOT_BENCH_REPS` (runs, default 5; the median ratio is reported).

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use earshot_crawler::fetch::{FetchLimits, Fetched, Fetcher, Validators};
use earshot_crawler::politeness::PolitenessLimits;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hosts in the test site.
const HOSTS: usize = 20;
/// Pages per host.
const PAGES: usize = 50;
/// The per-host interval.
const INTERVAL: Duration = Duration::from_millis(200);
/// Page fetches in flight at most, over all hosts.
const OVERALL_CONCURRENCY: usize = 64;

/// One host's log: arrivals, and the most requests in flight at once.
#[derive(Default)]
struct HostLog {
    arrivals: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl HostLog {
    /// Gaps shorter than the interval, and overlapping requests.
    fn violations(&self) -> usize {
        let mut times = self.arrivals.lock().unwrap().clone();
        times.sort();
        let short = times.windows(2).filter(|w| w[1] - w[0] < INTERVAL).count();
        short + self.max_in_flight.load(Ordering::SeqCst).saturating_sub(1)
    }
}

async fn start_host(log: Arc<HostLog>) -> String {
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let log = log.clone();
        async move {
            log.arrivals.lock().unwrap().push(Instant::now());
            let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            log.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let response: Response = match uri.path() {
                "/robots.txt" => StatusCode::NOT_FOUND.into_response(),
                path => format!("<html><body><p>page {path}</p></body></html>").into_response(),
            };
            log.in_flight.fetch_sub(1, Ordering::SeqCst);
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let base = format!("http://{}", listener.local_addr().expect("a local address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// One run: wall time and violations.
async fn run_once() -> (Duration, usize) {
    let logs: Vec<Arc<HostLog>> = (0..HOSTS).map(|_| Arc::default()).collect();
    let mut bases = Vec::new();
    for log in &logs {
        bases.push(start_host(log.clone()).await);
    }
    let fetcher = Fetcher::new(FetchLimits {
        politeness: PolitenessLimits {
            host_interval: INTERVAL,
            host_concurrency: 1,
            respect_robots: true,
            ..PolitenessLimits::default()
        },
        ..FetchLimits::default()
    })
    .expect("start the HTTP client");
    let overall = Arc::new(tokio::sync::Semaphore::new(OVERALL_CONCURRENCY));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for page in 0..PAGES {
        for base in &bases {
            let (fetcher, overall) = (fetcher.clone(), overall.clone());
            let path = format!("/page/{page}");
            let url = url::Url::parse(&format!("{base}{path}")).expect("a page URL");
            tasks.spawn(async move {
                let _slot = overall.acquire_owned().await.expect("never closed");
                let fetched = fetcher.get(&url, &Validators::default()).await;
                match fetched {
                    Ok(Fetched::Body { body, .. }) => {
                        assert!(
                            String::from_utf8_lossy(&body).contains(&path),
                            "{url}: wrong content"
                        );
                    }
                    other => panic!("{url}: {other:?}"),
                }
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a fetch task panicked");
    }
    let took = started.elapsed();
    for log in &logs {
        let n = log.arrivals.lock().unwrap().len();
        assert_eq!(
            n,
            PAGES + 1,
            "each host saw robots.txt and its {PAGES} pages"
        );
    }
    (took, logs.iter().map(|l| l.violations()).sum())
}

fn main() {
    let reps: usize = std::env::var("EARSHOT_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let bound = INTERVAL * PAGES as u32;
    let mut ratios = Vec::new();
    let mut violations = 0;
    let mut rows = String::new();
    for rep in 1..=reps {
        let (took, bad) = runtime.block_on(run_once());
        let ratio = took.as_secs_f64() / bound.as_secs_f64();
        eprintln!(
            "run {rep}/{reps}: {:.3} s, {ratio:.3}x the bound, {bad} violations",
            took.as_secs_f64()
        );
        rows.push_str(&format!(
            "| {rep} | {:.3} | {ratio:.3} | {bad} |\n",
            took.as_secs_f64()
        ));
        ratios.push(ratio);
        violations += bad;
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "## Politeness: {HOSTS} hosts x {PAGES} pages, {} ms per host, per-host concurrency 1\n",
        INTERVAL.as_millis()
    );
    println!(
        "Lower bound: {PAGES} x {} s = {:.1} s. Overall concurrency {OVERALL_CONCURRENCY}.\n",
        INTERVAL.as_secs_f64(),
        bound.as_secs_f64()
    );
    println!("| run | wall time (s) | wall / bound | violations |");
    println!("|---|---|---|---|");
    print!("{rows}");
    println!(
        "\nMedian ratio {median:.3} (target at most 1.15); violations in all runs: {violations}."
    );
    if violations > 0 {
        eprintln!("politeness was broken {violations} times");
        std::process::exit(1);
    }
}
