//! One storage story, run against both backends: SQLite and a real Postgres.

mod support;

use earshot_domain::{
    BrandSlug, DedupKey, MentionId, NewMention, SourceName, SourceState, Timestamp,
};
use earshot_store::{Claim, CrawlRecord, MentionQuery, Store};
use std::time::Duration;
use support::{acme, brand, feed_source, TestDb};

fn mention(brand: &str, key: &str, title: &str, published: Option<Timestamp>) -> NewMention {
    NewMention {
        brand: BrandSlug::parse(brand).unwrap(),
        dedup_key: DedupKey::from_guid(key),
        url: Some(format!("https://forum.test/{key}")),
        title: title.to_owned(),
        snippet: format!("{title} — snippet"),
        matched_term: "Acme".to_owned(),
        author: Some("olena".to_owned()),
        published_at: published,
    }
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

#[tokio::test]
async fn the_storage_story_holds_on_sqlite() {
    let db = TestDb::sqlite().await;
    story(db.store.as_ref()).await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_storage_story_holds_on_postgres() {
    let db = TestDb::postgres().await;
    story(db.store.as_ref()).await;
    db.cleanup().await;
}

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

#[tokio::test]
async fn the_sentiment_story_holds_on_sqlite() {
    let db = TestDb::sqlite().await;
    sentiment_story(db.store.as_ref()).await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_sentiment_story_holds_on_postgres() {
    let db = TestDb::postgres().await;
    sentiment_story(db.store.as_ref()).await;
    db.cleanup().await;
}
