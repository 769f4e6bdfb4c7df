//! The admin's brands and sources through the real API on 127.0.0.1 over a real SQLite
//! store: what is made, changed and retired, what the config file keeps to itself, and
//! what bad requests get (a 4xx JSON error that says what to fix, never a 500).

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{KeyName, Role, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use support::{acme, feed_source, ApiClient as Api, TestDb};

/// A store with the config's Acme and forum feed; the admin's client.
async fn start(db: &TestDb) -> Api {
    let store = db.store.clone();
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store
        .sync_config(&[acme()], &[forum], Timestamp::now())
        .await
        .unwrap();
    let name = KeyName::parse("admin").unwrap();
    let (_, secret) = issue_key(store.as_ref(), &name, Role::Admin, Timestamp::now())
        .await
        .unwrap();
    let base = support::serve_api(AppState::new(store)).await;
    Api::new(base, secret.expose())
}

/// The error message of a 4xx answer, checked to be one.
fn refusal(answer: (StatusCode, Value), status: u16) -> String {
    assert_eq!(answer.0.as_u16(), status, "{}", answer.1);
    assert!(answer.1["error"]["code"].is_string(), "{}", answer.1);
    answer.1["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn brands_are_made_changed_and_retired_and_the_config_keeps_its_own() {
    let db = TestDb::sqlite().await;
    let admin = start(&db).await;

    let (status, made) = admin
        .post(
            "/api/v1/brands",
            json!({"slug": "globex", "name": "Globex", "terms": ["Globex", "Глобекс*"],
                   "auto_approve": {"min_rating": 0.75}}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["origin"], "api");
    assert_eq!(made["terms"], json!(["Globex", "Глобекс*"]));
    assert_eq!(made["exclude"], json!([]));
    assert_eq!(
        made["auto_approve"],
        json!({"min_rating": 0.75, "min_positive": null})
    );

    // Fields left out stay; null removes the auto-approve rule.
    let (status, changed) = admin
        .call(
            Method::PATCH,
            "/api/v1/brands/globex",
            Some(json!({"exclude": ["Globex Tower"], "auto_approve": null})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Globex");
    assert_eq!(changed["exclude"], json!(["Globex Tower"]));
    assert_eq!(changed["auto_approve"], Value::Null);
    assert_eq!(admin.get("/api/v1/brands/globex").await.1, changed);
    let (_, list) = admin.get("/api/v1/brands").await;
    let slugs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme", "globex"]);

    let taken = admin
        .post(
            "/api/v1/brands",
            json!({"slug": "acme", "name": "A", "terms": ["A2"]}),
        )
        .await;
    assert!(refusal(taken, 409).contains("already a brand acme"));
    let config = admin
        .call(
            Method::PATCH,
            "/api/v1/brands/acme",
            Some(json!({"name": "ACME"})),
        )
        .await;
    assert!(refusal(config, 409).contains("config file"));
    let config = admin
        .call(Method::DELETE, "/api/v1/brands/acme", None)
        .await;
    assert!(refusal(config, 409).contains("config file"));

    let (status, _) = admin
        .call(Method::DELETE, "/api/v1/brands/globex", None)
        .await;
    assert_eq!(status, 204);
    assert!(refusal(admin.get("/api/v1/brands/globex").await, 404).contains("no brand globex"));
    let again = admin
        .call(Method::DELETE, "/api/v1/brands/globex", None)
        .await;
    refusal(again, 404);
    db.cleanup().await;
}

#[tokio::test]
async fn bad_brands_get_a_400_that_names_what_is_wrong() {
    let db = TestDb::sqlite().await;
    let admin = start(&db).await;
    let cases = [
        (
            json!({"slug": "Globex", "name": "G", "terms": ["G1"]}),
            "a-z, 0-9",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": []}),
            "at least one term",
        ),
        (
            json!({"slug": "globex", "name": " ", "terms": ["G1"]}),
            "brand name",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": ["*"]}),
            "letter or digit",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": ["G1"], "auto_approve": {}}),
            "min_rating and/or min_positive",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": ["G1"], "auto_approve": {"min_positive": 2}}),
            "from 0 to 1",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": ["G1"], "colour": "red"}),
            "unknown field",
        ),
        (
            json!({"slug": "globex", "name": "G", "terms": "G1"}),
            "invalid type",
        ),
    ];
    for (body, says) in cases {
        let message = refusal(admin.post("/api/v1/brands", body.clone()).await, 400);
        assert!(message.contains(says), "{body}: {message}");
    }
    let path = refusal(admin.get("/api/v1/brands/NOT%20A%20SLUG").await, 400);
    assert!(path.contains("brand slug"), "{path}");
    refusal(admin.get("/api/v1/brands/initech").await, 404);
    db.cleanup().await;
}

#[tokio::test]
async fn sources_are_validated_made_changed_and_retired() {
    let db = TestDb::sqlite().await;
    let admin = start(&db).await;
    let cases = [
        (
            json!({"name": "blog", "url": "ftp://blog.test/feed"}),
            "http:// or https://",
        ),
        (
            json!({"name": "blog", "url": "not a url"}),
            "not a valid URL",
        ),
        (
            json!({"name": "blog", "url": "https://blog.test/feed", "every_secs": 10}),
            "from 60 (a minute)",
        ),
        (
            json!({"name": "blog", "url": "https://blog.test/feed", "every_secs": 10_000_000}),
            "a week",
        ),
        (
            json!({"name": "blog", "url": "https://blog.test/feed", "kind": "gopher"}),
            "unknown source kind",
        ),
        (
            json!({"name": "a blog", "url": "https://blog.test/feed"}),
            "source name",
        ),
        (json!({"name": "blog"}), "missing field `url`"),
    ];
    for (body, says) in cases {
        let message = refusal(admin.post("/api/v1/sources", body.clone()).await, 400);
        assert!(message.contains(says), "{body}: {message}");
    }

    let (status, made) = admin
        .post(
            "/api/v1/sources",
            json!({"name": "blog", "url": "https://blog.test/feed"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            &made["kind"],
            &made["every_secs"],
            &made["origin"],
            &made["next_check_at"]
        ),
        (&json!("feed"), &json!(1800), &json!("api"), &Value::Null)
    );
    let (status, changed) = admin
        .call(
            Method::PATCH,
            "/api/v1/sources/blog",
            Some(json!({"every_secs": 3600})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["url"], &changed["every_secs"]),
        (&json!("https://blog.test/feed"), &json!(3600))
    );
    let bad = admin
        .call(
            Method::PATCH,
            "/api/v1/sources/blog",
            Some(json!({"url": "file:///etc/passwd"})),
        )
        .await;
    refusal(bad, 400);
    let taken = admin
        .post(
            "/api/v1/sources",
            json!({"name": "forum", "url": "https://x.test/"}),
        )
        .await;
    assert!(refusal(taken, 409).contains("already a source forum"));
    let config = admin
        .call(Method::DELETE, "/api/v1/sources/forum", None)
        .await;
    assert!(refusal(config, 409).contains("config file"));

    let (status, _) = admin
        .call(Method::DELETE, "/api/v1/sources/blog", None)
        .await;
    assert_eq!(status, 204);
    let (_, list) = admin.get("/api/v1/sources").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["forum"], "a retired source is not listed");
    db.cleanup().await;
}

#[tokio::test]
async fn forum_and_review_sources_carry_a_recipe_that_fits_their_kind() {
    let db = TestDb::sqlite().await;
    let admin = start(&db).await;
    let url = "https://board.test/viewforum.php?f=2";
    let cases = [
        (
            json!({"name": "board", "url": url, "kind": "forum"}),
            "a forum needs a recipe",
        ),
        (
            json!({"name": "board", "url": url, "kind": "forum", "recipe": {"post": "div.post"}}),
            "both `post` and `body`",
        ),
        (
            json!({"name": "board", "url": url, "kind": "forum", "recipe": {"preset": "ipb"}}),
            "unknown variant `ipb`",
        ),
        (
            json!({"name": "board", "url": url, "kind": "forum", "recipe": {"preset": "phpbb", "posts": "x"}}),
            "unknown field `posts`",
        ),
        (
            json!({"name": "board", "url": url, "kind": "forum",
                   "recipe": {"preset": "phpbb", "max_pages": 1000}}),
            "max_pages = 1000 must be from 1 to 100",
        ),
        (
            json!({"name": "board", "url": url, "recipe": {"preset": "phpbb"}}),
            "a feed source takes no recipe",
        ),
        (
            json!({"name": "board", "url": url, "kind": "forum",
                   "recipe": {"post": "div.post", "body": "p[[", "author": ".who"}}),
            "`body` = \"p[[\"",
        ),
        (
            json!({"name": "board", "url": url, "kind": "page", "host_interval_ms": 601_000}),
            "host_interval must be at most 600s",
        ),
    ];
    for (body, says) in cases {
        let message = refusal(admin.post("/api/v1/sources", body.clone()).await, 400);
        assert!(message.contains(says), "{body}: {message}");
    }

    let recipe = json!({"preset": "phpbb", "max_pages": 3, "thread_links": "a.topictitle"});
    let (status, made) = admin
        .post(
            "/api/v1/sources",
            json!({"name": "board", "url": url, "kind": "forum", "recipe": recipe,
                   "host_interval_ms": 2500}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (&made["kind"], &made["recipe"], &made["host_interval_ms"]),
        (&json!("forum"), &recipe, &json!(2500))
    );
    let (_, shown) = admin.get("/api/v1/sources/board").await;
    assert_eq!(shown["recipe"], recipe);

    // A new kind that takes no recipe drops it; the host interval stays.
    let (status, page) = admin
        .call(
            Method::PATCH,
            "/api/v1/sources/board",
            Some(json!({"kind": "page"})),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (&page["kind"], page.get("recipe"), &page["host_interval_ms"]),
        (&json!("page"), None, &json!(2500))
    );

    let (status, ratings) = admin.get("/api/v1/sources/board/ratings").await;
    assert_eq!((status.as_u16(), ratings), (200, json!({"items": []})));
    let missing = admin.get("/api/v1/sources/nowhere/ratings").await;
    assert!(refusal(missing, 404).contains("no source nowhere"));
    db.cleanup().await;
}
