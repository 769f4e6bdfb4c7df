//! Finding mentions and counting them through the real API on 127.0.0.1, on SQLite and
//! Postgres: the list's source, language and text filters, its CSV export read back, the
//! stats against mentions classified through the real save path, and what bad
//! parameters get (a 400 JSON error naming the parameter, never a 500).

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{KeyName, Label, Role, Timestamp, MENTION_CSV_HEADER};
use earshot_store::Backend;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
use support::{
    acme, brand, crawl_and_classify, feed_source, found, scored, ApiClient as Api, TestDb,
};

/// The ids of the mentions a list answers with, in order.
async fn ids(api: &Api, path: &str) -> Vec<i64> {
    let (status, page) = api.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

/// `text` percent-encoded for a query string.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Acme and Globex; a forum and a news feed; four classified Acme mentions (ids 1 to 4)
/// and a Globex one (5), then an undated Acme mention left unclassified (6).
async fn start(db: &TestDb) -> Api {
    let store = db.store.clone();
    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let found_at = at("2026-11-23T12:00:00Z");
    let sources = [
        feed_source("forum", "https://forum.test/feed", Duration::from_secs(60)),
        feed_source("news", "https://news.test/rss", Duration::from_secs(60)),
    ];
    let globex = brand("globex", "Globex", &["Globex"], &[]);
    store
        .sync_config(&[acme(), globex], &sources, found_at)
        .await
        .unwrap();
    let s = |l: Label, lang: &str| {
        let p = match l {
            Label::Negative => [0.9, 0.05, 0.05],
            Label::Neutral => [0.1, 0.8, 0.1],
            Label::Positive => [0.02, 0.08, 0.9],
        };
        scored(p, None, lang, "m@1")
    };
    let m =
        |b: &str, k: &str, title: &str, published: &str| found(b, k, title, Some(at(published)));
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![
            m("acme", "f1", "Чайник АКМЕ протікає", "2026-11-19T10:00:00Z"),
            m(
                "acme",
                "f2",
                "Acme kettle, \"the best\"\nreally",
                "2026-11-19T23:30:00Z",
            ),
            m("acme", "f3", "Acme is fine", "2026-11-20T01:00:00Z"),
        ],
        vec![
            s(Label::Negative, "uk"),
            s(Label::Positive, "en"),
            s(Label::Neutral, "en"),
        ],
        found_at,
    )
    .await;
    crawl_and_classify(
        store.as_ref(),
        "news",
        vec![
            m("acme", "n1", "Огляд: Акме", "2026-11-21T05:00:00Z"),
            m("globex", "g1", "Globex news", "2026-11-19T12:00:00Z"),
        ],
        vec![s(Label::Positive, "uk"), s(Label::Positive, "en")],
        found_at,
    )
    .await;
    support::crawl(
        store.as_ref(),
        "news",
        vec![found("acme", "n2", "Acme review", None)],
        found_at,
    )
    .await;

    let base = support::serve_api(AppState::new(store.clone())).await;
    let name = KeyName::parse("dashboard").unwrap();
    let (_, secret) = issue_key(store.as_ref(), &name, Role::Viewer, Timestamp::now())
        .await
        .unwrap();
    Api::new(base, secret.expose())
}

/// Reads CSV back (RFC 4180: quoted fields may hold commas, doubled quotes and line
/// breaks), independently of the writer under test.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV ends with a line break"
    );
    rows
}

async fn filters_and_csv(db: &TestDb) {
    let api = start(db).await;
    let list = "/api/v1/mentions?brand=acme";
    assert_eq!(ids(&api, &format!("{list}&source=news")).await, [6, 4]);
    assert_eq!(ids(&api, "/api/v1/mentions?source=news").await, [6, 5, 4]);
    // A well-formed name that no source has lists nothing.
    assert_eq!(
        ids(&api, "/api/v1/mentions?source=retired-feed").await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&api, &format!("{list}&language=uk")).await, [4, 1]);
    assert_eq!(
        ids(&api, &format!("{list}&language=UK&source=forum")).await,
        [1]
    );
    assert_eq!(
        ids(&api, &format!("{list}&language=en&sentiment=positive")).await,
        [2]
    );
    assert_eq!(ids(&api, &format!("{list}&q=ACME%20KETTLE")).await, [2]);
    assert_eq!(
        ids(&api, &format!("{list}&q={}", enc("\"the best\""))).await,
        [2]
    );
    assert_eq!(ids(&api, &format!("{list}&q=%25")).await, Vec::<i64>::new());
    assert_eq!(
        ids(&api, &format!("{list}&q={}", enc("протікає"))).await,
        [1]
    );
    // Cyrillic: each letter's case is ignored on Postgres; SQLite's LOWER knows ASCII
    // letters only, so there Cyrillic matches in its own case.
    let exact = ids(&api, &format!("{list}&q={}", enc("Акме"))).await;
    let other_case = ids(&api, &format!("{list}&q={}", enc("аКМЕ"))).await;
    match db.store.backend() {
        Backend::Postgres => {
            assert_eq!(exact, [4, 1]);
            assert_eq!(other_case, [4, 1]);
        }
        Backend::Sqlite => {
            assert_eq!(exact, [4]);
            assert_eq!(other_case, Vec::<i64>::new());
        }
    }

    // The same list as CSV, read back: a header row, then one row per mention.
    let resp = api
        .send(reqwest::Method::GET, &format!("{list}&format=csv"), None)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(resp.headers().get("x-next-cursor").is_none());
    let rows = parse_csv(&resp.text().await.unwrap());
    assert_eq!(rows[0], MENTION_CSV_HEADER);
    let column = |name: &str| MENTION_CSV_HEADER.iter().position(|h| *h == name).unwrap();
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[column("id")].as_str()).collect();
    assert_eq!(ids, ["6", "4", "3", "2", "1"]);
    let f2 = &rows[4];
    assert_eq!(f2.len(), MENTION_CSV_HEADER.len());
    assert_eq!(f2[column("title")], "Acme kettle, \"the best\"\nreally");
    assert_eq!(f2[column("sentiment")], "positive");
    assert_eq!(f2[column("published")], "2026-11-19T23:30:00.000Z");
    assert_eq!(f2[column("source")], "forum");
    assert_eq!(rows[1][column("sentiment")], "", "the unclassified one");
    assert_eq!(rows[5][column("language")], "uk");
    // Filters and pages apply to CSV too; the next page's cursor is a header.
    let resp = api
        .send(
            reqwest::Method::GET,
            &format!("{list}&format=csv&language=uk&limit=1"),
            None,
        )
        .await;
    assert_eq!(resp.headers()["x-next-cursor"], "4");
    let rows = parse_csv(&resp.text().await.unwrap());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][column("title")], "Огляд: Акме");
}

#[tokio::test]
async fn mentions_filter_by_source_language_and_text_and_export_csv_on_sqlite() {
    let db = TestDb::sqlite().await;
    filters_and_csv(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn mentions_filter_by_source_language_and_text_and_export_csv_on_postgres() {
    let db = TestDb::postgres().await;
    filters_and_csv(&db).await;
    db.cleanup().await;
}

async fn stats(db: &TestDb) {
    let api = start(db).await;
    let (status, stats) = api
        .get("/api/v1/stats?brand=acme&from=2026-11-19&to=2026-11-24&bucket=day")
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["brand"], "acme");
    assert_eq!(stats["bucket"], "day");
    assert_eq!(stats["from"], "2026-11-19T00:00:00.000Z");
    assert_eq!(stats["to"], "2026-11-24T00:00:00.000Z");
    let row = |b: &Value| {
        (
            b["start"].as_str().unwrap_or("").to_owned(),
            [
                b["negative"].as_u64().unwrap(),
                b["neutral"].as_u64().unwrap(),
                b["positive"].as_u64().unwrap(),
                b["unclassified"].as_u64().unwrap(),
                b["total"].as_u64().unwrap(),
            ],
            b["net_sentiment"].as_f64(),
        )
    };
    let buckets: Vec<_> = stats["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    let day = |d: &str| format!("2026-11-{d}T00:00:00.000Z");
    assert_eq!(
        buckets,
        [
            (day("19"), [1, 0, 1, 0, 2], Some(0.0)),
            (day("20"), [0, 1, 0, 0, 1], Some(0.0)),
            (day("21"), [0, 0, 1, 0, 1], Some(1.0)),
            (day("22"), [0, 0, 0, 0, 0], None),
            (day("23"), [0, 0, 0, 1, 1], None),
        ]
    );
    assert_eq!(
        stats["buckets"][0]["sources"],
        serde_json::json!({"forum": 2})
    );
    assert_eq!(stats["buckets"][3]["sources"], serde_json::json!({}));
    assert_eq!(
        stats["buckets"][4]["sources"],
        serde_json::json!({"news": 1})
    );
    let (_, counts, net) = row(&stats["totals"]);
    assert_eq!((counts, net), ([1, 1, 2, 1, 5], Some(0.25)));
    let (_, counts, net) = row(&stats["sources"]["forum"]);
    assert_eq!((counts, net), ([1, 1, 1, 0, 3], Some(0.0)));
    let (_, counts, net) = row(&stats["sources"]["news"]);
    assert_eq!((counts, net), ([0, 0, 1, 1, 2], Some(1.0)));

    // Weeks start on Monday; the default bucket is a day, the default range 30 days.
    let (_, weeks) = api
        .get("/api/v1/stats?brand=acme&from=2026-11-19&to=2026-11-24&bucket=week")
        .await;
    let weeks: Vec<_> = weeks["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(row)
        .collect();
    assert_eq!(
        weeks,
        [
            (day("16"), [1, 1, 2, 0, 4], Some(0.25)),
            (day("23"), [0, 0, 0, 1, 1], None)
        ]
    );
    let (status, recent) = api.get("/api/v1/stats?brand=globex").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(recent["bucket"], "day");
    let n = recent["buckets"].as_array().unwrap().len();
    assert!((30..=31).contains(&n), "{n} buckets");

    let (status, body) = api.get("/api/v1/stats?brand=initech").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("initech"));
}

#[tokio::test]
async fn stats_count_labels_sources_and_net_sentiment_per_bucket_on_sqlite() {
    let db = TestDb::sqlite().await;
    stats(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn stats_count_labels_sources_and_net_sentiment_per_bucket_on_postgres() {
    let db = TestDb::postgres().await;
    stats(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn bad_parameters_get_a_400_naming_them() {
    let db = TestDb::sqlite().await;
    let api = start(&db).await;
    for (path, word) in [
        ("/api/v1/mentions?source=no%20such%2Fsource", "source name"),
        ("/api/v1/mentions?language=english", "language"),
        ("/api/v1/mentions?q=", "q must"),
        ("/api/v1/mentions?q=%20%20", "q must"),
        ("/api/v1/mentions?format=xml", "format"),
        ("/api/v1/mentions?format=csv&limit=0", "limit"),
        ("/api/v1/stats", "brand is required"),
        ("/api/v1/stats?brand=Acme%21", "brand slug"),
        ("/api/v1/stats?brand=acme&from=last%20week", "from"),
        ("/api/v1/stats?brand=acme&to=soon", "to"),
        ("/api/v1/stats?brand=acme&from=1h&to=2h", "must be after"),
        ("/api/v1/stats?brand=acme&bucket=month", "bucket"),
        (
            "/api/v1/stats?brand=acme&bucket=hour&from=90d",
            "1000 buckets",
        ),
        (
            "/api/v1/stats?brand=acme&from=99999999999d&bucket=week",
            "1000 buckets",
        ),
        ("/api/v1/stats?brand=acme&bucket=day&bucket=week", "bucket"),
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(word), "{path}: {message}");
    }
    db.cleanup().await;
}
