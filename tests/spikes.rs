//! Spike detection's shell through the real binary: `earshot spikes` reads a brand's
//! hourly negative mentions from a real SQLite file, opens one spike alert for a burst,
//! and a second run (another process, as after a restart) opens none.

mod support;

use earshot_domain::{hour_of, AlertKind, AlertSubject, Timestamp, HOUR_MS};
use earshot_store::AlertQuery;
use std::time::Duration;
use support::{acme, classify, crawl, crawl_and_classify, feed_source, found, scored};

const CONFIG: &str = r#"
[database]
url = "sqlite://earshot.db"

[sentiment]
enabled = false

[[brands]]
slug = "acme"
name = "Acme"
terms = ["Acme", "Акме", "acme.com"]
exclude = ["Acme Road Runner"]

[[sources]]
name = "forum"
kind = "feed"
url = "https://forum.test/feed"
every = "1m"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_negative_mentions_opens_one_spike_alert_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("earshot.toml"), CONFIG).unwrap();
    let url = format!("sqlite://{}", dir.path().join("earshot.db").display());
    let store = earshot_store::connect(&url).await.unwrap();
    let now = Timestamp::now();
    let hour = hour_of(now).as_millis();
    let at = Timestamp::from_millis;
    let sources = [feed_source(
        "forum",
        "https://forum.test/feed",
        Duration::from_secs(60),
    )];
    store
        .sync_config(&[acme()], &sources, at(hour - 48 * HOUR_MS))
        .await
        .unwrap();
    let neg = || scored([0.9, 0.05, 0.05], None, "en", "m@1");
    // Two quiet days of history, then six negative mentions in the previous hour.
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![found(
            "acme",
            "first",
            "Acme is fine",
            Some(at(hour - 48 * HOUR_MS)),
        )],
        vec![scored([0.05, 0.05, 0.9], None, "en", "m@1")],
        at(hour - 48 * HOUR_MS),
    )
    .await;
    let burst = (0..6)
        .map(|i| {
            found(
                "acme",
                &format!("b{i}"),
                "Acme broke",
                Some(at(hour - HOUR_MS + i * 60_000)),
            )
        })
        .collect();
    crawl(store.as_ref(), "forum", burst, now).await;
    let ids = classify(store.as_ref(), (0..6).map(|_| neg()).collect(), now).await;

    let out = support::earshot(dir.path(), &["spikes"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("acme had 6 negative mentions in the hour from"),
        "{stdout}"
    );
    assert!(stdout.contains("1 spike alert(s) opened"), "{stdout}");

    let again = support::earshot(dir.path(), &["spikes"]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("0 spike alert(s) opened"),
        "the cooldown is in the database: {stdout}"
    );

    let spikes = store
        .alerts(&AlertQuery {
            limit: 10,
            kind: Some(AlertKind::Spike),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(spikes.len(), 1);
    let AlertSubject::Spike { spike, .. } = &spikes[0].subject else {
        panic!()
    };
    assert_eq!((spike.hour, spike.count), (at(hour - HOUR_MS), 6));
    assert_eq!((spike.mean, spike.stddev, spike.threshold), (0.0, 0.0, 0.0));
    // From the first mention's hour to the hour before (one more if the clock passed
    // the hour between seeding and the run).
    assert!((47..=48).contains(&spike.history_hours), "{spike:?}");
    assert_eq!(spike.mention_ids, ids);
}
