//! Shared pieces of the black-box tests: fresh databases on both backends, and config.
#![allow(dead_code)] // each test binary uses its own subset

pub mod browser;
pub mod fault_site;

use earshot_domain::{
    Brand, BrandSlug, BrandTerm, Label, MentionId, NewMention, Sentiment, Source, SourceKind,
    SourceName, SourceState, SourceUrl, Timestamp,
};
use earshot_store::{ClassifyClaim, CrawlRecord, Store};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A database that exists for one test.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    /// Keeps a SQLite file's folder alive; a Postgres database is dropped by `cleanup`.
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh SQLite file in a temporary folder.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("earshot.db").display());
        let store = earshot_store::connect(&url).await.expect("open sqlite");
        TestDb {
            store,
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// A fresh database on the Postgres at `EARSHOT_TEST_POSTGRES`
    /// (default `postgres://postgres@127.0.0.1:5432/postgres`). Postgres tests never
    /// skip silently: if the server is down the test fails and says how to start it.
    pub async fn postgres() -> TestDb {
        let admin_url = admin_url();
        let name = format!(
            "earshot_t_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut admin = connect_admin(&admin_url).await;
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let url = replace_db(&admin_url, &name);
        let store = earshot_store::connect(&url).await.expect("open postgres");
        TestDb {
            store,
            url,
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// Drops a Postgres test database (SQLite's folder goes with the value).
    pub async fn cleanup(self) {
        if let Some(name) = &self.pg_name {
            drop(self.store);
            let mut admin = connect_admin(&admin_url()).await;
            let _ = sqlx::Executor::execute(
                &mut admin,
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
            )
            .await;
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn admin_url() -> String {
    std::env::var("EARSHOT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

async fn connect_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "Postgres is not reachable at {url} ({e}). Start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
             or set EARSHOT_TEST_POSTGRES"
        )
    })
}

fn replace_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("postgres URL");
    u.set_path(db);
    u.to_string()
}

/// The brand used across tests: "Acme", also written "Акме", with one exclusion.
pub fn acme() -> Brand {
    brand(
        "acme",
        "Acme",
        &["Acme", "Акме", "acme.com"],
        &["Acme Road Runner"],
    )
}

pub fn brand(slug: &str, name: &str, terms: &[&str], exclude: &[&str]) -> Brand {
    let t = |xs: &[&str]| xs.iter().map(|x| BrandTerm::parse(x).unwrap()).collect();
    Brand::new(
        BrandSlug::parse(slug).unwrap(),
        name.to_owned(),
        t(terms),
        t(exclude),
    )
    .unwrap()
}

pub fn feed_source(name: &str, url: &str, every: Duration) -> Source {
    Source {
        name: SourceName::parse(name).unwrap(),
        kind: SourceKind::Feed,
        url: SourceUrl::parse(url).unwrap(),
        every,
        recipe: None,
        host_interval: None,
    }
}

/// A classifier result with these probabilities; the label is the most probable one
/// unless given (as a star rating would overrule it).
pub fn scored(p: [f32; 3], label: Option<Label>, language: &str, model: &str) -> Sentiment {
    let argmax = Label::argmax(p);
    Sentiment {
        label: label.unwrap_or(argmax),
        model_label: argmax,
        probabilities: p,
        score: p[2] - p[0],
        language: Some(language.to_owned()),
        model: model.to_owned(),
        embedding: vec![0.25; 8],
        signals: Default::default(),
    }
}

/// Stores `found` as one crawl of `source` and classifies the new mentions, oldest first,
/// with `results`, through the real claim and save path (so alert rules apply and
/// reviews are created). Returns the mentions' ids in that order.
pub async fn crawl_and_classify(
    store: &dyn Store,
    source: &str,
    found: Vec<NewMention>,
    results: Vec<Sentiment>,
    at: Timestamp,
) -> Vec<MentionId> {
    crawl(store, source, found, at).await;
    classify(store, results, at).await
}

/// Stores `found` as one crawl of `source`; returns how many mentions were new.
pub async fn crawl(store: &dyn Store, source: &str, found: Vec<NewMention>, at: Timestamp) -> u64 {
    let id = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.name.as_str() == source)
        .expect("source is in the config")
        .id;
    let record = CrawlRecord {
        started_at: at,
        finished_at: at,
        http_status: Some(200),
        bytes: 0,
        items_seen: found.len() as u64,
        error: None,
        mentions: found,
        state: SourceState::default(),
        problems: Vec::new(),
        aggregate: None,
        unhealthy_after: None,
    };
    store.record_crawl(id, "w", &record).await.unwrap()
}

/// `n` mentions of acme whose snippets cycle through `phrases`, each numbered so that
/// it is its own mention (guids `post-0`, `post-1`, …): a backlog for the classifier.
pub fn numbered(phrases: &[&str], n: usize) -> Vec<NewMention> {
    (0..n)
        .map(|i| NewMention {
            brand: BrandSlug::parse("acme").unwrap(),
            dedup_key: earshot_domain::DedupKey::from_guid(&format!("post-{i}")),
            url: None,
            title: String::new(),
            snippet: format!("{} (#{i})", phrases[i % phrases.len()]),
            matched_term: "Acme".into(),
            author: None,
            published_at: None,
            rating: None,
        })
        .collect()
}

/// Classifies every unclassified mention, oldest first, with `results` (one each),
/// through the real claim and save path. Returns the mentions' ids in that order.
pub async fn classify(store: &dyn Store, results: Vec<Sentiment>, at: Timestamp) -> Vec<MentionId> {
    let jobs = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c",
            now: at,
            lease: Duration::from_secs(60),
            limit: 1000,
            model: &results[0].model,
            reclassify: false,
            since: None,
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), results.len(), "one result per new mention");
    let batch: Vec<_> = jobs.iter().map(|j| j.id).zip(results).collect();
    assert_eq!(
        store.save_sentiments("c", &batch, at).await.unwrap(),
        batch.len() as u64
    );
    batch.into_iter().map(|(id, _)| id).collect()
}

/// A mention of `brand` found under `key` (its guid), with a snippet and an author.
pub fn found(brand: &str, key: &str, title: &str, published: Option<Timestamp>) -> NewMention {
    NewMention {
        brand: BrandSlug::parse(brand).unwrap(),
        dedup_key: earshot_domain::DedupKey::from_guid(key),
        url: Some(format!("https://forum.test/{key}")),
        title: title.to_owned(),
        snippet: format!("{title} — snippet"),
        matched_term: "Acme".to_owned(),
        author: Some("olena".to_owned()),
        published_at: published,
        rating: None,
    }
}

/// Gives the mention stored under guid `key` a star rating (normalised to 0..1), as a
/// review-site parser will when it stores one. The crawler reads no ratings yet (only
/// feeds are crawled), so tests write the column directly, before classifying.
pub async fn set_rating(db: &TestDb, key: &str, rating: f64) {
    let sql = "UPDATE mentions SET rating = $1 WHERE dedup_key = $2";
    let dedup = earshot_domain::DedupKey::from_guid(key);
    let done = if db.pg_name.is_some() {
        let pool = sqlx::PgPool::connect(&db.url)
            .await
            .expect("connect to postgres");
        let done = sqlx::query(sql)
            .bind(rating)
            .bind(dedup.as_str())
            .execute(&pool)
            .await
            .expect("set rating");
        pool.close().await;
        done.rows_affected()
    } else {
        let pool = sqlx::SqlitePool::connect(&db.url)
            .await
            .expect("open sqlite");
        let done = sqlx::query(sql)
            .bind(rating)
            .bind(dedup.as_str())
            .execute(&pool)
            .await
            .expect("set rating");
        pool.close().await;
        done.rows_affected()
    };
    assert_eq!(done, 1, "one mention has guid {key}");
}

/// A client holding one API key, against one Earshot server on 127.0.0.1. Answers come
/// back as the status and the JSON body (`Null` when the body is empty).
#[derive(Clone)]
pub struct ApiClient {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub key: String,
}

impl ApiClient {
    pub fn new(base: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into(),
            key: key.into(),
        }
    }

    /// The same server with another key.
    pub fn with_key(&self, key: &str) -> Self {
        Self {
            key: key.to_owned(),
            ..self.clone()
        }
    }

    /// A request with this key and an optional JSON body, as sent.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        json_answer(path, self.send(method, path, body).await).await
    }

    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// A POST with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// A POST with no body at all.
    pub async fn post_empty(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::POST, path, None).await
    }

    /// A raw request with this key: any body, any Content-Type (or none).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        json_answer(path, req.send().await.unwrap()).await
    }

    /// A GET with no key at all, as a visitor's browser makes it.
    pub async fn public(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }
}

/// The status and JSON body of an answer; a body that is not JSON fails the test.
async fn json_answer(
    path: &str,
    resp: reqwest::Response,
) -> (reqwest::StatusCode, serde_json::Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: not JSON ({status}): {text}"))
    };
    (status, value)
}

/// Serves the API over `state` on a fresh 127.0.0.1 port for the rest of the test, and
/// returns its base URL, `http://127.0.0.1:PORT`.
pub async fn serve_api(state: earshot_api::AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(earshot_api::serve(listener, state, std::future::pending()));
    base
}

/// The key a mention classified with the default settings is stored with: the default model
/// scored by the head Earshot ships (`earshot/e5-small-sentiment@1+head:<id>`).
pub fn default_model_key() -> String {
    let head = earshot_sentiment::Head::parse(
        earshot_sentiment::DEFAULT_HEAD_JSON,
        std::path::Path::new("shipped"),
    )
    .expect("the shipped head parses");
    head.model_key(earshot_sentiment::head::DEFAULT_HEAD_MODEL)
}

/// Runs the real `earshot` binary in `dir` (its config is `dir/earshot.toml`), with
/// warnings only in its log, and waits for it.
pub fn earshot(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_earshot"))
        .args(args)
        .current_dir(dir)
        .env_remove("EARSHOT_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run earshot")
}

/// A running `earshot serve` (the real binary) in a folder with its `earshot.toml`,
/// killed when dropped if the test did not stop it.
pub struct ServeProcess {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, as the server printed it.
    pub base: String,
    stderr: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl ServeProcess {
    /// Starts `earshot serve` in `dir` with `env` added, and waits until it prints its
    /// address. Set `[server] listen = "127.0.0.1:0"` in the config.
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> ServeProcess {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_earshot"));
        command
            .arg("serve")
            .current_dir(dir)
            .env_remove("EARSHOT_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start earshot serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        });
        let mut lines = std::io::BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("Earshot API on ") {
                        break rest.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let log = stderr.join().unwrap_or_default();
                    panic!("earshot serve stopped before serving: {log:#?}");
                }
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        ServeProcess {
            child,
            base,
            stderr: Some(stderr),
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Stops it with SIGTERM, as a service manager would, and returns its exit status
    /// and every line it wrote to stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        let log = self.stderr.take().unwrap().join().unwrap();
        (status, log)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
