//! Forums and review pages, end to end: the real `earshot crawl --once` reads a phpBB
//! thread over two pages, a Discourse topic through its JSON API and a review page with
//! JSON-LD, each served by its own local site on 127.0.0.1, and stores mentions with
//! their authors, dates and star ratings; quotes are not mentions, and a second crawl
//! stores nothing twice.

mod support;

use earshot_domain::SourceName;
use std::path::{Path, PathBuf};
use support::earshot;

fn fixture(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crawler/tests/fixtures")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The thread's second page, in the same phpBB (prosilver) markup as the first.
const PHPBB_PAGE_2: &str = r##"<!DOCTYPE html>
<html lang="uk"><head><meta charset="utf-8"><title>Чайник Lumora Aura протікає після місяця - Сторінка 2</title></head>
<body id="phpbb"><div id="page-body">
<h2 class="topic-title"><a href="./viewtopic.php?f=2&amp;t=10">Чайник Lumora Aura протікає після місяця</a></h2>
<div id="p105" class="post has-profile bg2"><div class="inner">
  <dl class="postprofile" id="profile105"><dt><a href="./memberlist.php?mode=viewprofile&amp;u=12" class="username">halyna</a></dt></dl>
  <div class="postbody"><div id="post_content105">
    <h3><a href="#p105">Re: Чайник Lumora Aura протікає після місяця</a></h3>
    <p class="author"><a href="./viewtopic.php?p=105#p105"><span class="imageset icon_post_target">Повідомлення</span></a><span class="responsive-hide">від <strong><a href="./memberlist.php?mode=viewprofile&amp;u=12" class="username">halyna</a></strong> &raquo; </span>Ср лис 25, 2026 08:30 </p>
    <div class="content">Мій Lumora теж протік, але на Подолі полагодили безкоштовно.</div>
  </div></div>
</div></div>
</div></body></html>"##;

/// A site on its own port (so its own host for politeness) serving `routes`, which map
/// a path and query to a content type and body.
async fn site(routes: Vec<(&'static str, &'static str, String)>) -> String {
    use axum::http::{header, StatusCode};
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let routes = routes.clone();
        async move {
            let wanted = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            match routes.iter().find(|(path, _, _)| *path == wanted) {
                Some((_, content_type, body)) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, *content_type)],
                    body.clone(),
                ),
                None => (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "text/plain")],
                    String::from("not here"),
                ),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn run(dir: &Path, args: &'static [&'static str]) -> (String, String) {
    let d: PathBuf = dir.to_owned();
    let out = tokio::task::spawn_blocking(move || earshot(&d, args))
        .await
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forums_and_review_pages_give_mentions_with_authors_dates_and_ratings() {
    let html = "text/html; charset=utf-8";
    let phpbb = site(vec![
        (
            "/viewtopic.php?f=2&t=10",
            html,
            fixture("forums/phpbb-topic.html"),
        ),
        (
            "/viewtopic.php?f=2&t=10&start=4",
            html,
            PHPBB_PAGE_2.to_owned(),
        ),
    ])
    .await;
    let discourse = site(vec![(
        "/t/321.json",
        "application/json",
        fixture("forums/discourse-topic.json"),
    )])
    .await;
    let shop = site(vec![(
        "/lumora-aura/reviews",
        html,
        fixture("reviews/en-lumora-kettle.html"),
    )])
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        format!(
            r#"[[brands]]
slug = "lumora"
name = "Lumora"
terms = ["Lumora", "Люмор*"]

[[sources]]
name = "domivka"
kind = "forum"
url = "{phpbb}/viewtopic.php?f=2&t=10"
recipe = {{ preset = "phpbb", max_pages = 3 }}

[[sources]]
name = "owners"
kind = "forum"
url = "{discourse}/t/lumora-aura-after-a-month/321"
recipe = {{ preset = "discourse" }}

[[sources]]
name = "shop"
kind = "reviews"
url = "{shop}/lumora-aura/reviews"
"#
        ),
    )
    .unwrap();

    let (stdout, _) = run(dir.path(), &["crawl", "--once"]).await;
    assert!(stdout.contains("Crawled 3 sources"), "{stdout}");
    assert!(stdout.contains(", 0 failed."), "{stdout}");

    let (json, _) = run(dir.path(), &["mentions", "--format", "json"]).await;
    let mentions: serde_json::Value = serde_json::from_str(&json).expect("JSON mentions");
    let of = |source: &str| -> Vec<(String, Option<String>, Option<f64>)> {
        let mut found: Vec<_> = mentions
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["source"] == source)
            .map(|m| {
                (
                    m["author"].as_str().unwrap_or("").to_owned(),
                    m["published_at"].as_str().map(|d| d[..10].to_owned()),
                    m["rating"].as_f64(),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    };
    let day = |d: &str| Some(d.to_owned());

    // phpBB: the opening post and page 2's post; taras.m names Lumora only in a quote
    // and the thread title, so his reply is not a mention.
    assert_eq!(
        of("domivka"),
        vec![
            ("halyna".to_owned(), day("2026-11-25"), None),
            ("oksana_k".to_owned(), day("2026-11-23"), None),
        ],
        "{json}"
    );
    // Discourse: alice names the kettle; bohdan only quotes her.
    assert_eq!(
        of("owners"),
        vec![("alice".to_owned(), day("2026-11-23"), None)],
        "{json}"
    );
    // The review page: every review is of the page's item, with its stars (5 of 5,
    // 2 of 5, 4.5 of 5 normalised to 0..1).
    let reviews = of("shop");
    let rated: Vec<(String, Option<f64>)> = reviews
        .iter()
        .map(|(author, _, rating)| (author.clone(), *rating))
        .collect();
    assert!(
        rated.contains(&("Margaret O'Neill".to_owned(), Some(1.0))),
        "{json}"
    );
    assert!(
        rated.contains(&("Tom Baker".to_owned(), Some(0.25))),
        "{json}"
    );
    assert!(
        rated.contains(&("Priya S.".to_owned(), Some(0.875))),
        "{json}"
    );
    assert!(
        reviews
            .iter()
            .any(|(a, d, _)| a == "Tom Baker" && d.as_deref() == Some("2026-11-02")),
        "{json}"
    );

    // The page's aggregate rating is kept; what could not be read is recorded.
    let store = earshot_store::connect(&format!(
        "sqlite://{}",
        dir.path().join("earshot.db").display()
    ))
    .await
    .unwrap();
    let ratings = store
        .source_ratings(&SourceName::parse("shop").unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(ratings.len(), 1);
    assert_eq!(
        (ratings[0].rating.raw_value, ratings[0].rating.count),
        (4.2, Some(127))
    );
    assert!((ratings[0].rating.value - 0.8).abs() < 1e-9);
    let runs = store.crawl_runs(10).await.unwrap();
    let shop_run = runs.iter().find(|r| r.source.as_str() == "shop").unwrap();
    assert!(
        !shop_run.problems.is_empty(),
        "the fixture's broken JSON-LD block is recorded"
    );
    let forum_run = runs
        .iter()
        .find(|r| r.source.as_str() == "domivka")
        .unwrap();
    assert_eq!(forum_run.error, None);

    // A second crawl finds the same posts and reviews under the same keys.
    let (again, _) = run(dir.path(), &["crawl", "--once"]).await;
    assert!(again.contains(" 0 new mentions"), "{again}");
}
