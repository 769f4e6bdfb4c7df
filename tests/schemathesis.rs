//! Schemathesis (PyPI) against the OpenAPI document at `/api/v1/openapi.json`, served by
//! the real API on 127.0.0.1 over a real SQLite store seeded with brands, sources,
//! mentions with sentiments and a correction, an alert, and pending, approved and
//! rejected reviews. It generates requests from the document, valid ones and invalid
//! ones, and checks every answer: no 5xx, and status, content type and body exactly as
//! the document declares them. It runs with an admin key and with no key at all.
//!
//! Without schemathesis this test fails and says what to run; set
//! EARSHOT_SKIP_SCHEMATHESIS=1 to skip it on purpose.

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{
    Actor, AlertRuleSpec, BrandSlug, Excerpt, KeyName, Label, Note, Role, Threshold, Timestamp,
};
use earshot_store::{ReviewChange, ReviewDecision, ReviewQuery, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    acme, brand, classify, crawl, feed_source, found, scored, set_rating, ApiClient, TestDb,
};

const SETUP: &str = "run `scripts/setup.sh --with-schemathesis` (as `make test` does), which \
    installs the pinned schemathesis from PyPI in a venv at \
    ~/.cache/earshot/schemathesis-venv (or $EARSHOT_SCHEMATHESIS_VENV); or set \
    EARSHOT_SKIP_SCHEMATHESIS=1 to skip this test";

/// What every answer is checked for: no server error; a status, content type, headers
/// and body exactly as the document declares them; a 4xx for every request the
/// document does not allow (bad JSON, wrong types, unknown fields, out-of-range values,
/// missing required headers); a 405 with an `Allow` header for an undocumented method;
/// and, where a key is sent, a 401 when it is left out or spoiled.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,negative_data_rejection,\
    missing_required_header,unsupported_method,allow_header_conformance,ignored_auth";
// Left out: positive_data_acceptance. The document cannot state every rule a valid
// request must meet (a brand must exist, an excerpt must be part of the review's text,
// `since` must read as a time or an age), so schema-valid requests are rightly refused.

/// Schemathesis's settings beyond the command line. A request the document does not
/// allow may also be refused with a 413, when its body is over the API's 64 KiB limit
/// (a note of 10,000 characters, each sent as a `\u` escape pair, is 120 KB): the body
/// is refused unread, as the document says. Schemathesis's own list leaves 413 out.
const CONFIG: &str = "[checks.negative_data_rejection]\n\
    expected-statuses = [400, 401, 403, 404, 405, 409, 413, 415]\n";

/// Fixed, so a failure found in CI can be replayed exactly.
const SEED: &str = "20261123";

/// Cases per operation and phase; enough to reach every parameter and body shape, few
/// enough that a pass takes under a minute on a 2-core machine.
const MAX_EXAMPLES: &str = "100";

/// The longest a pass may take before the test gives up on it.
const PASS_LIMIT: Duration = Duration::from_secs(300);

/// The schemathesis command, from the venv `scripts/setup.sh --with-schemathesis` makes.
/// Panics with the setup command when it is missing; `None` when the test is skipped on
/// purpose.
fn schemathesis() -> Option<PathBuf> {
    if std::env::var("EARSHOT_SKIP_SCHEMATHESIS").as_deref() == Ok("1") {
        eprintln!("skipping the schemathesis test: EARSHOT_SKIP_SCHEMATHESIS=1");
        return None;
    }
    let venv = std::env::var_os("EARSHOT_SCHEMATHESIS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/earshot/schemathesis-venv")
        });
    let bin = venv.join("bin/schemathesis");
    let runs = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "schemathesis is not installed at {}: {SETUP}",
        bin.display()
    );
    Some(bin)
}

/// What CPython 3.11.7 (this machine's Python) raises now and then from `ast.parse` inside
/// Hypothesis's lambda descriptions: an interpreter bug, not a finding about the API.
const PYTHON_AST_BUG: &str = "AST constructor recursion depth mismatch";

/// Runs one schemathesis pass against the document at `base` with `extra` arguments,
/// and fails the test with schemathesis's report if it found anything. A run that failed
/// only by [`PYTHON_AST_BUG`] is run once more, with the same seed; any other error fails.
async fn pass(bin: &Path, name: &str, base: &str, extra: &[&str]) {
    let (status, report) = run(bin, name, base, extra).await;
    let (status, report) = if !status.success()
        && report.contains(PYTHON_AST_BUG)
        && report.matches("Runtime Error").count() <= 2
    {
        eprintln!("schemathesis ({name}) hit CPython's {PYTHON_AST_BUG:?} bug; running it again");
        run(bin, name, base, extra).await
    } else {
        (status, report)
    };
    assert!(
        status.success(),
        "schemathesis ({name}) found problems ({status}):\n{report}"
    );
}

/// One schemathesis run: its exit status and its report.
async fn run(
    bin: &Path,
    name: &str,
    base: &str,
    extra: &[&str],
) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("out");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--checks", CHECKS])
        // No stateful phase: the document declares no links between operations.
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        .args(["--workers", "2"])
        .args(["--request-timeout", "10"])
        // Nothing is remembered between runs: each run is its own, from the seed.
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .args(["--output-truncate", "true"])
        .args(extra)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start schemathesis");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > PASS_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "schemathesis ({name}) did not finish within {PASS_LIMIT:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let report = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!(
        "schemathesis ({name}) took {:.0?}: {status}",
        start.elapsed()
    );
    (status, report)
}

/// A store with two brands on two sources: negative, neutral and positive mentions in
/// two languages, one with a star rating and one with a person's correction; an alert
/// rule and the alert it opened; one approved (with an excerpt), one rejected and some
/// pending reviews.
async fn seed(db: &TestDb) {
    let store = db.store.clone();
    let t0 = Timestamp::parse_rfc3339("2026-11-20T10:00:00Z").unwrap();
    let globex = brand("globex", "Globex", &["Globex"], &[]);
    let every = Duration::from_secs(60);
    let forum = feed_source("forum", "https://forum.test/feed", every);
    let news = feed_source("news.test", "https://news.test/rss", every);
    store
        .sync_config(&[acme(), globex], &[forum, news], t0)
        .await
        .unwrap();
    let rule = AlertRuleSpec::new(
        BrandSlug::parse("acme").unwrap(),
        Threshold::DEFAULT,
        None,
        None,
    )
    .unwrap();
    store.sync_alert_rules(&[rule], t0).await.unwrap();
    crawl(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "broke", "Acme broke", Some(t0)),
            found("acme", "kettle", "Love my Acme kettle", Some(t0)),
            found("acme", "anvil", "Acme anvil: five stars", None),
            found("acme", "meh", "Acme is fine", Some(t0)),
        ],
        t0,
    )
    .await;
    crawl(
        store.as_ref(),
        "news.test",
        vec![
            found("globex", "g1", "Globex opens a plant", Some(t0)),
            found("acme", "uk", "Акме знову зламався", Some(t0)),
        ],
        t0,
    )
    .await;
    set_rating(db, "anvil", 1.0).await;
    let neg = scored([0.9, 0.05, 0.05], None, "en", "m@1");
    let pos = scored([0.05, 0.05, 0.9], None, "en", "m@1");
    let neutral = scored([0.1, 0.8, 0.1], None, "en", "m@1");
    let neg_uk = scored([0.85, 0.1, 0.05], None, "uk", "m@1");
    let ids = classify(
        store.as_ref(),
        vec![neg, pos.clone(), pos.clone(), neutral, pos, neg_uk],
        t0,
    )
    .await;
    let by = Actor {
        key_id: None,
        name: "Seed".to_owned(),
    };
    assert!(store
        .correct_sentiment(ids[3], Label::Positive, &by, t0)
        .await
        .unwrap());

    let reviews = store
        .reviews(&ReviewQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(reviews.len() >= 3, "the positive mentions are reviews");
    let snippet = &reviews[0].mention.snippet;
    let excerpt = Excerpt::parse(snippet.split(' ').next().unwrap(), snippet).unwrap();
    let reason = Note::parse("Not about our products").unwrap();
    for (review, decision) in [
        (
            &reviews[0],
            ReviewDecision::Approve {
                excerpt: Some(&excerpt),
            },
        ),
        (&reviews[1], ReviewDecision::Reject { reason: &reason }),
    ] {
        let done = store
            .decide_review(review.id, &decision, &by, t0)
            .await
            .unwrap();
        assert!(matches!(done, ReviewChange::Done(_)), "{done:?}");
    }
}

/// A new key with `role`, as the header that sends it.
async fn key(store: &dyn Store, name: &str, role: Role) -> String {
    let name = KeyName::parse(name).unwrap();
    let (_, secret) = issue_key(store, &name, role, Timestamp::now())
        .await
        .unwrap();
    secret.expose().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_and_no_answers_outside_the_document() {
    let Some(bin) = schemathesis() else {
        return;
    };
    let db = TestDb::sqlite().await;
    seed(&db).await;
    let store = db.store.clone();
    for (name, role) in [
        ("PR desk", Role::Pr),
        ("Marketing", Role::Marketing),
        ("Dashboard", Role::Viewer),
    ] {
        key(store.as_ref(), name, role).await;
    }
    let admin = key(store.as_ref(), "schemathesis", Role::Admin).await;
    let revoker = key(store.as_ref(), "schemathesis revoker", Role::Admin).await;
    let base = support::serve_api(AppState::new(store)).await;
    let bearer = |key: &str| format!("Authorization: Bearer {key}");

    // The admin pass leaves out revoking keys: generated ids soon name the pass's own
    // key, and every answer after that would be a 401 that checks nothing. The admin key
    // is checked to still work after the pass. Revoking then gets a short pass of its
    // own with a second admin key, which may well revoke itself part way: its later
    // requests are answered 401, which the document declares, and nothing else depends
    // on that key.
    let admin_header = bearer(&admin);
    pass(
        &bin,
        "admin key",
        &base,
        &["-H", &admin_header, "--exclude-path", "/api/v1/keys/{id}"],
    )
    .await;
    let (status, body) = ApiClient::new(&base, &admin).get("/api/v1/keys").await;
    assert_eq!(status, 200, "the admin pass kept its key: {body}");
    let revoker_header = bearer(&revoker);
    pass(
        &bin,
        "revoking keys",
        &base,
        &["-H", &revoker_header, "--include-path", "/api/v1/keys/{id}"],
    )
    .await;
    pass(&bin, "no key", &base, &[]).await;
    db.cleanup().await;
}
