//! The Discourse extractors against a real forum's saved output, which nobody on this
//! project wrote: `../shared/corpora/discourse-real-feeds` (or `$EARSHOT_CORPORA/...`).
//! It holds the forum-wide latest posts and two topics, as JSON API answers and as RSS,
//! with real quotes (`aside.quote`) and link previews (onebox).
//!
//! The checks use what the corpus itself says, independently of our DOM walk:
//! - every post in the JSON is read, with the guid, author, date and URL the JSON gives;
//! - the text of each `<blockquote>` inside an `aside.quote`, cut out of the HTML by plain
//!   string search, lands in the post's quotes and not in its own text;
//! - in `posts.json`, the authors' `raw` Markdown says what was quoted (`[quote]...[/quote]`):
//!   words only found inside the quote must not be in the post's text;
//! - `posts.rss` carries the same 50 posts: their guids and their split text must agree.
//!
//! The article extractor is run on `../shared/corpora/recipe-scrapers-pages`, real saved
//! blog pages, against that corpus's expected output and the reader reviews it lists.
//!
//! When the corpora are missing (a fresh clone), each test prints a "skipped" line and
//! passes. To see the counts: `cargo test -p earshot-crawler --test forum_corpora -- --nocapture`.

use earshot_crawler::discourse::{parse_discourse_json, split_cooked};
use earshot_crawler::text::html_to_text;
use earshot_crawler::Document;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use url::Url;

const HOST: &str = "https://discuss.criticalfallibilism.com";

/// The JSON files of the corpus and the API path each one answers.
const JSON_FILES: [(&str, &str); 4] = [
    ("posts.json", "/posts.json"),
    ("t_2108_posts.json", "/t/2108/posts.json"),
    ("t_2144_posts.json", "/t/2144/posts.json"),
    ("t_2108_post_452.json", "/t/2108/452.json"),
];

const RSS_FILES: [&str; 3] = ["posts.rss", "t_2108.rss", "t_2144.rss"];

fn corpus_dir() -> Option<PathBuf> {
    let corpora = std::env::var_os("EARSHOT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"));
    let dir = corpora.join("discourse-real-feeds");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} not found", dir.display());
        None
    }
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// The posts array of a JSON answer, as the corpus has it.
fn json_posts(body: &str) -> Vec<Value> {
    let value: Value = serde_json::from_str(body).expect("the corpus JSON parses");
    let posts = value
        .get("latest_posts")
        .or_else(|| value.get("post_stream")?.get("posts"))
        .and_then(Value::as_array);
    posts.cloned().unwrap_or_default()
}

/// One cooked body and what we made of it.
struct Split {
    source: String,
    cooked: String,
    text: String,
    quotes: Vec<String>,
}

/// Every cooked body of the corpus (JSON posts and RSS descriptions), split.
fn all_cooked(dir: &Path) -> Vec<Split> {
    let mut out = Vec::new();
    for (file, _) in JSON_FILES {
        for post in json_posts(&read(dir, file)) {
            let cooked = post["cooked"].as_str().unwrap_or("").to_owned();
            let (text, quotes) = split_cooked(&cooked);
            out.push(Split {
                source: format!("{file} post {}", post["id"]),
                cooked,
                text,
                quotes,
            });
        }
    }
    for file in RSS_FILES {
        for (guid, description) in rss_items(&read(dir, file)) {
            let (text, quotes) = split_cooked(&description);
            out.push(Split {
                source: format!("{file} {guid}"),
                cooked: description,
                text,
                quotes,
            });
        }
    }
    out
}

/// (guid, description HTML) of each RSS item.
fn rss_items(body: &str) -> Vec<(String, String)> {
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("the corpus RSS parses");
    feed.entries
        .into_iter()
        .map(|e| {
            let html = e
                .summary
                .map(|s| s.content)
                .or_else(|| e.content.and_then(|c| c.body))
                .unwrap_or_default();
            (e.id, html)
        })
        .collect()
}

#[test]
fn every_json_post_is_read_with_its_guid_author_date_and_url() {
    let Some(dir) = corpus_dir() else { return };
    let (mut total, mut read_ok, mut without_text) = (0, 0, 0);
    for (file, path) in JSON_FILES {
        let body = read(&dir, file);
        let page_url = Url::parse(&format!("{HOST}{path}")).unwrap();
        let page = parse_discourse_json(&body, &page_url).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(page.problems.is_empty(), "{file}: {:?}", page.problems);
        let by_guid: HashMap<&str, &Document> = page
            .posts
            .iter()
            .filter_map(|d| Some((d.guid.as_deref()?, d)))
            .collect();
        for post in json_posts(&body) {
            let guid = format!("discuss.criticalfallibilism.com-post-{}", post["id"]);
            // A post that is only an embed (a video's thumbnail) has no words to read.
            if html_to_text(post["cooked"].as_str().unwrap_or("")).is_empty() {
                assert!(
                    !by_guid.contains_key(guid.as_str()),
                    "{guid} has no text but was read"
                );
                without_text += 1;
                continue;
            }
            total += 1;
            let Some(doc) = by_guid.get(guid.as_str()) else {
                println!("{file}: {guid} missing");
                continue;
            };
            let created = post["created_at"].as_str().unwrap_or("");
            let url_ok = doc.url.as_ref().map(Url::path) == post["post_url"].as_str();
            let ok = doc.author.as_deref() == post["username"].as_str()
                && doc.published_at.map(|t| t.to_rfc3339()).as_deref() == Some(created)
                && url_ok
                && !doc.text.is_empty();
            if ok {
                read_ok += 1;
            } else {
                println!("{file}: {guid} read as {doc:?}");
            }
        }
    }
    println!(
        "discourse JSON: {read_ok}/{total} posts read with guid, author, date and URL ({without_text} embed-only posts skipped)"
    );
    assert_eq!(read_ok, total);
    assert!(
        total >= 100,
        "the corpus has 107 posts with text, found {total}"
    );
}

/// The text of each innermost `<blockquote>` (Discourse renders both `[quote]` and
/// Markdown `>` quotes as one), found by string search, not by our DOM walk. Quote titles
/// ("alice:") and image captions are cut out first, as the extractor drops them too.
fn quoted_passages(cooked: &str) -> Vec<String> {
    let cleaned = cut_blocks(
        &cut_blocks(cooked, "<div class=\"title\">", 2),
        "<div class=\"meta\">",
        1,
    );
    let mut passages = Vec::new();
    let mut rest = cleaned.as_str();
    while let Some(open) = rest.find("<blockquote>") {
        let inner = &rest[open + "<blockquote>".len()..];
        let Some(close) = inner.find("</blockquote>") else {
            break;
        };
        let body = &inner[..close];
        if !body.contains("<blockquote") {
            passages.push(html_to_text(body));
        }
        rest = inner;
    }
    passages
}

/// `html` without each run from `start` to the `closes`-th `</div>` after it.
fn cut_blocks(html: &str, start: &str, closes: usize) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(at) = rest.find(start) {
        out.push_str(&rest[..at]);
        let mut end = at;
        for _ in 0..closes {
            match rest[end..].find("</div>") {
                Some(p) => end += p + "</div>".len(),
                None => end = rest.len(),
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn quoted_passages_land_in_quotes_and_not_in_the_text() {
    let Some(dir) = corpus_dir() else { return };
    let (mut total, mut passed) = (0, 0);
    for split in all_cooked(&dir) {
        for passage in quoted_passages(&split.cooked) {
            if passage.chars().count() < 20 {
                continue;
            }
            total += 1;
            let in_quotes = split.quotes.iter().any(|q| q.contains(&passage));
            let in_text = split.text.contains(&passage);
            if in_quotes && !in_text {
                passed += 1;
            } else {
                println!(
                    "{}: quote {passage:?} in quotes: {in_quotes}, in text: {in_text}",
                    split.source
                );
            }
        }
    }
    println!("discourse quotes: {passed}/{total} quoted passages kept apart from the post's text");
    assert!(total >= 100, "expected the corpus's quotes, found {total}");
    assert_eq!(passed, total);
}

/// Lower-cased words of at least five letters, links left out (Markdown shows a link's
/// address, the HTML its text).
fn long_words(text: &str) -> HashSet<String> {
    text.split_whitespace()
        .filter(|w| !w.contains("://"))
        .flat_map(|w| w.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().count() >= 5)
        .map(str::to_lowercase)
        .collect()
}

/// `raw` split into what is inside `[quote...]...[/quote]` blocks and what is outside.
fn raw_parts(raw: &str) -> (String, String) {
    let (mut quoted, mut own) = (String::new(), String::new());
    let mut depth = 0usize;
    let mut rest = raw;
    while !rest.is_empty() {
        let next_open = rest.find("[quote");
        let next_close = rest.find("[/quote]");
        let (at, opening) = match (next_open, next_close) {
            (Some(o), Some(c)) if o < c => (o, true),
            (_, Some(c)) => (c, false),
            (Some(o), None) => (o, true),
            (None, None) => (rest.len(), false),
        };
        let target = if depth > 0 { &mut quoted } else { &mut own };
        target.push_str(&rest[..at]);
        target.push(' ');
        if at == rest.len() {
            break;
        }
        let tag_end = rest[at..].find(']').map_or(rest.len(), |e| at + e + 1);
        if opening {
            depth += 1;
        } else {
            depth = depth.saturating_sub(1);
        }
        rest = &rest[tag_end..];
    }
    (quoted, own)
}

#[test]
fn words_only_quoted_in_the_raw_markdown_stay_out_of_the_text() {
    let Some(dir) = corpus_dir() else { return };
    let body = read(&dir, "posts.json");
    let page = parse_discourse_json(&body, &Url::parse(&format!("{HOST}/posts.json")).unwrap())
        .expect("posts.json parses");
    let by_guid: HashMap<&str, &Document> = page
        .posts
        .iter()
        .filter_map(|d| Some((d.guid.as_deref()?, d)))
        .collect();
    let (mut total, mut passed, mut words_checked) = (0, 0, 0);
    for post in json_posts(&body) {
        let raw = post["raw"].as_str().unwrap_or("");
        if !raw.contains("[quote") {
            continue;
        }
        total += 1;
        let guid = format!("discuss.criticalfallibilism.com-post-{}", post["id"]);
        let Some(doc) = by_guid.get(guid.as_str()) else {
            println!("{guid} missing");
            continue;
        };
        let (quoted, own) = raw_parts(raw);
        let own_words = long_words(&own);
        let text_words = long_words(&doc.text);
        let quote_words = long_words(&doc.quotes.join(" "));
        let only_quoted: Vec<String> = long_words(&quoted)
            .into_iter()
            .filter(|w| !own_words.contains(w))
            .collect();
        words_checked += only_quoted.len();
        let leaked: Vec<&String> = only_quoted
            .iter()
            .filter(|w| text_words.contains(*w))
            .collect();
        let missing: Vec<&String> = only_quoted
            .iter()
            .filter(|w| !quote_words.contains(*w))
            .collect();
        if leaked.is_empty() && missing.is_empty() {
            passed += 1;
        } else {
            println!(
                "{guid}: quoted words in the text {leaked:?}, missing from the quotes {missing:?}"
            );
        }
    }
    println!(
        "discourse raw quotes: {passed}/{total} quoting posts agree with their Markdown ({words_checked} quoted-only words checked)"
    );
    assert!(total >= 20, "posts.json has quoting posts, found {total}");
    assert_eq!(passed, total);
}

#[test]
fn rss_and_json_split_the_same_posts_alike() {
    let Some(dir) = corpus_dir() else { return };
    let body = read(&dir, "posts.json");
    let page = parse_discourse_json(&body, &Url::parse(&format!("{HOST}/posts.json")).unwrap())
        .expect("posts.json parses");
    let by_guid: HashMap<&str, &Document> = page
        .posts
        .iter()
        .filter_map(|d| Some((d.guid.as_deref()?, d)))
        .collect();
    let (mut total, mut same_guid, mut same_split) = (0, 0, 0);
    let json_guids: HashSet<String> = json_posts(&body)
        .iter()
        .map(|p| format!("discuss.criticalfallibilism.com-post-{}", p["id"]))
        .collect();
    for (guid, description) in rss_items(&read(&dir, "posts.rss")) {
        total += 1;
        if json_guids.contains(&guid) {
            same_guid += 1;
        } else {
            println!("posts.rss {guid}: no JSON post with that guid");
        }
        let Some(doc) = by_guid.get(guid.as_str()) else {
            println!("posts.rss {guid}: the JSON post has no text (an embed only)");
            continue;
        };
        let (text, quotes) = split_cooked(&description);
        if text == doc.text && quotes == doc.quotes {
            same_split += 1;
        } else {
            println!(
                "posts.rss {guid}: RSS {text:?} / {quotes:?}\n  JSON {:?} / {:?}",
                doc.text, doc.quotes
            );
        }
    }
    println!(
        "discourse RSS vs JSON: {same_guid}/{total} guids match, {same_split}/{total} split alike"
    );
    assert_eq!(same_guid, total);
    assert!(total >= 50);
    // Measured: 47 of 50. Two RSS descriptions render collapsed `details` blocks as a
    // placeholder ("spoiler", "click for more details") where the JSON has their text,
    // and one renders a video embed as a link where the JSON has only a thumbnail: the
    // inputs differ there, not the split.
    assert!(same_split >= 47, "{same_split}/{total}");
}

/// Folded for loose comparison: lower case, one space between words.
fn loose(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `parse_article` on real saved recipe-blog pages (`recipe-scrapers-pages`), checked
/// against recipe-scrapers' own expected output for each page and against the reader
/// reviews that the same pages carry in JSON-LD (`reviews_from_jsonld.tsv`): the canonical
/// URL and the title must be found, the recipe's first step must be in the main text, and
/// the readers' comments must not.
#[test]
fn article_text_of_real_pages_keeps_the_recipe_and_drops_the_comments() {
    let Some(dir) = corpus_dir() else { return };
    let pages = dir.join("../recipe-scrapers-pages");
    let Ok(tsv) = std::fs::read_to_string(pages.join("reviews_from_jsonld.tsv")) else {
        println!("skipped: recipe-scrapers-pages not found");
        return;
    };
    let mut reviews: HashMap<String, Vec<String>> = HashMap::new();
    for line in tsv.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if let [site, page, _, _, _, body] = fields.as_slice() {
            let file = format!("{site}__{}.html", page.trim_end_matches(".testhtml"));
            reviews.entry(file).or_default().push(loose(body));
        }
    }
    let (mut total, mut canonical, mut titled, mut first_step, mut steps_checked) = (0, 0, 0, 0, 0);
    let (mut comments_checked, mut comments_dropped) = (0, 0);
    for folder in ["pages_with_reviews", "pages_microdata_review"] {
        let Ok(entries) = std::fs::read_dir(pages.join(folder)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .collect();
        files.sort();
        for file in files {
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            let html = String::from_utf8_lossy(&bytes);
            let expected_path = file.with_extension("expected.json");
            let expected: Value = std::fs::read_to_string(&expected_path)
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null);
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            let page_url = Url::parse(&format!(
                "https://{}/saved-page",
                name.split("__").next().unwrap_or("x")
            ))
            .expect("a host makes a URL");
            let doc = earshot_crawler::article::parse_article(&html, &page_url);
            total += 1;
            if expected["canonical_url"].as_str() == doc.url.as_ref().map(Url::as_str) {
                canonical += 1;
            }
            if let Some(title) = expected["title"].as_str() {
                if loose(&doc.title).contains(&loose(title)) {
                    titled += 1;
                }
            }
            let text = loose(&doc.text);
            let page_text = loose(&html);
            let step = expected["instructions_list"]
                .as_array()
                .and_then(|steps| steps.first())
                .and_then(Value::as_str)
                .map(loose)
                .filter(|s| s.chars().count() >= 30);
            if let Some(step) = step {
                steps_checked += 1;
                let head: String = step.chars().take(40).collect();
                if text.contains(&head) {
                    first_step += 1;
                } else {
                    println!("{name}: first step {head:?} not in the article text");
                }
            }
            for body in reviews.get(&name).into_iter().flatten() {
                if body.chars().count() < 60
                    || !page_text.contains(&body.chars().take(60).collect::<String>())
                {
                    continue; // too short to be telling, or only in the JSON-LD
                }
                comments_checked += 1;
                let head: String = body.chars().take(60).collect();
                if text.contains(&head) {
                    println!("{name}: a reader's comment is in the article text: {head:?}");
                } else {
                    comments_dropped += 1;
                }
            }
        }
    }
    println!(
        "articles: {total} pages; canonical URL {canonical}/{total}; title {titled}/{total}; \
         first recipe step in the text {first_step}/{steps_checked}; \
         readers' comments kept out {comments_dropped}/{comments_checked}"
    );
    assert!(total >= 100, "found {total} pages");
    // Floors measured on this corpus (141 pages): canonical 129, title 114, first step
    // 90 of 107 (the misses are mostly recipe cards laid out apart from the post's
    // prose), comments 889 of 890 (the one left is the author's own words, which the
    // page also gives as a review in its JSON-LD).
    assert!(canonical >= 129, "canonical URL {canonical}/{total}");
    assert!(titled >= 114, "title {titled}/{total}");
    assert!(first_step >= 90, "first step {first_step}/{steps_checked}");
    assert!(
        comments_dropped + 1 >= comments_checked,
        "comments {comments_dropped}/{comments_checked}"
    );
}
