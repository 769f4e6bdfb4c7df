//! The sentiment worker killed mid-run with SIGKILL: after a restart every mention has
//! exactly one sentiment, and none is lost or doubled. Runs the real binary and the real
//! default model (built by `scripts/build-model.sh`, which `make test` runs first).

mod support;

use earshot_domain::Timestamp;
use earshot_store::MentionQuery;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{acme, feed_source, TestDb};

const MENTIONS: usize = 400;

const PHRASES: &[&str] = &[
    "Acme anvil broke after a week, support never answered.",
    "Дуже задоволена Acme, чудова якість і швидка доставка!",
    "El servicio de Acme es pésimo, no lo recomiendo.",
    "Acme məhsulu çox gözəldir, hamıya tövsiyə edirəm!",
    "Acme opens a new store on Monday at nine.",
    "Ужасное качество Acme, больше никогда не куплю.",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_batch_leaves_every_mention_classified_exactly_once_after_restart() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("earshot.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"{}\"\n\n[sentiment]\nbatch_size = 8\nclaim_size = 8\nlease = \"2s\"\n\n[[brands]]\nslug = \"acme\"\nterms = [\"Acme\"]\n\n[[sources]]\nname = \"forum\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/feed\"\n",
            db.url
        ),
    )
    .unwrap();
    let now = Timestamp::now();
    db.store
        .sync_config(
            &[acme()],
            &[feed_source(
                "forum",
                "http://127.0.0.1:9/feed",
                Duration::from_secs(3600),
            )],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        support::crawl(
            db.store.as_ref(),
            "forum",
            support::numbered(PHRASES, MENTIONS),
            now
        )
        .await,
        MENTIONS as u64
    );
    let model = support::default_model_key();

    let classify = move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_earshot"));
        c.arg("--config")
            .arg(&config)
            .arg("classify")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };

    // First run: killed with SIGKILL as soon as some, not all, mentions are stored.
    let mut first = classify.clone()().spawn().unwrap();
    let start = Instant::now();
    loop {
        let left = db.store.count_unclassified(&model, false).await.unwrap();
        if left < MENTIONS as u64 {
            break;
        }
        if let Some(status) = first.try_wait().unwrap() {
            let out = first.wait_with_output().unwrap();
            panic!(
                "classify exited early ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing was classified in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let left = db.store.count_unclassified(&model, false).await.unwrap();
    assert!(
        left > 0,
        "the run finished before it could be killed; raise MENTIONS"
    );

    // The killed run's last claimed batch is leased for 2 s; the restart takes it over.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let out = tokio::task::spawn_blocking(move || classify().output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("Classified {left} mentions")),
        "the restart did exactly what was left ({left}): {stdout}"
    );

    assert_eq!(db.store.count_unclassified(&model, false).await.unwrap(), 0);
    let all = db
        .store
        .mentions(&MentionQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), MENTIONS);
    assert!(all
        .iter()
        .all(|m| m.sentiment.as_ref().is_some_and(|s| s.model == model)));
    let mut pool = sqlx::SqlitePool::connect(&db.url)
        .await
        .unwrap()
        .acquire()
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sentiments")
        .fetch_one(&mut *pool)
        .await
        .unwrap();
    assert_eq!(
        rows, MENTIONS as i64,
        "one sentiment per mention, none doubled"
    );
    let embeddings: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sentiments WHERE length(embedding) = 384 * 4")
            .fetch_one(&mut *pool)
            .await
            .unwrap();
    assert_eq!(
        embeddings, MENTIONS as i64,
        "each stores its 384-d f32 embedding"
    );
}
