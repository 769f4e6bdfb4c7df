//! Notifications end to end: alerts opened by the real save path queue outbox rows, and
//! the real delivery loop sends them to real receivers on 127.0.0.1 (a signed webhook,
//! a Slack-style hook, receivers that fail or hang, and an SMTP sink), on SQLite and
//! Postgres. Counted at the receivers: nothing is lost, nothing recorded as sent is sent
//! again, and a failing channel never holds up the others.

mod support;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use earshot_api::{issue_key, AppState};
use earshot_domain::{
    AlertRuleSpec, BrandSlug, ChannelName, KeyName, NotificationStatus, RetryPolicy, Role,
    Threshold, Timestamp,
};
use earshot_notify::{Channel, ChannelKind, Notifier, NotifierOptions, Secret, SmtpTarget};
use earshot_store::{NotificationClaim, NotificationQuery, Store};
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{acme, classify, crawl, feed_source, found, scored, ApiClient, TestDb};

const SECRET: &str = "a-webhook-secret-of-some-length";

// ---------------------------------------------------------------------------------------
// Receivers

/// What a receiver does with each request.
#[derive(Clone, Copy)]
enum Behaviour {
    Accept,
    /// Answers 500 to the first `n` requests, then accepts.
    FailFirst(i64),
    AlwaysFail,
    /// Answers only after this long (longer than the sender waits).
    Hang(Duration),
}

/// A local HTTP receiver that records what it accepted.
#[derive(Clone)]
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
}

struct ReceiverState {
    behaviour: Behaviour,
    failures_left: AtomicI64,
    /// Every request, accepted or not.
    hits: AtomicU64,
    accepted: Mutex<Vec<(HeaderMap, Bytes, Instant)>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let failures = match behaviour {
            Behaviour::FailFirst(n) => n,
            _ => 0,
        };
        let state = Arc::new(ReceiverState {
            behaviour,
            failures_left: AtomicI64::new(failures),
            hits: AtomicU64::new(0),
            accepted: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, state }
    }

    fn hits(&self) -> u64 {
        self.state.hits.load(Ordering::SeqCst)
    }

    fn accepted(&self) -> Vec<(HeaderMap, Bytes, Instant)> {
        self.state.accepted.lock().unwrap().clone()
    }

    /// How many times each idempotency key was accepted.
    fn keys(&self) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for (headers, _, _) in self.accepted() {
            let key = headers["idempotency-key"].to_str().unwrap().to_owned();
            *out.entry(key).or_default() += 1;
        }
        out
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.hits.fetch_add(1, Ordering::SeqCst);
    match state.behaviour {
        Behaviour::AlwaysFail => return StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::FailFirst(_) if state.failures_left.fetch_sub(1, Ordering::SeqCst) > 0 => {
            return StatusCode::INTERNAL_SERVER_ERROR
        }
        Behaviour::Hang(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    state
        .accepted
        .lock()
        .unwrap()
        .push((headers, body, Instant::now()));
    StatusCode::NO_CONTENT
}

/// Verifies a webhook body's signature as a receiver would: recompute the HMAC-SHA256
/// of the raw body under the shared secret, and compare in constant time.
fn signature_ok(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sent) = headers
        .get("x-earshot-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
    else {
        return false;
    };
    let Some(sent) = (0..sent.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(sent.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.verify_slice(&sent).is_ok()
}

// ---------------------------------------------------------------------------------------
// Set-up

fn name(n: &str) -> ChannelName {
    ChannelName::parse(n).unwrap()
}

fn webhook(n: &str, r: &Receiver) -> Channel {
    Channel {
        name: name(n),
        kind: ChannelKind::Webhook {
            url: r.url.parse().unwrap(),
            secret: Secret::new(SECRET),
        },
        digest: None,
    }
}

fn slack(n: &str, r: &Receiver) -> Channel {
    Channel {
        name: name(n),
        kind: ChannelKind::Slack {
            url: r.url.parse().unwrap(),
        },
        digest: None,
    }
}

/// Acme with a forum, and one rule telling `channels` about every alert.
async fn configure(store: &dyn Store, channels: &[&str]) {
    let t0 = Timestamp::now();
    store
        .sync_config(
            &[acme()],
            &[feed_source(
                "forum",
                "https://forum.test/feed",
                Duration::from_secs(60),
            )],
            t0,
        )
        .await
        .unwrap();
    let rule = AlertRuleSpec::new(
        BrandSlug::parse("acme").unwrap(),
        Threshold::DEFAULT,
        None,
        None,
    )
    .unwrap()
    .with_channels(channels.iter().map(|c| name(c)).collect());
    store.sync_alert_rules(&[rule], t0).await.unwrap();
}

/// Crawls and classifies `n` negative mentions (guids `{tag}0`…), each opening an alert.
async fn open_alerts(store: &dyn Store, tag: &str, n: usize) {
    let now = Timestamp::now();
    let found: Vec<_> = (0..n)
        .map(|i| {
            found(
                "acme",
                &format!("{tag}{i}"),
                &format!("Acme broke {tag}{i}"),
                Some(now),
            )
        })
        .collect();
    crawl(store, "forum", found, now).await;
    let neg = scored([0.95, 0.03, 0.02], None, "en", "m@1");
    classify(store, vec![neg; n], now).await;
}

fn options(worker: &str) -> NotifierOptions {
    NotifierOptions {
        worker: worker.to_owned(),
        tick: Duration::from_millis(50),
        timeout: Duration::from_millis(500),
        concurrency: 4,
        batch: 50,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        },
    }
}

/// A delivery loop running in the background until [`Running::stop`].
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(store: Arc<dyn Store>, channels: Vec<Channel>, options: NotifierOptions) -> Running {
        let notifier = Notifier::new(store, channels, options).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            notifier
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        Running { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the loop stops promptly")
            .unwrap();
    }
}

/// Waits (at most `limit`) until `done` holds.
async fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rows(store: &dyn Store, channel: &str) -> Vec<earshot_domain::Notification> {
    store
        .notifications(&NotificationQuery {
            channel: Some(name(channel)),
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn until_rows(
    store: &dyn Store,
    channel: &str,
    limit: Duration,
    done: impl Fn(&[earshot_domain::Notification]) -> bool,
) -> Vec<earshot_domain::Notification> {
    let start = Instant::now();
    loop {
        let now = rows(store, channel).await;
        if done(&now) {
            return now;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting on channel {channel}: {now:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Tests

async fn webhooks_and_slack_get_one_signed_message_per_alert(db: TestDb) {
    let store = db.store.clone();
    let (hook, chat) = (
        Receiver::start(Behaviour::Accept).await,
        Receiver::start(Behaviour::Accept).await,
    );
    configure(store.as_ref(), &["ops-hook", "pr-slack"]).await;
    open_alerts(store.as_ref(), "w", 3).await;
    let queued = rows(store.as_ref(), "ops-hook").await;
    assert_eq!(
        queued.len(),
        3,
        "one row per alert and channel, in the alert's transaction"
    );
    assert!(queued
        .iter()
        .all(|n| n.status == NotificationStatus::Pending));

    let running = Running::start(
        store.clone(),
        vec![webhook("ops-hook", &hook), slack("pr-slack", &chat)],
        options("w1"),
    );
    until(
        Duration::from_secs(10),
        "3 webhooks and 3 Slack posts",
        || hook.accepted().len() == 3 && chat.accepted().len() == 3,
    )
    .await;
    running.stop().await;

    let mut alert_ids = Vec::new();
    for (headers, body, _) in hook.accepted() {
        assert!(signature_ok(&headers, &body), "the signature verifies");
        let json: Value = serde_json::from_slice(&body).unwrap();
        let key = headers["idempotency-key"].to_str().unwrap();
        assert_eq!(
            json["idempotency_key"], key,
            "the key is in header and body"
        );
        assert_eq!(json["digest"], false);
        let alert = &json["alerts"][0];
        assert_eq!(alert["brand"], "acme");
        assert_eq!(alert["severity"], "high");
        assert!(alert["snippet"]
            .as_str()
            .unwrap()
            .starts_with("Acme broke w"));
        alert_ids.push(alert["id"].as_i64().unwrap());
    }
    alert_ids.sort_unstable();
    alert_ids.dedup();
    assert_eq!(alert_ids.len(), 3, "each alert told once");
    let mut tampered = hook.accepted()[0].clone();
    tampered.1 = Bytes::from(tampered.1.iter().copied().rev().collect::<Vec<u8>>());
    assert!(
        !signature_ok(&tampered.0, &tampered.1),
        "a changed body fails"
    );

    for (headers, body, _) in chat.accepted() {
        let json: Value = serde_json::from_slice(&body).unwrap();
        let text = json["text"].as_str().unwrap();
        assert!(
            text.starts_with("[Earshot] high alert for acme on forum"),
            "{text}"
        );
        assert!(text.contains("https://forum.test/w"), "{text}");
        assert!(headers.contains_key("idempotency-key"));
    }
    for channel in ["ops-hook", "pr-slack"] {
        let done = rows(store.as_ref(), channel).await;
        assert!(done.iter().all(|n| n.status == NotificationStatus::Sent
            && n.attempts == 1
            && n.sent_at.is_some()));
    }

    // The API shows it to the PR team, filtered, and not to marketing.
    let (_, pr) = issue_key(
        store.as_ref(),
        &KeyName::parse("pr").unwrap(),
        Role::Pr,
        Timestamp::now(),
    )
    .await
    .unwrap();
    let (_, mk) = issue_key(
        store.as_ref(),
        &KeyName::parse("mk").unwrap(),
        Role::Marketing,
        Timestamp::now(),
    )
    .await
    .unwrap();
    let base = support::serve_api(
        AppState::new(store.clone()).with_channels(vec![name("ops-hook"), name("pr-slack")]),
    )
    .await;
    let api = ApiClient::new(&base, pr.expose());
    let (status, page) = api
        .get("/api/v1/notifications?status=sent&channel=pr-slack&limit=2")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["channel"], "pr-slack");
    assert_eq!(page["items"][0]["status"], "sent");
    assert!(page["next_cursor"].is_string());
    let (status, page) = api.get("/api/v1/notifications?status=failed").await;
    assert_eq!(
        (status.as_u16(), page["items"].as_array().unwrap().len()),
        (200, 0)
    );
    let (status, _) = api.get("/api/v1/notifications?status=lost").await;
    assert_eq!(status, 400);
    let (status, _) = api.with_key(mk.expose()).get("/api/v1/notifications").await;
    assert_eq!(status, 403);

    // Rules made through the API name configured channels only.
    let (_, admin) = issue_key(
        store.as_ref(),
        &KeyName::parse("admin").unwrap(),
        Role::Admin,
        Timestamp::now(),
    )
    .await
    .unwrap();
    let admin = api.with_key(admin.expose());
    let rule = |channels: Value| serde_json::json!({"brand": "acme", "channels": channels});
    let (status, body) = admin
        .post("/api/v1/alert-rules", rule(serde_json::json!(["pr-sms"])))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("channel pr-sms is not defined"));
    let (status, made) = admin
        .post(
            "/api/v1/alert-rules",
            rule(serde_json::json!(["pr-slack", "pr-slack"])),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["channels"], serde_json::json!(["pr-slack"]));
    let (status, changed) = admin
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/alert-rules/{}", made["id"]),
            Some(serde_json::json!({"channels": []})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["channels"], serde_json::json!([]));
    db.cleanup().await;
}

#[tokio::test]
async fn webhooks_and_slack_get_one_signed_message_per_alert_on_sqlite() {
    webhooks_and_slack_get_one_signed_message_per_alert(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn webhooks_and_slack_get_one_signed_message_per_alert_on_postgres() {
    webhooks_and_slack_get_one_signed_message_per_alert(TestDb::postgres().await).await;
}

async fn failing_channels_back_off_and_give_up_without_delaying_the_others(db: TestDb) {
    let store = db.store.clone();
    let good = Receiver::start(Behaviour::Accept).await;
    let flaky = Receiver::start(Behaviour::FailFirst(2)).await;
    let broken = Receiver::start(Behaviour::AlwaysFail).await;
    let hanging = Receiver::start(Behaviour::Hang(Duration::from_secs(60))).await;
    configure(store.as_ref(), &["good", "flaky", "broken", "hanging"]).await;
    let mut opts = options("w1");
    opts.timeout = Duration::from_secs(2);
    let running = Running::start(
        store.clone(),
        vec![
            webhook("broken", &broken),
            webhook("hanging", &hanging),
            webhook("flaky", &flaky),
            webhook("good", &good),
        ],
        opts,
    );
    let opened = Instant::now();
    open_alerts(store.as_ref(), "f", 1).await;

    // The good channel hears at once, whatever the others do.
    until(Duration::from_secs(5), "the good channel", || {
        good.accepted().len() == 1
    })
    .await;
    let delay = good.accepted()[0].2.duration_since(opened);
    assert!(
        delay < Duration::from_millis(1500),
        "the good channel waited {delay:?}, less than one send timeout (2 s)"
    );

    // The flaky one fails twice, backs off, and gets it on the third attempt.
    let flaky_rows = until_rows(store.as_ref(), "flaky", Duration::from_secs(10), |r| {
        r.iter().all(|n| n.status == NotificationStatus::Sent)
    })
    .await;
    assert_eq!(flaky_rows[0].attempts, 3);
    assert_eq!((flaky.hits(), flaky.accepted().len()), (3, 1));

    // The broken and hanging ones are given up on after three attempts, with the reason.
    for (channel, reason) in [("broken", "HTTP 500"), ("hanging", "no answer within")] {
        let given_up = until_rows(store.as_ref(), channel, Duration::from_secs(20), |r| {
            r.iter().all(|n| n.status == NotificationStatus::Failed)
        })
        .await;
        assert_eq!(given_up[0].attempts, 3, "{channel}");
        let error = given_up[0].last_error.as_deref().unwrap_or("");
        assert!(error.contains(reason), "{channel}: {error}");
    }
    assert_eq!(broken.hits(), 3, "exactly max_attempts tries");
    assert_eq!(good.accepted().len(), 1, "and the good one got it once");
    running.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn failing_channels_back_off_and_give_up_without_delaying_the_others_on_sqlite() {
    failing_channels_back_off_and_give_up_without_delaying_the_others(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn failing_channels_back_off_and_give_up_without_delaying_the_others_on_postgres() {
    failing_channels_back_off_and_give_up_without_delaying_the_others(TestDb::postgres().await)
        .await;
}

async fn a_restart_neither_loses_nor_repeats_a_notification(db: TestDb) {
    let store = db.store.clone();
    let hook = Receiver::start(Behaviour::Accept).await;
    configure(store.as_ref(), &["ops-hook"]).await;
    let channels = || vec![webhook("ops-hook", &hook)];

    open_alerts(store.as_ref(), "r", 3).await;
    let first = Running::start(store.clone(), channels(), options("first"));
    until(Duration::from_secs(10), "the first three", || {
        hook.accepted().len() == 3
    })
    .await;
    first.stop().await;

    // While nothing runs, two more alerts open, and a worker that claims a third batch
    // dies mid-send (its lease is left to run out).
    open_alerts(store.as_ref(), "s", 2).await;
    open_alerts(store.as_ref(), "t", 1).await;
    let dead = store
        .claim_notifications(&NotificationClaim {
            worker: "dead",
            channel: &name("ops-hook"),
            now: Timestamp::now(),
            lease: Duration::from_millis(300),
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "the oldest unsent row");

    let second = Running::start(store.clone(), channels(), options("second"));
    until(Duration::from_secs(10), "the other three", || {
        hook.accepted().len() == 6
    })
    .await;
    // Give the new loop time to (wrongly) send anything again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.stop().await;

    let keys = hook.keys();
    assert_eq!(keys.len(), 6, "every alert told: {keys:?}");
    assert!(keys.values().all(|n| *n == 1), "none told twice: {keys:?}");
    let done = rows(store.as_ref(), "ops-hook").await;
    assert!(done.iter().all(|n| n.status == NotificationStatus::Sent));
    // The dead worker's late report is not recorded: the row is not its any more.
    let late = store
        .record_delivery(
            "dead",
            &[dead[0].id],
            &earshot_store::Delivery::Sent,
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(late, 0);
    db.cleanup().await;
}

#[tokio::test]
async fn a_restart_neither_loses_nor_repeats_a_notification_on_sqlite() {
    a_restart_neither_loses_nor_repeats_a_notification(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_restart_neither_loses_nor_repeats_a_notification_on_postgres() {
    a_restart_neither_loses_nor_repeats_a_notification(TestDb::postgres().await).await;
}

#[tokio::test]
async fn two_workers_on_one_postgres_send_each_notification_once() {
    let db = TestDb::postgres().await;
    let store = db.store.clone();
    let hook = Receiver::start(Behaviour::Accept).await;
    configure(store.as_ref(), &["ops-hook"]).await;
    open_alerts(store.as_ref(), "p", 40).await;
    let mut a = options("a");
    a.batch = 5;
    let mut b = options("b");
    b.batch = 5;
    let one = Running::start(store.clone(), vec![webhook("ops-hook", &hook)], a);
    let two = Running::start(store.clone(), vec![webhook("ops-hook", &hook)], b);
    until(Duration::from_secs(20), "40 notifications", || {
        hook.accepted().len() >= 40
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    one.stop().await;
    two.stop().await;
    let keys = hook.keys();
    assert_eq!(keys.len(), 40);
    assert!(keys.values().all(|n| *n == 1), "none sent twice: {keys:?}");
    db.cleanup().await;
}

#[tokio::test]
async fn a_digest_channel_sends_at_most_one_message_per_window() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let hook = Receiver::start(Behaviour::Accept).await;
    configure(store.as_ref(), &["daily"]).await;
    let window = Duration::from_millis(1500);
    let mut channel = webhook("daily", &hook);
    channel.digest = Some(window);

    open_alerts(store.as_ref(), "d", 3).await;
    let running = Running::start(store.clone(), vec![channel], options("w"));
    until(Duration::from_secs(5), "the first digest", || {
        hook.accepted().len() == 1
    })
    .await;
    let first: Value = serde_json::from_slice(&hook.accepted()[0].1).unwrap();
    assert_eq!(first["digest"], true);
    assert_eq!(
        first["alerts"].as_array().unwrap().len(),
        3,
        "three alerts, one message"
    );
    let sent_at = hook.accepted()[0].2;

    open_alerts(store.as_ref(), "e", 2).await;
    until(Duration::from_secs(5), "the second digest", || {
        hook.accepted().len() == 2
    })
    .await;
    let second: Value = serde_json::from_slice(&hook.accepted()[1].1).unwrap();
    assert_eq!(second["alerts"].as_array().unwrap().len(), 2);
    let gap = hook.accepted()[1].2.duration_since(sent_at);
    assert!(
        gap >= window - Duration::from_millis(50),
        "the window held: {gap:?}"
    );
    running.stop().await;
    assert!(signature_ok(&hook.accepted()[1].0, &hook.accepted()[1].1));
    db.cleanup().await;
}

/// The aiosmtpd sink's Python, installed by `scripts/setup.sh --with-smtp`.
fn smtp_python() -> std::path::PathBuf {
    let venv = std::env::var_os("EARSHOT_SMTP_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/earshot/smtp-venv")
        });
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the SMTP sink (aiosmtpd) is not installed at {}: run `scripts/setup.sh --with-smtp`",
        venv.display()
    );
    python
}

/// Kills the sink when the test ends, however it ends.
struct Sink(std::process::Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn email_goes_out_over_smtp_with_the_key_as_message_id() {
    let python = smtp_python();
    let maildir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _sink = Sink(
        std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd"),
    );
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "aiosmtpd did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    configure(store.as_ref(), &["pr-mail"]).await;
    open_alerts(store.as_ref(), "m", 2).await;
    let channel = Channel {
        name: name("pr-mail"),
        kind: ChannelKind::Email(SmtpTarget {
            host: "127.0.0.1".into(),
            port,
            from: "Earshot <earshot@acme.test>".into(),
            to: vec!["pr@acme.test".into()],
            username: None,
            password: None,
            starttls: false,
        }),
        digest: None,
    };
    let mut opts = options("w");
    opts.timeout = Duration::from_secs(5);
    let running = Running::start(store.clone(), vec![channel], opts);
    let inbox = maildir.path().join("box/new");
    let read = || -> Vec<String> {
        std::fs::read_dir(&inbox)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    until(Duration::from_secs(10), "two emails", || read().len() == 2).await;
    until_rows(store.as_ref(), "pr-mail", Duration::from_secs(5), |r| {
        r.iter().all(|n| n.status == NotificationStatus::Sent)
    })
    .await;
    running.stop().await;
    let mails = read();
    let ids = rows(store.as_ref(), "pr-mail").await;
    for n in &ids {
        let id = format!("Message-ID: <{}@earshot>", n.idempotency_key());
        assert!(mails.iter().any(|m| m.contains(&id)), "{id} in {mails:#?}");
    }
    assert!(mails
        .iter()
        .all(|m| m.contains("Subject: [Earshot] high alert for acme on forum")));
    assert!(mails.iter().all(|m| m.contains("To: pr@acme.test")));
    db.cleanup().await;
}
