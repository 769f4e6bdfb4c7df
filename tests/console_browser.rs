//! The web console in a real headless Chromium (`tests/browser/console.mjs`, on the
//! shared harness in `tests/support/browser.rs`), over the real router and a real
//! SQLite store on 127.0.0.1.
//!
//! A PR user signs in, sees the seeded negative alert with its term marked, resolves it
//! in one click and sees it leave the inbox, acknowledges another with the keyboard,
//! has a form without the CSRF token refused (403), and sees a new alert appear without
//! a reload. A mention whose text holds `<script>` and `<img onerror>` renders as text
//! and runs nothing. A marketing user has no alerts screen (403), selects an excerpt in a
//! review's text, approves it, and sees it in the widget preview and the public feed.
//! Screenshots of each screen go to `target/screenshots/` at the repository root.
//!
//! Without Chromium, Node or `npm ci` this test fails and says what to run; set
//! EARSHOT_SKIP_BROWSER=1 to skip it on purpose.

mod support;

use earshot_api::{create_user, AppState};
use earshot_domain::{AlertRuleSpec, BrandSlug, Password, Role, Threshold, Timestamp, Username};
use std::path::Path;
use std::time::Duration;
use support::browser::{browser, run_script};
use support::{acme, classify, crawl, feed_source, found, scored, TestDb};

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread")]
async fn pr_and_marketing_work_their_queues_in_chromium() {
    let Some((chromium, dir)) = browser() else {
        return;
    };
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let t0 = Timestamp::now().minus(Duration::from_secs(3 * 24 * 3600));
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store.sync_config(&[acme()], &[forum], t0).await.unwrap();
    let rule = AlertRuleSpec::new(
        BrandSlug::parse("acme").unwrap(),
        Threshold::DEFAULT,
        None,
        None,
    )
    .unwrap();
    store.sync_alert_rules(&[rule], t0).await.unwrap();
    let with = |key: &str, title: &str, snippet: &str, at: Timestamp| {
        let mut m = found("acme", key, title, Some(at));
        m.snippet = snippet.to_owned();
        m
    };
    let t1 = t0.plus(Duration::from_secs(24 * 3600));
    crawl(
        store.as_ref(),
        "forum",
        vec![
            with("n1", "NEG-ALERT Acme kettle exploded", "My Acme kettle exploded on day two.", t0),
            with(
                "n2",
                "SCRIPT-MENTION about Acme",
                r#"Acme <script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = 'img'; alert('img')"> is awful"#,
                t1,
            ),
            with("n3", "Acme refund refused", "Acme refused my refund.", t1),
            with(
                "r1",
                "REVIEW-ONE Acme kettle",
                "Acme kettle is wonderful. The handle gets warm though.",
                t1,
            ),
            with("r2", "REVIEW-TWO Acme toaster", "PENDING-TEXT the Acme toaster is fine.", t1),
        ],
        t0,
    )
    .await;
    let neg = |p: f32| scored([p, (1.0 - p) / 2.0, (1.0 - p) / 2.0], None, "en", "m@1");
    let pos = scored([0.02, 0.03, 0.95], None, "en", "m@1");
    classify(
        store.as_ref(),
        vec![neg(0.95), neg(0.85), neg(0.88), pos.clone(), pos],
        t0,
    )
    .await;
    for (name, role) in [
        ("pia", Role::Pr),
        ("mark", Role::Marketing),
        ("ada", Role::Admin),
    ] {
        create_user(
            store.as_ref(),
            &Username::parse(name).unwrap(),
            role,
            &Password::parse_new(PASSWORD).unwrap(),
            Timestamp::now(),
        )
        .await
        .unwrap();
    }
    let base = support::serve_api(AppState::new(store.clone())).await;

    // When the script has the inbox open, a new negative mention arrives.
    let scratch = tempfile::tempdir().unwrap();
    let ready = scratch.path().join("ready");
    let arrival = {
        let (store, ready) = (store.clone(), ready.clone());
        tokio::spawn(async move {
            while !ready.exists() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let now = Timestamp::now();
            let mut m = found("acme", "n4", "LIVE-ALERT Acme burned my hand", Some(now));
            m.snippet = "The Acme kettle burned my hand.".to_owned();
            crawl(store.as_ref(), "forum", vec![m], now).await;
            classify(
                store.as_ref(),
                vec![scored([0.97, 0.02, 0.01], None, "en", "m@1")],
                now,
            )
            .await;
        })
    };

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let seen = run_script(
        &dir,
        "console.mjs",
        &[
            &base,
            PASSWORD,
            shots.to_str().unwrap(),
            ready.to_str().unwrap(),
        ],
        &chromium,
        Duration::from_secs(180),
    )
    .await;
    arrival.await.unwrap();
    let what = serde_json::to_string_pretty(&seen).unwrap();
    let texts = |key: &str| -> Vec<String> {
        seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {what}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let has = |list: &[String], needle: &str| list.iter().any(|t| t.contains(needle));

    assert_eq!(seen["unsignedUrl"], "/signin", "{what}");
    assert_eq!(seen["afterSignIn"], "/", "{what}");
    assert_eq!(seen["overviewHasChart"], true, "{what}");

    // The PR inbox: most severe first, the term marked, markup as text.
    let pr = texts("prTitles");
    assert_eq!(pr.len(), 3, "{what}");
    assert!(
        pr[0].contains("NEG-ALERT"),
        "high severity, listed first: {what}"
    );
    assert!(
        pr[2].contains("SCRIPT-MENTION"),
        "medium severity, last: {what}"
    );
    assert_eq!(seen["markedTerm"], "Acme", "{what}");
    let snippet = seen["scriptSnippet"].as_str().unwrap();
    assert!(
        snippet.contains(r#"<script>window.__pwned = "script"</script>"#)
            && snippet.contains("<img src=x"),
        "shown as text: {what}"
    );
    assert_eq!(
        seen["pwned"],
        serde_json::Value::Null,
        "no script from a mention ran: {what}"
    );
    assert_eq!(seen["imgsInMain"], 0, "{what}");

    let after = texts("afterResolve");
    assert_eq!(after.len(), 2, "{what}");
    assert!(
        !has(&after, "NEG-ALERT"),
        "the resolved alert left the inbox: {what}"
    );
    assert_eq!(seen["keyboardAcknowledged"], 1, "{what}");
    assert_eq!(seen["noCsrfStatus"], 403, "{what}");
    assert!(
        seen["noCsrfText"]
            .as_str()
            .unwrap()
            .contains("Form refused"),
        "{what}"
    );
    assert_eq!(
        texts("afterRefused").len(),
        1,
        "nothing was dismissed: {what}"
    );
    assert_eq!(
        seen["liveAlert"], true,
        "the new alert appeared without a reload: {what}"
    );
    assert!(
        seen["liveNotice"].as_str().unwrap().contains("new alert"),
        "{what}"
    );

    // Marketing.
    let nav = texts("marketingNav");
    assert!(!has(&nav, "Alerts") && has(&nav, "Reviews"), "{what}");
    assert_eq!(seen["marketingAlertsStatus"], 403, "{what}");
    assert!(
        seen["marketingAlertsText"]
            .as_str()
            .unwrap()
            .contains("may not"),
        "{what}"
    );
    assert!(
        !seen["previewBefore"]
            .as_str()
            .unwrap()
            .contains("wonderful"),
        "{what}"
    );
    assert_eq!(seen["excerptValue"], "Acme kettle is wonderful.", "{what}");
    assert_eq!(seen["previewState"], "ready", "{what}");
    let preview = seen["previewAfter"].as_str().unwrap();
    assert!(preview.contains("Acme kettle is wonderful."), "{what}");
    assert!(
        !preview.contains("handle gets warm"),
        "the excerpt only: {what}"
    );
    assert!(!preview.contains("PENDING-TEXT"), "{what}");
    let pending = texts("pendingAfter");
    assert_eq!(pending.len(), 1, "{what}");
    assert!(pending[0].contains("REVIEW-TWO"), "{what}");
    let feed = seen["feed"].as_str().unwrap();
    assert!(
        feed.contains("Acme kettle is wonderful."),
        "in the public feed: {what}"
    );
    assert!(!feed.contains("PENDING-TEXT"), "{what}");

    assert_eq!(seen["adminStatus"], 200, "{what}");
    assert_eq!(seen["errors"], serde_json::json!([]), "{what}");
    assert_eq!(seen["dialogs"], serde_json::json!([]), "{what}");
    assert_eq!(seen["cspViolations"], serde_json::json!([]), "{what}");
    for shot in ["signin", "overview", "alerts", "reviews", "admin"] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    db.cleanup().await;
}
