//! Politeness against real HTTP servers on 127.0.0.1 that enforce it: each server logs
//! when every request arrived and how many were in flight, and the tests assert that the
//! per-host interval, the per-host concurrency, Crawl-delay, robots.txt and Retry-After
//! were never broken. Each server is its own host (an origin differs by port).

use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use earshot_crawler::fetch::{FetchError, FetchLimits, Fetched, Fetcher, Validators};
use earshot_crawler::politeness::{PolitenessLimits, RequestRules};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

/// What a test server saw: every request's path and arrival, and the most requests it
/// was handling at once.
#[derive(Clone, Default)]
struct Log {
    hits: Arc<Mutex<Vec<(String, Instant)>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Log {
    fn arrive(&self, path: &str) {
        self.hits
            .lock()
            .unwrap()
            .push((path.to_owned(), Instant::now()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    fn count(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }

    fn arrivals(&self, path: &str) -> Vec<Instant> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }

    fn total(&self) -> usize {
        self.hits.lock().unwrap().len()
    }

    /// The smallest gap between two successive requests, robots.txt included.
    fn smallest_gap(&self) -> Option<Duration> {
        let mut times: Vec<Instant> = self.hits.lock().unwrap().iter().map(|(_, t)| *t).collect();
        times.sort();
        times.windows(2).map(|w| w[1] - w[0]).min()
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A server on its own port: `answer` gives the response for a path, after `hold`.
async fn start_site(
    hold: Duration,
    answer: impl Fn(&str) -> Response + Send + Sync + 'static,
) -> (String, Log) {
    let log = Log::default();
    let answer = Arc::new(answer);
    let seen = log.clone();
    let app = Router::new().fallback(move |uri: Uri| {
        let (log, answer) = (seen.clone(), answer.clone());
        async move {
            log.arrive(uri.path());
            tokio::time::sleep(hold).await;
            let response = answer(uri.path());
            log.leave();
            response
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

fn respond(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut builder = Response::builder().status(StatusCode::from_u16(status).unwrap());
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap()
}

/// A site whose pages all answer 200 and whose robots.txt is `robots` (404 when `None`).
fn pages_with_robots(robots: Option<&'static str>) -> impl Fn(&str) -> Response {
    move |path| match (path, robots) {
        ("/robots.txt", Some(txt)) => respond(200, &[("content-type", "text/plain")], txt),
        ("/robots.txt", None) => respond(404, &[], "no robots here"),
        (page, _) => respond(
            200,
            &[("content-type", "text/html")],
            &format!("<p>{page}</p>"),
        ),
    }
}

fn fetcher(politeness: PolitenessLimits) -> Fetcher {
    Fetcher::new(FetchLimits {
        total_timeout: Duration::from_secs(5),
        politeness,
        ..FetchLimits::default()
    })
    .unwrap()
}

fn url(base: &str, path: &str) -> url::Url {
    url::Url::parse(&format!("{base}{path}")).unwrap()
}

async fn get(f: &Fetcher, base: &str, path: &str) -> Result<Fetched, FetchError> {
    f.get(&url(base, path), &Validators::default()).await
}

#[tokio::test]
async fn many_sources_on_one_host_never_break_its_interval_and_the_slowest_rate_wins() {
    let (base, log) = start_site(Duration::ZERO, pages_with_robots(None)).await;
    let interval = 150 * MS;
    let f = fetcher(PolitenessLimits {
        host_interval: interval,
        ..PolitenessLimits::default()
    });
    get(&f, &base, "/first").await.unwrap();
    // Twelve "sources" on the host at once, through clones of the fetcher; half ask for a
    // faster rate of their own, which the host's slower default overrules.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..12 {
        let (f, base) = (f.clone(), base.clone());
        tasks.spawn(async move {
            let rules = RequestRules {
                min_interval: (i % 2 == 0).then_some(20 * MS),
            };
            f.get_with(
                &url(&base, &format!("/source/{i}")),
                &Validators::default(),
                &rules,
            )
            .await
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(
        log.total(),
        1 + 1 + 12,
        "robots.txt, the first page, twelve sources"
    );
    assert_eq!(log.count("/robots.txt"), 1, "robots.txt is fetched once");
    let gap = log.smallest_gap().unwrap();
    assert!(gap >= interval, "two requests only {gap:?} apart");
    assert_eq!(log.max_in_flight(), 1);
}

#[tokio::test]
async fn per_host_concurrency_is_never_exceeded_and_hosts_do_not_wait_for_each_other() {
    let hold = 150 * MS;
    let (a, log_a) = start_site(hold, pages_with_robots(None)).await;
    let (b, log_b) = start_site(hold, pages_with_robots(None)).await;
    let f = fetcher(PolitenessLimits {
        host_interval: Duration::ZERO,
        host_concurrency: 3,
        ..PolitenessLimits::default()
    });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..9 {
        for base in [&a, &b] {
            let (f, base) = (f.clone(), base.clone());
            tasks.spawn(async move { get(&f, &base, &format!("/p/{i}")).await });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let took = started.elapsed();
    for log in [&log_a, &log_b] {
        assert!(log.max_in_flight() <= 3, "{} at once", log.max_in_flight());
        assert!(
            log.max_in_flight() >= 2,
            "the limit was never reached: no test"
        );
        assert_eq!(log.total(), 10);
    }
    // Per host: robots.txt, then 9 pages three at a time = 4 rounds of 150 ms. Both
    // hosts run side by side, so well under the 8 rounds they would take in turn.
    assert!(took < 7 * hold, "{took:?}: the hosts waited for each other");
}

#[tokio::test]
async fn crawl_delay_is_honoured_even_when_the_configured_interval_is_shorter() {
    let robots = "User-agent: *\nCrawl-delay: 0.4\n";
    let (base, log) = start_site(Duration::ZERO, pages_with_robots(Some(robots))).await;
    let f = fetcher(PolitenessLimits {
        host_interval: 10 * MS,
        ..PolitenessLimits::default()
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..4 {
        let (f, base) = (f.clone(), base.clone());
        tasks.spawn(async move { get(&f, &base, &format!("/p/{i}")).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    assert_eq!(log.total(), 5);
    let gap = log.smallest_gap().unwrap();
    assert!(gap >= 400 * MS, "Crawl-delay 0.4 broken: {gap:?}");
}

#[tokio::test]
async fn a_disallowed_path_is_never_requested_and_robots_txt_is_cached_until_its_ttl() {
    let robots = "User-agent: *\nDisallow: /\n\nUser-agent: Earshot\nDisallow: /private\n";
    let (base, log) = start_site(Duration::ZERO, pages_with_robots(Some(robots))).await;
    let f = fetcher(PolitenessLimits {
        host_interval: Duration::ZERO,
        robots_ttl: 400 * MS,
        ..PolitenessLimits::default()
    });
    get(&f, &base, "/public/1").await.unwrap();
    let err = get(&f, &base, "/private/report?id=7").await.unwrap_err();
    assert!(
        matches!(err, FetchError::DisallowedByRobots { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("robots.txt of {base} disallows /private/report?id=7 for Earshot's user agent")
    );
    get(&f, &base, "/public/2").await.unwrap();
    assert_eq!(
        log.count("/private/report"),
        0,
        "a disallowed path was requested"
    );
    assert_eq!(
        log.count("/robots.txt"),
        1,
        "robots.txt is cached within its TTL"
    );

    tokio::time::sleep(450 * MS).await;
    get(&f, &base, "/public/3").await.unwrap();
    assert_eq!(
        log.count("/robots.txt"),
        2,
        "robots.txt is fetched again after its TTL"
    );
}

#[tokio::test]
async fn no_robots_txt_allows_everything_and_respect_robots_off_never_asks() {
    let (base, log) = start_site(Duration::ZERO, pages_with_robots(None)).await;
    let f = fetcher(PolitenessLimits::unthrottled(1));
    assert!(matches!(
        get(&f, &base, "/anything").await.unwrap(),
        Fetched::Body { status: 200, .. }
    ));
    assert_eq!((log.count("/robots.txt"), log.count("/anything")), (1, 1));

    let (base, log) = start_site(Duration::ZERO, pages_with_robots(Some("Disallow: /"))).await;
    let ignoring = fetcher(PolitenessLimits {
        respect_robots: false,
        ..PolitenessLimits::unthrottled(1)
    });
    get(&ignoring, &base, "/page").await.unwrap();
    assert_eq!((log.count("/robots.txt"), log.count("/page")), (0, 1));
}

#[tokio::test]
async fn a_failing_robots_txt_disallows_the_host_until_it_is_retried() {
    let broken = Arc::new(AtomicBool::new(true));
    let is_broken = broken.clone();
    let (base, log) = start_site(Duration::ZERO, move |path| match path {
        "/robots.txt" if is_broken.load(Ordering::SeqCst) => respond(500, &[], "oops"),
        "/robots.txt" => respond(200, &[], "User-agent: *\nAllow: /\n"),
        page => respond(200, &[], page),
    })
    .await;
    let f = fetcher(PolitenessLimits {
        robots_retry: 400 * MS,
        ..PolitenessLimits::unthrottled(1)
    });
    let err = get(&f, &base, "/page").await.unwrap_err();
    let FetchError::RobotsUnavailable {
        ref why,
        retry_after,
        ..
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(why.contains("HTTP 500"), "{why}");
    assert!(retry_after <= 400 * MS && err.retry_after() == Some(retry_after));
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("robots.txt of {base} could not be read"))
            && message.contains("disallowed for now"),
        "{message}"
    );
    // Within the retry time: still disallowed, and robots.txt is not asked again.
    assert!(matches!(
        get(&f, &base, "/page").await,
        Err(FetchError::RobotsUnavailable { .. })
    ));
    assert_eq!((log.count("/robots.txt"), log.count("/page")), (1, 0));

    broken.store(false, Ordering::SeqCst);
    tokio::time::sleep(450 * MS).await;
    get(&f, &base, "/page").await.unwrap();
    assert_eq!((log.count("/robots.txt"), log.count("/page")), (2, 1));
}

#[tokio::test]
async fn an_unreachable_host_is_disallowed_with_a_clear_error() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let f = fetcher(PolitenessLimits::unthrottled(1));
    let err = f
        .get(
            &url::Url::parse(&format!("http://{closed}/feed.xml")).unwrap(),
            &Validators::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::RobotsUnavailable { why, .. } if why.contains("unreachable")),
        "{err:?}"
    );
    assert!(err.retry_after().is_some());
}

#[tokio::test]
async fn retry_after_keeps_every_request_away_from_the_host_until_its_time() {
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    let (base, log) = start_site(Duration::ZERO, move |path| match path {
        "/busy" if count.fetch_add(1, Ordering::SeqCst) == 0 => {
            respond(429, &[("retry-after", "1")], "slow down")
        }
        "/down" => respond(503, &[("retry-after", "120")], "maintenance"),
        "/robots.txt" => respond(404, &[], ""),
        page => respond(200, &[], page),
    })
    .await;
    let (other, other_log) = start_site(Duration::ZERO, pages_with_robots(None)).await;
    let f = fetcher(PolitenessLimits::unthrottled(1));

    let err = get(&f, &base, "/busy").await.unwrap_err();
    assert_eq!(err.http_status(), Some(429));
    // A short backoff is waited for: the next request goes only once it is over.
    get(&f, &base, "/after").await.unwrap();
    let gap = log.arrivals("/after")[0] - log.arrivals("/busy")[0];
    assert!(
        gap >= Duration::from_secs(1),
        "requested {gap:?} after a Retry-After of 1 s"
    );

    // A long one fails at once, without a request, and says how long is left.
    let err = get(&f, &base, "/down").await.unwrap_err();
    assert_eq!(err.http_status(), Some(503));
    let requests_before = log.total();
    let started = Instant::now();
    let err = get(&f, &base, "/after").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let FetchError::HostBackoff { retry_after, .. } = err else {
        panic!("{err:?}");
    };
    assert!(retry_after > Duration::from_secs(110) && retry_after <= Duration::from_secs(120));
    assert!(
        err.to_string().contains("asked Earshot to back off"),
        "{err}"
    );
    assert_eq!(
        log.total(),
        requests_before,
        "a request reached a backed-off host"
    );
    // Other hosts are not held up.
    get(&f, &other, "/fine").await.unwrap();
    assert_eq!(other_log.count("/fine"), 1);
}

#[tokio::test]
async fn bot_challenges_are_errors_not_content() {
    let (base, _log) = start_site(Duration::ZERO, |path| match path {
        "/cf" => respond(
            403,
            &[("cf-mitigated", "challenge"), ("content-type", "text/html")],
            "<html><body>Please wait</body></html>",
        ),
        "/interstitial" => respond(
            503,
            &[("content-type", "text/html"), ("server", "cloudflare")],
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><script src=\"/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1\"></script></body></html>",
        ),
        "/forbidden" => respond(403, &[], "Forbidden"),
        "/robots.txt" => respond(404, &[], ""),
        page => respond(200, &[], page),
    })
    .await;
    let f = fetcher(PolitenessLimits::unthrottled(1));
    let err = get(&f, &base, "/cf").await.unwrap_err();
    assert_eq!(
        err,
        FetchError::Challenge {
            status: 403,
            detail: "Cloudflare cf-mitigated: challenge".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "bot challenge (Cloudflare cf-mitigated: challenge), HTTP 403; not parsed"
    );
    let err = get(&f, &base, "/interstitial").await.unwrap_err();
    assert!(
        matches!(&err, FetchError::Challenge { status: 503, detail } if detail.contains("Just a moment")),
        "{err:?}"
    );
    // A plain 403 stays a plain HTTP error.
    assert_eq!(
        get(&f, &base, "/forbidden").await.unwrap_err(),
        FetchError::Status {
            status: 403,
            retry_after: None
        }
    );
}
