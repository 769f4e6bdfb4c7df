//! `/metrics` through the real API on 127.0.0.1, over SQLite and the real Postgres: the
//! Prometheus text an operator scrapes, with figures that follow what is stored, and
//! nothing for a caller without a key.

mod support;

use earshot_api::{issue_key, AppState, ModelProbe};
use earshot_domain::{
    Actor, AlertRuleSpec, BrandSlug, KeyName, Role, Threshold, Timestamp, Transition,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::{acme, crawl, crawl_and_classify, feed_source, found, scored, TestDb};

/// The samples of a text exposition, `name{labels}` to value. Fails the test on a line
/// that is not a comment or a sample, on a sample whose family has no `# TYPE`, and on a
/// family declared twice.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut types = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            assert!(!types.contains(&name.to_owned()), "declared twice: {name}");
            types.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (key, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let name = key.split('{').next().unwrap();
        assert!(types.iter().any(|t| t == name), "no # TYPE before {line}");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        assert!(
            samples.insert(key.to_owned(), value).is_none(),
            "twice: {key}"
        );
    }
    samples
}

async fn metrics_follow_the_store(db: TestDb) {
    let store = db.store.clone();
    let t0 = Timestamp::now();
    let sources = [
        feed_source("forum", "https://forum.test/feed", Duration::from_secs(60)),
        feed_source("news", "https://news.test/rss", Duration::from_secs(60)),
    ];
    store.sync_config(&[acme()], &sources, t0).await.unwrap();
    let rule = AlertRuleSpec::new(
        BrandSlug::parse("acme").unwrap(),
        Threshold::DEFAULT,
        None,
        None,
    );
    store.sync_alert_rules(&[rule.unwrap()], t0).await.unwrap();
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "a1", "Acme broke", None),
            found("acme", "a2", "Acme broke again", None),
            found("acme", "a3", "Love my Acme", None),
        ],
        vec![
            scored([0.9, 0.05, 0.05], None, "en", "m@1"),
            scored([0.9, 0.05, 0.05], None, "en", "m@1"),
            scored([0.05, 0.05, 0.9], None, "en", "m@1"),
        ],
        t0,
    )
    .await;
    crawl(
        store.as_ref(),
        "news",
        vec![found("acme", "n1", "Acme news", None)],
        t0,
    )
    .await;
    let news = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.name.as_str() == "news")
        .unwrap();
    let failing = earshot_domain::SourceState {
        error_count: 3,
        last_error: Some("HTTP 500".into()),
        next_check_at: Some(t0),
        ..Default::default()
    };
    let record = earshot_store::CrawlRecord {
        started_at: t0,
        finished_at: t0,
        http_status: Some(500),
        bytes: 0,
        items_seen: 0,
        error: Some("HTTP 500".into()),
        mentions: vec![],
        state: failing,
        problems: Vec::new(),
        aggregate: None,
        unhealthy_after: None,
    };
    store.record_crawl(news.id, "w", &record).await.unwrap();

    let name = KeyName::parse("prometheus").unwrap();
    let (_, secret) = issue_key(store.as_ref(), &name, Role::Viewer, t0)
        .await
        .unwrap();
    let probe = ModelProbe {
        key: "earshot/e5-small-sentiment@1".into(),
        running: Arc::new(|| true),
    };
    let base = support::serve_api(AppState::new(store.clone()).with_model(Some(probe))).await;
    let http = reqwest::Client::new();

    let refused = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let resp = http
        .get(format!("{base}/metrics"))
        .bearer_auth(secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = resp.text().await.unwrap();
    let m = parse(&text);
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{text}"));
    assert_eq!(get(r#"earshot_mentions{brand="acme"}"#), 4.0);
    assert_eq!(get("earshot_mentions_unclassified"), 1.0);
    assert_eq!(get(r#"earshot_alerts{status="open"}"#), 2.0);
    assert_eq!(get(r#"earshot_reviews{status="pending"}"#), 1.0);
    assert_eq!(
        get(r#"earshot_source_consecutive_errors{source="news"}"#),
        3.0
    );
    assert_eq!(
        get(r#"earshot_source_consecutive_errors{source="forum"}"#),
        0.0
    );
    assert!(get(r#"earshot_source_overdue_seconds{source="news"}"#) >= 0.0);
    assert!(!m.contains_key(r#"earshot_source_last_success_timestamp_seconds{source="news"}"#));
    assert_eq!(
        get(r#"earshot_model_running{model="earshot/e5-small-sentiment@1"}"#),
        1.0
    );
    // The refused scrape was answered and counted before this one.
    assert!(get(r#"earshot_http_requests_total{code="4xx"}"#) >= 1.0);

    // Acting on the data moves the figures at the next scrape.
    let query = earshot_store::AlertQuery {
        limit: 10,
        ..Default::default()
    };
    let alerts = store.alerts(&query).await.unwrap();
    store
        .transition_alert(
            alerts[0].id,
            Transition::Resolve,
            &Actor::earshot(),
            None,
            t0,
        )
        .await
        .unwrap();
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth(secret.expose())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m = parse(&text);
    assert_eq!(m[r#"earshot_alerts{status="open"}"#], 1.0);
    assert_eq!(m[r#"earshot_alerts{status="resolved"}"#], 1.0);
    db.cleanup().await;
}

#[tokio::test]
async fn metrics_follow_the_store_on_sqlite() {
    metrics_follow_the_store(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn metrics_follow_the_store_on_postgres() {
    metrics_follow_the_store(TestDb::postgres().await).await;
}
