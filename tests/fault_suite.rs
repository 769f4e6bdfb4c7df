//! The fault suite: a crawl of sources that each break in their own way at the level of
//! bytes on the wire (see `support::fault_site`), on SQLite and Postgres. For each fault
//! it asserts what is stored (the mention from before the fault is intact, nothing half
//! read is stored, nothing is stored twice), what is recorded (the crawl run's error in
//! words, the source's error count and its next check), and that the source that keeps
//! working is read in the same crawl. The database restarted under a running server is
//! `tests/fault_postgres_restart.rs`; a full or read-only SQLite is at the end here.

mod support;

use earshot_crawler::crawl::{CrawlReport, Crawler};
use earshot_crawler::fetch::{FetchLimits, Fetcher};
use earshot_crawler::politeness::PolitenessLimits;
use earshot_domain::{Mention, Timestamp};
use earshot_store::{MentionQuery, Store};
use std::sync::Arc;
use std::time::Duration;
use support::fault_site::{FaultSite, FAULTS};
use support::{acme, feed_source, TestDb};

const EVERY: Duration = Duration::from_secs(600);
/// The body cap the crawler runs with here: the bomb inflates to a thousand times this.
const CAP: u64 = 64 * 1024;

fn crawler(store: Arc<dyn Store>) -> Crawler {
    let limits = FetchLimits {
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(3),
        max_body_bytes: CAP,
        max_redirects: 5,
        politeness: PolitenessLimits::unthrottled(8),
    };
    Crawler::new(Fetcher::new(limits).unwrap(), store, "fault-worker")
}

async fn all_mentions(store: &dyn Store) -> Vec<Mention> {
    let query = MentionQuery {
        limit: 500,
        ..Default::default()
    };
    store.mentions(&query).await.unwrap()
}

fn report<'a>(reports: &'a [CrawlReport], name: &str) -> &'a CrawlReport {
    reports
        .iter()
        .find(|r| r.source.as_str() == name)
        .unwrap_or_else(|| panic!("no report for {name}"))
}

/// The titles stored for source `name`, sorted.
fn titles(mentions: &[Mention], name: &str) -> Vec<String> {
    let mut t: Vec<String> = mentions
        .iter()
        .filter(|m| m.source.as_str() == name)
        .map(|m| m.title.clone())
        .collect();
    t.sort();
    t
}

async fn faults_story(db: TestDb) {
    let site = FaultSite::start().await;
    let store = db.store.clone();
    let sources: Vec<_> = FAULTS
        .iter()
        .map(|(name, _)| feed_source(name, &site.url(name), EVERY))
        .collect();
    store
        .sync_config(&[acme()], &sources, Timestamp::now())
        .await
        .unwrap();
    let crawler = crawler(store.clone());

    // While the site behaves, every source stores its one old item.
    let first = crawler
        .crawl_all_once(None, 8, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(first.len(), FAULTS.len());
    for r in &first {
        assert_eq!((r.error.as_deref(), r.new_mentions), (None, 1), "{r:?}");
    }
    let before: Vec<Mention> = all_mentions(store.as_ref()).await;
    assert_eq!(before.len(), FAULTS.len());

    // Then it breaks, and everything is crawled again in one run.
    site.break_all();
    let started = Timestamp::now();
    let second = crawler
        .crawl_all_once(None, 8, |_| {}, |_| {})
        .await
        .unwrap();
    let finished = Timestamp::now();
    assert_eq!(
        second.len(),
        FAULTS.len(),
        "every source is crawled, failures included"
    );
    let after = all_mentions(store.as_ref()).await;

    // Nothing stored before is lost or changed, whatever happened since.
    for old in &before {
        let now = after
            .iter()
            .find(|m| m.id == old.id)
            .unwrap_or_else(|| panic!("{} lost", old.title));
        assert_eq!(now, old, "the earlier mention is intact");
    }

    // The source that behaves is read in the same crawl as the failures.
    let good = report(&second, "good");
    assert_eq!((good.error.as_deref(), good.new_mentions), (None, 1));
    assert_eq!(
        titles(&after, "good"),
        ["Acme good follow-up", "Acme good review"]
    );

    // Invalid UTF-8 is not an error: the bad bytes become U+FFFD, and the rest of the
    // item, and the feed, are read as written.
    let bad = report(&second, "badutf8");
    assert_eq!(
        (bad.error.as_deref(), bad.new_mentions),
        (None, 1),
        "{bad:?}"
    );
    let new = after
        .iter()
        .find(|m| m.title == "Acme badutf8 follow-up")
        .expect("the item with invalid bytes is stored");
    assert!(
        new.snippet
            .contains("Still happy with Acme, caf\u{FFFD}(\u{FFFD}\u{FFFD} and all"),
        "{:?}",
        new.snippet
    );

    // Each failing source: its error in words, one consecutive error, the next check
    // one interval out, nothing of the broken answer stored.
    let failing = [
        ("cut", "before the whole body arrived"),
        ("trickle", "timed out"),
        ("flaky", "HTTP 500"),
        ("loop", "more than 5 redirects"),
        ("huge", "larger than the 65536-byte limit"),
        ("bomb", "larger than the 65536-byte limit"),
    ];
    let stored = store.sources().await.unwrap();
    let runs = store.crawl_runs(100).await.unwrap();
    for (name, words) in failing {
        let r = report(&second, name);
        let error = r
            .error
            .as_deref()
            .unwrap_or_else(|| panic!("{name} should fail"));
        assert!(error.contains(words), "{name}: {error:?} lacks {words:?}");
        assert_eq!(r.new_mentions, 0, "{name}");
        assert_eq!(
            titles(&after, name),
            [format!("Acme {name} review")],
            "{name}: only the old item"
        );
        let state = &stored
            .iter()
            .find(|s| s.source.name.as_str() == name)
            .unwrap()
            .state;
        assert_eq!(state.error_count, 1, "{name}");
        assert_eq!(state.last_error.as_deref(), Some(error), "{name}");
        let next = state.next_check_at.expect("next check");
        assert!(
            next >= started.plus(EVERY) && next <= finished.plus(EVERY),
            "{name}: next check {next} is one interval after the failure"
        );
        let run = runs
            .iter()
            .find(|run| run.source.as_str() == name && run.error.is_some())
            .unwrap_or_else(|| panic!("{name}: no failed run recorded"));
        assert_eq!(run.error.as_deref(), Some(error), "{name}");
        assert_eq!(run.new_mentions, 0, "{name}");
    }
    assert_eq!(
        site.hits("loop"),
        1 + 6,
        "the first crawl, then 1 + 5 redirects"
    );
    assert_eq!(
        after.len(),
        before.len() + 2,
        "good's and badutf8's new items only"
    );

    // The flaky source fails every other time: the next success resets its count and
    // stores its new item once, and re-crawls store nothing twice.
    let flaky = feed_source("flaky", &site.url("flaky"), EVERY);
    let only = flaky.name.clone();
    let third = crawler
        .crawl_all_once(Some(&only), 1, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (third[0].error.as_deref(), third[0].new_mentions),
        (None, 1)
    );
    let fourth = crawler
        .crawl_all_once(Some(&only), 1, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(fourth[0].error.as_deref(), Some("HTTP 500"));
    let fifth = crawler
        .crawl_all_once(Some(&only), 1, |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (fifth[0].error.as_deref(), fifth[0].new_mentions),
        (None, 0)
    );
    let state = store
        .sources()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.source.name == only)
        .unwrap()
        .state;
    assert_eq!((state.error_count, state.last_error), (0, None));
    assert_eq!(
        titles(&all_mentions(store.as_ref()).await, "flaky"),
        ["Acme flaky follow-up", "Acme flaky review"]
    );
    db.cleanup().await;
}

#[tokio::test]
async fn every_fault_is_recorded_and_nothing_is_lost_on_sqlite() {
    faults_story(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn every_fault_is_recorded_and_nothing_is_lost_on_postgres() {
    faults_story(TestDb::postgres().await).await;
}

/// A small tmpfs mounted on a temporary folder for one test, unmounted at the end: a
/// file system that really fills up (ENOSPC) and that can be made read-only, which
/// `chmod` cannot do for root. Mounting needs root (CAP_SYS_ADMIN), as in CI.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs to fill up, which needs root with CAP_SYS_ADMIN: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.flush();
    }

    fn free(&self) {
        std::fs::remove_file(self.path().join("filler")).unwrap();
    }

    fn remount(&self, mode: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// A config with one source and no sentiment model, its database at `url`.
fn write_config(dir: &std::path::Path, url: &str, feed: &str) {
    let config = format!(
        "[database]\nurl = \"{url}\"\n[crawler]\nhost_interval = \"0s\"\n[sentiment]\nenabled = false\n\
         [[brands]]\nslug = \"acme\"\nname = \"Acme\"\nterms = [\"Acme\"]\n\
         [[sources]]\nname = \"good\"\nkind = \"feed\"\nurl = \"{feed}\"\n"
    );
    std::fs::write(dir.join("earshot.toml"), config).unwrap();
}

/// Runs `earshot crawl` in `dir` and returns its exit code and all it printed. A panic
/// or a signal fails the test.
fn crawl_with_binary(dir: &std::path::Path) -> (i32, String) {
    let out = support::earshot(dir, &["crawl", "--once"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("earshot crawl died by a signal: {text}"));
    assert!(!text.contains("panicked"), "{text}");
    (code, text)
}

async fn stored_titles(url: &str) -> Vec<String> {
    let store = earshot_store::connect(url).await.unwrap();
    let mut t: Vec<String> = all_mentions(store.as_ref())
        .await
        .into_iter()
        .map(|m| m.title)
        .collect();
    t.sort();
    t
}

// Multi-threaded: the site answers while the test waits for the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_sqlite_writes_with_a_clear_error_and_loses_nothing() {
    let site = FaultSite::start().await;
    let disk = SmallDisk::mount("8m");
    let config_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", disk.path().join("earshot.db").display());
    write_config(config_dir.path(), &url, &site.url("good"));
    let (code, text) = crawl_with_binary(config_dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 new mention"), "{text}");

    disk.fill();
    site.break_all();
    let (code, text) = crawl_with_binary(config_dir.path());
    // SQLite says SQLITE_FULL when a write runs out of room, or a disk I/O error when
    // it cannot even make its shared-memory file; either way the message says to free
    // space on the disk.
    assert_eq!(code, 1, "{text}");
    assert!(
        text.to_lowercase().contains("free space on the disk"),
        "the error says what is wrong and what to do: {text}"
    );

    // Once there is room, nothing half-written is found, and the next crawl stores what
    // the failed one could not.
    disk.free();
    assert_eq!(stored_titles(&url).await, ["Acme good review"]);
    let (code, text) = crawl_with_binary(config_dir.path());
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        stored_titles(&url).await,
        ["Acme good follow-up", "Acme good review"]
    );
}

// Multi-threaded: the site answers while the test waits for the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_database_gets_a_clear_error() {
    let site = FaultSite::start().await;
    let disk = SmallDisk::mount("8m");
    let config_dir = tempfile::tempdir().unwrap();
    let file = disk.path().join("earshot.db");
    let url = format!("sqlite://{}", file.display());
    write_config(config_dir.path(), &url, &site.url("good"));
    let (code, text) = crawl_with_binary(config_dir.path());
    assert_eq!(code, 0, "{text}");
    site.break_all();

    // Opened read-only on purpose (mode=ro), and on a read-only mount (which stops
    // root too, unlike file permissions).
    let read_only_url = format!("sqlite://{}?mode=ro", file.display());
    write_config(config_dir.path(), &read_only_url, &site.url("good"));
    let (code, text) = crawl_with_binary(config_dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("read-only") && text.contains("write access"),
        "mode=ro: {text}"
    );
    write_config(config_dir.path(), &url, &site.url("good"));
    disk.remount("ro");
    let (code, text) = crawl_with_binary(config_dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("read-only") && text.contains("write access"),
        "read-only mount: {text}"
    );
    disk.remount("rw");
    assert_eq!(stored_titles(&url).await, ["Acme good review"]);
}
