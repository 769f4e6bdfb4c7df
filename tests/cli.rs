//! The real `earshot` binary, as a user runs it: config errors, a one-off crawl with a
//! failing source, listings in every format, API keys, the demo, and a clean stop on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn earshot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(args)
        .current_dir(dir)
        .env_remove("EARSHOT_CONFIG")
        .env("RUST_LOG", "warn")
        // The test sites are ours: no per-host wait between their feeds.
        .env("EARSHOT__CRAWLER__HOST_INTERVAL", "0s")
        .output()
        .expect("run earshot")
}

/// The key the demo's mentions are stored with: the default model scored by the shipped head.
fn default_model_key() -> String {
    earshot_sentiment::Head::parse(earshot_sentiment::DEFAULT_HEAD_JSON, Path::new("shipped"))
        .expect("the shipped head parses")
        .model_key(earshot_sentiment::head::DEFAULT_HEAD_MODEL)
}

/// The JSON answer to a GET with an API key.
async fn get_json(http: &reqwest::Client, url: String, key: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Sends SIGTERM and waits (at most 15 s) for a clean exit.
async fn stop_with_sigterm(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "earshot did not stop within 15 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
}

/// Reads the child's stdout until a line starts with `prefix`; returns the rest of that
/// line and everything printed up to it. The rest of stdout is drained in the background,
/// so the child never writes into a closed pipe.
async fn wait_for_line(child: &mut std::process::Child, prefix: &'static str) -> (String, String) {
    let stdout = child.stdout.take().unwrap();
    let (found_tx, found_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut printed = String::new();
        let mut found_tx = Some(found_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            printed.push_str(&line);
            printed.push('\n');
            if let Some(rest) = line.strip_prefix(prefix) {
                if let Some(tx) = found_tx.take() {
                    let _ = tx.send((rest.to_owned(), printed.clone()));
                }
            }
        }
        if found_tx.is_some() {
            panic!("earshot never printed {prefix:?}:\n{printed}");
        }
    });
    found_rx
        .await
        .unwrap_or_else(|_| panic!("earshot exited before printing {prefix:?}"))
}

/// Makes an API key with `earshot keys create`; returns the JSON it printed.
async fn create_key(dir: &Path, role: &'static str) -> serde_json::Value {
    let d = dir.to_owned();
    let created = tokio::task::spawn_blocking(move || {
        let args = [
            "keys", "create", "--role", role, "--name", role, "--format", "json",
        ];
        earshot(&d, &args)
    })
    .await
    .unwrap();
    assert!(created.status.success(), "{}", text(&created.stderr));
    serde_json::from_slice(&created.stdout).unwrap()
}

/// Starts `earshot serve` in `dir` on a free port, checking for due sources every
/// second; returns the child and the API's base URL.
async fn start_serve(dir: &Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("serve")
        .current_dir(dir)
        .env_remove("EARSHOT_CONFIG")
        .env("EARSHOT__SERVER__LISTEN", "127.0.0.1:0")
        .env("EARSHOT__CRAWLER__TICK", "1s")
        .env("EARSHOT__CRAWLER__HOST_INTERVAL", "0s")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (api, _) = wait_for_line(&mut child, "Earshot API on ").await;
    (child, api)
}

/// A tiny site on 127.0.0.1 in this process: one good feed and one that fails, and a
/// feed about Globex that no config names.
async fn start_site() -> String {
    use axum::routing::get;
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>a1</guid><title>Acme, again</title><link>http://f.test/a1?utm_source=x</link><description>The Acme anvil, "heavy", works.</description><author>wile@example.org (Wile)</author></item>
        <item><guid>a2</guid><title>Other</title><description>No brand.</description></item>
        </channel></rss>"#;
    let globex = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>g</title>
        <item><guid>g1</guid><title>Globex shipped late</title><description>My Globex order is a week late.</description></item>
        </channel></rss>"#;
    let app = axum::Router::new()
        .route("/feed.xml", get(move || async move { feed }))
        .route("/globex.xml", get(move || async move { globex }))
        .route(
            "/broken.xml",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn config(base: &str) -> String {
    format!(
        r#"[[brands]]
slug = "acme"
name = "Acme"
terms = ["Acme"]

[[sources]]
name = "good"
kind = "feed"
url = "{base}/feed.xml"

[[sources]]
name = "broken"
kind = "feed"
url = "{base}/broken.xml"
"#
    )
}

#[test]
fn a_config_error_names_file_and_line_and_exits_nonzero_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        "[[brands]]\nslug = \"acme\"\nterms = [\"Acme\"]\n\n[[sources]]\nname = \"x\"\nkind = \"feed\"\nurl = \"ftp://nope\"\n",
    )
    .unwrap();
    let out = earshot(dir.path(), &["crawl", "--once"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("earshot.toml line 8") && err.contains("http:// or https://"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let missing = earshot(dir.path(), &["--config", "nope.toml", "mentions"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("nope.toml not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_once_stores_mentions_lists_failures_and_exits_zero() {
    let base = start_site().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("earshot.toml"), config(&base)).unwrap();
    let d = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || earshot(&d, &["crawl", "--once"]))
        .await
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Crawled 2 sources: 2 items read, 1 new mention"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED broken: HTTP 500 (next try"),
        "{stdout}"
    );
    assert!(
        dir.path().join("earshot.db").exists(),
        "the database sits next to the config"
    );

    let d = dir.path().to_owned();
    let (json, csv, table, none, sources, one) = tokio::task::spawn_blocking(move || {
        (
            earshot(&d, &["mentions", "--format", "json"]),
            earshot(
                &d,
                &[
                    "mentions", "--format", "csv", "--brand", "acme", "--since", "30d",
                ],
            ),
            earshot(&d, &["mentions"]),
            earshot(&d, &["mentions", "--since", "2999-01-01"]),
            earshot(&d, &["sources", "--format", "json"]),
            earshot(&d, &["crawl", "--once", "--source", "nope"]),
        )
    })
    .await
    .unwrap();
    let items: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(
        items[0]["url"], "http://f.test/a1",
        "tracking parameters stripped"
    );
    assert_eq!(items[0]["brand"], "acme");
    let csv = text(&csv.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,published,brand,source,term,sentiment,score,language,title,url,snippet")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(",acme,good,Acme,") && row.contains("\"Acme, again\",http://f.test/a1,"),
        "{csv}"
    );
    assert!(
        ["negative", "neutral", "positive"]
            .iter()
            .any(|l| row.contains(&format!(",{l},"))),
        "crawl --once classified the new mention: {row}"
    );
    assert!(text(&table.stdout).contains("Acme, again"));
    assert!(
        text(&none.stdout).contains("(none)"),
        "{}",
        text(&none.stdout)
    );
    let sources: serde_json::Value = serde_json::from_slice(&sources.stdout).unwrap();
    let broken = sources
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "broken")
        .unwrap();
    assert_eq!(broken["error_count"], 1);
    assert_eq!(broken["last_error"], "HTTP 500");
    assert_eq!(one.status.code(), Some(1));
    assert!(
        text(&one.stderr).contains("no source named nope"),
        "{}",
        text(&one.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_crawls_serves_the_api_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.path().join("demo"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (api_line, printed) = wait_for_line(&mut child, "API: ").await;
    let api = api_line.split("/api/").next().unwrap().to_owned();
    assert!(printed.contains("0 failed"), "{printed}");
    let key = printed
        .lines()
        .find_map(|l| l.strip_prefix("Admin API key: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("the demo printed no admin key:\n{printed}"))
        .to_owned();
    let key_file = dir.path().join("demo").join("admin.key");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is the owner's alone");
    }

    let http = reqwest::Client::new();
    let anonymous = http
        .get(format!("{api}/api/v1/mentions"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "mentions need a key");
    let page: serde_json::Value = get_json(
        &http,
        format!("{api}/api/v1/mentions?brand=lumora&limit=500"),
        &key,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 20, "the demo site has 20 posts naming Lumora");
    let sources: std::collections::HashSet<&str> = items
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 6, "every demo feed contributed: {sources:?}");
    assert!(items
        .iter()
        .any(|m| m["snippet"].as_str().unwrap().contains("Люмора")));
    assert!(items
        .iter()
        .all(|m| !m["title"].as_str().unwrap().contains("<b>")));

    // Every mention was classified, and the API filters by sentiment: each label's list is
    // exactly the mentions with that label, and the three lists cover all 20.
    assert!(
        items
            .iter()
            .all(|m| m["sentiment"]["model"] == default_model_key().as_str()),
        "every demo mention has a sentiment from the default model"
    );
    let mut listed = 0;
    for label in ["negative", "neutral", "positive"] {
        let url = format!("{api}/api/v1/mentions?brand=lumora&sentiment={label}&limit=500");
        let page = get_json(&http, url, &key).await;
        let mut got: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        let mut want: Vec<i64> = items
            .iter()
            .filter(|m| m["sentiment"]["label"] == label)
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "?sentiment={label}");
        listed += got.len();
    }
    assert_eq!(listed, 20);
    // The demo's posts include clear complaints and clear praise.
    for label in ["negative", "positive"] {
        assert!(
            items.iter().any(|m| m["sentiment"]["label"] == label),
            "no {label} demo mention"
        );
    }

    // The demo's rule opened one alert per negative mention with P(negative) ≥ 0.55.
    let alerting = items
        .iter()
        .filter(|m| {
            m["sentiment"]["label"] == "negative"
                && m["sentiment"]["probabilities"][0].as_f64().unwrap() >= 0.55 - 1e-6
        })
        .count();
    assert!(
        alerting > 0,
        "the demo shows the PR team at least one alert"
    );
    let alerts: serde_json::Value =
        get_json(&http, format!("{api}/api/v1/alerts?limit=500"), &key).await;
    assert_eq!(
        alerts["items"].as_array().unwrap().len(),
        alerting,
        "{alerts}"
    );
    assert!(
        printed.contains(&format!("{alerting} open alert")),
        "{printed}"
    );

    // Positive mentions became review candidates; the demo's rule approved the surest,
    // and those (only those) are in the public feed, which needs no key.
    let reviews: serde_json::Value = get_json(
        &http,
        format!("{api}/api/v1/reviews?brand=lumora&limit=500"),
        &key,
    )
    .await;
    let reviews = reviews["items"].as_array().unwrap();
    let positive = items
        .iter()
        .filter(|m| m["sentiment"]["label"] == "positive")
        .count();
    assert_eq!(
        reviews.len(),
        positive,
        "one candidate per positive mention"
    );
    let approved: Vec<i64> = reviews
        .iter()
        .filter(|r| r["status"] == "approved")
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(reviews
        .iter()
        .all(|r| r["status"] == "pending" || r["decided_by"]["name"] == "auto-approve rule"));
    assert!(
        printed.contains(&format!(
            "{} review candidates for marketing: {} approved",
            positive,
            approved.len()
        )),
        "{printed}"
    );
    let feed = http
        .get(format!("{api}/public/v1/brands/lumora/reviews?limit=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    let feed: serde_json::Value = feed.json().await.unwrap();
    assert_eq!(feed["selection"], true);
    let shown: Vec<i64> = feed["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(shown, approved, "the feed shows the approved reviews only");
    let site = printed
        .lines()
        .find_map(|l| l.strip_prefix("Demo site: "))
        .unwrap_or_else(|| panic!("no demo site:\n{printed}"));
    let page = http
        .get(format!("{site}reviews.html"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-earshot-brand=\"lumora\"") && page.contains("/widget.js"));

    // Pagination: two pages of 15 then 5, no overlap.
    let p1: serde_json::Value =
        get_json(&http, format!("{api}/api/v1/mentions?limit=15"), &key).await;
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: serde_json::Value = get_json(
        &http,
        format!("{api}/api/v1/mentions?limit=15&cursor={cursor}"),
        &key,
    )
    .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 5);
    assert!(p2["next_cursor"].is_null());

    let ready = http.get(format!("{api}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["model"]["key"], default_model_key().as_str());
    assert_eq!(ready["model"]["status"], "running");
    let bad = http
        .get(format!("{api}/api/v1/mentions?limit=zero"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"));
    let missing = http
        .get(format!("{api}/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    stop_with_sigterm(&mut child).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_crawls_on_schedule_and_finishes_cleanly_on_sigterm() {
    let base = start_site().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("earshot.toml"), config(&base)).unwrap();
    let created = create_key(dir.path(), "viewer").await;
    let key = created["key"].as_str().unwrap().to_owned();
    let (mut child, api) = start_serve(dir.path()).await;

    // Nobody asked for a crawl: the scheduler finds both sources due and crawls them.
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        let page: serde_json::Value = get_json(&http, format!("{api}/api/v1/mentions"), &key).await;
        if page["items"].as_array().unwrap().len() == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the scheduler never crawled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A key revoked from the command line stops working on the running server at once.
    let d = dir.path().to_owned();
    let id = created["id"].to_string();
    let revoked = tokio::task::spawn_blocking(move || earshot(&d, &["keys", "revoke", &id]))
        .await
        .unwrap();
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    let refused = http
        .get(format!("{api}/api/v1/mentions"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    stop_with_sigterm(&mut child).await;

    // The failing source's error was recorded by the scheduler too.
    let d = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || earshot(&d, &["sources", "--format", "json"]))
        .await
        .unwrap();
    let sources: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let broken = sources
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "broken")
        .unwrap();
    assert_eq!(broken["last_error"], "HTTP 500");
}

#[test]
fn keys_are_created_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        config("http://127.0.0.1:9"),
    )
    .unwrap();
    let d = dir.path();

    let out = earshot(d, &["keys", "create", "--role", "pr", "--name", "PR desk"]);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{printed}{}", text(&out.stderr));
    assert!(
        printed.starts_with("Created API key 1 \"PR desk\" with role pr."),
        "{printed}"
    );
    let secret = printed
        .lines()
        .find(|l| l.starts_with("ek_"))
        .unwrap_or_else(|| panic!("no key printed:\n{printed}"));
    assert_eq!(secret.len(), 67, "{secret}");

    let json = earshot(
        d,
        &[
            "keys", "create", "--role", "admin", "--name", "ops", "--format", "json",
        ],
    );
    let made: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (made["id"].as_i64(), made["role"].as_str()),
        (Some(2), Some("admin"))
    );
    assert!(made["key"].as_str().unwrap().starts_with("ek_"));
    assert_ne!(made["key"].as_str().unwrap(), secret, "every key is new");

    let table = text(&earshot(d, &["keys", "list"]).stdout);
    assert!(table.starts_with("id  name     role   created"), "{table}");
    assert!(
        table.contains("PR desk") && table.contains("ops"),
        "{table}"
    );
    assert!(
        !table.contains("ek_"),
        "a listing never shows a secret: {table}"
    );

    let revoke = earshot(d, &["keys", "revoke", "1"]);
    assert!(revoke.status.success());
    assert_eq!(
        text(&revoke.stdout),
        "Revoked API key 1 \"PR desk\" (role pr). It no longer works.\n"
    );
    let again = text(&earshot(d, &["keys", "revoke", "1"]).stdout);
    assert!(again.contains("was already revoked at"), "{again}");
    let listed: serde_json::Value =
        serde_json::from_slice(&earshot(d, &["keys", "list", "--format", "json"]).stdout).unwrap();
    assert!(listed[0]["revoked_at"].is_string());
    assert!(listed[1]["revoked_at"].is_null());
    assert!(!listed.to_string().contains("ek_"));

    let unknown = earshot(d, &["keys", "revoke", "99"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no API key with id 99"));
    let bad_role = earshot(d, &["keys", "create", "--role", "root", "--name", "x"]);
    assert_eq!(bad_role.status.code(), Some(1));
    assert!(
        text(&bad_role.stderr).contains("must be admin, pr, marketing or viewer"),
        "{}",
        text(&bad_role.stderr)
    );
}

/// The admin adds a brand and a source through the API of a running server: the
/// scheduler crawls the new source at once and matches the new brand, with no restart;
/// what the config file defines is refused (409); and a restart, which makes the
/// database match the file, keeps what the API made.
#[tokio::test(flavor = "multi_thread")]
async fn brands_and_sources_added_through_the_api_are_crawled_without_a_restart() {
    let base = start_site().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("earshot.toml"), config(&base)).unwrap();
    let admin = create_key(dir.path(), "admin").await;
    let key = admin["key"].as_str().unwrap().to_owned();
    let (mut child, api) = start_serve(dir.path()).await;
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, format!("{api}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };

    let made = send(
        reqwest::Method::POST,
        "/api/v1/brands",
        serde_json::json!({"slug": "globex", "name": "Globex", "terms": ["Globex"]}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    let made = send(
        reqwest::Method::POST,
        "/api/v1/sources",
        serde_json::json!({"name": "globex-news", "url": format!("{base}/globex.xml"), "every_secs": 600}),
    )
    .await
    .unwrap();
    assert_eq!(made.status(), 201);
    let start = Instant::now();
    loop {
        let page = get_json(&http, format!("{api}/api/v1/mentions?brand=globex"), &key).await;
        let items = page["items"].as_array().unwrap();
        if let Some(m) = items.first() {
            assert_eq!(
                (m["source"].as_str(), m["title"].as_str()),
                (Some("globex-news"), Some("Globex shipped late"))
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the new source or brand was never crawled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sources = get_json(&http, format!("{api}/api/v1/sources"), &key).await;
    let news = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "globex-news")
        .unwrap();
    assert_eq!(
        (news["origin"].as_str(), news["error_count"].as_i64()),
        (Some("api"), Some(0))
    );
    assert!(news["last_success_at"].is_string(), "{news}");

    let refused = send(
        reqwest::Method::PATCH,
        "/api/v1/sources/good",
        serde_json::json!({"every_secs": 600}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 409);
    let message = refused.json::<serde_json::Value>().await.unwrap();
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config file"),
        "{message}"
    );
    stop_with_sigterm(&mut child).await;

    let d = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || earshot(&d, &["sources", "--format", "json"]))
        .await
        .unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["broken", "globex-news", "good"],
        "a restart keeps API sources"
    );
}

/// Runs the binary with `input` on standard input and `env` set.
fn earshot_with(dir: &Path, args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(args)
        .current_dir(dir)
        .env_remove("EARSHOT_CONFIG")
        .env_remove("EARSHOT_PASSWORD")
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run earshot");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn console_users_are_created_listed_disabled_and_deleted_without_their_passwords() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("earshot.toml"),
        config("http://127.0.0.1:9"),
    )
    .unwrap();
    let d = dir.path();
    let create = |name: &str, input: &str, env: &[(&str, &str)]| {
        earshot_with(
            d,
            &["users", "create", "--username", name, "--role", "pr"],
            input,
            env,
        )
    };
    let piped = create("pia", "correct horse battery\n", &[]);
    assert!(piped.status.success(), "{}", text(&piped.stderr));
    assert!(text(&piped.stdout).contains("Created console user pia with role pr"));
    let scripted = create("mark", "", &[("EARSHOT_PASSWORD", "another long one")]);
    assert!(scripted.status.success(), "{}", text(&scripted.stderr));
    let short = create("vic", "short\n", &[]);
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("at least 10 characters"));
    let taken = create("pia", "correct horse battery\n", &[]);
    assert!(!taken.status.success());
    assert!(
        text(&taken.stderr).contains("already a user pia"),
        "{}",
        text(&taken.stderr)
    );

    let list = text(&earshot(d, &["users", "list", "--format", "json"]).stdout);
    let users: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2, "{list}");
    assert!(
        !list.contains("correct horse") && !list.contains("argon2"),
        "{list}"
    );

    let off = earshot(d, &["users", "disable", "pia"]);
    assert!(
        text(&off.stdout).contains("Disabled pia"),
        "{}",
        text(&off.stderr)
    );
    let table = text(&earshot(d, &["users", "list"]).stdout);
    assert!(table.contains("pia"), "{table}");
    assert!(earshot(d, &["users", "delete", "pia"]).status.success());
    let gone = earshot(d, &["users", "delete", "pia"]);
    assert!(!gone.status.success());
    assert!(text(&gone.stderr).contains("there is no console user pia"));
}

/// `earshot serve` with a webhook channel: the scheduler crawls a post the model finds
/// negative, the rule opens an alert and queues its notification, and the delivery loop
/// posts it, signed, to a receiver on 127.0.0.1; SIGTERM still stops everything cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn serve_notifies_a_webhook_of_a_new_alert() {
    use std::sync::{Arc, Mutex};
    let feed = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>n1</guid><title>Acme kettle is a disaster</title><description>My Acme kettle broke after two days and leaked boiling water everywhere. Terrible, dangerous product, and support never answered. Avoid Acme.</description></item>
        </channel></rss>"#;
    /// What the webhook got: each request's signature header and body.
    type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;
    let got: Received = Arc::default();
    let app = axum::Router::new()
        .route("/feed.xml", axum::routing::get(move || async move { feed }))
        .route(
            "/hook",
            axum::routing::post({
                let got = got.clone();
                move |headers: axum::http::HeaderMap, body: String| async move {
                    let signature = headers
                        .get("x-earshot-signature")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    got.lock().unwrap().push((signature, body));
                    axum::http::StatusCode::OK
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"[[brands]]
slug = "acme"
name = "Acme"
terms = ["Acme"]

[[sources]]
name = "forum"
kind = "feed"
url = "{base}/feed.xml"

[[channels]]
name = "ops-hook"
kind = "webhook"
url = "{base}/hook"
secret = "a-secret-for-the-serve-test"

[[alert_rules]]
brand = "acme"
threshold = 0.5
channels = ["ops-hook"]

[notifications]
tick = "200ms"
"#
    );
    std::fs::write(dir.path().join("earshot.toml"), config).unwrap();
    let (mut child, _api) = start_serve(dir.path()).await;
    let start = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no notification reached the webhook"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_with_sigterm(&mut child).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one alert, one message: {got:?}");
    let (signature, body) = &got[0];
    assert!(signature
        .as_deref()
        .is_some_and(|s| s.starts_with("sha256=")));
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["alerts"][0]["brand"], "acme");
    assert_eq!(body["alerts"][0]["source"], "forum");
}
