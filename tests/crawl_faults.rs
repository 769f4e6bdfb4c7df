//! The crawler against a real, misbehaving HTTP server on 127.0.0.1: good feeds, 304s,
//! 429 with Retry-After, 500s, slow responses, redirect loops, oversized bodies,
//! ill-formed feeds and legacy charsets. Each case asserts what is stored, what error is
//! recorded, and when the next check is. The whole story runs on SQLite and Postgres.

mod support;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use earshot_crawler::crawl::{CrawlReport, Crawler};
use earshot_crawler::fetch::{FetchLimits, Fetcher};
use earshot_crawler::politeness::PolitenessLimits;
use earshot_domain::{SourceName, Timestamp};
use earshot_store::{Claim, MentionQuery, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{acme, feed_source, TestDb};

const EVERY: Duration = Duration::from_secs(600);

fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>Test forum</title><link>http://forum.test/</link>",
    );
    for (guid, title, body) in items {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title><link>http://forum.test/t/{guid}</link><description>{body}</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

/// What the fake site saw: request counts and conditional headers, per path.
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<HashMap<String, Vec<HeaderMap>>>>);

impl Seen {
    fn record(&self, path: &str, headers: &HeaderMap) {
        self.0
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default()
            .push(headers.clone());
    }
    fn requests(&self, path: &str) -> Vec<HeaderMap> {
        self.0
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

async fn start_site(seen: Seen) -> String {
    let good = rss(&[
        (
            "p1",
            "Acme anvils are the best",
            "&lt;p&gt;Bought an &lt;b&gt;Acme&lt;/b&gt; anvil.&lt;/p&gt;",
        ),
        (
            "p2",
            "Road Runner sighting",
            "The Acme Road Runner cartoon was on again.",
        ),
        ("p3", "Unrelated", "Nothing about any brand here."),
        ("p4", "Відгук", "Акме — найкращий сервіс, рекомендую."),
    ]);
    let cyrillic =
        rss(&[("c1", "Отзыв", "Купил чайник Акме, доволен.")]).replace("utf-8", "windows-1251");
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(&cyrillic);
    let cp1251 = cp1251.into_owned();
    let koi8 =
        rss(&[("k1", "Новость", "Компания Акме открыла магазин.")]).replace("utf-8", "koi8-r");
    let (koi8, _, _) = encoding_rs::KOI8_R.encode(&koi8);
    let koi8 = koi8.into_owned();
    let lastmod_feed = rss(&[("l1", "Acme news", "Acme opened a shop.")]);

    let s = seen.clone();
    let app = Router::new()
        .route(
            "/good.xml",
            get(move |h: HeaderMap| {
                let good = good.clone();
                async move {
                    if h.get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    (
                        [
                            (header::ETAG, "\"v1\""),
                            (header::CONTENT_TYPE, "application/rss+xml"),
                        ],
                        good,
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/lastmod.xml",
            get(move |h: HeaderMap| {
                let feed = lastmod_feed.clone();
                async move {
                    const LM: &str = "Mon, 23 Nov 2026 09:00:00 GMT";
                    if h.get(header::IF_MODIFIED_SINCE).is_some_and(|v| v == LM) {
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    ([(header::LAST_MODIFIED, LM)], feed).into_response()
                }
            }),
        )
        .route(
            "/cp1251.xml",
            get(move || {
                let b = cp1251.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/rss+xml; charset=windows-1251",
                        )],
                        b,
                    )
                }
            }),
        )
        .route(
            "/koi8.xml",
            get(move || {
                let b = koi8.clone();
                async move { b }
            }),
        )
        .route(
            "/500.xml",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "oops") }),
        )
        .route(
            "/slow.xml",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                rss(&[("s1", "Acme late", "too late")])
            }),
        )
        .route(
            "/loop.xml",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop.xml")]) }),
        )
        .route(
            "/huge.xml",
            get(|| async {
                // No Content-Length: the cap must hold while streaming.
                let chunk = vec![b'a'; 16 * 1024];
                let chunks = (0..64).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone()));
                Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
            }),
        )
        .route(
            "/html.xml",
            get(|| async { "<html><body><p>Acme is great</p></body></html>" }),
        )
        .route(
            "/garbage.xml",
            get(|| async { vec![0u8, 159, 146, 150, 255, 0, 1] }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let s = s.clone();
                async move {
                    s.record(req.uri().path(), req.headers());
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A second host that answers 429 with a two-hour Retry-After. It has a host of its own
/// because a Retry-After backs off the whole host, which would hold up the other cases.
async fn start_rate_limited_site() -> String {
    let app = Router::new().route(
        "/429.xml",
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "7200")],
                "slow down",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

const CASES: &[&str] = &[
    "good", "lastmod", "cp1251", "koi8", "429", "500", "slow", "loop", "huge", "html", "garbage",
];

fn crawler(store: Arc<dyn Store>) -> Crawler {
    let limits = FetchLimits {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(1),
        max_body_bytes: 64 * 1024,
        max_redirects: 5,
        // The site is ours: no per-host wait, so the cases run side by side as before
        // (robots.txt is still fetched; the site answers 404, which allows everything).
        politeness: PolitenessLimits::unthrottled(4),
    };
    Crawler::new(Fetcher::new(limits).unwrap(), store, "test-worker")
}

fn by_name<'a>(reports: &'a [CrawlReport], name: &str) -> &'a CrawlReport {
    reports
        .iter()
        .find(|r| r.source.as_str() == name)
        .unwrap_or_else(|| panic!("no report for {name}"))
}

fn assert_next_check_in(r: &CrawlReport, before: Timestamp, wait: Duration) {
    let next = r.next_check_at.expect("next check set");
    let lo = before.plus(wait);
    let hi = Timestamp::now().plus(wait);
    assert!(
        next >= lo && next <= hi,
        "{}: next check {next} not within [{lo}, {hi}]",
        r.source
    );
}

async fn misbehaving_site_story(db: TestDb) {
    let seen = Seen::default();
    let base = start_site(seen.clone()).await;
    let limited = start_rate_limited_site().await;
    let sources: Vec<_> = CASES
        .iter()
        .map(|c| {
            let site = if *c == "429" { &limited } else { &base };
            feed_source(c, &format!("{site}/{c}.xml"), EVERY)
        })
        .collect();
    let store = db.store.clone();
    store
        .sync_config(&[acme()], &sources, Timestamp::now())
        .await
        .unwrap();
    let crawler = crawler(store.clone());

    let before = Timestamp::now();
    let reports = crawler
        .crawl_all_once(None, 4, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(
        reports.len(),
        CASES.len(),
        "every source is crawled, failures included"
    );

    // Good feed: 4 items; the Road Runner post only names Acme inside the excluded phrase,
    // p3 names no brand, so two mentions (p1 in English, p4 in Ukrainian).
    let good = by_name(&reports, "good");
    assert_eq!(
        (
            good.http_status,
            good.items_seen,
            good.new_mentions,
            good.error.as_deref()
        ),
        (Some(200), 4, 2, None)
    );
    // A success waits the source's interval, stretched by its own jitter (±10%).
    let jittered = EVERY.mul_f64(earshot_crawler::schedule::jitter_factor("good"));
    assert_next_check_in(good, before, jittered);
    let good_mentions = store
        .mentions(&MentionQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let titles: Vec<&str> = good_mentions
        .iter()
        .filter(|m| m.source.as_str() == "good")
        .map(|m| m.title.as_str())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Acme anvils are the best") && titles.contains(&"Відгук"));
    let p1 = good_mentions
        .iter()
        .find(|m| m.title == "Acme anvils are the best")
        .unwrap();
    assert!(
        !p1.snippet.contains('<'),
        "HTML reduced to text: {}",
        p1.snippet
    );
    assert_eq!(p1.url.as_deref(), Some("http://forum.test/t/p1"));

    // Legacy charsets: decoded from the header, or from the XML declaration alone.
    for (name, text) in [("cp1251", "Купил чайник Акме"), ("koi8", "Компания Акме")]
    {
        let r = by_name(&reports, name);
        assert_eq!((r.new_mentions, r.error.as_deref()), (1, None), "{name}");
        let m = good_mentions
            .iter()
            .find(|m| m.source.as_str() == name)
            .unwrap();
        assert!(m.snippet.contains(text), "{name}: {}", m.snippet);
        assert_eq!(m.matched_term, "Акме");
    }

    // 429 with Retry-After: 2 hours beats the 10-minute interval.
    let r429 = by_name(&reports, "429");
    assert_eq!(r429.http_status, Some(429));
    assert!(
        r429.error.as_deref().unwrap().contains("HTTP 429"),
        "{:?}",
        r429.error
    );
    assert_next_check_in(r429, before, Duration::from_secs(7200));

    // 500: an error, and the normal interval for a first failure.
    let r500 = by_name(&reports, "500");
    assert_eq!(
        (r500.http_status, r500.error.as_deref()),
        (Some(500), Some("HTTP 500"))
    );
    assert_next_check_in(r500, before, EVERY);

    // Slow, loop, huge, not-a-feed, garbage: each a recorded error in plain words.
    let expect_error = |name: &str, words: &str| {
        let r = by_name(&reports, name);
        let e = r
            .error
            .as_deref()
            .unwrap_or_else(|| panic!("{name} should fail"));
        assert!(e.contains(words), "{name}: {e:?} lacks {words:?}");
        assert_eq!(r.new_mentions, 0, "{name}");
        assert_next_check_in(r, before, EVERY);
    };
    expect_error("slow", "timed out");
    expect_error("loop", "redirects");
    expect_error("huge", "larger than the 65536-byte limit");
    expect_error("html", "not a feed");
    expect_error("garbage", "not a feed");
    assert_eq!(
        seen.requests("/loop.xml").len(),
        6,
        "the first request and 5 redirects"
    );

    // The store holds the same story: states, errors and runs.
    let stored = store.sources().await.unwrap();
    let state = |n: &str| {
        stored
            .iter()
            .find(|s| s.source.name.as_str() == n)
            .unwrap()
            .state
            .clone()
    };
    assert_eq!(state("good").etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        state("lastmod").last_modified.as_deref(),
        Some("Mon, 23 Nov 2026 09:00:00 GMT")
    );
    assert_eq!(
        (state("500").error_count, state("500").last_error.as_deref()),
        (1, Some("HTTP 500"))
    );
    assert_eq!(state("good").error_count, 0);
    let runs = store.crawl_runs(100).await.unwrap();
    assert_eq!(runs.len(), CASES.len());
    assert!(runs
        .iter()
        .any(|r| r.source.as_str() == "huge"
            && r.error.as_deref().is_some_and(|e| e.contains("limit"))));
    let total = store.count_mentions().await.unwrap();
    assert_eq!(total, 2 + 1 + 1 + 1, "good 2, cp1251 1, koi8 1, lastmod 1");

    // Second crawl: unchanged feeds answer 304 to our validators, nothing new is stored,
    // and the failing source backs off further.
    let before2 = Timestamp::now();
    let again = crawler
        .crawl_all_once(None, 4, |_| {}, |_| {})
        .await
        .unwrap();
    let g2 = by_name(&again, "good");
    assert!(
        g2.not_modified && g2.http_status == Some(304) && g2.new_mentions == 0,
        "{g2:?}"
    );
    assert!(by_name(&again, "lastmod").not_modified);
    let conditional = seen.requests("/good.xml");
    assert_eq!(conditional[1].get(header::IF_NONE_MATCH).unwrap(), "\"v1\"");
    assert_eq!(again.iter().map(|r| r.new_mentions).sum::<u64>(), 0);
    assert_eq!(store.count_mentions().await.unwrap(), total);
    // The 429's host is still backed off: nothing is sent, and the source waits it out.
    let r429b = by_name(&again, "429");
    assert!(
        r429b
            .error
            .as_deref()
            .is_some_and(|e| e.contains("back off")),
        "{r429b:?}"
    );
    let next = r429b.next_check_at.expect("next check set");
    assert!(
        next >= before2.plus(Duration::from_secs(7100))
            && next <= Timestamp::now().plus(Duration::from_secs(7200)),
        "the 429 source waits for the rest of its host's two hours: {next}"
    );
    let r500b = by_name(&again, "500");
    assert_next_check_in(r500b, before2, EVERY * 2);
    let stored = store.sources().await.unwrap();
    assert_eq!(
        stored
            .iter()
            .find(|s| s.source.name.as_str() == "500")
            .unwrap()
            .state
            .error_count,
        2
    );
    assert!(seen.requests("/good.xml")[0]
        .get(header::USER_AGENT)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("Earshot/"));
    db.cleanup().await;
}

#[tokio::test]
async fn a_misbehaving_site_is_recorded_source_by_source_on_sqlite() {
    misbehaving_site_story(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_misbehaving_site_is_recorded_source_by_source_on_postgres() {
    misbehaving_site_story(TestDb::postgres().await).await;
}

#[tokio::test]
async fn a_worker_that_died_mid_crawl_loses_nothing() {
    let db = TestDb::sqlite().await;
    let base = start_site(Seen::default()).await;
    let store = db.store.clone();
    store
        .sync_config(
            &[acme()],
            &[feed_source("good", &format!("{base}/good.xml"), EVERY)],
            Timestamp::now(),
        )
        .await
        .unwrap();
    // A worker claims the source, fetches, and dies before storing: only its lease remains.
    let name = SourceName::parse("good").unwrap();
    let dead = store
        .claim_sources(&Claim {
            worker: "dead-worker",
            now: Timestamp::now(),
            lease: Duration::from_millis(300),
            limit: 1,
            due_only: false,
            name: Some(&name),
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let crawler = crawler(store.clone());
    let blocked = crawler
        .crawl_all_once(Some(&name), 1, |_| {}, |_| {})
        .await
        .unwrap();
    assert!(blocked.is_empty(), "a live lease is respected");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resumed = crawler
        .crawl_all_once(Some(&name), 1, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        resumed[0].new_mentions, 2,
        "the next run stores what the dead one fetched"
    );
    assert_eq!(store.count_mentions().await.unwrap(), 2);
}
