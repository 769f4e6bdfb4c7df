//! The feed parser against real-world corpora that nobody on this project wrote.
//!
//! Every input file of `../shared/corpora/{feedparser-tests, w3c-feedvalidator-testcases,
//! feed-rs-fixtures}` goes through `earshot_crawler::feed::parse_feed`. A feed may be
//! rejected (many of these files are broken on purpose), but nothing may panic, and what
//! does parse must agree with the corpora's own expectations where we can check them.
//!
//! The corpora live outside the repository. When `../shared/corpora` is missing (a fresh
//! clone), each test prints "skipped: ../shared/corpora not found" and passes.
//! To see the per-corpus counts: `cargo test --test feed_corpora -- --nocapture`.

use earshot_crawler::feed::{parse_feed, FeedError};
use earshot_crawler::text::{collapse_whitespace, html_to_text};
use earshot_crawler::Document;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use url::Url;

const CORPORA: [&str; 3] = [
    "feedparser-tests",
    "w3c-feedvalidator-testcases",
    "feed-rs-fixtures",
];

/// What happened to one input file.
struct Outcome {
    corpus: &'static str,
    /// Path relative to the corpus folder, with `/` separators (as in MANIFEST.tsv).
    path: String,
    /// `None` if the parser panicked.
    result: Option<Result<Vec<Document>, FeedError>>,
}

fn corpora_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpora not found");
        None
    }
}

/// Every corpus input, parsed once and shared by the tests below.
fn outcomes() -> Option<&'static [Outcome]> {
    static OUTCOMES: OnceLock<Vec<Outcome>> = OnceLock::new();
    let dir = corpora_dir()?;
    Some(OUTCOMES.get_or_init(|| {
        let mut all = Vec::new();
        for corpus in CORPORA {
            let root = dir.join(corpus);
            for file in input_files(&root) {
                let path = relative(&root, &file);
                let bytes = std::fs::read(&file).unwrap_or_default();
                let content_type = header_content_type(&bytes);
                let base = Url::parse("http://127.0.0.1:8097/")
                    .and_then(|b| b.join(&path))
                    .expect("corpus paths make valid URLs");
                // A panic, whether it escapes or is contained as `ParserPanicked`, is a
                // failure of this test.
                let result = catch_unwind(AssertUnwindSafe(|| {
                    parse_feed(&bytes, content_type.as_deref(), &base)
                }))
                .ok()
                .filter(|r| !matches!(r, Err(FeedError::ParserPanicked(_))));
                all.push(Outcome {
                    corpus,
                    path,
                    result,
                });
            }
        }
        all
    }))
}

/// Input files under `root`, sorted: everything except golden outputs, manifests,
/// provenance notes and licences.
fn input_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let skip = name.ends_with(".serde.json")
                || name == "MANIFEST.tsv"
                || name == "SOURCE.txt"
                || name.starts_with("LICENSE");
            if !skip {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn relative(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The simulated HTTP `Content-Type` of a feedparser test (`Header: Content-type: ...`
/// in its leading comment).
fn header_content_type(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]);
    head.lines().find_map(|line| {
        let header = line.trim().strip_prefix("Header:")?.trim();
        let (name, value) = header.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    })
}

#[test]
fn every_corpus_file_parses_or_is_rejected_without_panicking() {
    let Some(outcomes) = outcomes() else { return };
    let mut panicked = Vec::new();
    for corpus in CORPORA {
        let (mut parsed, mut rejected, mut documents) = (0, 0, 0);
        for o in outcomes.iter().filter(|o| o.corpus == corpus) {
            match &o.result {
                Some(Ok(docs)) => {
                    parsed += 1;
                    documents += docs.len();
                }
                Some(Err(_)) => rejected += 1,
                None => panicked.push(format!("{corpus}/{}", o.path)),
            }
        }
        println!("{corpus}: {parsed} parsed ({documents} documents), {rejected} rejected");
        // Honest floors, a little under what the parser achieves today (1595, 1773 and 64
        // files): a regression in decoding or parsing shows here. The rest are broken on
        // purpose, not feeds (AtomPub, OpenSearch, OPML, CDF, raw XML), or forms feed-rs 2
        // does not read (`<rss>` without a version, Atom 0.3 MIME-typed text constructs,
        // RSS 1.0 items without a link, RSS 1.1).
        let floor = match corpus {
            "feedparser-tests" => 1550,
            "w3c-feedvalidator-testcases" => 1700,
            _ => 62,
        };
        assert!(
            parsed >= floor,
            "{corpus}: only {parsed} files parsed, expected at least {floor}"
        );
    }
    println!("panicked: {}", panicked.len());
    assert!(panicked.is_empty(), "the parser panicked on: {panicked:#?}");
}

#[test]
fn rejected_feeds_say_why_in_words() {
    let Some(outcomes) = outcomes() else { return };
    for o in outcomes {
        if let Some(Err(e)) = &o.result {
            let message = e.to_string();
            assert!(
                message.starts_with("not a feed: ") || message.starts_with("malformed feed: "),
                "{}/{}: {message}",
                o.corpus,
                o.path
            );
        }
    }
}

#[test]
fn feed_rs_fixtures_yield_as_many_documents_as_their_golden_outputs() {
    let Some(outcomes) = outcomes() else { return };
    let Some(dir) = corpora_dir() else { return };
    let root = dir.join("feed-rs-fixtures");
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for o in outcomes.iter().filter(|o| o.corpus == "feed-rs-fixtures") {
        let stem = o.path.rsplit_once('.').map_or(o.path.as_str(), |(s, _)| s);
        let Ok(golden) = std::fs::read(root.join(format!("{stem}.serde.json"))) else {
            continue;
        };
        let golden: serde_json::Value =
            serde_json::from_slice(&golden).expect("golden outputs are valid JSON");
        let expected = golden["entries"].as_array().map_or(0, Vec::len);
        let actual = match &o.result {
            Some(Ok(docs)) => docs.len(),
            _ => usize::MAX,
        };
        compared += 1;
        if actual != expected {
            mismatches.push(format!(
                "{}: {actual} documents, golden has {expected}",
                o.path
            ));
        }
    }
    println!("feed-rs-fixtures: {compared} golden entry counts compared");
    assert!(
        compared >= 50,
        "only {compared} fixtures had a golden output"
    );
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    let invalid = outcomes
        .iter()
        .find(|o| o.path.ends_with("rss_2.0_invalid_1.xml"))
        .expect("the invalid fixture is in the corpus");
    assert!(
        matches!(invalid.result, Some(Err(_))),
        "rss_2.0_invalid_1.xml must be rejected"
    );
}

#[test]
fn feedparser_title_expectations_hold_as_plain_text() {
    let Some(outcomes) = outcomes() else { return };
    let Some(dir) = corpora_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("feedparser-tests/MANIFEST.tsv"))
        .expect("feedparser-tests has a MANIFEST.tsv");
    let (mut checked, mut agreed) = (0, 0);
    let mut disagreements = Vec::new();
    for line in manifest.lines() {
        let mut fields = line.split('\t');
        let (Some(path), Some(_), Some(expect)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Some(expected) = expected_first_title(expect) else {
            continue;
        };
        let Some(outcome) = outcomes
            .iter()
            .find(|o| o.corpus == "feedparser-tests" && o.path == path)
        else {
            continue;
        };
        checked += 1;
        let actual = match &outcome.result {
            Some(Ok(docs)) => docs.first().map(|d| d.title.clone()),
            _ => None,
        };
        // feedparser keeps sanitised markup in titles; we keep text. Either reading of the
        // expected value is accepted (Atom `type="text"` titles keep literal brackets).
        let ok = actual
            .as_ref()
            .is_some_and(|a| *a == html_to_text(&expected) || *a == collapse_whitespace(&expected));
        if ok {
            agreed += 1;
        } else {
            disagreements.push(format!("{path}: got {actual:?}, expected {expected:?}"));
        }
    }
    println!("feedparser-tests: first-item titles agree on {agreed} of {checked} files");
    for d in &disagreements {
        println!("  title differs: {d}");
    }
    assert!(checked >= 60, "only {checked} title expectations found");
    // 44 of 70 agree today. Known differences: base64-encoded titles, media:title and
    // dc:title fallbacks, Atom 0.3 MIME-typed titles, CDF and versionless RSS (none of
    // which feed-rs 2 reads), and escaped markup inside inline XHTML, which feed-rs
    // unescapes when it re-serialises the XHTML.
    assert!(
        agreed >= 42,
        "only {agreed} of {checked} titles agree: {disagreements:#?}"
    );
}

#[test]
fn every_valid_w3c_rss_and_atom_case_parses() {
    let Some(outcomes) = outcomes() else { return };
    let Some(dir) = corpora_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("w3c-feedvalidator-testcases/MANIFEST.tsv"))
        .expect("w3c-feedvalidator-testcases has a MANIFEST.tsv");
    // `!Error` marks a document the validator accepts. Under these folders every such
    // document is an RSS 2.0/0.9x or Atom 1.0 feed (elsewhere they are also AtomPub,
    // OpenSearch and OPML documents, which are rightly not feeds).
    let feed_folders = ["testcases/atom/", "testcases/rss/", "testcases/rss20/"];
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in manifest.lines() {
        let mut fields = line.split('\t');
        let (Some(path), Some(_), Some(expect)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if expect != "!Error" || !feed_folders.iter().any(|f| path.starts_with(f)) {
            continue;
        }
        let Some(outcome) = outcomes
            .iter()
            .find(|o| o.corpus == "w3c-feedvalidator-testcases" && o.path == path)
        else {
            continue;
        };
        checked += 1;
        match &outcome.result {
            Some(Ok(_)) => {}
            Some(Err(e)) => failures.push(format!("{path}: {e}")),
            None => failures.push(format!("{path}: panicked")),
        }
    }
    println!("w3c-feedvalidator-testcases: {checked} valid RSS/Atom cases checked");
    assert!(checked >= 80, "only {checked} valid RSS/Atom cases found");
    assert!(failures.is_empty(), "valid feeds rejected: {failures:#?}");
}

/// `X` from an expectation that is exactly `[not bozo and ]entries[0]['title'] == 'X'`,
/// when `X` has no Python escapes.
fn expected_first_title(expect: &str) -> Option<String> {
    let rest = expect.strip_prefix("not bozo and ").unwrap_or(expect);
    let rest = rest.strip_prefix("entries[0]['title'] == ")?;
    let rest = rest.strip_prefix('u').unwrap_or(rest);
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.contains('\\') && !inner.contains('\'')).then(|| inner.to_owned())
}

#[test]
fn google_alerts_style_titles_lose_their_markup_and_links_their_redirect() {
    // Our own fixture, shaped like a Google Alerts Atom feed.
    let feed = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:alerts.example,2026:feed/1</id>
  <title>Alert - "acme"</title>
  <updated>2026-11-23T09:00:00Z</updated>
  <entry>
    <id>tag:alerts.example,2026:entry/1</id>
    <title type="html">&lt;b&gt;Acme&lt;/b&gt; anvils &amp;amp; the &lt;b&gt;Acme&lt;/b&gt; rocket</title>
    <link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://blog.example.net/2026/acme%3Fref%3Dx&amp;ct=ga&amp;cd=CAIyHDk&amp;usg=AOvVaw"/>
    <published>2026-11-23T08:00:00Z</published>
    <updated>2026-11-23T08:00:00Z</updated>
    <content type="html">Everyone loves &lt;b&gt;Acme&lt;/b&gt;&amp;nbsp;anvils.</content>
  </entry>
</feed>"#;
    let base = Url::parse("https://www.google.com/alerts/feeds/1/2").expect("URL");
    let docs = parse_feed(feed.as_bytes(), Some("application/atom+xml"), &base).expect("a feed");
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title, "Acme anvils & the Acme rocket");
    assert!(!d.title.contains("<b>") && !d.text.contains('<'));
    assert_eq!(d.text, "Everyone loves Acme anvils.");
    assert_eq!(
        d.url.as_ref().map(Url::as_str),
        Some("https://blog.example.net/2026/acme?ref=x")
    );
    assert_eq!(d.guid.as_deref(), Some("tag:alerts.example,2026:entry/1"));
}
