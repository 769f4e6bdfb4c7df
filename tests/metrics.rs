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
use support::fault_site::FaultSite;
use support::{acme, crawl, crawl_and_classify, feed_source, found, scored, ServeProcess, TestDb};

/// The process's metrics recorder, installed once per test binary as the binary
/// installs its own: Earshot's histogram buckets, every family described.
fn recorder() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let mut builder = metrics_exporter_prometheus::PrometheusBuilder::new();
            for (name, buckets) in earshot_telemetry::BUCKETS {
                builder = builder
                    .set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full((*name).to_owned()),
                        buckets,
                    )
                    .unwrap();
            }
            let handle = builder.install_recorder().unwrap();
            earshot_telemetry::describe();
            handle
        })
        .clone()
}

/// The samples of a text exposition, `name{labels}` to value. Fails the test on a line
/// that is not a comment, a sample or blank, on a sample whose family has no `# TYPE`
/// (a histogram's `_bucket`, `_sum` and `_count` belong to its family), on a family
/// declared twice, and on a summary (histograms must have buckets).
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut types: Vec<(String, String)> = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["gauge", "counter", "histogram"].contains(&kind), "{line}");
            assert!(
                !types.iter().any(|(n, _)| n == name),
                "declared twice: {name}"
            );
            types.push((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with("# HELP ") || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample: {line}"));
        let name = key.split('{').next().unwrap();
        let family = types.iter().any(|(t, kind)| {
            t == name
                || (kind == "histogram"
                    && ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|suffix| name.strip_suffix(suffix) == Some(t.as_str())))
        });
        assert!(family, "no # TYPE before {line}");
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
    // Before anything happens, so that what the story does is recorded.
    let recorder = recorder();
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
    let state = AppState::new(store.clone())
        .with_model(Some(probe))
        .with_recorded_metrics(Arc::new(move || recorder.render()));
    let base = support::serve_api(state).await;
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
    // After the database's figures, the recorder's: every family, at zero until it
    // moves. The recorder is the process's (tests in this binary share it), so what
    // this story did is a lower bound: two negative mentions that opened alerts.
    assert!(get(r#"earshot_alerts_opened_total{kind="mention"}"#) >= 2.0);
    for series in [
        r#"earshot_crawls_total{outcome="ok"}"#,
        r#"earshot_crawls_total{outcome="failed"}"#,
        r#"earshot_alerts_opened_total{kind="spike"}"#,
        r#"earshot_notifications_total{outcome="delivered"}"#,
        r#"earshot_notifications_total{outcome="gave_up"}"#,
        "earshot_lease_takeovers_total",
        "earshot_items_seen_total",
        "earshot_new_mentions_total",
        "earshot_mentions_classified_total",
    ] {
        assert!(get(series) >= 0.0);
    }
    assert!(get("earshot_http_request_duration_seconds_count") >= 1.0);
    assert!(m.contains_key(r#"earshot_http_request_duration_seconds_bucket{le="+Inf"}"#));

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

/// The real binary, serving with JSON logs against a local site where one source works
/// and one redirects in a loop: `/metrics` counts exactly what this process did, and
/// every line it writes to stderr is a JSON object with the fields an operator filters on.
#[tokio::test]
async fn a_served_process_counts_its_crawls_and_logs_json_lines() {
    let site = FaultSite::start().await;
    site.break_all(); // "good" then serves two items; "loop" redirects to itself
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[database]\nurl = \"sqlite://earshot.db\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
         [crawler]\ntick = \"1s\"\nhost_interval = \"0s\"\n[sentiment]\nenabled = false\n\
         [log]\nlevel = \"debug\"\n\
         [[brands]]\nslug = \"acme\"\nname = \"Acme\"\nterms = [\"Acme\"]\n\
         [[sources]]\nname = \"good\"\nkind = \"feed\"\nurl = \"{}\"\n\
         [[sources]]\nname = \"loop\"\nkind = \"feed\"\nurl = \"{}\"\n",
        site.url("good"),
        site.url("loop")
    );
    std::fs::write(dir.path().join("earshot.toml"), config).unwrap();
    let created = support::earshot(
        dir.path(),
        &[
            "keys",
            "create",
            "--role",
            "viewer",
            "--name",
            "prometheus",
            "--format",
            "json",
        ],
    );
    assert!(created.status.success());
    let key: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let key = key["key"].as_str().unwrap().to_owned();

    // The format comes from the environment, over the file's default.
    let server = ServeProcess::start(dir.path(), &[("EARSHOT__LOG__FORMAT", "json")]);
    let http = reqwest::Client::new();
    let scrape = || async {
        let text = http
            .get(format!("{}/metrics", server.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (parse(&text), text)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (m, text) = loop {
        let (m, text) = scrape().await;
        let done = |k: &str| m.get(k).copied().unwrap_or(0.0) >= 1.0;
        if done(r#"earshot_crawls_total{outcome="ok"}"#)
            && done(r#"earshot_crawls_total{outcome="failed"}"#)
        {
            break (m, text);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no crawls counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let get = |k: &str| *m.get(k).unwrap_or_else(|| panic!("no {k} in\n{text}"));
    assert_eq!(get(r#"earshot_crawls_total{outcome="ok"}"#), 1.0);
    assert_eq!(get(r#"earshot_crawls_total{outcome="failed"}"#), 1.0);
    assert_eq!(get(r#"earshot_crawls_total{outcome="unsaved"}"#), 0.0);
    assert_eq!(get("earshot_items_seen_total"), 2.0);
    assert_eq!(get("earshot_new_mentions_total"), 2.0);
    assert_eq!(
        get("earshot_fetch_duration_seconds_count"),
        2.0,
        "one fetch each"
    );
    assert_eq!(
        get(r#"earshot_fetch_duration_seconds_bucket{le="+Inf"}"#),
        2.0
    );
    assert_eq!(get(r#"earshot_alerts_opened_total{kind="mention"}"#), 0.0);
    assert_eq!(get("earshot_lease_takeovers_total"), 0.0);
    assert_eq!(get(r#"earshot_mentions{brand="acme"}"#), 2.0);
    assert_eq!(
        get(r#"earshot_source_consecutive_errors{source="loop"}"#),
        1.0
    );

    let (status, log) = server.stop();
    assert!(status.success(), "{log:#?}");
    assert!(!log.is_empty());
    let lines: Vec<serde_json::Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target"] {
            assert!(line[field].is_string(), "no {field}: {line}");
        }
        assert!(line["fields"]["message"].is_string(), "no message: {line}");
    }
    let find = |message: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line in {lines:#?}"))
    };
    let failed = find("crawl failed");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["span"]["name"], "crawl");
    assert_eq!(failed["span"]["source"], "loop");
    assert!(failed["span"]["source_id"].is_number(), "{failed}");
    assert!(failed["fields"]["error"]
        .as_str()
        .unwrap()
        .contains("redirects"));
    let finished = lines
        .iter()
        .find(|l| l["fields"]["message"] == "crawl finished" && l["span"]["source"] == "good")
        .expect("the good crawl's finish is logged");
    assert_eq!(finished["fields"]["outcome"], "ok");
    assert_eq!(finished["fields"]["new_mentions"], 2);
    let answered = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request answered" && l["span"]["route"] == "/metrics")
        .expect("the scrape is logged");
    assert_eq!(answered["span"]["name"], "request");
    assert_eq!(answered["span"]["method"], "GET");
    assert_eq!(answered["span"]["status"], 200);
    assert!(answered["fields"]["duration_ms"].is_number());
    find("shutting down: finishing crawls and requests in flight");
}
