//! API benchmark (issue 4): the data and the server side. `benches/run-api.sh` drives it;
//! the load (`wrk`) and the ceiling (`nginx`) are outside programs that the script starts,
//! so that its `trap` can stop them, this server and the Postgres database on any exit.
//!
//! Subcommands (the script passes them; `cargo bench` alone only prints a hint):
//!
//! - `seed-sqlite URL DIR`: a fresh SQLite store with [`SQLITE_MENTIONS`] mentions, written
//!   **only through the real `Store` methods**: `sync_config` and `sync_alert_rules`,
//!   `record_crawl` (one crawl of 250 mentions from one source at a time),
//!   `claim_unclassified` + `save_sentiments` (which open the alerts and create the review
//!   candidates, as the sentiment worker does), and `decide_review` for marketing's
//!   decisions: [`APPROVED`] approvals of the main brand's reviews, every fourth with an
//!   excerpt, and a rejection in every [`REJECT_EVERY`] candidates.
//! - `seed-postgres URL DIR`: [`POSTGRES_MENTIONS`] mentions. Per-row store calls would
//!   take far longer than the run's budget at this size, so all but the newest
//!   [`POSTGRES_TAIL`] are written by set-based SQL (`INSERT … SELECT` over
//!   `generate_series`) into the real schema, with the same columns and values the store
//!   writes: mentions, sentiments (with 384-d embeddings), alerts with their history,
//!   review candidates. The newest [`POSTGRES_TAIL`] then go through the real path as on
//!   SQLite, so the first page of open alerts holds alerts the real code opened. This is
//!   the one place outside `store` with SQL, and it only seeds.
//! - `serve URL PORT_FILE`: the real API (`earshot_api::serve`, the function `earshot
//!   serve` runs, on a multi-threaded tokio runtime like the binary's) over the real
//!   store, on 127.0.0.1 and a free port written to `PORT_FILE`, until SIGTERM or SIGINT.
//!   It runs neither the crawler nor the sentiment model, so nothing else competes for
//!   the two cores; a real `serve` would also be crawling and classifying.
//! - `free-port`: prints a free port on 127.0.0.1 (for nginx).
//!
//! Both seeds write an API key with role `pr` to `DIR/key` and print what they stored as
//! `name: value` lines on stdout.

use earshot_domain::{
    Actor, AlertRuleSpec, Brand, BrandSlug, BrandTerm, DedupKey, Excerpt, KeyName, Label,
    MentionId, NewMention, Note, ReviewStatus, Role, Sentiment, Source, SourceKind, SourceName,
    SourceState, SourceUrl, Threshold, Timestamp,
};
use earshot_store::{ClassifyClaim, CrawlRecord, ReviewDecision, ReviewQuery, Store};
use std::path::Path;
use std::time::{Duration, Instant};

/// Mentions in the SQLite store (the public feed's benchmark).
const SQLITE_MENTIONS: usize = 100_000;
/// Approved reviews of the main brand in the SQLite store.
const APPROVED: usize = 20_000;
/// One candidate in this many is rejected instead of approved.
const REJECT_EVERY: usize = 16;
/// Mentions in the Postgres store (the alert list's benchmark).
const POSTGRES_MENTIONS: usize = 1_000_000;
/// The newest Postgres mentions, stored and classified through the real store path.
const POSTGRES_TAIL: usize = 10_000;
/// Mentions per crawl: one source's new items in one `record_crawl`.
const CRAWL_SIZE: usize = 250;
/// Sources the mentions come from.
const SOURCES: usize = 40;
/// The mentions span this long, discovered at an even pace, ending when the seed starts.
const SPAN: Duration = Duration::from_secs(365 * 24 * 3600);
/// Alerts opened less than this long ago are mostly still open; older ones mostly closed.
const RECENT: Duration = Duration::from_secs(14 * 24 * 3600);
/// Every brand's alert rule: P(negative) at or above this opens an alert.
const ALERT_THRESHOLD: f64 = 0.7;
/// The model name stored with every sentiment, as the default model writes it.
const MODEL: &str = "earshot/e5-small-sentiment@1";
/// The embedding's dimension (the default model's).
const EMBEDDING_DIM: usize = 384;
/// The generator's seed: the data is a pure function of it.
const SEED: u64 = 0x0A91_BE4C_4A11_5EED;

/// The brands: the first gets half of all mentions and is the one whose feed is measured.
const BRANDS: [(&str, &str); 8] = [
    ("lumora", "Lumora"),
    ("kettlix", "Kettlix"),
    ("brewnova", "Brewnova"),
    ("grindwell", "Grindwell"),
    ("steamly", "Steamly"),
    ("aromica", "Aromica"),
    ("frothy", "Frothy Co"),
    ("baristo", "Baristo"),
];

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    match args.as_slice() {
        ["seed-sqlite", url, dir] => runtime.block_on(seed_sqlite(url, Path::new(dir))),
        ["seed-postgres", url, dir] => runtime.block_on(seed_postgres(url, Path::new(dir))),
        ["serve", url, port_file] => runtime.block_on(serve(url, Path::new(port_file))),
        ["free-port"] => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            println!("{}", l.local_addr().expect("local address").port());
        }
        _ => eprintln!(
            "the API benchmark needs wrk, nginx and Postgres: run benches/run-api.sh \
             (see BENCHMARKS.md)"
        ),
    }
}

/// The real API over the store at `url`, until SIGTERM or SIGINT.
async fn serve(url: &str, port_file: &Path) {
    let store = earshot_store::connect(url).await.expect("open the store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    std::fs::write(port_file, port.to_string()).expect("write the port file");
    let stop = async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    earshot_api::serve(listener, earshot_api::AppState::new(store), stop)
        .await
        .expect("serve the API");
}

/// The brands, the sources and one alert rule per brand, through the store's config sync.
async fn configure(store: &dyn Store, now: Timestamp) {
    let brands: Vec<Brand> = BRANDS
        .iter()
        .map(|(slug, name)| {
            Brand::new(
                BrandSlug::parse(slug).unwrap(),
                (*name).to_owned(),
                vec![BrandTerm::parse(name).unwrap()],
                Vec::new(),
            )
            .unwrap()
        })
        .collect();
    let sources: Vec<Source> = (0..SOURCES)
        .map(|i| Source {
            name: SourceName::parse(&source_name(i)).unwrap(),
            kind: SourceKind::Feed,
            url: SourceUrl::parse(&format!("https://{}.example/feed.xml", source_name(i))).unwrap(),
            every: Duration::from_secs(900),
            recipe: None,
            host_interval: None,
        })
        .collect();
    store.sync_config(&brands, &sources, now).await.unwrap();
    let rules: Vec<AlertRuleSpec> = BRANDS
        .iter()
        .map(|(slug, _)| {
            AlertRuleSpec::new(
                BrandSlug::parse(slug).unwrap(),
                Threshold::new(ALERT_THRESHOLD).unwrap(),
                None,
                None,
            )
            .unwrap()
        })
        .collect();
    store.sync_alert_rules(&rules, now).await.unwrap();
}

fn source_name(i: usize) -> String {
    const KINDS: [&str; 4] = ["forum", "news", "blog", "reviews"];
    format!("{}-{:02}", KINDS[i % KINDS.len()], i)
}

/// A key for the benchmark's requests, written to `DIR/key`; returns its actor.
async fn key(store: &dyn Store, dir: &Path, role: Role, name: &str) -> Actor {
    let (key, secret) = earshot_api::issue_key(
        store,
        &KeyName::parse(name).unwrap(),
        role,
        Timestamp::now(),
    )
    .await
    .expect("create a key");
    if role == Role::Pr {
        std::fs::write(dir.join("key"), secret.expose()).expect("write the key file");
    }
    Actor::key(&key)
}

/// When mention `k` of `n` was discovered: an even pace over [`SPAN`] up to `end`.
fn discovered(k: usize, n: usize, end: Timestamp) -> Timestamp {
    let step = SPAN.as_millis() as i64 / n as i64;
    Timestamp::from_millis(end.as_millis() - SPAN.as_millis() as i64 + step * k as i64)
}

/// Stores and classifies mentions `from..to` of `n` through the real store path: one
/// crawl of [`CRAWL_SIZE`] per source in turn, each followed by the sentiment worker's
/// claim and save (which open alerts and create review candidates).
async fn crawl_and_classify(
    store: &dyn Store,
    gen: &mut Generator,
    from: usize,
    to: usize,
    n: usize,
    end: Timestamp,
) {
    let sources = store.sources().await.unwrap();
    let mut k = from;
    while k < to {
        let upto = (k + CRAWL_SIZE).min(to);
        let chunk = k / CRAWL_SIZE;
        let source = &sources[chunk % sources.len()];
        let at = discovered(upto - 1, n, end);
        let (found, results): (Vec<NewMention>, Vec<Sentiment>) = (k..upto)
            .map(|i| gen.mention(i, source.source.name.as_str(), discovered(i, n, end)))
            .unzip();
        let record = CrawlRecord {
            started_at: at.minus(Duration::from_secs(2)),
            finished_at: at,
            http_status: Some(200),
            bytes: 40_000 + 400 * found.len() as u64,
            items_seen: found.len() as u64,
            error: None,
            mentions: found,
            state: SourceState {
                last_success_at: Some(at),
                next_check_at: Some(at.plus(Duration::from_secs(900))),
                ..SourceState::default()
            },
            problems: Vec::new(),
            aggregate: None,
            unhealthy_after: None,
        };
        let stored = store
            .record_crawl(source.id, "bench", &record)
            .await
            .unwrap();
        assert_eq!(stored as usize, upto - k, "every generated mention is new");
        let jobs = store
            .claim_unclassified(&ClassifyClaim {
                worker: "bench-classifier",
                now: at,
                lease: Duration::from_secs(600),
                limit: CRAWL_SIZE as u32,
                model: MODEL,
                reclassify: false,
                since: None,
            })
            .await
            .unwrap();
        assert_eq!(
            jobs.len(),
            results.len(),
            "the claim holds this crawl's mentions"
        );
        let batch: Vec<(MentionId, Sentiment)> = jobs.iter().map(|j| j.id).zip(results).collect();
        let saved = store
            .save_sentiments("bench-classifier", &batch, at.plus(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(saved as usize, batch.len());
        k = upto;
    }
}

async fn seed_sqlite(url: &str, dir: &Path) {
    let started = Instant::now();
    let store = earshot_store::connect(url)
        .await
        .expect("open the SQLite store");
    let end = Timestamp::from_millis(Timestamp::now().as_millis() / 1000 * 1000);
    configure(store.as_ref(), end.minus(SPAN)).await;
    let mut gen = Generator::new(SEED);
    crawl_and_classify(
        store.as_ref(),
        &mut gen,
        0,
        SQLITE_MENTIONS,
        SQLITE_MENTIONS,
        end,
    )
    .await;
    let stored = Instant::now();

    // Marketing's decisions on the main brand's queue, oldest first, as a person would
    // work through it: approve, every fourth with its first sentence as the excerpt, and
    // reject one in REJECT_EVERY.
    let marketing = key(store.as_ref(), dir, Role::Marketing, "Marketing").await;
    key(store.as_ref(), dir, Role::Pr, "PR desk").await;
    let main = BrandSlug::parse(BRANDS[0].0).unwrap();
    let mut pending = store
        .reviews(&ReviewQuery {
            status: Some(ReviewStatus::Pending),
            brand: Some(main.clone()),
            before: None,
            limit: u32::MAX,
        })
        .await
        .unwrap();
    pending.reverse();
    let reason = Note::parse("Mentions a competitor").unwrap();
    let (mut approved, mut rejected) = (0, 0);
    for (i, review) in pending.iter().enumerate() {
        if approved == APPROVED {
            break;
        }
        let excerpt = (approved % 4 == 3)
            .then(|| first_sentence(&review.mention.snippet))
            .map(|s| Excerpt::parse(s, &review.mention.snippet).unwrap());
        let decision = if i % REJECT_EVERY == REJECT_EVERY - 1 {
            rejected += 1;
            ReviewDecision::Reject { reason: &reason }
        } else {
            approved += 1;
            ReviewDecision::Approve {
                excerpt: excerpt.as_ref(),
            }
        };
        store
            .decide_review(review.id, &decision, &marketing, Timestamp::now())
            .await
            .unwrap();
    }
    assert_eq!(approved, APPROVED, "the main brand has enough candidates");
    let decided = Instant::now();
    report(store.as_ref(), url).await;
    println!("approved reviews of {}: {approved}", main);
    println!("rejected reviews of {}: {rejected}", main);
    println!(
        "pending reviews of {}: {}",
        main,
        pending.len() - approved - rejected
    );
    println!(
        "seed time: {:.1} s (mentions, sentiments, alerts and candidates {:.1} s; {} review decisions {:.1} s)",
        decided.duration_since(started).as_secs_f64(),
        stored.duration_since(started).as_secs_f64(),
        approved + rejected,
        decided.duration_since(stored).as_secs_f64()
    );
}

/// The first sentence of `text` (through its first full stop), or all of it.
fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(i) => &text[..=i],
        None => text,
    }
}

/// Row counts of what was stored, as `name: value` lines.
async fn report(store: &dyn Store, url: &str) {
    println!("mentions: {}", store.count_mentions().await.unwrap());
    let counts = |sql: &'static str| async move {
        if url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        } else {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    };
    for (what, sql) in [
        (
            "sentiments",
            "SELECT label, COUNT(*) FROM sentiments GROUP BY label ORDER BY label",
        ),
        (
            "alerts",
            "SELECT status, COUNT(*) FROM alerts GROUP BY status ORDER BY status",
        ),
        (
            "reviews",
            "SELECT status, COUNT(*) FROM reviews GROUP BY status ORDER BY status",
        ),
    ] {
        let rows = counts(sql).await;
        let total: i64 = rows.iter().map(|(_, n)| n).sum();
        let parts: Vec<String> = rows.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("{what}: {total} ({})", parts.join(", "));
    }
}

async fn seed_postgres(url: &str, dir: &Path) {
    let started = Instant::now();
    let store = earshot_store::connect(url)
        .await
        .expect("open the Postgres store");
    let end = Timestamp::from_millis(Timestamp::now().as_millis() / 1000 * 1000);
    configure(store.as_ref(), end.minus(SPAN)).await;
    key(store.as_ref(), dir, Role::Pr, "PR desk").await;
    let bulk = POSTGRES_MENTIONS - POSTGRES_TAIL;
    bulk_postgres(url, bulk, end).await;
    let bulked = Instant::now();
    let mut gen = Generator::new(SEED);
    crawl_and_classify(
        store.as_ref(),
        &mut gen,
        bulk,
        POSTGRES_MENTIONS,
        POSTGRES_MENTIONS,
        end,
    )
    .await;
    let tailed = Instant::now();
    // What autovacuum would have done by now on a database that grew to this size.
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&pool)
        .await
        .unwrap();
    let size: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let done = Instant::now();
    report(store.as_ref(), url).await;
    println!("database size: {size}");
    println!(
        "seed time: {:.1} s (set-based SQL for {bulk} mentions {:.1} s; real store path for {POSTGRES_TAIL} {:.1} s; VACUUM ANALYZE {:.1} s)",
        done.duration_since(started).as_secs_f64(),
        bulked.duration_since(started).as_secs_f64(),
        tailed.duration_since(bulked).as_secs_f64(),
        done.duration_since(tailed).as_secs_f64()
    );
}

/// Mentions `0..n` (ids `1..=n`) written set-based, with what the real path would have
/// written with them: a sentiment each (the label distribution of [`Generator`]), an alert
/// with its `open` event for each negative one at or above the rule's threshold (closed,
/// with a second event, when old, as a team that works its queue leaves them), and a
/// review candidate for each positive one.
async fn bulk_postgres(url: &str, n: usize, end: Timestamp) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let step = SPAN.as_millis() as i64 / POSTGRES_MENTIONS as i64;
    let start = end.as_millis() - SPAN.as_millis() as i64;
    let recent = end.as_millis() - RECENT.as_millis() as i64;
    let pos = |s: &str| {
        let mut out = String::from("(ARRAY[");
        for (i, (_, text)) in PHRASES.iter().filter(|(l, _)| *l == s).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("'{}'", text.replace('\'', "''")));
        }
        out.push_str("])");
        out
    };
    // The plan: which brand, source, label, P(label) and language each mention gets, from
    // integer hashes of its index (the same shares as the generator's).
    let plan = format!(
        "CREATE TEMP TABLE bench_plan AS
         SELECT g, g + 1 AS id,
                CASE WHEN g % 2 = 0 THEN 0 ELSE 1 + (g / 2) % {others} END AS bk,
                (g / {CRAWL_SIZE}) % {SOURCES} AS sk,
                CASE WHEN g % 2 = 0 THEN
                       CASE WHEN h < 480 THEN 'positive' WHEN h < 780 THEN 'neutral' ELSE 'negative' END
                     ELSE
                       CASE WHEN h < 350 THEN 'positive' WHEN h < 750 THEN 'neutral' ELSE 'negative' END
                END AS label,
                0.5 + ((g * 40503) % 499) / 1000.0 AS top,
                (ARRAY['en','en','en','en','en','uk','uk','es','ru','az'])[1 + (g * 7) % 10] AS lang,
                $1::bigint + g * $2::bigint AS at
         FROM generate_series(0, $3::bigint - 1) AS g,
              LATERAL (SELECT (g * 2654435761) % 1000 AS h) AS hash",
        others = BRANDS.len() - 1,
    );
    sqlx::query(&plan)
        .bind(start)
        .bind(step)
        .bind(n as i64)
        .execute(&mut *tx)
        .await
        .unwrap();
    let mentions = format!(
        "WITH b AS (SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, name FROM brands),
              s AS (SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, name FROM sources)
         INSERT INTO mentions (id, source_id, brand_id, dedup_key, url, title, snippet,
                               matched_term, author, published_at, discovered_at)
         SELECT p.id, s.id, b.id, 'https://' || s.name || '.example/t/' || p.g,
                'https://' || s.name || '.example/t/' || p.g,
                replace(t.title, '{{b}}', b.name),
                replace(t.a || ' ' || t.b || ' ' || t.c || ' ' || t.d, '{{b}}', b.name),
                b.name,
                CASE WHEN p.g % 5 = 0 THEN NULL
                     ELSE (ARRAY['Marta','Rob Kessler','Olena','Diego','Aysel','Ivan','Priya','Tom'])[1 + p.g % 8] END,
                p.at - (p.g * 7919) % 129600000, p.at
         FROM bench_plan p JOIN b ON b.k = p.bk JOIN s ON s.k = p.sk,
              LATERAL (SELECT
                 CASE p.label WHEN 'positive' THEN (ARRAY['{{b}} made my mornings better','Six months with my {{b}}','{{b}}: worth every penny'])[1 + p.g % 3]
                              WHEN 'negative' THEN (ARRAY['{{b}} broke after a week','Waited 40 minutes for {{b}} support','Do not buy the {{b}} K2'])[1 + p.g % 3]
                              ELSE (ARRAY['{{b}} announces a new model','Comparing {{b}} with the rest','{{b}} at the trade fair'])[1 + p.g % 3] END AS title,
                 (CASE p.label WHEN 'positive' THEN {p} WHEN 'negative' THEN {n} ELSE {u} END)[1 + p.g % 5] AS a,
                 (CASE p.label WHEN 'positive' THEN {p} WHEN 'negative' THEN {n} ELSE {u} END)[1 + (p.g / 5) % 5] AS b,
                 (CASE p.label WHEN 'positive' THEN {p} WHEN 'negative' THEN {n} ELSE {u} END)[1 + (p.g / 25) % 5] AS c,
                 {u}[1 + (p.g / 125) % 5] AS d) AS t
         ORDER BY p.g",
        p = pos("positive"),
        n = pos("negative"),
        u = pos("neutral"),
    );
    sqlx::query(&mentions).execute(&mut *tx).await.unwrap();
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('mentions', 'id'), (SELECT MAX(id) FROM mentions))",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    // The same embedding bytes for every row: the size is what matters to the tables.
    let embedding = Generator::new(SEED).embedding();
    sqlx::query(
        "INSERT INTO sentiments (mention_id, label, model_label, p_negative, p_neutral, p_positive,
                                 score, language, model, embedding, classified_at)
         SELECT id, label, label, pn, pu, pp, pp - pn, lang, $1, $2, at + 5000
         FROM (SELECT id, label, lang, at,
                      CASE label WHEN 'negative' THEN top ELSE (1 - top) * 0.6 END AS pn,
                      CASE label WHEN 'neutral' THEN top ELSE (1 - top) * 0.4 END AS pu,
                      CASE label WHEN 'positive' THEN top
                                 WHEN 'negative' THEN (1 - top) * 0.4 ELSE (1 - top) * 0.6 END AS pp
               FROM bench_plan) AS p
         ORDER BY id",
    )
    .bind(MODEL)
    .bind(embedding)
    .execute(&mut *tx)
    .await
    .unwrap();
    // Alerts: open while recent (three in four; the rest acknowledged or resolved), and
    // mostly resolved or dismissed once older, with one in 25 left open and forgotten.
    sqlx::query(
        "INSERT INTO alerts (mention_id, brand_id, rule_id, severity, status, assignee, opened_at, updated_at)
         SELECT m.id, m.brand_id, r.id,
                CASE WHEN t.p_negative >= 0.9 THEN 'high' WHEN t.p_negative >= 0.8 THEN 'medium' ELSE 'low' END,
                CASE WHEN m.discovered_at >= $1 THEN
                       CASE WHEN m.id % 100 < 75 THEN 'open' WHEN m.id % 100 < 90 THEN 'acknowledged' ELSE 'resolved' END
                     ELSE
                       CASE WHEN m.id % 100 < 4 THEN 'open' WHEN m.id % 100 < 60 THEN 'resolved' ELSE 'dismissed' END
                END,
                CASE WHEN m.id % 100 >= 75 THEN 'Olena' END,
                t.classified_at, t.classified_at
         FROM mentions m JOIN sentiments t ON t.mention_id = m.id
              JOIN alert_rules r ON r.brand_id = m.brand_id AND r.retired_at IS NULL
         WHERE t.label = 'negative' AND t.p_negative >= r.threshold
         ORDER BY m.id",
    )
    .bind(recent)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO alert_events (alert_id, at, actor, action, to_status, note)
         SELECT a.id, a.opened_at, 'earshot', 'open', 'open',
                'P(negative) ' || to_char(t.p_negative, 'FM0.00') || ' reached rule ' || a.rule_id
                || '''s threshold ' || to_char(r.threshold, 'FM0.00')
         FROM alerts a JOIN sentiments t ON t.mention_id = a.mention_id
              JOIN alert_rules r ON r.id = a.rule_id
         ORDER BY a.id",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO alert_events (alert_id, at, actor, actor_key_id, action, from_status, to_status, assignee, note)
         SELECT a.id, a.opened_at + 3600000, k.name, k.id,
                CASE a.status WHEN 'acknowledged' THEN 'acknowledge' WHEN 'resolved' THEN 'resolve' ELSE 'dismiss' END,
                'open', a.status, a.assignee,
                CASE a.status WHEN 'resolved' THEN 'Replied on the forum' END
         FROM alerts a, (SELECT id, name FROM api_keys WHERE role = 'pr' ORDER BY id LIMIT 1) AS k
         WHERE a.status <> 'open'
         ORDER BY a.id",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE alerts SET updated_at = opened_at + 3600000 WHERE status <> 'open'")
        .execute(&mut *tx)
        .await
        .unwrap();
    // Review candidates: every positive mention; most decided long ago.
    sqlx::query(
        "INSERT INTO reviews (mention_id, brand_id, status, reason, decided_by, decided_at, created_at, updated_at)
         SELECT m.id, m.brand_id,
                CASE WHEN m.id % 10 < 6 THEN 'approved' WHEN m.id % 10 < 7 THEN 'rejected' ELSE 'pending' END,
                CASE WHEN m.id % 10 = 6 THEN 'Mentions a competitor' END,
                CASE WHEN m.id % 10 < 7 THEN 'Marketing' END,
                CASE WHEN m.id % 10 < 7 THEN t.classified_at + 86400000 END,
                t.classified_at, t.classified_at
         FROM mentions m JOIN sentiments t ON t.mention_id = m.id
         WHERE t.label = 'positive'
         ORDER BY m.id",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    pool.close().await;
}

/// Sentences the texts are made of, by sentiment; `{b}` is the brand's name.
const PHRASES: [(&str, &str); 15] = [
    ("positive", "I have used the {b} every morning for half a year and it still heats in under two minutes."),
    ("positive", "Quiet, well built and the lid finally closes properly, {b} got this one right."),
    ("positive", "Support from {b} replaced a cracked part within three days without any questions."),
    ("positive", "Best purchase this year: the {b} looks great on the counter and cleans easily."),
    ("positive", "My parents liked my {b} so much that they bought one for themselves."),
    ("negative", "The {b} stopped working after a week and the shop would not take it back."),
    ("negative", "Waited forty minutes on hold with {b} support and then the call dropped."),
    ("negative", "The lid of the {b} leaks and the handle gets far too hot to hold."),
    ("negative", "Error E4 again, the third time this month, and {b} has no fix for it."),
    ("negative", "Paid extra for the {b} and it is louder than my old cheap kettle."),
    ("neutral", "{b} showed its new range at the trade fair in Kyiv this week."),
    ("neutral", "The {b} comes in three colours and ships with a two-year warranty."),
    ("neutral", "A reader asked how the {b} compares with other kettles at this price."),
    ("neutral", "{b} said the spring models will reach shops in March."),
    ("neutral", "Prices for the {b} range from forty to ninety euros depending on the shop."),
];

/// The deterministic source of the real-path mentions and their sentiments.
struct Generator(u64);

impl Generator {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// xorshift64: fast and good enough for made-up data.
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }

    /// A unit-length embedding, as the model's L2-normalised output is, as stored bytes.
    fn embedding(&mut self) -> Vec<u8> {
        let v: Vec<f32> = (0..EMBEDDING_DIM)
            .map(|_| self.unit() as f32 - 0.5)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().flat_map(|x| (x / norm).to_le_bytes()).collect()
    }

    /// Mention `i`, found on `source` at `at`, and the sentiment the model gives it. Even
    /// indices are the main brand's (48% positive, 22% negative); odd ones go round the
    /// other brands (35% positive, 25% negative).
    fn mention(&mut self, i: usize, source: &str, at: Timestamp) -> (NewMention, Sentiment) {
        let (slug, name) = if i.is_multiple_of(2) {
            BRANDS[0]
        } else {
            BRANDS[1 + (i / 2) % (BRANDS.len() - 1)]
        };
        let (positive, neutral) = if i.is_multiple_of(2) {
            (0.48, 0.30)
        } else {
            (0.35, 0.40)
        };
        let u = self.unit();
        let label = if u < positive {
            Label::Positive
        } else if u < positive + neutral {
            Label::Neutral
        } else {
            Label::Negative
        };
        let phrases: Vec<&str> = PHRASES
            .iter()
            .filter(|(l, _)| *l == label.as_str())
            .map(|(_, p)| *p)
            .collect();
        let neutral_phrases: Vec<&str> = PHRASES
            .iter()
            .filter(|(l, _)| *l == "neutral")
            .map(|(_, p)| *p)
            .collect();
        let snippet = [
            self.pick(&phrases),
            self.pick(&phrases),
            self.pick(&neutral_phrases),
            self.pick(&phrases),
        ]
        .join(" ")
        .replace("{b}", name);
        let title = match label {
            Label::Positive => self.pick(&[
                "{b} made my mornings better",
                "Six months with my {b}",
                "{b}: worth every penny",
            ]),
            Label::Negative => self.pick(&[
                "{b} broke after a week",
                "Waited 40 minutes for {b} support",
                "Do not buy the {b} K2",
            ]),
            Label::Neutral => self.pick(&[
                "{b} announces a new model",
                "Comparing {b} with the rest",
                "{b} at the trade fair",
            ]),
        }
        .replace("{b}", name);
        let url = format!("https://{source}.example/t/{i}");
        let author = (!i.is_multiple_of(5)).then(|| {
            self.pick(&[
                "Marta",
                "Rob Kessler",
                "Olena",
                "Diego",
                "Aysel",
                "Ivan",
                "Priya",
                "Tom",
            ])
            .to_owned()
        });
        let published = at.minus(Duration::from_secs(self.next() % (36 * 3600)));
        let top = 0.5 + 0.499 * self.unit();
        let rest = 1.0 - top;
        let p = match label {
            Label::Negative => [top, rest * 0.6, rest * 0.4],
            Label::Neutral => [rest * 0.6, top, rest * 0.4],
            Label::Positive => [rest * 0.4, rest * 0.6, top],
        }
        .map(|x| x as f32);
        let language = self.pick(&["en", "en", "en", "en", "en", "uk", "uk", "es", "ru", "az"]);
        let embedding = self.embedding();
        let embedding = embedding
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (
            NewMention {
                brand: BrandSlug::parse(slug).unwrap(),
                dedup_key: DedupKey::from_guid(&url),
                url: Some(url),
                title,
                snippet,
                matched_term: name.to_owned(),
                author,
                published_at: Some(published),
                rating: None,
            },
            Sentiment {
                label,
                model_label: label,
                probabilities: p,
                score: p[2] - p[0],
                language: Some(language.to_owned()),
                model: MODEL.to_owned(),
                embedding,
                signals: Default::default(),
            },
        )
    }
}
