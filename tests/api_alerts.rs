//! The PR team's day through the real API on 127.0.0.1 over a real SQLite store: the
//! alert queue, acting on alerts, history, corrections, rules and keys; and what bad
//! requests get (always a 4xx JSON error, never a 500).

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{
    AlertRuleSpec, BrandSlug, KeyName, Label, LanguageCode, Role, SourceName, Threshold, Timestamp,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use support::{
    acme, brand, crawl_and_classify, feed_source, found, scored, ApiClient as Api, TestDb,
};

/// Acme with a forum and a news feed; a config rule for Acme (0.7) and one for Globex
/// from the news feed in Ukrainian (0.5); five classified mentions, three of which open
/// alerts. Returns a PR key's client and the admin's.
async fn start(db: &TestDb) -> (Api, Api) {
    let store = db.store.clone();
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let sources = [
        feed_source("forum", "https://forum.test/feed", Duration::from_secs(60)),
        feed_source("news", "https://news.test/rss", Duration::from_secs(60)),
    ];
    let globex = brand("globex", "Globex", &["Globex"], &[]);
    store
        .sync_config(&[acme(), globex], &sources, t0)
        .await
        .unwrap();
    let rules = [
        AlertRuleSpec::new(
            BrandSlug::parse("acme").unwrap(),
            Threshold::DEFAULT,
            None,
            None,
        )
        .unwrap(),
        AlertRuleSpec::new(
            BrandSlug::parse("globex").unwrap(),
            Threshold::new(0.5).unwrap(),
            Some(vec![SourceName::parse("news").unwrap()]),
            Some(vec![LanguageCode::parse("uk").unwrap()]),
        )
        .unwrap(),
    ];
    store.sync_alert_rules(&rules, t0).await.unwrap();
    let neg = |p: f32, lang: &str| scored([p, (1.0 - p) / 2.0, (1.0 - p) / 2.0], None, lang, "m@1");
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "a1", "Acme kettle exploded", Some(t0)),
            found("acme", "a2", "Acme support is slow", Some(t0)),
            found("acme", "a3", "Love my Acme", Some(t0)),
        ],
        vec![
            neg(0.96, "en"),
            neg(0.82, "en"),
            scored([0.05, 0.05, 0.9], None, "en", "m@1"),
        ],
        t0,
    )
    .await;
    crawl_and_classify(
        store.as_ref(),
        "news",
        vec![
            found("globex", "g1", "Globex зламався", Some(t0)),
            found("globex", "g2", "Globex is broken", Some(t0)),
        ],
        vec![neg(0.6, "uk"), neg(0.9, "en")],
        t0,
    )
    .await;

    let base = support::serve_api(AppState::new(store)).await;
    let key = |role: Role, name: &str| {
        let store = db.store.clone();
        let name = KeyName::parse(name).unwrap();
        async move {
            let (_, secret) = issue_key(store.as_ref(), &name, role, Timestamp::now())
                .await
                .unwrap();
            secret.expose().to_owned()
        }
    };
    let pr = Api::new(base.clone(), key(Role::Pr, "PR desk").await);
    let admin = pr.with_key(&key(Role::Admin, "ops").await);
    (pr, admin)
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pr_team_works_through_the_alert_queue() {
    let db = TestDb::sqlite().await;
    let (pr, _) = start(&db).await;

    // The queue: newest first, each alert with what PR needs to judge it.
    let (status, page) = pr.get("/api/v1/alerts?status=open").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![3, 2, 1], "{page}");
    assert!(page["next_cursor"].is_null());
    let high = &page["items"][2];
    assert_eq!(high["status"], "open");
    assert_eq!(high["severity"], "high");
    let m = &high["mention"];
    assert_eq!(m["snippet"], "Acme kettle exploded — snippet");
    assert_eq!(m["source"], "forum");
    assert_eq!(m["url"], "https://forum.test/a1");
    assert_eq!(m["author"], "olena");
    assert_eq!(m["published_at"], "2026-11-23T10:00:00.000Z");
    assert_eq!(m["discovered_at"], "2026-11-23T10:00:00.000Z");
    assert_eq!(m["sentiment"]["label"], "negative");
    assert_eq!(m["sentiment"]["language"], "en");
    assert!((m["sentiment"]["probabilities"][0].as_f64().unwrap() - 0.96).abs() < 1e-6);
    // The Globex rule is narrowed to Ukrainian news: the English one opened nothing.
    assert_eq!(page["items"][0]["mention"]["title"], "Globex зламався");
    assert_eq!(page["items"][0]["severity"], "low");
    assert_eq!(page["items"][1]["severity"], "medium");

    // Filters and pages.
    let (_, acme) = pr.get("/api/v1/alerts?brand=acme&severity=high").await;
    assert_eq!(ids(&acme), vec![1]);
    let (_, p1) = pr.get("/api/v1/alerts?limit=2").await;
    assert_eq!(ids(&p1), vec![3, 2]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let (_, p2) = pr
        .get(&format!("/api/v1/alerts?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&p2), vec![1]);
    assert!(p2["next_cursor"].is_null());

    // Acknowledge with a note, assign, resolve.
    let (status, acked) = pr
        .post(
            "/api/v1/alerts/1/acknowledge",
            json!({"note": "calling them"}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    let (status, body) = pr.post("/api/v1/alerts/1/acknowledge", json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        body["error"]["message"],
        "cannot acknowledge alert 1: the alert is already acknowledged"
    );
    let (status, edited) = pr
        .call(
            Method::PATCH,
            "/api/v1/alerts/1",
            Some(json!({"assignee": "Olena", "notes": "Customer wants a refund"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["assignee"].as_str(), edited["notes"].as_str()),
        (Some("Olena"), Some("Customer wants a refund"))
    );
    // No body at all is fine for an action.
    let resolved = pr
        .raw(Method::POST, "/api/v1/alerts/1/resolve", None, vec![])
        .await;
    assert_eq!(resolved.0, 200, "{}", resolved.1);
    let (status, body) = pr.post("/api/v1/alerts/1/dismiss", json!({})).await;
    assert_eq!(status, 409);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resolved, which is final"),
        "{body}"
    );
    // Open straight to dismissed.
    let (status, _) = pr
        .post("/api/v1/alerts/3/dismiss", json!({"note": "not about us"}))
        .await;
    assert_eq!(status, 200);

    // The history says who did what, and when.
    let (status, one) = pr.get("/api/v1/alerts/1").await;
    assert_eq!(status, 200);
    assert_eq!(one["status"], "resolved");
    let history = one["history"].as_array().unwrap();
    let actions: Vec<&str> = history
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["open", "acknowledge", "assign", "note", "resolve"]
    );
    assert_eq!(history[0]["by"]["name"], "earshot");
    assert!(history[0]["by"]["key_id"].is_null());
    assert_eq!(history[1]["by"]["name"], "PR desk");
    assert!(history[1]["by"]["key_id"].as_i64().is_some());
    assert_eq!(
        (&history[1]["from"], &history[1]["to"], &history[1]["note"]),
        (
            &json!("open"),
            &json!("acknowledged"),
            &json!("calling them")
        )
    );
    assert!(history[4]["at"].as_str().unwrap().ends_with('Z'));
    let (_, open) = pr.get("/api/v1/alerts?status=open").await;
    assert_eq!(ids(&open), vec![2]);

    // Marking the model wrong: stored beside its label, never over it.
    let (status, corrected) = pr
        .post("/api/v1/mentions/2/sentiment", json!({"label": "neutral"}))
        .await;
    assert_eq!(status, 200, "{corrected}");
    assert_eq!(corrected["sentiment"]["label"], "negative");
    assert_eq!(corrected["sentiment"]["model_label"], "negative");
    assert_eq!(corrected["correction"]["label"], "neutral");
    assert_eq!(corrected["correction"]["by"]["name"], "PR desk");
    let (_, mentions) = pr.get("/api/v1/mentions?brand=acme").await;
    let listed = mentions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == 2)
        .unwrap();
    assert_eq!(listed["correction"]["label"], "neutral");
    assert!(mentions["items"][0]["correction"].is_null());
    let store_view = db
        .store
        .mention(earshot_domain::MentionId(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store_view.correction.unwrap().label, Label::Neutral);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_manages_rules_and_keys() {
    let db = TestDb::sqlite().await;
    let (pr, admin) = start(&db).await;

    // Config rules are listed, but changed in the file.
    let (status, rules) = admin.get("/api/v1/alert-rules").await;
    assert_eq!(status, 200);
    assert_eq!(rules["items"].as_array().unwrap().len(), 2);
    assert_eq!(rules["items"][0]["origin"], "config");
    assert_eq!(rules["items"][0]["threshold"], 0.7);
    assert!(rules["items"][0]["sources"].is_null());
    assert_eq!(rules["items"][1]["languages"], json!(["uk"]));
    for (method, body) in [
        (Method::PATCH, Some(json!({"threshold": 0.9}))),
        (Method::DELETE, None),
    ] {
        let (status, body) = admin.call(method, "/api/v1/alert-rules/1", body).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config file"));
    }

    // API rules: create (threshold defaults to 0.7), change, clear a list, delete.
    let (status, made) = admin
        .post(
            "/api/v1/alert-rules",
            json!({"brand": "acme", "sources": ["news"], "languages": ["en", "UK"]}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["origin"], "api");
    assert_eq!(made["threshold"], 0.7);
    assert_eq!(made["languages"], json!(["en", "uk"]));
    let id = made["id"].as_i64().unwrap();
    let (status, changed) = admin
        .call(
            Method::PATCH,
            &format!("/api/v1/alert-rules/{id}"),
            Some(json!({"threshold": 0.85, "languages": null})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["threshold"], 0.85);
    assert!(changed["languages"].is_null());
    assert_eq!(changed["sources"], json!(["news"]));
    let (status, _) = admin
        .call(Method::DELETE, &format!("/api/v1/alert-rules/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin.get(&format!("/api/v1/alert-rules/{id}")).await;
    assert_eq!(status, 404);
    for (body, word) in [
        (json!({"brand": "initech"}), "no brand \"initech\""),
        (
            json!({"brand": "acme", "sources": ["blog"]}),
            "no source \"blog\"",
        ),
        (json!({"brand": "acme", "threshold": 1.5}), "threshold 1.5"),
        (json!({"brand": "acme", "sources": []}), "leave it out"),
        (
            json!({"brand": "acme", "languages": ["english"]}),
            "two-letter",
        ),
        (
            json!({"brand": "acme", "threshold": "high"}),
            "invalid type",
        ),
    ] {
        let (status, err) = admin.post("/api/v1/alert-rules", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(word),
            "{body}: {err}"
        );
    }

    // Keys: the secret is shown once, works at once, and stops working when revoked.
    let (status, created) = admin
        .post(
            "/api/v1/keys",
            json!({"name": "Marketing laptop", "role": "marketing"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap();
    assert!(secret.starts_with("ek_") && secret.len() == 67, "{secret}");
    assert_eq!(created["role"], "marketing");
    let laptop = pr.with_key(secret);
    assert_eq!(laptop.get("/api/v1/mentions").await.0, 200);
    assert_eq!(laptop.get("/api/v1/alerts").await.0, 403);
    let (_, keys) = admin.get("/api/v1/keys").await;
    let listed = keys.to_string();
    assert!(
        !listed.contains("ek_"),
        "a listing never shows a secret: {listed}"
    );
    assert_eq!(keys["items"].as_array().unwrap().len(), 3);
    let key_id = created["id"].as_i64().unwrap();
    let (status, revoked) = admin
        .call(Method::DELETE, &format!("/api/v1/keys/{key_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    let (status, err) = laptop.get("/api/v1/mentions").await;
    assert_eq!(status, 401);
    assert_eq!(err["error"]["message"], "this API key has been revoked");
    let (status, _) = admin.call(Method::DELETE, "/api/v1/keys/999", None).await;
    assert_eq!(status, 404);
    for (body, word) in [
        (json!({"name": "x", "role": "root"}), "role \"root\""),
        (json!({"name": " ", "role": "pr"}), "key name"),
        (json!({"name": "x"}), "missing field `role`"),
    ] {
        let (status, err) = admin.post("/api/v1/keys", body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(word),
            "{body}: {err}"
        );
    }
    db.cleanup().await;
}

/// Method, path, Content-Type, body; then the status and a word the message must have.
type BadRequest<'a> = (Method, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_a_4xx_json_error_never_a_500() {
    let db = TestDb::sqlite().await;
    let (pr, _) = start(&db).await;
    let json_ct = Some("application/json");
    let cases: Vec<BadRequest> = vec![
        (
            Method::GET,
            "/api/v1/alerts/999",
            None,
            vec![],
            404,
            "no alert 999",
        ),
        (
            Method::GET,
            "/api/v1/alerts/abc",
            None,
            vec![],
            400,
            "positive whole number",
        ),
        (
            Method::GET,
            "/api/v1/alerts/-1",
            None,
            vec![],
            400,
            "positive whole number",
        ),
        (
            Method::GET,
            "/api/v1/alerts/99999999999999999999",
            None,
            vec![],
            400,
            "whole number",
        ),
        (
            Method::POST,
            "/api/v1/alerts/999/resolve",
            None,
            vec![],
            404,
            "no alert 999",
        ),
        (
            Method::GET,
            "/api/v1/alerts?status=closed",
            None,
            vec![],
            400,
            "status \"closed\"",
        ),
        (
            Method::GET,
            "/api/v1/alerts?severity=urgent",
            None,
            vec![],
            400,
            "severity",
        ),
        (
            Method::GET,
            "/api/v1/alerts?brand=ACME",
            None,
            vec![],
            400,
            "brand slug",
        ),
        (
            Method::GET,
            "/api/v1/alerts?cursor=x",
            None,
            vec![],
            400,
            "cursor",
        ),
        (
            Method::GET,
            "/api/v1/alerts?limit=0",
            None,
            vec![],
            400,
            "limit",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            b"{".to_vec(),
            400,
            "invalid JSON",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            br#"{"note": 5}"#.to_vec(),
            400,
            "invalid type",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            br#"{"note": "x", "by": "me"}"#.to_vec(),
            400,
            "unknown field `by`",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            br#"{"note": "   "}"#.to_vec(),
            400,
            "note",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            br#"{"note": "a\u0000b"}"#.to_vec(),
            400,
            "without NUL",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            b"[]".to_vec(),
            400,
            "invalid JSON body",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            br#"["x"]"#.to_vec(),
            400,
            "must be an object",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            Some("text/plain"),
            b"ok".to_vec(),
            415,
            "Content-Type",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            None,
            br#"{"note":"x"}"#.to_vec(),
            415,
            "Content-Type",
        ),
        (
            Method::POST,
            "/api/v1/alerts/1/acknowledge",
            json_ct,
            vec![b' '; 100_000],
            413,
            "larger than",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/1",
            json_ct,
            b"{}".to_vec(),
            400,
            "nothing to change",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/1",
            json_ct,
            br#"{"assignee": 7}"#.to_vec(),
            400,
            "invalid type",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/1",
            json_ct,
            br#"{"status": "open"}"#.to_vec(),
            400,
            "unknown field `status`",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/1",
            json_ct,
            b"[null, null]".to_vec(),
            400,
            "must be an object",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/1",
            json_ct,
            vec![],
            400,
            "needs a JSON body",
        ),
        (
            Method::PATCH,
            "/api/v1/alerts/999",
            json_ct,
            br#"{"notes": null}"#.to_vec(),
            404,
            "no alert 999",
        ),
        (
            Method::POST,
            "/api/v1/mentions/1/sentiment",
            json_ct,
            br#"{"label": "meh"}"#.to_vec(),
            400,
            "sentiment \"meh\"",
        ),
        (
            Method::POST,
            "/api/v1/mentions/1/sentiment",
            json_ct,
            br#"{"label": "positive", "why": "x"}"#.to_vec(),
            400,
            "unknown field",
        ),
        (
            Method::POST,
            "/api/v1/mentions/1/sentiment",
            json_ct,
            br#"["positive"]"#.to_vec(),
            400,
            "must be an object",
        ),
        (
            Method::POST,
            "/api/v1/mentions/999/sentiment",
            json_ct,
            br#"{"label": "positive"}"#.to_vec(),
            404,
            "no mention 999",
        ),
        (
            Method::PUT,
            "/api/v1/alerts",
            None,
            vec![],
            405,
            "PUT is not allowed",
        ),
        (
            Method::GET,
            "/api/v1/nothing",
            None,
            vec![],
            404,
            "no such resource",
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, ct, body, want, word) in cases {
        let (status, err) = pr.raw(method.clone(), path, ct, body).await;
        let message = err["error"]["message"].as_str().unwrap_or("");
        if status.as_u16() != want || !message.contains(word) || err["error"]["code"].is_null() {
            failures.push(format!(
                "{method} {path}: {status} {err}, wanted {want} with {word:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // None of that touched the alert.
    let (_, one) = pr.get("/api/v1/alerts/1").await;
    assert_eq!(one["status"], "open");
    assert_eq!(one["history"].as_array().unwrap().len(), 1);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_failure_is_a_503_that_names_no_internals() {
    let db = TestDb::sqlite().await;
    let (pr, _) = start(&db).await;
    // Break the store under the running server: the history table disappears.
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    sqlx::query("DROP TABLE alert_events")
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = pr.get("/api/v1/alerts/1").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable");
    assert_eq!(body["error"]["message"], "storage unavailable");
    assert!(!body.to_string().contains("alert_events"), "{body}");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn spike_and_source_alerts_are_listed_with_their_numbers_beside_mention_alerts() {
    use earshot_domain::{Baseline, Spike, SpikeRule, UnhealthyAfter};
    let db = TestDb::sqlite().await;
    let (pr, admin) = start(&db).await;
    let store = db.store.clone();
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let spike = Spike {
        hour: t0,
        count: 2,
        baseline: Baseline {
            mean: 0.125,
            stddev: 0.25,
            threshold: 0.875,
            hours: 168,
        },
    };
    let acme = BrandSlug::parse("acme").unwrap();
    let opened = store
        .open_spike_alert(&acme, &spike, &SpikeRule::DEFAULT, t0)
        .await
        .unwrap()
        .unwrap();
    // The news feed fails five times in a row.
    let news = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.name.as_str() == "news")
        .unwrap();
    for n in 1..=5i64 {
        let record = earshot_store::CrawlRecord {
            started_at: t0,
            finished_at: t0,
            http_status: Some(500),
            bytes: 0,
            items_seen: 0,
            error: Some("HTTP 500".to_owned()),
            mentions: Vec::new(),
            state: earshot_domain::SourceState {
                error_count: n,
                ..Default::default()
            },
            problems: Vec::new(),
            aggregate: None,
            unhealthy_after: Some(UnhealthyAfter::DEFAULT),
        };
        store.record_crawl(news.id, "w", &record).await.unwrap();
    }

    let (status, page) = pr.get("/api/v1/alerts?kind=spike").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![opened.0]);
    let a = &page["items"][0];
    assert_eq!(
        (&a["kind"], &a["brand"], &a["status"], &a["severity"]),
        (
            &json!("spike"),
            &json!("acme"),
            &json!("open"),
            &json!("high")
        )
    );
    let s = &a["spike"];
    assert_eq!(s["hour"], "2026-11-23T10:00:00.000Z");
    assert_eq!(
        (s["count"].as_u64(), s["history_hours"].as_u64()),
        (Some(2), Some(168))
    );
    assert_eq!(
        (
            s["mean"].as_f64(),
            s["stddev"].as_f64(),
            s["threshold"].as_f64(),
            s["k"].as_f64()
        ),
        (Some(0.125), Some(0.25), Some(0.875), Some(3.0))
    );
    assert_eq!(
        s["mention_ids"],
        json!([1, 2]),
        "acme's two negative mentions of 10:00"
    );
    assert!(
        a.get("mention").is_none() && a.get("rule_id").is_none(),
        "{a}"
    );

    let (_, page) = pr.get("/api/v1/alerts?kind=source").await;
    let a = &page["items"][0];
    assert_eq!(
        (&a["kind"], &a["severity"]),
        (&json!("source"), &json!("medium")),
        "{page}"
    );
    assert_eq!(a["source"]["name"], "news");
    assert_eq!(a["source"]["failures"], 5);
    assert_eq!(a["source"]["last_error"], "HTTP 500");
    assert_eq!(ids(&page).len(), 1);

    let (_, page) = pr.get("/api/v1/alerts?kind=mention").await;
    assert_eq!(ids(&page), vec![3, 2, 1]);
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "mention" && a["rule_id"].is_i64()));
    let (_, all) = pr.get("/api/v1/alerts").await;
    assert_eq!(ids(&all).len(), 5);
    let (status, err) = pr.get("/api/v1/alerts?kind=weather").await;
    assert_eq!(status, 400, "{err}");

    // The lifecycle and history apply to a spike alert as to any.
    let (status, done) = pr
        .post(
            &format!("/api/v1/alerts/{}/acknowledge", opened.0),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "acknowledged");
    assert_eq!(done["history"][0]["action"], "open");

    // The sources list says which source is unhealthy.
    let (_, sources) = admin.get("/api/v1/sources").await;
    let health: Vec<(String, bool)> = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["healthy"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        health,
        vec![("forum".to_owned(), true), ("news".to_owned(), false)]
    );
    db.cleanup().await;
}
