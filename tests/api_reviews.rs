//! Marketing's day through the real API on 127.0.0.1 over a real SQLite store: the
//! review queue, approving with an excerpt, rejecting with a reason, the lifecycle's
//! refusals, and what bad requests get (a 4xx JSON error, never a 500); then the public
//! feed and widget as a browser sees them: no key, CORS, ETag and 304, Cache-Control,
//! approved reviews only, plain text, a selection and no AggregateRating.

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{KeyName, Role, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::{
    acme, classify, crawl, feed_source, found, scored, set_rating, ApiClient as Api, TestDb,
};

/// Acme with a forum; four positive posts (one rated 4 of 5 stars, one whose text holds
/// markup), a negative one and a negative one rated 1 star. Returns a marketing key's
/// client.
async fn start(db: &TestDb) -> Api {
    let store = db.store.clone();
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store.sync_config(&[acme()], &[forum], t0).await.unwrap();
    let mut marked_up = found("acme", "r3", "Acme <b>rocks</b>", Some(t0));
    marked_up.snippet =
        "Best <script>window.__pwned=1</script>kettle <img src=x onerror=alert(1)>ever".into();
    crawl(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "r1", "Love my Acme kettle", Some(t0)),
            found("acme", "r2", "Acme anvil: five stars", Some(t0)),
            marked_up,
            found("acme", "r4", "Acme support was great", Some(t0)),
            found("acme", "r5", "Acme broke", Some(t0)),
            found("acme", "r6", "Acme meh", Some(t0)),
        ],
        t0,
    )
    .await;
    set_rating(db, "r2", 0.75).await;
    set_rating(db, "r6", 0.0).await;
    let pos = scored([0.05, 0.05, 0.9], None, "en", "m@1");
    let neg = scored([0.9, 0.05, 0.05], None, "en", "m@1");
    classify(
        store.as_ref(),
        vec![pos.clone(), pos.clone(), pos.clone(), pos, neg.clone(), neg],
        t0,
    )
    .await;

    let base = support::serve_api(AppState::new(store.clone())).await;
    let name = KeyName::parse("Marketing").unwrap();
    let (_, secret) = issue_key(store.as_ref(), &name, Role::Marketing, Timestamp::now())
        .await
        .unwrap();
    Api::new(base, secret.expose())
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn marketing_approves_with_excerpts_and_rejects_with_reasons() {
    let db = TestDb::sqlite().await;
    let api = start(&db).await;

    // The queue: positive mentions and rated ones, newest first.
    let (status, page) = api.get("/api/v1/reviews?status=pending&brand=acme").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![5, 4, 3, 2, 1], "{page}");
    let r2 = &page["items"][3];
    assert_eq!(r2["status"], "pending");
    assert_eq!(r2["mention"]["rating"], 0.75);
    assert_eq!(r2["mention"]["author"], "olena");
    assert_eq!(r2["mention"]["url"], "https://forum.test/r2");
    assert_eq!(
        page["items"][0]["mention"]["rating"], 0.0,
        "1 star, negative"
    );
    let (_, first) = api.get("/api/v1/reviews?limit=2").await;
    assert_eq!(ids(&first), vec![5, 4]);
    let (_, next) = api.get("/api/v1/reviews?limit=2&cursor=4").await;
    assert_eq!(ids(&next), vec![3, 2]);

    // Approve with an excerpt: a contiguous part of the text, never an edit.
    let (status, r1) = api
        .post(
            "/api/v1/reviews/1/approve",
            json!({"excerpt": "Love my Acme kettle"}),
        )
        .await;
    assert_eq!(status, 200, "{r1}");
    assert_eq!(r1["status"], "approved");
    assert_eq!(r1["excerpt"], "Love my Acme kettle");
    assert_eq!(r1["mention"]["snippet"], "Love my Acme kettle — snippet");
    assert_eq!(r1["decided_by"]["name"], "Marketing");
    let (status, err) = api
        .post(
            "/api/v1/reviews/2/approve",
            json!({"excerpt": "Acme anvil: the best"}),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "bad_request");
    assert!(message(&err).contains("not a contiguous part"), "{err}");
    let (_, r2) = api.get("/api/v1/reviews/2").await;
    assert_eq!(
        r2["status"], "pending",
        "a refused approval changes nothing"
    );
    let (status, r2) = api.post_empty("/api/v1/reviews/2/approve").await;
    assert_eq!(
        (status.as_u16(), &r2["excerpt"]),
        (200, &Value::Null),
        "{r2}"
    );
    let (status, r3) = api.post("/api/v1/reviews/3/approve", json!({})).await;
    assert_eq!(status, 200, "{r3}");

    // Reject with a reason; an approved review can be withdrawn the same way.
    let (status, r4) = api
        .post(
            "/api/v1/reviews/4/reject",
            json!({"reason": "Mentions a competitor"}),
        )
        .await;
    assert_eq!(status, 200, "{r4}");
    assert_eq!(
        (r4["status"].as_str(), r4["reason"].as_str()),
        (Some("rejected"), Some("Mentions a competitor"))
    );
    let (status, r2) = api
        .post(
            "/api/v1/reviews/2/reject",
            json!({"reason": "The customer asked us to take it down"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), r2["status"].as_str()),
        (200, Some("rejected"))
    );

    // What the lifecycle refuses: 409 with the reason.
    for (path, body, why) in [
        (
            "/api/v1/reviews/4/approve",
            None,
            "rejected, which is final",
        ),
        (
            "/api/v1/reviews/4/reject",
            Some(json!({"reason": "again"})),
            "already rejected",
        ),
        ("/api/v1/reviews/1/approve", None, "already approved"),
    ] {
        let (status, err) = api.call(Method::POST, path, body).await;
        assert_eq!(status, 409, "{path}: {err}");
        assert_eq!(err["error"]["code"], "conflict");
        assert!(message(&err).contains(why), "{path}: {err}");
    }

    // Bad requests: always a 4xx JSON error that says what is wrong.
    for (path, body, code, word) in [
        ("/api/v1/reviews/5/reject", None, 400, "JSON body"),
        (
            "/api/v1/reviews/5/reject",
            Some(json!({"reason": "  "})),
            400,
            "reason",
        ),
        (
            "/api/v1/reviews/5/reject",
            Some(json!({"why": "x"})),
            400,
            "unknown field",
        ),
        (
            "/api/v1/reviews/5/approve",
            Some(json!({"excerpt": 5})),
            400,
            "invalid type",
        ),
        (
            "/api/v1/reviews/5/approve",
            Some(json!({"excerpt": ""})),
            400,
            "must not be empty",
        ),
        (
            "/api/v1/reviews/5/approve",
            Some(json!({"excerpt": "x", "edit": "y"})),
            400,
            "unknown field",
        ),
        ("/api/v1/reviews/99/approve", None, 404, "no review 99"),
        (
            "/api/v1/reviews/99/approve",
            Some(json!({"excerpt": "x"})),
            404,
            "no review 99",
        ),
        (
            "/api/v1/reviews/abc/approve",
            None,
            400,
            "positive whole number",
        ),
    ] {
        let (status, err) = api.call(Method::POST, path, body.clone()).await;
        assert_eq!(status.as_u16(), code, "{path} {body:?}: {err}");
        assert!(message(&err).contains(word), "{path} {body:?}: {err}");
    }
    for query in [
        "status=maybe",
        "brand=ACME!",
        "cursor=x",
        "limit=0",
        "limit=501",
    ] {
        let (status, err) = api.get(&format!("/api/v1/reviews?{query}")).await;
        assert_eq!(status, 400, "{query}: {err}");
    }
    let (status, _) = api
        .raw(
            Method::POST,
            "/api/v1/reviews/5/reject",
            Some("text/plain"),
            b"no".to_vec(),
        )
        .await;
    assert_eq!(status, 415);
    let (status, _) = api
        .raw(
            Method::POST,
            "/api/v1/reviews/5/approve",
            Some("application/json"),
            b"{\"excerpt\":".to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    let huge = format!("{{\"reason\": \"{}\"}}", "x".repeat(70_000));
    let (status, _) = api
        .raw(
            Method::POST,
            "/api/v1/reviews/5/reject",
            Some("application/json"),
            huge.into_bytes(),
        )
        .await;
    assert_eq!(status, 413);
    let (_, r5) = api.get("/api/v1/reviews/5").await;
    assert_eq!(r5["status"], "pending", "bad requests changed nothing");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_feed_serves_approved_reviews_as_cacheable_plain_text() {
    let db = TestDb::sqlite().await;
    let api = start(&db).await;
    api.post(
        "/api/v1/reviews/1/approve",
        json!({"excerpt": "Love my Acme"}),
    )
    .await;
    api.post_empty("/api/v1/reviews/2/approve").await;
    api.post_empty("/api/v1/reviews/3/approve").await;
    api.post("/api/v1/reviews/4/reject", json!({"reason": "no"}))
        .await;

    let path = "/public/v1/brands/acme/reviews";
    let resp = api
        .public(path, &[("origin", "https://shop.example")])
        .await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("GET"));
    assert_eq!(h["cache-control"], "public, max-age=300");
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let etag = h["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    let text = resp.text().await.unwrap();
    assert!(
        !text.contains("AggregateRating") && !text.contains("aggregate"),
        "{text}"
    );
    let feed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(feed["selection"], true);
    assert_eq!(
        feed["notice"],
        "A selection of reviews approved by Acme; not all reviews."
    );
    assert_eq!(feed["brand"], json!({"slug": "acme", "name": "Acme"}));
    let reviews = feed["reviews"].as_array().unwrap();
    let shown: Vec<i64> = reviews.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(shown, vec![3, 2, 1], "approved only, newest first: {feed}");
    assert_eq!(
        reviews[0]["text"], "Best window.__pwned=1 kettle ever",
        "tags stripped"
    );
    assert_eq!(reviews[0]["title"], "Acme rocks");
    assert!(!text.contains('<'), "no markup anywhere: {text}");
    assert_eq!(
        reviews[1]["rating"],
        json!({"stars": 4.0, "out_of": 5, "normalised": 0.75})
    );
    assert_eq!(reviews[1]["text"], "Acme anvil: five stars — snippet");
    assert_eq!(
        (reviews[2]["text"].as_str(), reviews[2]["excerpt"].as_bool()),
        (Some("Love my Acme"), Some(true))
    );
    assert_eq!(reviews[2]["author"], "olena");
    assert_eq!(reviews[2]["rating"], Value::Null);
    assert_eq!(reviews[2]["date"], "2026-11-23T10:00:00.000Z");
    assert_eq!(
        reviews[2]["source"],
        json!({"name": "forum", "url": "https://forum.test/r1"})
    );

    // A revalidation answers 304 with no body while nothing changed, weak or strong.
    for tag in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
    ] {
        let resp = api.public(path, &[("if-none-match", &tag)]).await;
        assert_eq!(resp.status(), 304, "{tag}");
        assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    let resp = api.public(path, &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(resp.status(), 200);

    // Withdrawing a review changes the feed and its ETag.
    api.post("/api/v1/reviews/3/reject", json!({"reason": "withdrawn"}))
        .await;
    let resp = api.public(path, &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), 200);
    assert_ne!(resp.headers()["etag"].to_str().unwrap(), etag);
    let feed: Value = resp.json().await.unwrap();
    assert_eq!(feed["reviews"].as_array().unwrap().len(), 2);

    // The limit is capped, and checked.
    let resp = api.public(&format!("{path}?limit=1"), &[]).await;
    let feed: Value = resp.json().await.unwrap();
    assert_eq!(feed["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.public(&format!("{path}?limit=100000"), &[])
            .await
            .status(),
        200
    );
    let resp = api.public(&format!("{path}?limit=none"), &[]).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");

    // Unknown brands: 404 JSON, readable cross-origin.
    for slug in ["initech", "NOT%20A%20SLUG"] {
        let resp = api
            .public(&format!("/public/v1/brands/{slug}/reviews"), &[])
            .await;
        assert_eq!(resp.status(), 404, "{slug}");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["code"], "not_found");
    }

    // The CORS preflight, and no writes.
    let resp = api
        .http
        .request(Method::OPTIONS, format!("{}{path}", api.base))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        resp.headers()["access-control-allow-methods"],
        "GET, OPTIONS"
    );
    let resp = api
        .http
        .post(format!("{}{path}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    db.cleanup().await;
}

/// The ETag and the review ids of the feed at `path` as a browser gets it now.
async fn feed_now(api: &Api, path: &str) -> (String, Vec<i64>) {
    let resp = api.public(path, &[]).await;
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let feed: Value = resp.json().await.unwrap();
    let ids = feed["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    (etag, ids)
}

/// The server keeps each feed it has built, but a request that starts after a change has
/// committed never gets the feed from before it: not after an approval through this
/// server, nor after decisions committed by another process on the same database (here
/// a second store on the SQLite file, as a second API process would be).
#[tokio::test(flavor = "multi_thread")]
async fn the_public_feed_is_current_after_every_change_whoever_makes_it() {
    use earshot_domain::{Actor, Note, ReviewId};
    use earshot_store::ReviewDecision;
    let db = TestDb::sqlite().await;
    let api = start(&db).await;
    let path = "/public/v1/brands/acme/reviews";
    let (empty, ids) = feed_now(&api, path).await;
    assert!(ids.is_empty(), "nothing approved yet");
    assert_eq!(feed_now(&api, path).await, (empty.clone(), vec![]));

    api.post_empty("/api/v1/reviews/1/approve").await;
    let (one, ids) = feed_now(&api, path).await;
    assert_eq!(ids, vec![1], "the approval shows at once");
    assert_ne!(one, empty, "with a new ETag");
    let short = "/public/v1/brands/acme/reviews?limit=1";
    assert_eq!(feed_now(&api, short).await.1, vec![1]);

    let other = earshot_store::connect(&db.url).await.unwrap();
    let by = Actor::earshot();
    let approve = ReviewDecision::Approve { excerpt: None };
    other
        .decide_review(ReviewId(2), &approve, &by, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        feed_now(&api, path).await.1,
        vec![2, 1],
        "another process's approval"
    );
    assert_eq!(
        feed_now(&api, short).await.1,
        vec![2],
        "every limit is rebuilt"
    );

    let reason = Note::parse("The customer asked us not to quote them").unwrap();
    other
        .decide_review(
            ReviewId(2),
            &ReviewDecision::Reject { reason: &reason },
            &by,
            Timestamp::now(),
        )
        .await
        .unwrap();
    let (withdrawn, ids) = feed_now(&api, path).await;
    assert_eq!(ids, vec![1], "another process's withdrawal");
    assert_eq!(withdrawn, one, "the same content, the same ETag");
    let resp = api.public(path, &[("if-none-match", &withdrawn)]).await;
    assert_eq!(resp.status(), 304);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_widget_script_is_served_cacheable_and_cross_origin() {
    let db = TestDb::sqlite().await;
    let api = start(&db).await;
    let path = "/public/v1/brands/acme/widget.js";
    let resp = api.public(path, &[]).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["cache-control"], "public, max-age=300");
    let etag = h["etag"].to_str().unwrap().to_owned();
    let js = resp.text().await.unwrap();
    assert!(js.contains("data-earshot-brand") && js.contains("document.currentScript"));
    assert!(js.contains("textContent"));
    let code: String = js
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.trim_start().starts_with('*'))
        .collect();
    assert!(!code.contains("innerHTML") && !code.contains("insertAdjacentHTML"));
    let resp = api.public(path, &[("if-none-match", &etag)]).await;
    assert_eq!(resp.status(), 304);
    let resp = api.public("/public/v1/brands/initech/widget.js", &[]).await;
    assert_eq!(resp.status(), 404);
    db.cleanup().await;
}

/// Under load, requests share stamp reads (see `StampReads` in api/src/public.rs); still,
/// every request sent after another process's approval committed sees it, while 32 other
/// clients keep asking throughout.
#[tokio::test(flavor = "multi_thread")]
async fn shared_stamp_reads_never_serve_a_feed_older_than_the_request() {
    use earshot_domain::{Actor, ReviewId};
    use earshot_store::ReviewDecision;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let db = TestDb::sqlite().await;
    let api = start(&db).await;
    let path = "/public/v1/brands/acme/reviews";
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (api, stop) = (api.clone(), stop.clone());
        load.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(api.public(path, &[]).await.status(), 200);
            }
        });
    }
    let other = earshot_store::connect(&db.url).await.unwrap();
    let approve = ReviewDecision::Approve { excerpt: None };
    for (round, id) in [1, 2, 3].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        other
            .decide_review(ReviewId(id), &approve, &Actor::earshot(), Timestamp::now())
            .await
            .unwrap();
        let mut after = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let api = api.clone();
            after.spawn(async move { feed_now(&api, path).await.1 });
        }
        while let Some(ids) = after.join_next().await {
            let ids = ids.unwrap();
            assert_eq!(ids.len(), round + 1, "round {round}: {ids:?}");
            assert!(ids.contains(&id), "round {round}: {ids:?}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = load.join_next().await {
        done.unwrap();
    }
    db.cleanup().await;
}
