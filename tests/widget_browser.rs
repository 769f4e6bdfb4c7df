//! The review widget in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `tests/browser/`), as a visitor of a company's website meets
//! it: the API on one 127.0.0.1 origin over a real SQLite store, and a shop page that
//! embeds the widget on another, so the fetch is cross-origin as in production.
//!
//! Approved reviews appear, in accessible markup; a review whose source text held
//! `<script>` and `<img onerror>` shows as inert text (the feed strips tags and the
//! widget sets only `textContent`: no script runs, no image is made); pending and
//! rejected reviews never appear.
//!
//! Without Chromium, Node or `npm ci` this test fails and says what to run; set
//! EARSHOT_SKIP_BROWSER=1 to skip it on purpose.

mod support;

use earshot_api::AppState;
use earshot_domain::{Actor, Excerpt, Note, ReviewStatus, Timestamp};
use earshot_store::{ReviewChange, ReviewDecision, ReviewQuery, Store};
use serde_json::Value;
use std::time::Duration;
use support::browser::{browser, run_script};
use support::{acme, classify, crawl, feed_source, found, scored, set_rating, TestDb};

/// Serves `html` at `/` on a second 127.0.0.1 origin.
async fn serve_page(html: String) -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn decide(store: &dyn Store, key: &str, decision: ReviewDecision<'_>) {
    let reviews = store
        .reviews(&ReviewQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let review = reviews
        .iter()
        .find(|r| r.mention.url.as_deref() == Some(&format!("https://forum.test/{key}")))
        .expect("the mention is a review candidate");
    let by = Actor {
        key_id: None,
        name: "Marketing".to_owned(),
    };
    let done = store
        .decide_review(review.id, &decision, &by, Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(done, ReviewChange::Done(_)), "{done:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_widget_shows_approved_reviews_as_inert_text_in_chromium() {
    let Some((chromium, dir)) = browser() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let t0 = Timestamp::parse_rfc3339("2026-11-20T10:00:00Z").unwrap();
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store.sync_config(&[acme()], &[forum], t0).await.unwrap();
    let with = |key: &str, title: &str, snippet: &str| {
        let mut m = found("acme", key, title, Some(t0));
        m.snippet = snippet.to_owned();
        m
    };
    crawl(
        store.as_ref(),
        "forum",
        vec![
            with(
                "b1",
                "Love my Acme kettle",
                "The Acme kettle boils in a minute. The lid sticks a little.",
            ),
            with(
                "b2",
                "Acme, five stars",
                r#"Five stars <script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = 'img'; alert('img')"> would buy again"#,
            ),
            with("b3", "Acme rejected", "REJECTED-TEXT about Acme"),
            with("b4", "Acme pending", "PENDING-TEXT about Acme"),
        ],
        t0,
    )
    .await;
    set_rating(&db, "b2", 1.0).await;
    let pos = scored([0.02, 0.03, 0.95], None, "en", "m@1");
    classify(
        store.as_ref(),
        vec![pos.clone(), pos.clone(), pos.clone(), pos],
        t0,
    )
    .await;
    let excerpt = Excerpt::parse(
        "The Acme kettle boils in a minute.",
        "The Acme kettle boils in a minute. The lid sticks a little.",
    )
    .unwrap();
    let reason = Note::parse("Not about our kettles").unwrap();
    decide(
        store.as_ref(),
        "b1",
        ReviewDecision::Approve {
            excerpt: Some(&excerpt),
        },
    )
    .await;
    decide(
        store.as_ref(),
        "b2",
        ReviewDecision::Approve { excerpt: None },
    )
    .await;
    decide(
        store.as_ref(),
        "b3",
        ReviewDecision::Reject { reason: &reason },
    )
    .await;
    let pending = store
        .reviews(&ReviewQuery {
            status: Some(ReviewStatus::Pending),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "b4 stays pending");

    let api = support::serve_api(AppState::new(store)).await;
    let shop = serve_page(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head>
<body>
  <h1>Acme kettles</h1>
  <div data-earshot-brand="acme"></div>
  <script src="{api}/public/v1/brands/acme/widget.js"></script>
</body></html>"#
    ))
    .await;
    assert_ne!(shop, api, "two origins");

    let seen = run_script(
        &dir,
        "widget.mjs",
        &[&format!("{shop}/")],
        &chromium,
        Duration::from_secs(90),
    )
    .await;
    let what = serde_json::to_string_pretty(&seen).unwrap();
    assert_eq!(seen["state"], "ready", "{what}");
    assert!(
        seen["notice"]
            .as_str()
            .is_some_and(|n| n.contains("A selection of reviews approved by Acme")),
        "{what}"
    );
    assert_eq!(seen["inList"], true, "a list of reviews: {what}");
    let reviews = seen["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2, "approved reviews only: {what}");

    // Newest first: the one with markup in its source text, shown as inert text.
    let marked = &reviews[0];
    let text = marked["text"].as_str().unwrap();
    assert!(
        text.contains(r#"Five stars window.__pwned = "script""#)
            && text.contains("would buy again"),
        "{what}"
    );
    assert_eq!(marked["textVisible"], true, "{what}");
    assert_eq!(marked["inBlockquote"], true, "{what}");
    assert_eq!(marked["stars"], "5 out of 5 stars", "{what}");
    assert_eq!(
        seen["pwned"],
        Value::Null,
        "no script from a review ran: {what}"
    );
    assert_eq!(
        seen["imgs"], 0,
        "no element was made from review text: {what}"
    );
    assert_eq!(seen["scriptsInWidget"], 0, "{what}");
    assert_eq!(seen["dialogs"], serde_json::json!([]), "{what}");
    assert_eq!(seen["errors"], serde_json::json!([]), "{what}");

    let excerpted = &reviews[1];
    assert!(
        excerpted["text"]
            .as_str()
            .unwrap()
            .contains("The Acme kettle boils in a minute."),
        "{what}"
    );
    assert!(
        !excerpted["text"].as_str().unwrap().contains("lid sticks"),
        "the excerpt only"
    );
    assert_eq!(excerpted["textVisible"], true, "{what}");
    assert_eq!(excerpted["author"], "olena", "{what}");
    assert_eq!(excerpted["source"], "forum", "{what}");
    assert_eq!(excerpted["href"], "https://forum.test/b1", "{what}");
    assert_eq!(
        excerpted["stars"],
        Value::Null,
        "no rating, no stars: {what}"
    );

    let shown = seen["widgetText"].as_str().unwrap();
    assert!(
        !shown.contains("REJECTED-TEXT"),
        "a rejected review never appears: {what}"
    );
    assert!(
        !shown.contains("PENDING-TEXT"),
        "a pending review never appears: {what}"
    );
    db.cleanup().await;
}
