//! `earshot demo`: the main job end to end with no network and no setup. A bundled
//! site of multilingual feeds about a fictional brand, Lumora, is served on
//! 127.0.0.1; a demo config points at it; Earshot crawls it, classifies what it found,
//! opens alerts for the clearly negative mentions, shows the results, and keeps serving
//! the API (and re-crawling on schedule) until Ctrl-C. An admin key for the API is
//! kept in the demo folder (`admin.key`) and printed. Positive mentions become review
//! candidates; the demo brand's auto-approve rule approves the surest, and the demo
//! site has a page (`/reviews.html`) that embeds the review widget from the API.

use crate::cli::DemoArgs;
use crate::{app, classify, crawl_once, serve, settings};
use anyhow::Context;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use earshot_domain::{AlertStatus, ApiSecret, KeyName, ReviewStatus, Role, Timestamp};
use earshot_store::{AlertQuery, MentionQuery, ReviewQuery, Store};
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// The demo site's files: path, content type, bytes.
const SITE: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../demo/site/index.html"),
    ),
    (
        "/forum-en.rss",
        "application/rss+xml",
        include_bytes!("../demo/site/forum-en.rss"),
    ),
    (
        "/reviews-uk.atom",
        "application/atom+xml",
        include_bytes!("../demo/site/reviews-uk.atom"),
    ),
    (
        "/blog-es.json",
        "application/feed+json",
        include_bytes!("../demo/site/blog-es.json"),
    ),
    // Served as real windows-1251 bytes, declared only in the XML prolog, like many
    // older Russian-language forums.
    (
        "/forum-ru.rss",
        "application/rss+xml",
        include_bytes!("../demo/site/forum-ru.rss"),
    ),
    (
        "/news-az.rdf",
        "application/rdf+xml",
        include_bytes!("../demo/site/news-az.rdf"),
    ),
    (
        "/alerts.atom",
        "application/atom+xml",
        include_bytes!("../demo/site/alerts.atom"),
    ),
];

/// The demo's config. `{site}` becomes the demo site's address.
const CONFIG: &str = r#"# Earshot demo config, written by `earshot demo`.
# It points at the bundled demo site, which `earshot demo` serves on 127.0.0.1.

[database]
url = "sqlite://earshot.db"

[server]
listen = "{listen}"

[crawler]
concurrency = 4
tick = "2s"
host_interval = "0s"   # the demo site is local and ours; real sites get 1s by default
host_concurrency = 4

[[brands]]
slug = "lumora"
name = "Lumora"
terms = ["Lumora", "Люмор*", "lumora.example"]   # Люмор* also matches Люмори, Люморою…
exclude = ["Lumora Street"]
# Marketing approves reviews by hand, except the surest: P(positive) of 0.7 or more.
# (The shipped head's probabilities are calibrated, so on short posts they are seldom
# extreme: see QUALITY.md. Pick thresholds from your own mentions' figures.)
auto_approve = { min_positive = 0.7 }

# The PR team gets an alert for each negative mention with P(negative) of 0.55 or more.
[[alert_rules]]
brand = "lumora"
threshold = 0.55

[[sources]]
name = "kettlefans-forum"
kind = "feed"
url = "{site}/forum-en.rss"
every = "1m"

[[sources]]
name = "ukrainian-reviews"
kind = "feed"
url = "{site}/reviews-uk.atom"
every = "1m"

[[sources]]
name = "spanish-blog"
kind = "feed"
url = "{site}/blog-es.json"
every = "1m"

[[sources]]
name = "russian-forum"
kind = "feed"
url = "{site}/forum-ru.rss"
every = "1m"

[[sources]]
name = "azerbaijani-news"
kind = "feed"
url = "{site}/news-az.rdf"
every = "1m"

[[sources]]
name = "google-alerts"
kind = "feed"
url = "{site}/alerts.atom"
every = "1m"
"#;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let api_listener = bind_or_any(args.listen).await?;
    let listen = api_listener.local_addr()?;
    let site_listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("starting the demo site")?;
    let site = format!("http://{}", site_listener.local_addr()?);
    let reviews_page = REVIEWS_PAGE.replace("{api}", &format!("http://{listen}"));
    tokio::spawn(async move { axum::serve(site_listener, site_router(reviews_page)).await });

    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating the demo folder {}", args.dir.display()))?;
    let config_path = args.dir.join("earshot.toml");
    let config = CONFIG
        .replace("{site}", &site)
        .replace("{listen}", &listen.to_string());
    std::fs::write(&config_path, config)
        .with_context(|| format!("writing {}", config_path.display()))?;
    // The demo is self-contained: environment overrides do not apply to it.
    let settings = settings::load(&config_path, std::iter::empty())?;

    println!("Earshot demo: crawling the bundled demo site at {site}/");
    let _lock = app::lock_database(&settings)?;
    let store = app::open_store(&settings).await?;
    let worker = classify::start_worker(&settings, store.clone()).await?;
    let crawler = app::crawler(&settings, store.clone())?;
    let reports =
        crawl_once::crawl_with_progress(&crawler, None, settings.crawler.concurrency).await?;
    print!("{}", crawl_once::summary(&reports));
    if let Some(worker) = &worker {
        print!(
            "{}",
            classify::drain_with_progress(worker, Default::default()).await?
        );
    }

    let latest = store
        .mentions(&MentionQuery {
            limit: 8,
            ..Default::default()
        })
        .await?;
    println!(
        "\nStored {} mentions of Lumora in all. The latest:",
        store.count_mentions().await?
    );
    for m in &latest {
        let title: String = m.title.chars().take(60).collect();
        let verdict = m
            .sentiment
            .as_ref()
            .map(|s| {
                format!(
                    "{:<8} {:+.2} {}",
                    s.label.as_str(),
                    s.score,
                    s.language.as_deref().unwrap_or("??")
                )
            })
            .unwrap_or_default();
        println!("  [{:>2}] {:<17} {verdict:<17} {title}", m.id.0, m.source);
    }

    let open_alerts = store
        .alerts(&AlertQuery {
            status: Some(AlertStatus::Open),
            kind: Some(earshot_domain::AlertKind::Mention),
            limit: 500,
            ..Default::default()
        })
        .await?;
    println!(
        "\n{} open alert{} for the PR team (negative, P(negative) of 0.55 or more).",
        open_alerts.len(),
        if open_alerts.len() == 1 { "" } else { "s" }
    );

    let count = |status| {
        let store = store.clone();
        async move {
            let query = ReviewQuery {
                status: Some(status),
                brand: None,
                before: None,
                limit: 500,
            };
            store.reviews(&query).await.map(|r| r.len())
        }
    };
    let approved = count(ReviewStatus::Approved).await?;
    let pending = count(ReviewStatus::Pending).await?;
    println!(
        "{} review candidates for marketing: {approved} approved, {pending} pending \
         (the auto-approve rule takes those with P(positive) of 0.7 or more).",
        approved + pending
    );

    if args.no_serve {
        return Ok(());
    }
    let key_path = args.dir.join("admin.key");
    let key = demo_admin_key(store.as_ref(), &key_path).await?;
    let config_shown = config_path.display();
    let key_shown = key_path.display();
    println!(
        "\nDemo site: {site}/\nAdmin API key: {key} (saved in {key_shown})\n\
         Web console: http://{listen}/ (sign in with the admin API key)\n\
         API: http://{listen}/api/v1/mentions?brand=lumora\n\
         Negative mentions: http://{listen}/api/v1/mentions?brand=lumora&sentiment=negative\n\
         Open alerts: http://{listen}/api/v1/alerts?status=open\n\
         Pending reviews: http://{listen}/api/v1/reviews?status=pending\n\
         Public review feed (no key): http://{listen}/public/v1/brands/lumora/reviews\n\
         Review widget on a page: {site}/reviews.html\n\
         Config: {config_shown} (database next to it)\n\nTry:\n  \
         curl -H \"Authorization: Bearer $(cat {key_shown})\" \\\n       \
         'http://{listen}/api/v1/mentions?brand=lumora&limit=5'\n  \
         curl -H \"Authorization: Bearer $(cat {key_shown})\" \\\n       \
         'http://{listen}/api/v1/alerts?status=open&severity=high'\n  \
         curl -H \"Authorization: Bearer $(cat {key_shown})\" -X POST \\\n       \
         'http://{listen}/api/v1/reviews/ID/approve'\n  \
         earshot --config {config_shown} mentions --format table\n\n\
         Earshot keeps crawling every minute. Press Ctrl-C to stop.",
        key = key.expose()
    );
    serve::run_until_shutdown(
        serve::Parts {
            listener: Some(api_listener),
            crawler: Some(crawler),
            worker,
        },
        store,
        &settings,
        app::shutdown_signal(),
    )
    .await
}

/// The demo's admin key: the one saved at `path` if it still works, else a new one,
/// saved there (readable by the owner only), so re-running the demo does not pile up keys.
async fn demo_admin_key(store: &dyn Store, path: &Path) -> anyhow::Result<ApiSecret> {
    let now = Timestamp::now();
    if let Some(saved) = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| ApiSecret::parse(s.trim()).ok())
    {
        let key = store.authenticate(&saved.hash(), now).await?;
        if key.is_some_and(|k| k.revoked_at.is_none() && k.role == Role::Admin) {
            return Ok(saved);
        }
    }
    let name = KeyName::parse("demo admin")?;
    let (_, secret) = earshot_api::issue_key(store, &name, Role::Admin, now).await?;
    write_private(path, &format!("{}\n", secret.expose()))
        .with_context(|| format!("saving the demo key to {}", path.display()))?;
    Ok(secret)
}

/// Writes a file that only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Binds `addr`, or any free port on the same host if it is taken, saying so.
async fn bind_or_any(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) => {
            let any = SocketAddr::new(addr.ip(), 0);
            let l = TcpListener::bind(any)
                .await
                .with_context(|| format!("listening on {any}"))?;
            eprintln!(
                "{addr} is busy ({e}); the API uses {} instead.",
                l.local_addr()?
            );
            Ok(l)
        }
    }
}

/// A page on the demo site that embeds the review widget from the API (`{api}`): a
/// company's web page, on another origin than Earshot's.
const REVIEWS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lumora: what customers say</title>
</head>
<body>
  <h1>What customers say about Lumora</h1>
  <p>The reviews below come from Earshot's public feed, through its widget: only reviews
  that marketing approved (or the auto-approve rule did). Approve more with the API and
  reload (the feed may be cached for five minutes).</p>
  <div data-earshot-brand="lumora"></div>
  <script src="{api}/public/v1/brands/lumora/widget.js" async></script>
</body>
</html>
"#;

/// Serves the bundled files, and `reviews_page` at `/reviews.html`, with an ETag,
/// answering 304 to a matching If-None-Match, so repeated demo crawls show conditional
/// GET at work.
fn site_router(reviews_page: String) -> axum::Router {
    let reviews_page = axum::body::Bytes::from(reviews_page);
    axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let reviews_page = reviews_page.clone();
        async move {
            let found = match uri.path() {
                "/reviews.html" => Some(("text/html; charset=utf-8", reviews_page)),
                path => SITE
                    .iter()
                    .find(|(p, _, _)| *p == path)
                    .map(|(_, ct, body)| (*ct, axum::body::Bytes::from_static(body))),
            };
            let Some((content_type, body)) = found else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let etag = {
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                body.hash(&mut h);
                format!("\"{:x}\"", h.finish())
            };
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                return Response::builder()
                    .status(StatusCode::NOT_MODIFIED)
                    .header(header::ETAG, etag)
                    .body(axum::body::Body::empty())
                    .unwrap_or_default();
            }
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::ETAG, etag.as_str()),
                ],
                body,
            )
                .into_response()
        }
    })
}
