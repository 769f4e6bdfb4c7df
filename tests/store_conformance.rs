//! One storage story, run against both backends: SQLite and a real Postgres.

mod support;

use earshot_domain::{
    BrandSlug, MentionId, NewMention, Source, SourceName, SourceState, Timestamp,
};
use earshot_store::{Claim, CrawlRecord, MentionQuery, Store};
use std::time::Duration;
use support::{acme, brand, crawl_and_classify, feed_source, found as mention, scored, TestDb};

/// One story as two tests: on a fresh SQLite database and on a fresh Postgres database.
/// `store:` hands the story the store, `db:` the whole test database.
macro_rules! on_both_backends {
    ($sqlite:ident, $postgres:ident, store: $story:ident) => {
        on_both_backends!(@each $sqlite, sqlite, |db| $story(db.store.as_ref()));
        on_both_backends!(@each $postgres, postgres, |db| $story(db.store.as_ref()));
    };
    ($sqlite:ident, $postgres:ident, db: $story:ident) => {
        on_both_backends!(@each $sqlite, sqlite, |db| $story(&db));
        on_both_backends!(@each $postgres, postgres, |db| $story(&db));
    };
    (@each $name:ident, $backend:ident, |$db:ident| $run:expr) => {
        #[tokio::test]
        async fn $name() {
            let $db = TestDb::$backend().await;
            $run.await;
            $db.cleanup().await;
        }
    };
}

fn record(at: Timestamp, mentions: Vec<NewMention>, state: SourceState) -> CrawlRecord {
    CrawlRecord {
        started_at: at,
        finished_at: at,
        http_status: Some(200),
        bytes: 1234,
        items_seen: mentions.len() as u64,
        error: None,
        mentions,
        state,
        problems: Vec::new(),
        aggregate: None,
        unhealthy_after: None,
    }
}

async fn story(store: &dyn Store) {
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let hour = Duration::from_secs(3600);
    let brands = vec![acme(), brand("globex", "Globex", &["Globex"], &[])];
    let sources = vec![
        feed_source(
            "forum",
            "https://forum.test/feed.xml",
            Duration::from_secs(1800),
        ),
        feed_source("news", "https://news.test/rss", hour),
    ];
    store.ping().await.unwrap();
    store.sync_config(&brands, &sources, t0).await.unwrap();
    // Syncing the same config again is harmless.
    store.sync_config(&brands, &sources, t0).await.unwrap();
    let listed = store.sources().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].source.name.as_str(), "forum");
    assert_eq!(listed[0].source.every, Duration::from_secs(1800));
    assert_eq!(listed[0].state, SourceState::default());

    // Sources never checked are due; a second claimer gets nothing while the lease holds.
    let claim = Claim {
        worker: "w1",
        now: t0,
        lease: Duration::from_secs(300),
        limit: 10,
        due_only: true,
        name: None,
    };
    let claimed = store.claim_sources(&claim).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        claimed.iter().all(|s| s.lease_taken_from.is_none()),
        "free sources are no takeover"
    );
    let again = store
        .claim_sources(&Claim {
            worker: "w2",
            ..claim.clone()
        })
        .await
        .unwrap();
    assert!(again.is_empty(), "leased sources were claimed twice");

    // A crawl stores mentions, state and a run in one go, and releases the lease.
    let forum = claimed
        .iter()
        .find(|s| s.source.name.as_str() == "forum")
        .unwrap();
    let ok_state = SourceState {
        next_check_at: Some(t0.plus(Duration::from_secs(1800))),
        etag: Some("\"v1\"".to_owned()),
        last_modified: Some("Mon, 23 Nov 2026 09:00:00 GMT".to_owned()),
        error_count: 0,
        last_error: None,
        last_success_at: Some(t0),
    };
    let published = Timestamp::parse_rfc3339("2026-11-20T08:00:00Z").unwrap();
    let found = vec![
        mention("acme", "p1", "Acme anvils broke", Some(published)),
        mention("globex", "p1", "Acme and Globex", None),
        mention("acme", "p2", "Акме — чудово", Some(t0)),
    ];
    let new = store
        .record_crawl(forum.id, "w1", &record(t0, found.clone(), ok_state.clone()))
        .await
        .unwrap();
    assert_eq!(new, 3);
    // The same items again store nothing new: the dedup key is unique per source and brand.
    let t1 = t0.plus(hour);
    let new_again = store
        .record_crawl(forum.id, "w1", &record(t1, found, ok_state.clone()))
        .await
        .unwrap();
    assert_eq!(new_again, 0);
    assert_eq!(store.count_mentions().await.unwrap(), 3);

    let forum_now = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == forum.id)
        .unwrap();
    assert_eq!(forum_now.state, ok_state);

    // The lease is gone: a name-specific, not-due claim gets the forum back at once.
    let name = SourceName::parse("forum").unwrap();
    let one = store
        .claim_sources(&Claim {
            worker: "w2",
            now: t1,
            due_only: false,
            name: Some(&name),
            ..claim.clone()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    // ...and, since it is not due before t0 + 30 min, the scheduler's claim skips it.
    let due_early = store
        .claim_sources(&Claim {
            worker: "w3",
            now: t0.plus(Duration::from_secs(60)),
            ..claim.clone()
        })
        .await
        .unwrap();
    assert!(due_early.iter().all(|s| s.source.name.as_str() != "forum"));

    // A lease that expired (its worker died) can be claimed by another worker.
    let later = t1.plus(Duration::from_secs(3600));
    let taken = store
        .claim_sources(&Claim {
            worker: "w4",
            now: later,
            ..claim.clone()
        })
        .await
        .unwrap();
    assert!(taken.iter().any(|s| s.source.name.as_str() == "forum"));
    // Each expired lease is a takeover, and the claim says from whom.
    let from: Vec<(&str, Option<&str>)> = taken
        .iter()
        .map(|s| (s.source.name.as_str(), s.lease_taken_from.as_deref()))
        .collect();
    assert!(from.contains(&("forum", Some("w2"))), "{from:?}");
    assert!(from.iter().all(|(_, w)| w.is_some()), "{from:?}");
    // A stopping worker gives its leases back: they are free at once, no takeover.
    assert_eq!(
        store.release_leases("w4").await.unwrap(),
        taken.len() as u64
    );
    let retaken = store
        .claim_sources(&Claim {
            worker: "w4",
            now: later,
            ..claim.clone()
        })
        .await
        .unwrap();
    assert_eq!(retaken.len(), taken.len());
    assert!(retaken.iter().all(|s| s.lease_taken_from.is_none()));

    // A failed crawl records its error and keeps earlier mentions.
    let failed = SourceState {
        error_count: 1,
        last_error: Some("HTTP 500 Internal Server Error".to_owned()),
        next_check_at: Some(later.plus(hour)),
        ..ok_state.clone()
    };
    let mut rec = record(later, vec![], failed.clone());
    rec.http_status = Some(500);
    rec.error = failed.last_error.clone();
    store.record_crawl(forum.id, "w4", &rec).await.unwrap();
    let runs = store.crawl_runs(10).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].http_status, Some(500));
    assert_eq!(
        runs[0].error.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
    assert_eq!(runs[2].new_mentions, 3);
    assert_eq!(store.count_mentions().await.unwrap(), 3);

    // Listing: newest first, by brand, since, with a cursor.
    let all = store
        .mentions(&MentionQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].id > all[1].id && all[1].id > all[2].id);
    assert_eq!(all[0].source.as_str(), "forum");
    let acme_only = store
        .mentions(&MentionQuery {
            brand: Some(BrandSlug::parse("acme").unwrap()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(acme_only.len(), 2);
    assert!(acme_only.iter().all(|m| m.brand.as_str() == "acme"));
    let recent = store
        .mentions(&MentionQuery {
            since: Some(Timestamp::parse_rfc3339("2026-11-22").unwrap()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    // The 2026-11-20 post is older; the undated one counts from its discovery (t0).
    assert_eq!(recent.len(), 2);
    let page1 = store
        .mentions(&MentionQuery {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let page2 = store
        .mentions(&MentionQuery {
            limit: 2,
            before: Some(page1[1].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page2.len(), 1);
    assert!(page2[0].id < page1[1].id);
    assert_eq!(page2[0].id, MentionId(all[2].id.0));
    assert_eq!(page2[0].title, "Acme anvils broke");
    assert_eq!(page2[0].published_at, Some(published));

    // A source removed from config is retired, and its mentions stay.
    store
        .sync_config(&brands, &sources[1..], later)
        .await
        .unwrap();
    let remaining = store.sources().await.unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].source.name.as_str(), "news");
    assert_eq!(store.count_mentions().await.unwrap(), 3);
    // A changed URL forgets validators of the old one.
    let mut moved = sources.clone();
    moved[0] = feed_source("forum", "https://forum.test/new-feed.xml", hour);
    store.sync_config(&brands, &moved, later).await.unwrap();
    let forum_back = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.name.as_str() == "forum")
        .unwrap();
    assert_eq!(forum_back.state.etag, None);
    assert_eq!(
        forum_back.state.error_count, 1,
        "error history stays with the source"
    );
}

on_both_backends!(the_storage_story_holds_on_sqlite, the_storage_story_holds_on_postgres, store: story);

#[tokio::test]
async fn concurrent_claimers_on_postgres_never_share_a_source() {
    let db = TestDb::postgres().await;
    let now = Timestamp::now();
    let sources: Vec<_> = (0..40)
        .map(|i| {
            feed_source(
                &format!("s{i}"),
                &format!("https://h{i}.test/feed"),
                Duration::from_secs(60),
            )
        })
        .collect();
    db.store
        .sync_config(&[acme()], &sources, now)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_sources(&Claim {
                        worker: &worker,
                        now,
                        lease: Duration::from_secs(600),
                        limit: 3,
                        due_only: true,
                        name: None,
                    })
                    .await
                    .unwrap();
                if got.is_empty() {
                    break mine;
                }
                mine.extend(got.into_iter().map(|s| s.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(n, 40, "every source claimed exactly once");
    assert_eq!(all.len(), 40);
    db.cleanup().await;
}

fn sentiment(label: earshot_domain::Label, model: &str) -> earshot_domain::Sentiment {
    let mut p = [0.1f32, 0.1, 0.1];
    p[earshot_domain::Label::ALL
        .iter()
        .position(|l| *l == label)
        .unwrap()] = 0.8;
    earshot_domain::Sentiment {
        label,
        model_label: label,
        probabilities: p,
        score: p[2] - p[0],
        language: Some("uk".to_owned()),
        model: model.to_owned(),
        embedding: vec![0.5; 384],
        // Below both heads' thresholds, so alerts and reviews are as without signals.
        signals: earshot_domain::Signals {
            hate: Some(earshot_domain::Signal {
                probability: 0.25,
                flagged: false,
            }),
            mixed: None,
        },
    }
}

async fn sentiment_story(store: &dyn Store) {
    use earshot_domain::Label;
    use earshot_store::ClassifyClaim;
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let src = feed_source(
        "forum",
        "https://forum.test/feed.xml",
        Duration::from_secs(60),
    );
    store.sync_config(&[acme()], &[src], t0).await.unwrap();
    let forum = store.sources().await.unwrap().remove(0);
    let found = (1..=3)
        .map(|i| mention("acme", &format!("p{i}"), &format!("post {i}"), None))
        .collect();
    store
        .record_crawl(forum.id, "w", &record(t0, found, SourceState::default()))
        .await
        .unwrap();
    assert_eq!(store.count_unclassified("m@1", false).await.unwrap(), 3);

    let claim = ClassifyClaim {
        worker: "c1",
        now: t0,
        lease: Duration::from_secs(60),
        limit: 2,
        model: "m@1",
        reclassify: false,
        since: None,
    };
    let first = store.claim_unclassified(&claim).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first[0].id < first[1].id, "oldest first");
    assert_eq!(first[0].title, "post 1");
    let second = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c2",
            ..claim.clone()
        })
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "leased mentions are not handed out twice");
    assert!(store
        .claim_unclassified(&ClassifyClaim {
            worker: "c3",
            ..claim.clone()
        })
        .await
        .unwrap()
        .is_empty());

    // Only the lease holder's results are stored.
    let c1_results: Vec<_> = first
        .iter()
        .map(|j| (j.id, sentiment(Label::Negative, "m@1")))
        .collect();
    assert_eq!(
        store.save_sentiments("c2", &c1_results, t0).await.unwrap(),
        0
    );
    assert_eq!(
        store.save_sentiments("c1", &c1_results, t0).await.unwrap(),
        2
    );
    assert_eq!(store.count_unclassified("m@1", false).await.unwrap(), 1);

    // c2 died: after its lease expires, c3 takes the mention over and c2's late write is refused.
    let later = t0.plus(Duration::from_secs(120));
    let taken = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c3",
            now: later,
            ..claim.clone()
        })
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, second[0].id);
    assert_eq!(taken[0].taken_over_from.as_deref(), Some("c2"));
    let late = [(second[0].id, sentiment(Label::Negative, "m@1"))];
    assert_eq!(store.save_sentiments("c2", &late, later).await.unwrap(), 0);
    let c3 = [(taken[0].id, sentiment(Label::Positive, "m@1"))];
    assert_eq!(store.save_sentiments("c3", &c3, later).await.unwrap(), 1);
    assert_eq!(store.count_unclassified("m@1", false).await.unwrap(), 0);

    let q = |label| MentionQuery {
        label,
        limit: 10,
        ..Default::default()
    };
    let negative = store.mentions(&q(Some(Label::Negative))).await.unwrap();
    assert_eq!(negative.len(), 2);
    let s = negative[0].sentiment.as_ref().unwrap();
    assert_eq!(
        (s.label, s.language.as_deref(), s.model.as_str()),
        (Label::Negative, Some("uk"), "m@1")
    );
    assert!((s.probabilities[0] - 0.8).abs() < 1e-6 && (s.score + 0.7).abs() < 1e-6);
    assert_eq!(
        (
            s.signals.hate.map(|h| (h.probability, h.flagged)),
            s.signals.mixed
        ),
        (Some((0.25, false)), None),
        "the auxiliary heads' verdicts are stored and read back"
    );
    assert_eq!(
        store
            .mentions(&q(Some(Label::Positive)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .mentions(&q(Some(Label::Neutral)))
        .await
        .unwrap()
        .is_empty());

    // A new model re-classifies everything; the old results stay visible until replaced,
    // and each mention keeps exactly one current sentiment.
    assert_eq!(store.count_unclassified("m@2", true).await.unwrap(), 3);
    assert_eq!(store.count_unclassified("m@2", false).await.unwrap(), 0);
    let again = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c4",
            now: later,
            limit: 10,
            model: "m@2",
            reclassify: true,
            ..claim.clone()
        })
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    let all = store.mentions(&q(None)).await.unwrap();
    assert!(all
        .iter()
        .all(|m| m.sentiment.as_ref().unwrap().model == "m@1"));
    let redone: Vec<_> = again
        .iter()
        .map(|j| (j.id, sentiment(Label::Neutral, "m@2")))
        .collect();
    assert_eq!(
        store.save_sentiments("c4", &redone, later).await.unwrap(),
        3
    );
    let all = store.mentions(&q(None)).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|m| m.sentiment.as_ref().unwrap().model == "m@2"));
    assert_eq!(
        store
            .mentions(&q(Some(Label::Neutral)))
            .await
            .unwrap()
            .len(),
        3
    );
}

on_both_backends!(the_sentiment_story_holds_on_sqlite, the_sentiment_story_holds_on_postgres, store: sentiment_story);

fn new_key<'a>(
    name: &'a earshot_domain::KeyName,
    hash: &'a earshot_domain::KeyHash,
) -> earshot_store::NewApiKey<'a> {
    earshot_store::NewApiKey {
        name,
        role: earshot_domain::Role::Pr,
        hash,
    }
}

async fn keys_story(store: &dyn Store) {
    use earshot_domain::{ApiKeyId, ApiSecret, KeyName, Role};
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let (pr, ops) = (
        ApiSecret::from_random([7; 32]),
        ApiSecret::from_random([8; 32]),
    );
    let pr_name = KeyName::parse("PR desk").unwrap();
    let ops_name = KeyName::parse("ops").unwrap();
    let created = store
        .create_api_key(&new_key(&pr_name, &pr.hash()), t0)
        .await
        .unwrap();
    assert_eq!(
        (created.name.as_str(), created.role, created.created_at),
        ("PR desk", Role::Pr, t0)
    );
    assert_eq!((created.last_used_at, created.revoked_at), (None, None));
    let admin = store
        .create_api_key(
            &earshot_store::NewApiKey {
                role: Role::Admin,
                ..new_key(&ops_name, &ops.hash())
            },
            t0,
        )
        .await
        .unwrap();
    let listed = store.api_keys().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!((listed[0].id, listed[1].id), (created.id, admin.id));
    assert_eq!(listed[1].role, Role::Admin);

    // Authenticating finds the key by its hash and notes when it was used, at most
    // once a minute.
    let used = store.authenticate(&pr.hash(), t0).await.unwrap().unwrap();
    assert_eq!((used.id, used.last_used_at), (created.id, Some(t0)));
    let soon = t0.plus(Duration::from_secs(30));
    store.authenticate(&pr.hash(), soon).await.unwrap().unwrap();
    assert_eq!(store.api_keys().await.unwrap()[0].last_used_at, Some(t0));
    let later = t0.plus(Duration::from_secs(90));
    store
        .authenticate(&pr.hash(), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.api_keys().await.unwrap()[0].last_used_at, Some(later));
    let stranger = ApiSecret::from_random([9; 32]);
    assert!(store
        .authenticate(&stranger.hash(), t0)
        .await
        .unwrap()
        .is_none());

    // Revoking keeps the key (and the first revocation time); it still authenticates
    // as revoked, so the API can say so, and its last use stops moving.
    let revoked = store
        .revoke_api_key(created.id, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(later));
    let again = store
        .revoke_api_key(created.id, later.plus(Duration::from_secs(600)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.revoked_at, Some(later));
    let much_later = later.plus(Duration::from_secs(3600));
    let seen = store
        .authenticate(&pr.hash(), much_later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (seen.revoked_at, seen.last_used_at),
        (Some(later), Some(later))
    );
    assert!(store
        .revoke_api_key(ApiKeyId(9999), later)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.api_keys().await.unwrap()[1].revoked_at,
        None,
        "other keys stay live"
    );
}

on_both_backends!(the_keys_story_holds_on_sqlite, the_keys_story_holds_on_postgres, store: keys_story);

fn rule(
    brand: &str,
    threshold: f64,
    sources: Option<&[&str]>,
    languages: Option<&[&str]>,
) -> earshot_domain::AlertRuleSpec {
    use earshot_domain::{AlertRuleSpec, LanguageCode, Threshold};
    AlertRuleSpec::new(
        BrandSlug::parse(brand).unwrap(),
        Threshold::new(threshold).unwrap(),
        sources.map(|s| s.iter().map(|n| SourceName::parse(n).unwrap()).collect()),
        languages.map(|l| l.iter().map(|c| LanguageCode::parse(c).unwrap()).collect()),
    )
    .unwrap()
}

async fn alert_rules_story(store: &dyn Store) {
    use earshot_domain::{AlertRuleId, Origin};
    use earshot_store::{RuleChange, StoreError};
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let t1 = t0.plus(Duration::from_secs(60));
    let brands = vec![acme(), brand("globex", "Globex", &["Globex"], &[])];
    let sources = vec![
        feed_source(
            "forum",
            "https://forum.test/feed.xml",
            Duration::from_secs(60),
        ),
        feed_source("news", "https://news.test/rss", Duration::from_secs(60)),
    ];
    store.sync_config(&brands, &sources, t0).await.unwrap();
    let config = vec![
        rule("acme", 0.7, None, None),
        rule("acme", 0.5, Some(&["news"]), Some(&["uk"])),
    ];
    store.sync_alert_rules(&config, t0).await.unwrap();
    let first = store.alert_rules().await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[1].spec, config[1]);
    assert!(first.iter().all(|r| r.origin == Origin::Config));

    // An unchanged config keeps its rules' ids; a changed rule is a new rule, and the
    // old one is retired.
    store.sync_alert_rules(&config, t1).await.unwrap();
    let ids = |rules: &[earshot_domain::AlertRule]| rules.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&store.alert_rules().await.unwrap()), ids(&first));
    let changed = vec![
        config[0].clone(),
        rule("acme", 0.6, Some(&["news"]), Some(&["uk"])),
    ];
    store.sync_alert_rules(&changed, t1).await.unwrap();
    let now_rules = store.alert_rules().await.unwrap();
    assert_eq!(now_rules[0].id, first[0].id);
    assert_ne!(now_rules[1].id, first[1].id);
    assert_eq!(now_rules[1].spec.threshold.value(), 0.6);
    assert!(store.alert_rule(first[1].id).await.unwrap().is_none());

    // Rules made through the API: brand and sources must exist.
    let made = store
        .create_alert_rule(&rule("globex", 0.9, Some(&["forum"]), None), t1)
        .await
        .unwrap();
    assert_eq!((made.origin, made.created_at), (Origin::Api, t1));
    assert_eq!(store.alert_rules().await.unwrap().len(), 3);
    assert!(matches!(
        store.create_alert_rule(&rule("initech", 0.9, None, None), t1).await,
        Err(StoreError::UnknownBrand(b)) if b == "initech"
    ));
    assert!(matches!(
        store.create_alert_rule(&rule("acme", 0.9, Some(&["blog"]), None), t1).await,
        Err(StoreError::UnknownSource(s)) if s == "blog"
    ));

    // API rules change through the API; config rules do not.
    let t2 = t1.plus(Duration::from_secs(60));
    let RuleChange::Done(updated) = store
        .update_alert_rule(made.id, &rule("globex", 0.8, None, Some(&["en"])), t2)
        .await
        .unwrap()
    else {
        panic!("API rule not updated")
    };
    assert_eq!(updated.spec, rule("globex", 0.8, None, Some(&["en"])));
    assert_eq!((updated.created_at, updated.updated_at), (t1, t2));
    assert_eq!(
        store
            .update_alert_rule(now_rules[0].id, &rule("acme", 0.1, None, None), t2)
            .await
            .unwrap(),
        RuleChange::FromConfig
    );
    assert_eq!(
        store
            .update_alert_rule(AlertRuleId(9999), &rule("acme", 0.1, None, None), t2)
            .await
            .unwrap(),
        RuleChange::NotFound
    );
    assert!(matches!(
        store
            .update_alert_rule(made.id, &rule("initech", 0.9, None, None), t2)
            .await,
        Err(StoreError::UnknownBrand(_))
    ));
    assert_eq!(
        store.retire_alert_rule(now_rules[0].id, t2).await.unwrap(),
        RuleChange::FromConfig
    );
    assert!(matches!(
        store.retire_alert_rule(made.id, t2).await.unwrap(),
        RuleChange::Done(r) if r.id == made.id
    ));
    assert_eq!(
        store.retire_alert_rule(made.id, t2).await.unwrap(),
        RuleChange::NotFound
    );
    assert!(store.alert_rule(made.id).await.unwrap().is_none());

    // A config sync leaves API rules alone.
    let kept = store
        .create_alert_rule(&rule("globex", 0.95, None, None), t2)
        .await
        .unwrap();
    store.sync_alert_rules(&[], t2).await.unwrap();
    assert_eq!(ids(&store.alert_rules().await.unwrap()), vec![kept.id]);
}

on_both_backends!(the_alert_rules_story_holds_on_sqlite, the_alert_rules_story_holds_on_postgres, store: alert_rules_story);

async fn alerts_story(store: &dyn Store) {
    use earshot_domain::{
        Actor, AlertAction, AlertId, AlertStatus, Assignee, KeyName, Label, Note, Severity,
        Transition,
    };
    use earshot_store::{AlertChange, AlertEdit, AlertQuery, ClassifyClaim};
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let brands = vec![acme(), brand("globex", "Globex", &["Globex"], &[])];
    let sources = vec![
        feed_source(
            "forum",
            "https://forum.test/feed.xml",
            Duration::from_secs(60),
        ),
        feed_source("news", "https://news.test/rss", Duration::from_secs(60)),
    ];
    store.sync_config(&brands, &sources, t0).await.unwrap();
    store
        .sync_alert_rules(
            &[
                rule("acme", 0.7, None, None),
                rule("acme", 0.5, Some(&["news"]), Some(&["uk"])),
            ],
            t0,
        )
        .await
        .unwrap();
    let rules = store.alert_rules().await.unwrap();

    let m = |b: &str, k: &str| mention(b, k, &format!("{k} title"), Some(t0));
    let neg = |p: f32, lang: &str| scored([p, (1.0 - p) / 2.0, (1.0 - p) / 2.0], None, lang, "m@1");
    let forum = crawl_and_classify(
        store,
        "forum",
        vec![
            m("acme", "f1"),
            m("acme", "f2"),
            m("acme", "f3"),
            m("acme", "f4"),
            m("globex", "f5"),
        ],
        vec![
            neg(0.95, "en"),                            // high, rule 1
            neg(0.65, "en"),                            // below 0.7: none
            scored([0.1, 0.1, 0.8], None, "en", "m@1"), // positive: none
            neg(0.8, "en"),                             // medium, rule 1
            neg(0.99, "en"),                            // globex has no rule
        ],
        t0,
    )
    .await;
    let t1 = t0.plus(Duration::from_secs(60));
    let news = crawl_and_classify(
        store,
        "news",
        vec![m("acme", "n1"), m("acme", "n2"), m("acme", "n3")],
        vec![
            neg(0.6, "uk"), // low, rule 2 (news, uk, 0.5)
            neg(0.6, "en"), // rule 2 wants Ukrainian; rule 1 wants 0.7: none
            // A one-star review the text found only mildly negative: the final label
            // is negative, and P(negative) still decides.
            scored([0.45, 0.3, 0.25], Some(Label::Negative), "uk", "m@1"), // none: 0.45 < 0.5
        ],
        t1,
    )
    .await;

    let all =
        |q: AlertQuery| async move { store.alerts(&AlertQuery { limit: 50, ..q }).await.unwrap() };
    let opened = all(AlertQuery::default()).await;
    assert_eq!(opened.len(), 3, "{opened:#?}");
    // Newest first, each with its mention.
    let mentions: Vec<MentionId> = opened.iter().map(|a| a.mention().unwrap().id).collect();
    assert_eq!(mentions, vec![news[0], forum[3], forum[0]]);
    let high = &opened[2];
    let rule_of = |a: &earshot_domain::Alert| match &a.subject {
        earshot_domain::AlertSubject::Mention { rule_id, .. } => *rule_id,
        other => panic!("not a mention alert: {other:?}"),
    };
    assert_eq!(
        (
            high.status,
            high.severity,
            rule_of(high),
            high.opened_at,
            high.kind()
        ),
        (
            AlertStatus::Open,
            Severity::High,
            rules[0].id,
            t0,
            earshot_domain::AlertKind::Mention
        )
    );
    let m = high.mention().unwrap();
    assert_eq!(m.snippet, "f1 title — snippet");
    assert_eq!(m.author.as_deref(), Some("olena"));
    assert_eq!(m.url.as_deref(), Some("https://forum.test/f1"));
    assert_eq!(m.source.as_str(), "forum");
    assert_eq!(m.published_at, Some(t0));
    let s = m.sentiment.as_ref().unwrap();
    assert_eq!(
        (s.label, s.language.as_deref()),
        (Label::Negative, Some("en"))
    );
    assert!((s.probabilities[0] - 0.95).abs() < 1e-6);
    assert_eq!(
        (opened[1].severity, opened[0].severity),
        (Severity::Medium, Severity::Low)
    );
    assert_eq!(rule_of(&opened[0]), rules[1].id);

    // Filters and the cursor.
    let acme_slug = BrandSlug::parse("acme").unwrap();
    assert_eq!(
        all(AlertQuery {
            severity: Some(Severity::High),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    assert_eq!(
        all(AlertQuery {
            brand: Some(acme_slug.clone()),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert!(all(AlertQuery {
        brand: Some(BrandSlug::parse("globex").unwrap()),
        ..Default::default()
    })
    .await
    .is_empty());
    let page1 = store
        .alerts(&AlertQuery {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let page2 = all(AlertQuery {
        before: Some(page1[1].id),
        ..Default::default()
    })
    .await;
    assert_eq!(page1.len() + page2.len(), 3);
    assert_eq!(page2[0].id, opened[2].id);

    // Re-classifying (a new model, same verdict) opens no second alert.
    let redo = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c2",
            now: t1,
            lease: Duration::from_secs(60),
            limit: 100,
            model: "m@2",
            reclassify: true,
            since: None,
        })
        .await
        .unwrap();
    let again: Vec<_> = redo
        .iter()
        .map(|j| {
            (j.id, {
                let mut s = neg(0.97, "uk");
                s.model = "m@2".into();
                s
            })
        })
        .collect();
    store.save_sentiments("c2", &again, t1).await.unwrap();
    assert_eq!(
        all(AlertQuery::default()).await.len(),
        3 + 4,
        "new matches open, old ones stay single"
    );
    for a in all(AlertQuery::default()).await {
        let (_, history) = store.alert(a.id).await.unwrap().unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|e| e.action == AlertAction::Open)
                .count(),
            1
        );
    }

    // The lifecycle, with who did what.
    let key_name = KeyName::parse("PR desk").unwrap();
    let secret = earshot_domain::ApiSecret::from_random([3; 32]);
    let key = store
        .create_api_key(&new_key(&key_name, &secret.hash()), t0)
        .await
        .unwrap();
    let olena = Actor::key(&key);
    let t2 = t1.plus(Duration::from_secs(60));
    let id = high.id;
    let act = |id: AlertId, t: Transition, note: Option<&'static str>| {
        let olena = olena.clone();
        async move {
            let note = note.map(|n| Note::parse(n).unwrap());
            store
                .transition_alert(id, t, &olena, note.as_ref(), t2)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        act(id, Transition::Acknowledge, Some("on it")).await,
        AlertChange::Done
    );
    assert!(matches!(
        act(id, Transition::Acknowledge, None).await,
        AlertChange::Refused(e) if e.from == AlertStatus::Acknowledged
    ));
    assert_eq!(
        act(id, Transition::Resolve, Some("replied publicly")).await,
        AlertChange::Done
    );
    assert!(matches!(
        act(id, Transition::Dismiss, None).await,
        AlertChange::Refused(e) if e.from == AlertStatus::Resolved && e.to_string().contains("final")
    ));
    assert_eq!(
        act(AlertId(9999), Transition::Resolve, None).await,
        AlertChange::NotFound
    );
    // Open straight to dismissed is allowed.
    assert_eq!(
        act(opened[0].id, Transition::Dismiss, None).await,
        AlertChange::Done
    );
    assert_eq!(
        all(AlertQuery {
            status: Some(AlertStatus::Open),
            ..Default::default()
        })
        .await
        .len(),
        5
    );
    assert_eq!(
        all(AlertQuery {
            status: Some(AlertStatus::Resolved),
            ..Default::default()
        })
        .await[0]
            .id,
        id
    );

    // Assignee and notes; null clears; closed alerts can still be annotated.
    let edit = AlertEdit {
        assignee: Some(Some(Assignee::parse("Olena").unwrap())),
        notes: Some(Some(Note::parse("Customer called back").unwrap())),
    };
    assert_eq!(
        store.edit_alert(id, &edit, &olena, t2).await.unwrap(),
        AlertChange::Done
    );
    let clear = AlertEdit {
        assignee: Some(None),
        notes: None,
    };
    assert_eq!(
        store.edit_alert(id, &clear, &olena, t2).await.unwrap(),
        AlertChange::Done
    );
    assert_eq!(
        store
            .edit_alert(AlertId(9999), &clear, &olena, t2)
            .await
            .unwrap(),
        AlertChange::NotFound
    );
    let (alert, history) = store.alert(id).await.unwrap().unwrap();
    assert_eq!(
        (alert.status, alert.updated_at),
        (AlertStatus::Resolved, t2)
    );
    assert_eq!(
        (alert.assignee, alert.notes.as_deref()),
        (None, Some("Customer called back"))
    );
    let actions: Vec<_> = history.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AlertAction::Open,
            AlertAction::Acknowledge,
            AlertAction::Resolve,
            AlertAction::Assign,
            AlertAction::Note,
            AlertAction::Assign
        ]
    );
    assert_eq!(history[0].by, Actor::earshot());
    assert!(
        history[0].note.as_deref().unwrap().contains("0.95"),
        "{:?}",
        history[0].note
    );
    assert_eq!(history[1].by, olena);
    assert_eq!(
        (history[1].from, history[1].to, history[1].note.as_deref()),
        (
            Some(AlertStatus::Open),
            Some(AlertStatus::Acknowledged),
            Some("on it")
        )
    );
    assert_eq!(history[2].from, Some(AlertStatus::Acknowledged));
    assert_eq!(history[3].assignee.as_deref(), Some("Olena"));
    assert_eq!(history[5].assignee, None);
    assert!(store.alert(AlertId(9999)).await.unwrap().is_none());

    // A correction sits beside the model's label, never over it; the latest counts.
    assert!(store
        .correct_sentiment(forum[0], Label::Neutral, &olena, t1)
        .await
        .unwrap());
    assert!(store
        .correct_sentiment(forum[0], Label::Positive, &olena, t2)
        .await
        .unwrap());
    assert!(!store
        .correct_sentiment(MentionId(9999), Label::Positive, &olena, t2)
        .await
        .unwrap());
    let corrected = store.mention(forum[0]).await.unwrap().unwrap();
    let c = corrected.correction.as_ref().unwrap();
    assert_eq!((c.label, &c.by, c.at), (Label::Positive, &olena, t2));
    assert_eq!(corrected.sentiment.as_ref().unwrap().label, Label::Negative);
    let listed = store
        .mentions(&MentionQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().filter(|m| m.correction.is_some()).count(), 1);
    assert!(store.mention(MentionId(9999)).await.unwrap().is_none());
    let (alert, _) = store.alert(id).await.unwrap().unwrap();
    assert_eq!(
        alert.mention().unwrap().correction.as_ref().unwrap().label,
        Label::Positive
    );
}

on_both_backends!(the_alerts_story_holds_on_sqlite, the_alerts_story_holds_on_postgres, store: alerts_story);

#[tokio::test]
async fn concurrent_actions_on_postgres_move_an_alert_once() {
    use earshot_domain::{Actor, Transition};
    let db = TestDb::postgres().await;
    let store = db.store.clone();
    let t0 = Timestamp::now();
    store
        .sync_config(
            &[acme()],
            &[feed_source(
                "forum",
                "https://f.test/",
                Duration::from_secs(60),
            )],
            t0,
        )
        .await
        .unwrap();
    store
        .sync_alert_rules(&[rule("acme", 0.7, None, None)], t0)
        .await
        .unwrap();
    let neg = scored([0.9, 0.05, 0.05], None, "en", "m@1");
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![mention("acme", "x", "x", None)],
        vec![neg],
        t0,
    )
    .await;
    let alert = store
        .alerts(&earshot_store::AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let t = [Transition::Resolve, Transition::Dismiss][i % 2];
        tasks.push(tokio::spawn(async move {
            store
                .transition_alert(alert.id, t, &Actor::earshot(), None, Timestamp::now())
                .await
                .unwrap()
        }));
    }
    let mut done = 0;
    for t in tasks {
        if t.await.unwrap() == earshot_store::AlertChange::Done {
            done += 1;
        }
    }
    assert_eq!(done, 1, "exactly one actor closes the alert");
    let (_, history) = store.alert(alert.id).await.unwrap().unwrap();
    assert_eq!(history.len(), 2, "open, then one close");
    db.cleanup().await;
}

/// Review candidates: which mentions get one, auto-approval by a brand's rule, the
/// list's filters and pages, one review per mention however often it is classified,
/// and the moderation lifecycle with who decided what.
async fn reviews_story(db: &TestDb) {
    use earshot_domain::{
        Actor, ApiSecret, AutoApprove, Excerpt, KeyName, Label, Note, ReviewAction, ReviewId,
        ReviewStatus,
    };
    use earshot_store::{ClassifyClaim, ReviewChange, ReviewDecision, ReviewQuery};
    use support::{classify, crawl, set_rating};
    let store = db.store.as_ref();
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let mut globex = brand("globex", "Globex Corp", &["Globex"], &[]);
    globex.auto_approve = Some(AutoApprove::new(Some(0.75), Some(0.9)).unwrap());
    let sources = vec![feed_source(
        "forum",
        "https://forum.test/feed.xml",
        Duration::from_secs(60),
    )];
    store
        .sync_config(&[acme(), globex.clone()], &sources, t0)
        .await
        .unwrap();

    let m = |b: &str, k: &str| mention(b, k, &format!("{k} title"), Some(t0));
    let p = |pos: f32| {
        let rest = (1.0 - pos) / 2.0;
        [rest, rest, pos]
    };
    crawl(
        store,
        "forum",
        vec![
            m("acme", "a1"),
            m("acme", "a2"),
            m("acme", "a3"),
            m("globex", "g1"),
            m("globex", "g2"),
            m("globex", "g3"),
        ],
        t0,
    )
    .await;
    set_rating(db, "a3", 0.0).await;
    set_rating(db, "g1", 1.0).await;
    set_rating(db, "g3", 1.0).await;
    let ids = classify(
        store,
        vec![
            scored(p(0.9), None, "en", "m@1"), // a1 positive: pending
            scored([0.9, 0.05, 0.05], None, "en", "m@1"), // a2 negative: none
            scored([0.6, 0.3, 0.1], Some(Label::Negative), "en", "m@1"), // a3 rated 1 star: pending
            scored(p(0.95), None, "en", "m@1"), // g1 5 stars, sure: approved
            scored(p(0.95), None, "en", "m@1"), // g2 no rating: pending
            scored(p(0.8), None, "en", "m@1"), // g3 not sure enough: pending
        ],
        t0,
    )
    .await;

    let list = |status: Option<ReviewStatus>, brand: Option<&str>, before: Option<i64>, limit| {
        ReviewQuery {
            status,
            brand: brand.map(|b| BrandSlug::parse(b).unwrap()),
            before: before.map(ReviewId),
            limit,
        }
    };
    let all = store.reviews(&list(None, None, None, 50)).await.unwrap();
    let mention_of: Vec<_> = all.iter().map(|r| r.mention.id).collect();
    assert_eq!(
        mention_of,
        vec![ids[5], ids[4], ids[3], ids[2], ids[0]],
        "newest first, none for the negative unrated mention"
    );
    let g1 = &all[2];
    assert_eq!(g1.status, ReviewStatus::Approved);
    assert_eq!(
        g1.decided_by.as_ref().map(|a| (a.key_id, a.name.as_str())),
        Some((None, "auto-approve rule"))
    );
    assert_eq!(g1.decided_at, Some(t0));
    assert_eq!(g1.mention.rating, Some(1.0));
    assert_eq!(g1.mention.author.as_deref(), Some("olena"));
    assert!(all
        .iter()
        .filter(|r| r.id != g1.id)
        .all(|r| r.status == ReviewStatus::Pending && r.decided_by.is_none()));
    assert_eq!(
        all[3].mention.rating,
        Some(0.0),
        "rated, whatever the label"
    );

    let pending = store
        .reviews(&list(Some(ReviewStatus::Pending), Some("globex"), None, 50))
        .await
        .unwrap();
    assert_eq!(pending.len(), 2);
    let page1 = store.reviews(&list(None, None, None, 2)).await.unwrap();
    let page2 = store
        .reviews(&list(None, None, Some(page1[1].id.0), 2))
        .await
        .unwrap();
    assert_eq!(
        page2[0].id, all[2].id,
        "the next page starts after the cursor"
    );

    // Re-classifying (a newer model) creates no second review.
    let jobs = store
        .claim_unclassified(&ClassifyClaim {
            worker: "c2",
            now: t0,
            lease: Duration::from_secs(60),
            limit: 100,
            model: "m@2",
            reclassify: true,
            since: None,
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 6);
    let again: Vec<_> = jobs
        .iter()
        .map(|j| (j.id, scored(p(0.99), None, "en", "m@2")))
        .collect();
    store.save_sentiments("c2", &again, t0).await.unwrap();
    let after = store.reviews(&list(None, None, None, 50)).await.unwrap();
    assert_eq!(
        after.len(),
        6,
        "a2, now positive, gets its review; the others keep theirs"
    );
    let decided = |rs: &[earshot_domain::Review]| -> Vec<_> {
        rs.iter()
            .map(|r| (r.id, r.status, r.decided_by.clone(), r.decided_at))
            .collect()
    };
    assert_eq!(after[0].mention.id, ids[1]);
    assert_eq!(
        decided(&after[1..]),
        decided(&all),
        "existing reviews are untouched"
    );

    // Moderation, by a marketing key.
    let secret = ApiSecret::from_random([9; 32]);
    let name = KeyName::parse("Marketing").unwrap();
    let key = store
        .create_api_key(
            &earshot_store::NewApiKey {
                name: &name,
                role: earshot_domain::Role::Marketing,
                hash: &secret.hash(),
            },
            t0,
        )
        .await
        .unwrap();
    let by = Actor::key(&key);
    let t1 = t0.plus(Duration::from_secs(60));
    let a1 = all[4].id;
    let excerpt = Excerpt::parse("a1 title", &all[4].mention.snippet).unwrap();
    let approved = match store
        .decide_review(
            a1,
            &ReviewDecision::Approve {
                excerpt: Some(&excerpt),
            },
            &by,
            t1,
        )
        .await
        .unwrap()
    {
        ReviewChange::Done(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!(approved.excerpt.as_deref(), Some("a1 title"));
    assert_eq!(approved.published_text(), "a1 title");
    assert_eq!(
        approved.mention.snippet, all[4].mention.snippet,
        "never edited"
    );
    assert_eq!(approved.decided_by, Some(by.clone()));
    assert_eq!(approved.decided_at, Some(t1));

    let refused =
        |from, action| ReviewChange::Refused(earshot_domain::InvalidReviewAction { from, action });
    let approve = ReviewDecision::Approve { excerpt: None };
    assert_eq!(
        store.decide_review(a1, &approve, &by, t1).await.unwrap(),
        refused(ReviewStatus::Approved, ReviewAction::Approve)
    );
    let reason = Note::parse("The customer asked us not to quote them").unwrap();
    let reject = ReviewDecision::Reject { reason: &reason };
    let withdrawn = match store.decide_review(a1, &reject, &by, t1).await.unwrap() {
        ReviewChange::Done(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(withdrawn.status, ReviewStatus::Rejected);
    assert_eq!(withdrawn.reason.as_deref(), Some(reason.as_str()));
    for decision in [approve, reject] {
        assert_eq!(
            store.decide_review(a1, &decision, &by, t1).await.unwrap(),
            refused(ReviewStatus::Rejected, decision.action()),
            "rejected is final"
        );
    }
    assert_eq!(
        store
            .decide_review(ReviewId(9999), &approve, &by, t1)
            .await
            .unwrap(),
        ReviewChange::NotFound
    );
    assert_eq!(
        store.review(a1).await.unwrap().unwrap().status,
        ReviewStatus::Rejected
    );
    let approved_now = store
        .reviews(&list(Some(ReviewStatus::Approved), None, None, 50))
        .await
        .unwrap();
    assert_eq!(approved_now.len(), 1, "g1 only");

    // Dropping the rule from the config: new candidates wait for a person.
    globex.auto_approve = None;
    store
        .sync_config(&[acme(), globex], &sources, t1)
        .await
        .unwrap();
    crawl(store, "forum", vec![m("globex", "g4")], t1).await;
    set_rating(db, "g4", 1.0).await;
    classify(store, vec![scored(p(0.99), None, "en", "m@2")], t1).await;
    let newest = &store.reviews(&list(None, None, None, 1)).await.unwrap()[0];
    assert_eq!(newest.status, ReviewStatus::Pending);

    assert_eq!(
        store
            .brand_name(&BrandSlug::parse("globex").unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("Globex Corp")
    );
    assert_eq!(
        store
            .brand_name(&BrandSlug::parse("initech").unwrap())
            .await
            .unwrap(),
        None
    );
}

on_both_backends!(the_reviews_story_holds_on_sqlite, the_reviews_story_holds_on_postgres, db: reviews_story);

/// A brand's public feed stamp moves with every committed change to what its feed shows
/// (a review published by a person or by the auto-approve rule, withdrawn, or its
/// mention's text or rating changed), and stays put for what the feed does not show
/// (pending reviews, rejecting one, classifying and claiming mentions), so that the API
/// can keep a built feed exactly as long as it is current.
async fn feed_stamp_story(db: &TestDb) {
    use earshot_domain::{ApiSecret, AutoApprove, KeyName, Note, ReviewStatus, Role};
    use earshot_store::{NewApiKey, ReviewDecision, ReviewQuery};
    use support::{classify, crawl, set_rating};
    let store = db.store.as_ref();
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let mut globex = brand("globex", "Globex Corp", &["Globex"], &[]);
    globex.auto_approve = Some(AutoApprove::new(Some(0.75), Some(0.9)).unwrap());
    let sources = vec![feed_source(
        "forum",
        "https://forum.test/feed.xml",
        Duration::from_secs(60),
    )];
    store
        .sync_config(&[acme(), globex.clone()], &sources, t0)
        .await
        .unwrap();
    let stamp = |slug: &'static str| async move {
        store
            .feed_stamp(&BrandSlug::parse(slug).unwrap())
            .await
            .unwrap()
    };
    assert_eq!(stamp("initech").await, None, "no such brand");
    let acme0 = stamp("acme").await.unwrap();
    let globex0 = stamp("globex").await.unwrap();
    assert_eq!(acme0.name, "Acme");

    let m = |b: &str, k: &str| mention(b, k, &format!("{k} title"), Some(t0));
    crawl(
        store,
        "forum",
        vec![m("acme", "a1"), m("acme", "a2"), m("globex", "g1")],
        t0,
    )
    .await;
    set_rating(db, "g1", 1.0).await;
    let sure = scored([0.02, 0.03, 0.95], None, "en", "m@1");
    classify(store, vec![sure.clone(), sure.clone(), sure], t0).await;
    assert_eq!(
        stamp("acme").await.unwrap(),
        acme0,
        "new pending reviews and classification leave the feed as it was"
    );
    let globex1 = stamp("globex").await.unwrap();
    assert!(
        globex1.version > globex0.version,
        "an auto-approved review is published"
    );

    let secret = ApiSecret::from_random([7; 32]);
    let key = store
        .create_api_key(
            &NewApiKey {
                name: &KeyName::parse("Marketing").unwrap(),
                role: Role::Marketing,
                hash: &secret.hash(),
            },
            t0,
        )
        .await
        .unwrap();
    let by = earshot_domain::Actor::key(&key);
    let pending = store
        .reviews(&ReviewQuery {
            status: Some(ReviewStatus::Pending),
            brand: Some(BrandSlug::parse("acme").unwrap()),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    let (a2, a1) = (pending[0].id, pending[1].id);
    let approve = ReviewDecision::Approve { excerpt: None };
    let reason = Note::parse("Not for the website").unwrap();
    let reject = ReviewDecision::Reject { reason: &reason };

    store.decide_review(a1, &approve, &by, t0).await.unwrap();
    let acme1 = stamp("acme").await.unwrap();
    assert!(acme1.version > acme0.version, "an approval publishes");
    store.decide_review(a2, &reject, &by, t0).await.unwrap();
    assert_eq!(
        stamp("acme").await.unwrap(),
        acme1,
        "rejecting a pending review changes no feed"
    );
    set_rating(db, "a2", 1.0).await;
    assert_eq!(
        stamp("acme").await.unwrap(),
        acme1,
        "a rejected review's mention is not shown"
    );
    set_rating(db, "a1", 0.5).await;
    let acme2 = stamp("acme").await.unwrap();
    assert!(
        acme2.version > acme1.version,
        "the rating of a published review is shown"
    );
    store.decide_review(a1, &reject, &by, t0).await.unwrap();
    let acme3 = stamp("acme").await.unwrap();
    assert!(acme3.version > acme2.version, "a withdrawal unpublishes");
    assert_eq!(
        stamp("globex").await.unwrap(),
        globex1,
        "each brand has its own stamp"
    );

    let mut renamed = acme();
    renamed.name = "Acme Inc".into();
    store
        .sync_config(&[renamed, globex], &sources, t0)
        .await
        .unwrap();
    assert_eq!(
        stamp("acme").await.unwrap().name,
        "Acme Inc",
        "the name is part of the stamp"
    );
}

on_both_backends!(the_feed_stamp_story_holds_on_sqlite, the_feed_stamp_story_holds_on_postgres, db: feed_stamp_story);

/// The mentions the listing-and-stats story stores, in id order: four from the forum
/// (three of Acme, one of Globex), then one from the blog, all classified, then one more
/// from the blog with no date, left unclassified.
async fn seed_listing(store: &dyn Store) -> Vec<MentionId> {
    use earshot_domain::Label;
    use support::{classify, crawl};
    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let found_at = at("2026-11-23T12:00:00Z");
    let sources = vec![
        feed_source(
            "forum",
            "https://forum.test/feed.xml",
            Duration::from_secs(60),
        ),
        feed_source(
            "blog",
            "https://blog.test/feed.xml",
            Duration::from_secs(60),
        ),
    ];
    let brands = [acme(), brand("globex", "Globex", &["Globex"], &[])];
    store
        .sync_config(&brands, &sources, found_at)
        .await
        .unwrap();
    let p = |l: Label| match l {
        Label::Negative => [0.8, 0.15, 0.05],
        Label::Neutral => [0.1, 0.8, 0.1],
        Label::Positive => [0.05, 0.15, 0.8],
    };
    let s = |l: Label, lang: &str| scored(p(l), None, lang, "m@1");
    let m =
        |b: &str, k: &str, title: &str, published: &str| mention(b, k, title, Some(at(published)));
    crawl(
        store,
        "forum",
        vec![
            m("acme", "f1", "Чайник АКМЕ протікає", "2026-11-19T10:00:00Z"),
            m(
                "acme",
                "f2",
                "Acme kettle: 100% great_deal",
                "2026-11-19T23:30:00Z",
            ),
            m(
                "acme",
                "f3",
                "Acme kettle: a great deal, fine",
                "2026-11-20T01:00:00Z",
            ),
            m("globex", "g1", "Globex news", "2026-11-19T12:00:00Z"),
        ],
        found_at,
    )
    .await;
    crawl(
        store,
        "blog",
        vec![m("acme", "b2", "Огляд: Про Акме", "2026-11-21T05:00:00Z")],
        found_at,
    )
    .await;
    let mut ids = classify(
        store,
        vec![
            s(Label::Negative, "uk"),
            s(Label::Positive, "en"),
            s(Label::Neutral, "en"),
            s(Label::Positive, "en"),
            s(Label::Positive, "uk"),
        ],
        found_at,
    )
    .await;
    crawl(
        store,
        "blog",
        vec![mention("acme", "b1", "Acme review", None)],
        found_at,
    )
    .await;
    ids.push(
        store
            .mentions(&MentionQuery {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()[0]
            .id,
    );
    ids
}

/// The mention list's source, language and text filters, and the stats: buckets,
/// labels, sources and net sentiment, on mentions classified through the real path.
async fn listing_and_stats_story(store: &dyn Store) {
    use earshot_domain::LanguageCode;
    use earshot_store::{Bucket, StatsQuery};
    let ids = seed_listing(store).await;
    let [f1, f2, f3, _g1, b2, b1] = ids[..] else {
        panic!("six mentions")
    };
    let list = |q: MentionQuery| async move {
        store
            .mentions(&MentionQuery { limit: 100, ..q })
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    };
    let source = |s: &str| Some(SourceName::parse(s).unwrap());
    let text = |q: &str| MentionQuery {
        brand: Some(BrandSlug::parse("acme").unwrap()),
        text: Some(q.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        list(MentionQuery {
            source: source("blog"),
            ..Default::default()
        })
        .await,
        [b1, b2]
    );
    assert_eq!(
        list(MentionQuery {
            source: source("nowhere"),
            ..Default::default()
        })
        .await,
        []
    );
    let uk = Some(LanguageCode::parse("uk").unwrap());
    assert_eq!(
        list(MentionQuery {
            language: uk.clone(),
            ..Default::default()
        })
        .await,
        [b2, f1]
    );
    assert_eq!(
        list(MentionQuery {
            language: uk,
            source: source("forum"),
            ..Default::default()
        })
        .await,
        [f1]
    );
    // ASCII letters ignore case on both backends; the title or the snippet may hold it.
    assert_eq!(list(text("ACME KETTLE")).await, [f3, f2]);
    assert_eq!(list(text("— SNIPPET")).await.len(), 5);
    // %, _ and \ are themselves, not wildcards.
    assert_eq!(list(text("100%")).await, [f2]);
    assert_eq!(list(text("t_d")).await, [f2]);
    assert_eq!(list(text("%")).await, [f2]);
    assert_eq!(list(text("\\")).await, []);
    // Cyrillic in its own case matches on both backends; in another case, only on
    // Postgres, whose LOWER knows every letter (SQLite's knows ASCII only).
    assert_eq!(list(text("протікає")).await, [f1]);
    let (exact, folded) = (list(text("Акме")).await, list(text("акме")).await);
    match store.backend() {
        earshot_store::Backend::Postgres => {
            assert_eq!(exact, [b2, f1]);
            assert_eq!(folded, [b2, f1]);
        }
        earshot_store::Backend::Sqlite => {
            assert_eq!(exact, [b2]);
            assert_eq!(folded, []);
        }
    }

    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let acme = BrandSlug::parse("acme").unwrap();
    let days = store
        .stats(&StatsQuery {
            brand: acme.clone(),
            from: at("2026-11-19T00:00:00Z"),
            to: at("2026-11-24T00:00:00Z"),
            bucket: Bucket::Day,
        })
        .await
        .unwrap();
    let starts: Vec<String> = days.buckets.iter().map(|b| b.start.to_rfc3339()).collect();
    assert_eq!(
        starts,
        [
            "2026-11-19T00:00:00.000Z",
            "2026-11-20T00:00:00.000Z",
            "2026-11-21T00:00:00.000Z",
            "2026-11-22T00:00:00.000Z",
            "2026-11-23T00:00:00.000Z"
        ]
    );
    let counts = |c: &earshot_store::LabelCounts| {
        (
            c.negative,
            c.neutral,
            c.positive,
            c.unclassified,
            c.total,
            c.net_sentiment,
        )
    };
    let per_day: Vec<_> = days.buckets.iter().map(|b| counts(&b.counts)).collect();
    assert_eq!(
        per_day,
        [
            (1, 0, 1, 0, 2, Some(0.0)),
            (0, 1, 0, 0, 1, Some(0.0)),
            (0, 0, 1, 0, 1, Some(1.0)),
            (0, 0, 0, 0, 0, None),
            (0, 0, 0, 1, 1, None), // the undated one counts when it was found
        ]
    );
    let sources: Vec<_> = days
        .buckets
        .iter()
        .map(|b| {
            b.sources
                .iter()
                .map(|(s, n)| (s.as_str(), *n))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(sources[0], [("forum", 2)]);
    assert_eq!(sources[2], [("blog", 1)]);
    assert!(sources[3].is_empty());
    assert_eq!(counts(&days.totals), (1, 1, 2, 1, 5, Some(0.25)));
    assert_eq!(
        counts(&days.sources[&SourceName::parse("forum").unwrap()]),
        (1, 1, 1, 0, 3, Some(0.0))
    );
    assert_eq!(
        counts(&days.sources[&SourceName::parse("blog").unwrap()]),
        (0, 0, 1, 1, 2, Some(1.0))
    );

    // Weeks start on Monday; hours on the hour; `to` is not counted.
    let weeks = store
        .stats(&StatsQuery {
            brand: acme.clone(),
            from: at("2026-11-19T00:00:00Z"),
            to: at("2026-11-24T00:00:00Z"),
            bucket: Bucket::Week,
        })
        .await
        .unwrap();
    let per_week: Vec<_> = weeks
        .buckets
        .iter()
        .map(|b| (b.start.to_rfc3339(), b.counts.total))
        .collect();
    assert_eq!(
        per_week,
        [
            ("2026-11-16T00:00:00.000Z".to_owned(), 4),
            ("2026-11-23T00:00:00.000Z".to_owned(), 1)
        ]
    );
    let hours = store
        .stats(&StatsQuery {
            brand: acme,
            from: at("2026-11-19T09:30:00Z"),
            to: at("2026-11-19T23:30:00Z"),
            bucket: Bucket::Hour,
        })
        .await
        .unwrap();
    assert_eq!(hours.buckets.len(), 15);
    assert_eq!(hours.buckets[0].start, at("2026-11-19T09:00:00Z"));
    assert_eq!(hours.totals.total, 1, "f1 at 10:00, not f2 at 23:30");
    assert_eq!(hours.buckets[1].counts.negative, 1);
}

on_both_backends!(the_listing_and_stats_story_holds_on_sqlite, the_listing_and_stats_story_holds_on_postgres, store: listing_and_stats_story);

/// Brands and sources from the config file and from the admin API side by side: each
/// is changed only where it was defined, nothing is deleted, and the crawler's view
/// (`brands`, `sources`, claims) follows.
async fn admin_setup_story(store: &dyn Store) {
    use earshot_domain::{AutoApprove, Origin, SourceUrl};
    use earshot_store::Change;
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let t1 = t0.plus(Duration::from_secs(60));
    let t2 = t1.plus(Duration::from_secs(60));
    let hour = Duration::from_secs(3600);
    let forum = feed_source("forum", "https://forum.test/feed.xml", hour);
    store
        .sync_config(&[acme()], std::slice::from_ref(&forum), t0)
        .await
        .unwrap();
    let slugs = |brands: Vec<earshot_store::StoredBrand>| {
        brands
            .into_iter()
            .map(|b| (b.brand.slug.to_string(), b.origin))
            .collect::<Vec<_>>()
    };

    // A brand made through the API is listed beside the config's, and its slug is taken.
    let mut globex = brand(
        "globex",
        "Globex",
        &["Globex", "Глобекс*"],
        &["Globex Tower"],
    );
    globex.auto_approve = Some(AutoApprove::new(Some(0.75), None).unwrap());
    let Change::Done(made) = store.create_brand(&globex, t1).await.unwrap() else {
        panic!("brand not made")
    };
    assert_eq!(
        (made.brand.clone(), made.origin, made.updated_at),
        (globex.clone(), Origin::Api, t1)
    );
    assert_eq!(
        slugs(store.brands().await.unwrap()),
        [
            ("acme".into(), Origin::Config),
            ("globex".into(), Origin::Api)
        ]
    );
    assert_eq!(
        store.create_brand(&globex, t1).await.unwrap(),
        Change::Taken
    );
    assert_eq!(
        store.create_brand(&acme(), t1).await.unwrap(),
        Change::Taken
    );

    // Each is changed only where it was defined.
    let mut renamed = globex.clone();
    renamed.name = "Globex Corporation".into();
    renamed.auto_approve = None;
    let Change::Done(changed) = store.update_brand(&renamed, t2).await.unwrap() else {
        panic!("brand not changed")
    };
    assert_eq!((changed.brand, changed.updated_at), (renamed.clone(), t2));
    assert_eq!(
        store.update_brand(&acme(), t2).await.unwrap(),
        Change::FromConfig
    );
    assert_eq!(
        store.retire_brand(&acme().slug, t2).await.unwrap(),
        Change::FromConfig
    );
    let initech = brand("initech", "Initech", &["Initech"], &[]);
    assert_eq!(
        store.update_brand(&initech, t2).await.unwrap(),
        Change::NotFound
    );
    assert_eq!(
        store.retire_brand(&initech.slug, t2).await.unwrap(),
        Change::NotFound
    );

    // Sources: an API source is due at once; the config's keep their own state.
    let blog = feed_source("blog", "https://blog.test/atom.xml", hour);
    let Change::Done(made) = store.create_source(&blog, t1).await.unwrap() else {
        panic!("source not made")
    };
    assert_eq!(
        (made.source.clone(), made.origin),
        (blog.clone(), Origin::Api)
    );
    assert_eq!(made.state.next_check_at, None);
    assert_eq!(store.create_source(&blog, t1).await.unwrap(), Change::Taken);
    assert_eq!(
        store.create_source(&forum, t1).await.unwrap(),
        Change::Taken
    );
    assert_eq!(
        store.update_source(&forum, t1).await.unwrap(),
        Change::FromConfig
    );
    assert_eq!(
        store.retire_source(&forum.name, t1).await.unwrap(),
        Change::FromConfig
    );

    // A crawl gives the API source validators and a next check; a new interval keeps
    // them, a new URL forgets them and makes the source due at once.
    let claimed = store
        .claim_sources(&Claim {
            worker: "w",
            now: t1,
            lease: Duration::from_secs(60),
            limit: 10,
            due_only: true,
            name: Some(&blog.name),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "an API source is due at once");
    let crawled = SourceState {
        next_check_at: Some(t1.plus(hour)),
        etag: Some("\"v1\"".into()),
        last_success_at: Some(t1),
        ..Default::default()
    };
    store
        .record_crawl(claimed[0].id, "w", &record(t1, vec![], crawled.clone()))
        .await
        .unwrap();
    let slower = Source {
        every: 2 * hour,
        ..blog.clone()
    };
    let Change::Done(s) = store.update_source(&slower, t2).await.unwrap() else {
        panic!("source not changed")
    };
    assert_eq!(
        (s.source.every, s.state.clone()),
        (2 * hour, crawled.clone())
    );
    let moved = Source {
        url: SourceUrl::parse("https://blog.test/feed.json").unwrap(),
        ..slower.clone()
    };
    let Change::Done(s) = store.update_source(&moved, t2).await.unwrap() else {
        panic!("source not moved")
    };
    assert_eq!(s.source, moved);
    assert_eq!((s.state.etag, s.state.next_check_at), (None, None));
    assert_eq!(s.state.last_success_at, Some(t1), "history stays");

    // A config sync leaves API brands and sources alone, retires the config's that left
    // the file, and takes over an API name the file now defines.
    let news = feed_source("news", "https://news.test/rss", hour);
    store
        .sync_config(&[], std::slice::from_ref(&news), t2)
        .await
        .unwrap();
    assert_eq!(
        slugs(store.brands().await.unwrap()),
        [("globex".into(), Origin::Api)]
    );
    let names = |sources: Vec<earshot_store::StoredSource>| {
        sources
            .into_iter()
            .map(|s| (s.source.name.to_string(), s.origin))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(store.sources().await.unwrap()),
        [
            ("blog".into(), Origin::Api),
            ("news".into(), Origin::Config)
        ]
    );
    let blog_in_file = feed_source("blog", "https://blog.test/rss", hour);
    store
        .sync_config(&[acme()], &[news.clone(), blog_in_file.clone()], t2)
        .await
        .unwrap();
    assert_eq!(
        names(store.sources().await.unwrap()),
        [
            ("blog".into(), Origin::Config),
            ("news".into(), Origin::Config)
        ]
    );
    assert_eq!(
        store.update_source(&moved, t2).await.unwrap(),
        Change::FromConfig
    );
    assert_eq!(
        slugs(store.brands().await.unwrap()),
        [
            ("acme".into(), Origin::Config),
            ("globex".into(), Origin::Api)
        ],
        "a brand back in the file is live again"
    );

    // Retiring: no longer listed or claimed; making the name again brings it back.
    let t3 = t2.plus(Duration::from_secs(60));
    assert_eq!(
        store.retire_brand(&renamed.slug, t3).await.unwrap(),
        Change::Done(())
    );
    assert_eq!(
        store.retire_brand(&renamed.slug, t3).await.unwrap(),
        Change::NotFound
    );
    assert_eq!(
        slugs(store.brands().await.unwrap()),
        [("acme".into(), Origin::Config)]
    );
    let Change::Done(back) = store.create_brand(&globex, t3).await.unwrap() else {
        panic!("retired brand not brought back")
    };
    assert_eq!((back.brand, back.origin), (globex, Origin::Api));
    let wiki = feed_source("wiki", "https://wiki.test/feed", hour);
    assert!(matches!(
        store.create_source(&wiki, t3).await.unwrap(),
        Change::Done(_)
    ));
    assert_eq!(
        store.retire_source(&wiki.name, t3).await.unwrap(),
        Change::Done(())
    );
    let all = store
        .claim_sources(&Claim {
            worker: "w2",
            now: t3.plus(Duration::from_secs(24 * 3600)),
            lease: Duration::from_secs(60),
            limit: 10,
            due_only: false,
            name: None,
        })
        .await
        .unwrap();
    assert!(
        all.iter().all(|s| s.source.name != wiki.name),
        "a retired source is not crawled"
    );
    assert!(matches!(
        store.create_source(&wiki, t3).await.unwrap(),
        Change::Done(_)
    ));
}

on_both_backends!(the_admin_setup_story_holds_on_sqlite, the_admin_setup_story_holds_on_postgres, store: admin_setup_story);

/// Forum and review sources: the recipe and host interval round-trip, a review's
/// rating is stored on its mention, a page's aggregate rating is kept over time, and
/// what a crawl could not read stays with its run.
async fn page_sources_story(store: &dyn Store) {
    use earshot_domain::{Preset, Recipe, SourceKind, SourceUrl};
    use earshot_store::{AggregateRating, Change};
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let t1 = t0.plus(Duration::from_secs(3600));
    let hour = Duration::from_secs(3600);
    let board = Source {
        name: SourceName::parse("board").unwrap(),
        kind: SourceKind::Forum,
        url: SourceUrl::parse("https://board.test/viewtopic.php?t=7").unwrap(),
        every: hour,
        recipe: Some(Recipe {
            preset: Some(Preset::Phpbb),
            max_pages: Some(3),
            ..Recipe::default()
        }),
        host_interval: Some(Duration::from_millis(2500)),
    };
    let shop = Source {
        name: SourceName::parse("shop").unwrap(),
        kind: SourceKind::Reviews,
        url: SourceUrl::parse("https://shop.test/anvil/reviews").unwrap(),
        every: hour,
        recipe: None,
        host_interval: None,
    };
    store
        .sync_config(&[acme()], std::slice::from_ref(&board), t0)
        .await
        .unwrap();
    let Change::Done(made) = store.create_source(&shop, t0).await.unwrap() else {
        panic!("source not made")
    };
    assert_eq!(made.source, shop);
    let stored = store.sources().await.unwrap();
    let find = |name: &str| {
        stored
            .iter()
            .find(|s| s.source.name.as_str() == name)
            .unwrap()
            .clone()
    };
    assert_eq!(find("board").source, board, "recipe and host interval kept");

    let mut review = mention("acme", "review-1", "Acme anvil: five stars", Some(t0));
    review.rating = Some(1.0);
    let rating = |raw_value: f64, count: u64| AggregateRating {
        value: (raw_value - 1.0) / 4.0,
        raw_value,
        best: 5.0,
        worst: 1.0,
        count: Some(count),
    };
    for (at, raw, count, problems) in [
        (
            t0,
            4.0,
            120,
            vec!["JSON-LD block 2: trailing garbage".to_owned()],
        ),
        (t1, 4.5, 130, vec![]),
    ] {
        let record = CrawlRecord {
            problems,
            aggregate: Some(rating(raw, count)),
            unhealthy_after: None,
            ..record(at, vec![review.clone()], SourceState::default())
        };
        store
            .record_crawl(find("shop").id, "test-worker", &record)
            .await
            .unwrap();
    }
    let shop_name = SourceName::parse("shop").unwrap();
    let ratings = store.source_ratings(&shop_name, 10).await.unwrap();
    assert_eq!(
        ratings
            .iter()
            .map(|r| (r.observed_at, r.rating))
            .collect::<Vec<_>>(),
        vec![(t1, rating(4.5, 130)), (t0, rating(4.0, 120))],
        "newest first"
    );
    assert_eq!(store.source_ratings(&shop_name, 1).await.unwrap().len(), 1);
    let unknown = SourceName::parse("nowhere").unwrap();
    assert!(store.source_ratings(&unknown, 10).await.unwrap().is_empty());

    let mentions = store
        .mentions(&MentionQuery {
            limit: 10,
            ..MentionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(mentions.len(), 1, "the second crawl found the same review");
    assert_eq!(mentions[0].rating, Some(1.0));
    let runs = store.crawl_runs(10).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.problems.clone()).collect::<Vec<_>>(),
        vec![vec![], vec!["JSON-LD block 2: trailing garbage".to_owned()]]
    );
}

on_both_backends!(the_page_sources_story_holds_on_sqlite, the_page_sources_story_holds_on_postgres, store: page_sources_story);

/// Spike alerts: the hourly negative counts a brand's check reads, and the cooldown the
/// store keeps, so that one burst opens one alert whoever asks and however often.
async fn spike_alerts_story(store: &dyn Store) {
    use earshot_domain::{
        AlertKind, AlertStatus, AlertSubject, Baseline, Severity, Spike, SpikeRule, Transition,
        HOUR_MS,
    };
    use earshot_store::{AlertChange, AlertQuery};
    let at = |ms: i64| Timestamp::from_millis(ms);
    let now = Timestamp::parse_rfc3339("2026-11-23T10:30:00Z").unwrap();
    let hour = now.as_millis() - now.as_millis() % HOUR_MS - 2 * HOUR_MS; // 08:00
    let sources = [feed_source(
        "forum",
        "https://forum.test/feed",
        Duration::from_secs(60),
    )];
    store
        .sync_config(&[acme()], &sources, at(hour - 72 * HOUR_MS))
        .await
        .unwrap();
    let acme_slug = BrandSlug::parse("acme").unwrap();
    let neg = || scored([0.9, 0.05, 0.05], None, "en", "m@1");
    let pos = || scored([0.05, 0.05, 0.9], None, "en", "m@1");

    // Nothing stored yet: nothing known.
    let empty = store
        .negative_hours(&acme_slug, at(hour - 168 * HOUR_MS), now)
        .await
        .unwrap();
    assert_eq!(empty, earshot_store::NegativeHours::default());

    // A first, positive mention three days ago starts the brand's history; then six
    // negative ones published in the 08:00 hour and one positive, found at 09:10; and
    // one negative published before the window (it must not count).
    crawl_and_classify(
        store,
        "forum",
        vec![mention(
            "acme",
            "first",
            "Acme is fine",
            Some(at(hour - 72 * HOUR_MS)),
        )],
        vec![pos()],
        at(hour - 72 * HOUR_MS),
    )
    .await;
    let found_at = at(hour + HOUR_MS + 10 * 60_000);
    let mut burst: Vec<NewMention> = (0..6)
        .map(|i| {
            mention(
                "acme",
                &format!("b{i}"),
                "Acme broke",
                Some(at(hour + i * 60_000)),
            )
        })
        .collect();
    burst.push(mention(
        "acme",
        "happy",
        "Acme rocks",
        Some(at(hour + 30 * 60_000)),
    ));
    burst.push(mention(
        "acme",
        "old",
        "Acme broke long ago",
        Some(at(hour - 200 * HOUR_MS)),
    ));
    let mut results: Vec<_> = (0..6).map(|_| neg()).collect();
    results.push(pos());
    results.push(neg());
    let ids = crawl_and_classify(store, "forum", burst, results, found_at).await;
    let negatives = ids[..6].to_vec();

    let from = at(hour - 168 * HOUR_MS);
    let seen = store
        .negative_hours(&acme_slug, from, at(hour + 3 * HOUR_MS))
        .await
        .unwrap();
    assert_eq!(seen.first_discovered_at, Some(at(hour - 72 * HOUR_MS)));
    assert_eq!(seen.counts, vec![(at(hour), 6)]);
    assert_eq!(seen.last_spike, None);

    let rule = SpikeRule::DEFAULT;
    let spike_at = |h: i64| Spike {
        hour: at(h),
        count: 6,
        baseline: Baseline {
            mean: 0.25,
            stddev: 0.5,
            threshold: 1.75,
            hours: 72,
        },
    };
    let first = store
        .open_spike_alert(&acme_slug, &spike_at(hour), &rule, now)
        .await
        .unwrap();
    let first = first.expect("the first spike opens an alert");
    // The same hour again, the next hour, and five hours on are inside the cooldown.
    for h in [hour, hour + HOUR_MS, hour + 5 * HOUR_MS, hour - 3 * HOUR_MS] {
        assert_eq!(
            store
                .open_spike_alert(&acme_slug, &spike_at(h), &rule, now)
                .await
                .unwrap(),
            None
        );
    }
    let seen = store.negative_hours(&acme_slug, from, now).await.unwrap();
    assert_eq!(seen.last_spike, Some(at(hour)));

    let (alert, events) = store.alert(first).await.unwrap().unwrap();
    assert_eq!(
        (alert.kind(), alert.status, alert.severity),
        (AlertKind::Spike, AlertStatus::Open, Severity::High)
    );
    let AlertSubject::Spike { brand, spike } = &alert.subject else {
        panic!("{alert:?}")
    };
    assert_eq!(brand, &acme_slug);
    assert_eq!(
        (spike.hour, spike.count, spike.k, spike.history_hours),
        (at(hour), 6, 3.0, 72)
    );
    assert_eq!(
        (spike.mean, spike.stddev, spike.threshold),
        (0.25, 0.5, 1.75)
    );
    assert_eq!(
        spike.mention_ids, negatives,
        "the hour's negative mentions, oldest first"
    );
    assert_eq!(events.len(), 1);
    assert!(
        events[0]
            .note
            .as_deref()
            .unwrap()
            .starts_with("6 negative mentions in the hour"),
        "{events:?}"
    );

    // Two workers at once, six hours on: one alert.
    let later = spike_at(hour + 6 * HOUR_MS);
    let (a, b) = tokio::join!(
        store.open_spike_alert(&acme_slug, &later, &rule, now),
        store.open_spike_alert(&acme_slug, &later, &rule, now)
    );
    let opened: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(opened.len(), 1, "{opened:?}");

    // Listed among the alerts, filtered by kind; the lifecycle applies.
    let list = |kind| async move {
        store
            .alerts(&AlertQuery {
                limit: 50,
                kind,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    let spikes = list(Some(AlertKind::Spike)).await;
    assert_eq!(
        spikes.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![opened[0], first]
    );
    assert!(list(Some(AlertKind::Mention)).await.is_empty());
    assert_eq!(list(None).await.len(), 2);
    let pr = earshot_domain::Actor::earshot();
    assert!(matches!(
        store
            .transition_alert(first, Transition::Acknowledge, &pr, None, now)
            .await
            .unwrap(),
        AlertChange::Done
    ));
    assert!(matches!(
        store
            .transition_alert(first, Transition::Resolve, &pr, None, now)
            .await
            .unwrap(),
        AlertChange::Done
    ));
}

on_both_backends!(spike_alerts_open_once_per_burst_on_sqlite, spike_alerts_open_once_per_burst_on_postgres, store: spike_alerts_story);

/// A source that keeps failing: unhealthy after N failures in a row, one source alert,
/// resolved by the next success; a second bad spell opens a second alert.
async fn unhealthy_source_story(store: &dyn Store) {
    use earshot_domain::{AlertKind, AlertStatus, AlertSubject, Severity, UnhealthyAfter};
    use earshot_store::AlertQuery;
    let t0 = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
    let sources = [feed_source(
        "forum",
        "https://forum.test/feed",
        Duration::from_secs(60),
    )];
    store.sync_config(&[acme()], &sources, t0).await.unwrap();
    let id = store.sources().await.unwrap()[0].id;
    let minute = |n: u64| t0.plus(Duration::from_secs(60 * n));
    let crawl = |n: u64, failures: i64| {
        let mut r = record(
            minute(n),
            Vec::new(),
            SourceState {
                error_count: failures,
                last_error: (failures > 0).then(|| "HTTP 503".to_owned()),
                ..SourceState::default()
            },
        );
        if failures > 0 {
            r.error = Some(format!("HTTP 503 (try {failures})"));
        }
        r.unhealthy_after = Some(UnhealthyAfter::new(3).unwrap());
        r
    };
    let source_alerts = || async {
        store
            .alerts(&AlertQuery {
                limit: 50,
                kind: Some(AlertKind::Source),
                ..Default::default()
            })
            .await
            .unwrap()
    };
    let health = || async { store.sources().await.unwrap()[0].health };

    for n in 1..=2 {
        store
            .record_crawl(id, "w", &crawl(n, n as i64))
            .await
            .unwrap();
    }
    assert!(health().await.is_healthy());
    assert!(source_alerts().await.is_empty());
    for n in 3..=5 {
        store
            .record_crawl(id, "w", &crawl(n, n as i64))
            .await
            .unwrap();
    }
    assert_eq!(health().await.unhealthy_since, Some(minute(3)));
    let alerts = source_alerts().await;
    assert_eq!(
        alerts.len(),
        1,
        "raised once, not on every failure: {alerts:#?}"
    );
    let AlertSubject::Source { source } = &alerts[0].subject else {
        panic!()
    };
    assert_eq!(source.name.as_str(), "forum");
    assert_eq!((source.unhealthy_since, source.failures), (minute(3), 3));
    assert_eq!(source.last_error.as_deref(), Some("HTTP 503 (try 3)"));
    assert_eq!(
        (alerts[0].status, alerts[0].severity),
        (AlertStatus::Open, Severity::Medium)
    );

    // A success: healthy again, and the alert is resolved by Earshot.
    store.record_crawl(id, "w", &crawl(6, 0)).await.unwrap();
    assert!(health().await.is_healthy());
    let (resolved, events) = store.alert(alerts[0].id).await.unwrap().unwrap();
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[1].by.name.as_str(), events[1].from, events[1].to),
        (
            "earshot",
            Some(AlertStatus::Open),
            Some(AlertStatus::Resolved)
        )
    );

    // A second bad spell is a second alert.
    for n in 1..=3 {
        store
            .record_crawl(id, "w", &crawl(6 + n, n as i64))
            .await
            .unwrap();
    }
    let alerts = source_alerts().await;
    assert_eq!(
        alerts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![AlertStatus::Open, AlertStatus::Resolved]
    );
    assert_eq!(health().await.unhealthy_since, Some(minute(9)));
    // A crawl without a threshold still lets a success heal the source.
    let mut ok = crawl(10, 0);
    ok.unhealthy_after = None;
    store.record_crawl(id, "w", &ok).await.unwrap();
    assert!(health().await.is_healthy());
    assert_eq!(source_alerts().await[0].status, AlertStatus::Resolved);
}

on_both_backends!(an_unhealthy_source_alerts_once_then_recovers_on_sqlite, an_unhealthy_source_alerts_once_then_recovers_on_postgres, store: unhealthy_source_story);

/// Migration 0010 rebuilds SQLite's alerts table (to let spike and source alerts have no
/// mention): alerts made before it keep their ids, fields and history, read as mention
/// alerts, and new ones continue the ids. Postgres only alters columns in place.
#[tokio::test]
async fn sqlite_alerts_from_before_migration_0010_survive_it() {
    use earshot_domain::{AlertId, AlertKind, AlertStatus, Severity};
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("earshot.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let all = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/sqlite"
    )))
    .await
    .unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: all
            .migrations
            .iter()
            .filter(|m| m.version < 10)
            .cloned()
            .collect(),
        ..all
    };
    before.run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO brands (id, slug, name, terms, exclude, updated_at) VALUES (1, 'acme', 'Acme', '[\"Acme\"]', '[]', 0)",
        "INSERT INTO sources (id, name, kind, url, every_secs, updated_at) VALUES (1, 'forum', 'feed', 'https://forum.test/feed', 60, 0)",
        "INSERT INTO mentions (id, source_id, brand_id, dedup_key, title, snippet, matched_term, discovered_at) VALUES (7, 1, 1, 'g:a', 'Acme broke', 'Acme broke', 'Acme', 0)",
        "INSERT INTO alert_rules (id, brand_id, threshold, origin, created_at, updated_at) VALUES (1, 1, 0.7, 'config', 0, 0)",
        "INSERT INTO alerts (id, mention_id, brand_id, rule_id, severity, status, assignee, opened_at, updated_at) VALUES (5, 7, 1, 1, 'high', 'acknowledged', 'Olena', 1000, 2000)",
        "INSERT INTO alert_events (alert_id, at, actor, action, from_status, to_status) VALUES (5, 1000, 'earshot', 'open', NULL, 'open')",
        "INSERT INTO alert_events (alert_id, at, actor, action, from_status, to_status) VALUES (5, 2000, 'PR desk', 'acknowledge', 'open', 'acknowledged')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = earshot_store::connect(&url)
        .await
        .expect("migration 0010 applies");
    let (alert, history) = store.alert(AlertId(5)).await.unwrap().unwrap();
    assert_eq!(
        (
            alert.kind(),
            alert.status,
            alert.severity,
            alert.assignee.as_deref()
        ),
        (
            AlertKind::Mention,
            AlertStatus::Acknowledged,
            Severity::High,
            Some("Olena")
        )
    );
    assert_eq!(alert.mention().unwrap().id, MentionId(7));
    assert_eq!(history.len(), 2);
    // Foreign keys still hold: an event for a missing alert is refused.
    let pool = sqlx::SqlitePool::connect_with(
        SqliteConnectOptions::from_str(&url)
            .unwrap()
            .foreign_keys(true),
    )
    .await
    .unwrap();
    let orphan = sqlx::query(
        "INSERT INTO alert_events (alert_id, at, actor, action) VALUES (99, 0, 'x', 'note')",
    )
    .execute(&pool)
    .await;
    assert!(orphan.is_err(), "alert_events still references alerts");
    let fk_problems: Vec<(String,)> =
        sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(fk_problems.is_empty(), "{fk_problems:?}");
    // New alerts continue after the old ids.
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO alerts (kind, brand_id, spike_hour, details, severity, status, opened_at, updated_at)
         VALUES ('spike', 1, 0, '{}', 'high', 'open', 0, 0) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(next > 5, "{next}");
}
