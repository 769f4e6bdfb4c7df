//! The review extractor on pages of our own (always) and on real-world corpora that nobody
//! on this project wrote (when `../shared/corpora` is there):
//!
//! - `extruct-samples`: our lenient JSON-LD reading and our microdata items against the
//!   outputs extruct's own tests expect, document by document;
//! - `schemaorg-examples/review_examples`: the same review out of the JSON-LD, microdata
//!   and RDFa variants of each schema.org example;
//! - `recipe-scrapers-pages`: the aggregate rating of real pages against recipe-scrapers'
//!   expected values, real reviews against `reviews_from_jsonld.tsv`, and pages with
//!   broken JSON-LD read without a panic and with what a lenient reader can recover.
//!
//! Each corpus test prints its pass counts and asserts a floor measured when it was
//! written (a regression fails it). Without the corpora each prints "skipped: ..." and
//! passes. To see the counts: `cargo test -p earshot-crawler --test review_corpora -- --nocapture`.

use earshot_crawler::reviews::{parse_review_page, ReviewPage};
use earshot_crawler::structured::{self, items, json_ld, Syntax};
use earshot_crawler::Document;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use url::Url;

// ---------------------------------------------------------------------------------------
// Our own pages: one per language, each syntax
// ---------------------------------------------------------------------------------------

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reviews")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a valid URL")
}

fn date(d: &Document) -> Option<String> {
    d.published_at.map(|t| t.to_rfc3339())
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn an_english_json_ld_page_with_a_graph_and_broken_blocks_gives_every_review() {
    let page_url = url("https://reviews.example/lumora-aura");
    let page = parse_review_page(&fixture("en-lumora-kettle.html"), &page_url);

    let titles: Vec<&str> = page.reviews.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Quiet and fast", "Lid broke after a month", "", ""],
        "{page:#?}"
    );
    let [first, second, third, fourth] = &page.reviews[..] else {
        unreachable!()
    };

    assert_eq!(
        first.text,
        "Boils a full jug in under three minutes. The Lumora Aura is also much quieter than my old kettle."
    );
    assert_eq!(first.author.as_deref(), Some("Margaret O'Neill"));
    assert_eq!(date(first).as_deref(), Some("2026-10-30T08:15:00.000Z"));
    assert!(close(first.rating, 1.0));
    assert_eq!(
        first.guid.as_deref(),
        Some("https://reviews.example/lumora-aura#review-101")
    );
    assert_eq!(
        first.url.as_ref(),
        Some(&page_url),
        "no url of its own: the page's"
    );
    assert!(first.quotes.is_empty());

    assert_eq!(second.author.as_deref(), Some("Tom Baker"));
    assert!(close(second.rating, 0.25), "2 of 1..5");
    assert_eq!(date(second).as_deref(), Some("2026-11-02T00:00:00.000Z"));

    // The repaired block: a raw line break in the body, a comma as the decimal mark.
    assert_eq!(
        third.text,
        "Looks lovely on the counter. Pours without dribbling."
    );
    assert_eq!(third.author.as_deref(), Some("Priya S."));
    assert!(close(third.rating, 0.875), "4,5 of 1..5");
    assert_eq!(date(third).as_deref(), Some("2026-11-10T19:04:00.000Z"));
    assert_eq!(
        third.url.as_ref().map(Url::as_str),
        Some("https://reviews.example/lumora-aura/reviews/103")
    );
    assert_eq!(third.guid, None);

    // The second object run together with another: "8/10" gives its own scale.
    assert_eq!(fourth.text, "Good value.");
    assert!(close(fourth.rating, 7.0 / 9.0), "8 of 1..10");

    let aggregate = page.aggregate.expect("the product's aggregate rating");
    assert_eq!(
        (
            aggregate.raw_value,
            aggregate.best,
            aggregate.worst,
            aggregate.count
        ),
        (4.2, 5.0, 1.0, Some(127))
    );
    assert!((aggregate.value - 0.8).abs() < 1e-9);

    assert_eq!(
        page.next_page.as_ref().map(Url::as_str),
        Some("https://reviews.example/lumora-aura?page=2")
    );
    assert_eq!(page.problems.len(), 1, "{:?}", page.problems);
    assert!(
        page.problems[0].starts_with("JSON-LD block 5: EOF while parsing a string at line 2"),
        "{:?}",
        page.problems
    );
}

#[test]
fn a_ukrainian_microdata_page_gives_its_reviews_and_aggregate() {
    let page_url = url("https://magazyn.example/chaynyky/lumora-aura");
    let page = parse_review_page(&fixture("uk-lumora-chaynyk.html"), &page_url);
    assert!(page.problems.is_empty(), "{:?}", page.problems);
    assert_eq!(page.reviews.len(), 2, "{page:#?}");
    let [good, bad] = &page.reviews[..] else {
        unreachable!()
    };

    assert_eq!(good.title, "Чудовий чайник");
    assert_eq!(
        good.text,
        "Закипає швидко, не шумить. Лумора тримає тепло довше, ніж попередній."
    );
    assert_eq!(good.author.as_deref(), Some("Олена Коваль"));
    assert_eq!(date(good).as_deref(), Some("2026-09-14T00:00:00.000Z"));
    assert!(close(good.rating, 1.0));
    assert_eq!(
        good.url.as_ref().map(Url::as_str),
        Some("https://magazyn.example/vidhuky/7")
    );

    assert_eq!(bad.title, "Протікає");
    assert_eq!(bad.author.as_deref(), Some("Андрій"));
    assert_eq!(date(bad).as_deref(), Some("2026-10-01T09:30:00.000Z"));
    assert!(close(bad.rating, 0.0));
    assert_eq!(bad.url.as_ref(), Some(&page_url));

    let aggregate = page.aggregate.expect("aggregate");
    assert_eq!((aggregate.raw_value, aggregate.count), (4.3, Some(58)));
    assert!((aggregate.value - 0.825).abs() < 1e-9);
    assert_eq!(
        page.next_page.as_ref().map(Url::as_str),
        Some("https://magazyn.example/chaynyky/lumora-aura?storinka=2")
    );
}

#[test]
fn a_spanish_rdfa_page_with_a_base_and_a_ten_point_scale_is_read() {
    let page_url = url("https://opiniones.example/cocina/hervidor-lumora");
    let page = parse_review_page(&fixture("es-lumora-hervidor.html"), &page_url);
    assert!(page.problems.is_empty(), "{:?}", page.problems);
    assert_eq!(page.reviews.len(), 2, "{page:#?}");
    let [good, bad] = &page.reviews[..] else {
        unreachable!()
    };

    assert_eq!(good.title, "Muy buena compra");
    assert_eq!(
        good.text,
        "Hierve el agua en nada y el Lumora no huele a plástico."
    );
    assert_eq!(good.author.as_deref(), Some("Lucía Fernández"));
    assert!(close(good.rating, 0.9));
    assert_eq!(
        good.guid.as_deref(),
        Some("https://opiniones.example/cocina/#opinion-1")
    );
    assert_eq!(
        good.url.as_ref().map(Url::as_str),
        Some("https://opiniones.example/cocina/opiniones/1")
    );
    assert_eq!(date(good).as_deref(), Some("2026-08-21T10:00:00.000Z"));

    assert_eq!(bad.author.as_deref(), Some("Javier"));
    assert!(close(bad.rating, 0.3));

    let aggregate = page.aggregate.expect("aggregate from the JSON-LD");
    assert_eq!(
        (
            aggregate.raw_value,
            aggregate.best,
            aggregate.worst,
            aggregate.count
        ),
        (8.6, 10.0, 0.0, Some(2))
    );
    assert_eq!(
        page.next_page.as_ref().map(Url::as_str),
        Some("https://opiniones.example/cocina/hervidor-lumora?pagina=2")
    );
}

#[test]
fn the_same_review_in_json_ld_and_microdata_is_kept_once() {
    let html = r#"<script type="application/ld+json">{"@context":"https://schema.org","@type":"Review",
        "author":"Ana","reviewBody":"Works well.","reviewRating":{"ratingValue":4}}</script>
        <div itemscope itemtype="http://schema.org/Review"><span itemprop="author">Ana</span>
        <p itemprop="reviewBody">Works   well.</p>
        <div itemprop="reviewRating" itemscope itemtype="http://schema.org/Rating"><span itemprop="ratingValue">4</span></div></div>"#;
    let page = parse_review_page(html, &url("https://x.example/p"));
    assert_eq!(page.reviews.len(), 1, "{page:#?}");
}

#[test]
fn ratings_that_cannot_be_normalised_are_left_out_and_said() {
    let html = r#"<script type="application/ld+json">[
        {"@type":"Review","reviewBody":"zero stars means no stars","reviewRating":{"ratingValue":0}},
        {"@type":"Review","reviewBody":"upside down","reviewRating":{"ratingValue":3,"bestRating":1,"worstRating":5}},
        {"@type":"Review","reviewBody":"words","reviewRating":{"ratingValue":"excellent"}, "datePublished": "last week"},
        {"@type":"Review"}
    ]</script>"#;
    let page = parse_review_page(html, &url("https://x.example/p"));
    assert_eq!(page.reviews.len(), 3);
    assert!(page.reviews.iter().all(|r| r.rating.is_none()));
    assert_eq!(
        page.problems,
        [
            "JSON-LD review 1: rating 0 is outside 1..5",
            "JSON-LD review 2: bestRating 1 is not above worstRating 5",
            "JSON-LD review 3: date \"last week\" not understood",
            "JSON-LD review 3: rating \"excellent\" is not a number",
            "JSON-LD review 4: no text, title or rating; left out",
        ]
    );
}

#[test]
fn a_next_link_to_the_page_itself_or_elsewhere_than_http_is_not_followed() {
    let page_url = url("https://x.example/p?page=2");
    assert_eq!(
        parse_review_page(r#"<link rel="next" href="?page=2">"#, &page_url).next_page,
        None
    );
    let other = parse_review_page(
        r#"<a rel="next" href="javascript:more()">more</a>"#,
        &page_url,
    );
    assert_eq!(other.next_page, None);
    assert_eq!(other.problems.len(), 1);
}

#[test]
fn garbage_never_panics() {
    let page_url = url("https://x.example/");
    for html in [
        "",
        "<script type=application/ld+json>",
        "<script type=application/ld+json>{\"@type\":\"Review\",\"reviewRating\":{\"ratingValue\":\"1e999\"}}</script>",
        "<div itemscope itemtype=Review itemref='a b c a'><p id=a itemprop=review itemscope itemref=a>",
        "<div vocab typeof property=review>",
        &"[".repeat(10_000),
        &format!("<script type=application/ld+json>{}</script>", "[".repeat(10_000)),
    ] {
        let _ = parse_review_page(html, &page_url);
    }
}

// ---------------------------------------------------------------------------------------
// The corpora
// ---------------------------------------------------------------------------------------

fn corpora_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EARSHOT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora"));
    let dir = if dir.is_dir() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora")
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpora not found (set EARSHOT_CORPORA to its path)");
        None
    }
}

fn corpus(name: &str) -> Option<PathBuf> {
    let dir = corpora_dir()?.join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} not found", dir.display());
        None
    }
}

fn read_text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read_text(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_ld_items(html: &str) -> Vec<Value> {
    let blocks: Vec<_> = structured::outline(html)
        .json_ld
        .iter()
        .map(|s| json_ld::read_block(s))
        .collect();
    json_ld::items(&blocks).into_iter().cloned().collect()
}

#[test]
fn extruct_samples_json_ld_documents_match_extruct() {
    let Some(dir) = corpus("extruct-samples/samples") else {
        return;
    };
    let mut cases: Vec<(PathBuf, Value)> = Vec::new();
    for entry in walk(&dir) {
        let name = entry.to_string_lossy().into_owned();
        if !entry.with_extension("html").is_file() {
            continue; // extruct's flattened and other variants of a page
        }
        if name.ends_with(".jsonld") {
            let expected = match read_json(&entry) {
                // An older extruct shape: {"items": [one list per script]}.
                Value::Object(mut o) if o.contains_key("items") => Value::Array(
                    o.remove("items")
                        .and_then(|v| v.as_array().cloned())
                        .unwrap_or_default()
                        .into_iter()
                        .flat_map(|block| match block {
                            Value::Array(items) => items,
                            item => vec![item],
                        })
                        .collect(),
                ),
                expected => expected,
            };
            cases.push((entry.with_extension("html"), expected));
        } else if name.ends_with(".json") {
            // Whole-extruct outputs carry their JSON-LD under "json-ld".
            if let Some(expected) = read_json(&entry).get("json-ld").cloned() {
                cases.push((entry.with_extension("html"), expected));
            }
        }
    }
    let mut passed = 0;
    for (html, expected) in &cases {
        let got = Value::Array(json_ld_items(&read_text(html)));
        if got == *expected {
            passed += 1;
        } else {
            println!("extruct-samples JSON-LD differs: {}", html.display());
        }
    }
    println!(
        "extruct-samples: {passed}/{} JSON-LD documents match",
        cases.len()
    );
    assert!(
        cases.len() >= 16,
        "expected the 16 JSON-LD documents, found {}",
        cases.len()
    );
    assert!(passed >= 16, "JSON-LD: {passed}/{} match", cases.len());
}

/// extruct's microdata tests: file, whether extruct ran it with `strict=True` (every
/// value a list, every type a list), and the base URL it gave.
const EXTRUCT_MICRODATA: [(&str, bool, Option<&str>); 20] = [
    ("schema.org/CreativeWork.001", false, None),
    ("schema.org/Event.001", false, None),
    ("schema.org/Event.002", false, None),
    ("schema.org/Event.003", false, None),
    ("schema.org/Event.004", false, None),
    ("schema.org/Event.008", false, None),
    ("schema.org/LocalBusiness.002", false, None),
    ("schema.org/LocalBusiness.003", false, None),
    ("schema.org/MusicRecording.001", false, None),
    ("schema.org/SearchAction.001", false, None),
    ("schema.org/product", false, None),
    ("schema.org/product-ref", false, None),
    ("websites/microdata-with-description", false, None),
    ("w3c/microdata.4.2.strings", true, None),
    ("w3c/microdata.4.2.strings.unclean", true, None),
    ("w3c/microdata.5.2", true, None),
    ("w3c/microdata.5.3", true, None),
    ("w3c/microdata.5.5", true, None),
    ("w3c/microdata.4.2.meter", true, None),
    ("w3c/microdata.4.2.data", true, None),
];

/// Our item in extruct's shape: `{"type", "id", "properties"}` (or `"value"` for an item
/// without properties).
fn extruct_shape(item: &structured::Item, strict: bool) -> Value {
    let mut object = Map::new();
    match (item.types.as_slice(), strict) {
        ([], _) => {}
        ([one], false) => {
            object.insert("type".into(), json!(one));
        }
        (many, _) => {
            object.insert("type".into(), json!(many));
        }
    }
    if let (Some(id), false) = (&item.id, item.types.is_empty()) {
        object.insert("id".into(), json!(id));
    }
    let mut properties: Vec<(String, Vec<Value>)> = Vec::new();
    for (name, value) in &item.properties {
        let value = match value {
            structured::PropertyValue::Text(t) | structured::PropertyValue::Url(t) => json!(t),
            structured::PropertyValue::Item(nested) => extruct_shape(nested, strict),
        };
        match properties.iter_mut().find(|(n, _)| n == name) {
            Some((_, values)) => values.push(value),
            None => properties.push((name.clone(), vec![value])),
        }
    }
    if !properties.is_empty() {
        let properties: Map<String, Value> = properties
            .into_iter()
            .map(|(n, mut vs)| {
                (
                    n,
                    if vs.len() == 1 && !strict {
                        vs.remove(0)
                    } else {
                        Value::Array(vs)
                    },
                )
            })
            .collect();
        object.insert("properties".into(), Value::Object(properties));
    }
    Value::Object(object)
}

#[test]
fn extruct_samples_microdata_documents_match_extruct() {
    let Some(dir) = corpus("extruct-samples/samples") else {
        return;
    };
    let mut passed = 0;
    for (name, strict, base) in EXTRUCT_MICRODATA {
        let html = read_text(&dir.join(format!("{name}.html")));
        let expected = read_json(&dir.join(format!("{name}.json")));
        let base = base.map(url);
        let got: Vec<Value> = items::items(
            &scraper::Html::parse_document(&html),
            Syntax::Microdata,
            base.as_ref(),
        )
        .iter()
        .map(|i| extruct_shape(i, strict))
        .collect();
        if Value::Array(got.clone()) == expected {
            passed += 1;
        } else {
            println!(
                "extruct-samples microdata differs: {name}\n  ours:     {}\n  expected: {}",
                Value::Array(got),
                expected
            );
        }
    }
    println!(
        "extruct-samples: {passed}/{} microdata documents match",
        EXTRUCT_MICRODATA.len()
    );
    // Measured 16/20. The four that differ are extruct's own choices, not the spec's: the
    // text of an item without properties as its "value" (CreativeWork.001), "-input"
    // properties as objects (SearchAction.001), line breaks kept in text
    // (microdata-with-description: we keep one line), and product-ref's itemref onto an
    // element that is itself an item.
    assert!(
        passed >= 16,
        "microdata: {passed}/{} match",
        EXTRUCT_MICRODATA.len()
    );
}

/// What must agree across syntaxes for one review: title, text, author, date and the
/// rating in thousandths.
type ReviewFacts = (String, String, Option<String>, Option<String>, Option<i64>);
/// Every review's facts, and the aggregate's value in thousandths with its count.
type PageFacts = (Vec<ReviewFacts>, Option<(i64, Option<u64>)>);

fn review_facts(r: &Document) -> ReviewFacts {
    (
        r.title.clone(),
        r.text.clone(),
        r.author.clone(),
        date(r),
        r.rating.map(|x| (x * 1000.0).round() as i64),
    )
}

fn page_facts(page: &ReviewPage) -> PageFacts {
    (
        page.reviews.iter().map(review_facts).collect(),
        page.aggregate
            .map(|a| ((a.value * 1000.0).round() as i64, a.count)),
    )
}

#[test]
fn schemaorg_review_examples_agree_across_syntaxes() {
    let Some(dir) = corpus("schemaorg-examples/review_examples") else {
        return;
    };
    let index = read_text(&dir.join("INDEX.tsv"));
    let page_url = url("https://schema.example/page");
    let (mut compared, mut agreeing, mut with_reviews) = (0, 0, 0);
    for line in index.lines().skip(1) {
        let id = line.split('\t').next().unwrap_or("");
        let mut variants: Vec<(&str, ReviewPage)> = Vec::new();
        for syntax in ["jsonld", "microdata", "rdfa"] {
            let path = dir.join(format!("{id}.{syntax}.html"));
            let Ok(html) = std::fs::read_to_string(&path) else {
                continue;
            };
            // Some variants are placeholders ("TODO", "<!-- JSON-LD example only -->").
            if !without_comments(&html).contains('<') {
                continue;
            }
            variants.push((syntax, parse_review_page(&html, &page_url)));
        }
        let something = variants
            .iter()
            .any(|(_, p)| !p.reviews.is_empty() || p.aggregate.is_some());
        if variants.len() < 2 || !something {
            continue;
        }
        compared += 1;
        with_reviews += usize::from(variants.iter().any(|(_, p)| !p.reviews.is_empty()));
        let reference = page_facts(&variants[0].1);
        let differing: Vec<_> = variants[1..]
            .iter()
            .filter(|(_, p)| page_facts(p) != reference)
            .collect();
        if differing.is_empty() {
            agreeing += 1;
        } else {
            for (syntax, page) in differing {
                println!(
                    "schemaorg {id}: {syntax} differs from {}:\n  {syntax}: {:?}\n  {}: {:?}",
                    variants[0].0,
                    page_facts(page),
                    variants[0].0,
                    reference
                );
            }
        }
    }
    println!(
        "schemaorg-examples: {agreeing}/{compared} review examples give the same reviews and aggregate in every syntax ({with_reviews} of them with reviews)"
    );
    // Measured 8/10: eg-0324's JSON-LD names its author only by URL, and eg-0476's
    // microdata variant has no aggregateRating; the examples themselves differ there.
    assert!(compared >= 10 && agreeing >= 8, "{agreeing}/{compared}");
}

fn without_comments(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    out.push_str(rest);
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every saved recipe page with its expected.json, by folder.
fn recipe_pages(dir: &Path, folder: &str) -> Vec<(PathBuf, Option<Value>)> {
    walk(&dir.join(folder))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .map(|p| {
            let expected = p.with_extension("expected.json");
            let expected = expected.is_file().then(|| read_json(&expected));
            (p, expected)
        })
        .collect()
}

fn page_url_of(path: &Path) -> Url {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let host = name.split("__").next().unwrap_or("example.org");
    Url::parse(&format!("https://{host}/page")).unwrap_or_else(|_| url("https://example.org/page"))
}

fn parse_without_panic(path: &Path) -> Option<ReviewPage> {
    let html = read_text(path);
    let page_url = page_url_of(path);
    catch_unwind(AssertUnwindSafe(|| parse_review_page(&html, &page_url))).ok()
}

#[test]
fn recipe_scrapers_aggregate_ratings_match_the_expected_values() {
    let Some(dir) = corpus("recipe-scrapers-pages") else {
        return;
    };
    let mut per_folder = BTreeMap::new();
    for folder in [
        "pages_with_reviews",
        "pages_invalid_jsonld",
        "pages_microdata_review",
    ] {
        let (mut expected_n, mut matched, mut panics) = (0, 0, 0);
        for (path, expected) in recipe_pages(&dir, folder) {
            let Some(page) = parse_without_panic(&path) else {
                panics += 1;
                continue;
            };
            let Some(want) = expected
                .as_ref()
                .and_then(|e| e.get("ratings"))
                .and_then(Value::as_f64)
            else {
                continue;
            };
            expected_n += 1;
            let got = page.aggregate.map(|a| a.raw_value);
            // recipe-scrapers gives some sites' ratings on a scale of 5 (usapears.org's
            // 10 of 0..10 is its 5): the same rating on that scale counts.
            let on_five = page.aggregate.map(|a| a.value * 5.0);
            let near = |x: Option<f64>| x.is_some_and(|x| (x - want).abs() < 0.006);
            if near(got) || near(on_five) {
                matched += 1;
            } else {
                println!(
                    "recipe-scrapers {folder}: {} expected {want}, got {got:?}",
                    path.display()
                );
            }
        }
        println!("recipe-scrapers {folder}: {matched}/{expected_n} aggregate ratings match ({panics} panics)");
        assert_eq!(panics, 0, "{folder}: the extractor panicked");
        per_folder.insert(folder, (matched, expected_n));
    }
    // Measured: every page with an expected rating matches.
    let floors = [
        ("pages_with_reviews", 109),
        ("pages_invalid_jsonld", 20),
        ("pages_microdata_review", 28),
    ];
    for (folder, floor) in floors {
        let (matched, n) = per_folder[folder];
        assert!(
            matched >= floor,
            "{folder}: {matched}/{n} aggregate ratings match, floor {floor}"
        );
    }
}

#[test]
fn recipe_scrapers_pages_with_invalid_json_ld_are_read_leniently() {
    let Some(dir) = corpus("recipe-scrapers-pages") else {
        return;
    };
    let pages = recipe_pages(&dir, "pages_invalid_jsonld");
    let (mut blocks, mut strict_failures, mut recovered, mut unreadable) = (0, 0, 0, 0);
    let mut repairs: BTreeMap<String, usize> = BTreeMap::new();
    for (path, _) in &pages {
        let html = read_text(path);
        for script in structured::outline(&html).json_ld {
            blocks += 1;
            let block = json_ld::read_block(script);
            if serde_json::from_str::<Value>(script.trim()).is_ok() || block.is_empty() {
                continue;
            }
            strict_failures += 1;
            for repair in &block.repairs {
                *repairs.entry(format!("{repair:?}")).or_default() += 1;
            }
            if block.error.is_none() {
                recovered += 1;
            } else {
                unreadable += 1;
                println!(
                    "unreadable: {}: {}",
                    path.display(),
                    block.error.as_deref().unwrap_or("")
                );
            }
        }
    }
    println!(
        "recipe-scrapers pages_invalid_jsonld: {} pages, {blocks} JSON-LD blocks, {strict_failures} not strict JSON: {recovered} read whole after repairs, {unreadable} not (repairs used: {repairs:?})",
        pages.len()
    );
    // Measured: all 24 blocks that are not strict JSON read whole after repairs.
    assert!(
        strict_failures >= 24 && recovered >= 24,
        "{recovered}/{strict_failures} recovered"
    );
    assert_eq!(unreadable, 0);
}

#[test]
fn recipe_scrapers_reviews_match_reviews_from_jsonld_tsv() {
    let Some(dir) = corpus("recipe-scrapers-pages") else {
        return;
    };
    let tsv = read_text(&dir.join("reviews_from_jsonld.tsv"));
    let mut by_file: BTreeMap<PathBuf, Vec<(String, String, String)>> = BTreeMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [site, page, rating, best, _date, body] = cols[..] else {
            continue;
        };
        let name = format!("{site}__{}", page.trim_end_matches(".testhtml"));
        for folder in [
            "pages_with_reviews",
            "pages_invalid_jsonld",
            "pages_microdata_review",
        ] {
            let path = dir.join(folder).join(format!("{name}.html"));
            if path.is_file() {
                by_file
                    .entry(path)
                    .or_default()
                    .push((rating.into(), best.into(), body.into()));
            }
        }
    }
    let (mut rows, mut found, mut rated) = (0, 0, 0);
    for (path, expected) in &by_file {
        let Some(page) = parse_without_panic(path) else {
            panic!("{} panicked", path.display())
        };
        for (rating, best, body) in expected {
            rows += 1;
            // The TSV keeps the JSON strings as written (`&amp;`); reviews are plain text.
            let want = earshot_crawler::text::html_to_text(body);
            let prefix: String = want.chars().take(40).collect();
            let Some(review) = page.reviews.iter().find(|r| r.text.starts_with(&prefix)) else {
                continue;
            };
            found += 1;
            let stars: Option<f64> = rating.parse().ok();
            let best: f64 = best.parse().unwrap_or(5.0);
            let expected_rating = stars
                .filter(|s| (1.0..=best).contains(s))
                .map(|s| (s - 1.0) / (best - 1.0));
            if expected_rating.map(|x| (x * 1000.0).round())
                == review.rating.map(|x| (x * 1000.0).round())
            {
                rated += 1;
            }
        }
    }
    println!(
        "reviews_from_jsonld.tsv: {found}/{rows} reviews of the saved pages found by their text, {rated} of them with the same stars"
    );
    // Measured 1096/1128 found, 1092 with the same stars.
    assert!(
        rows >= 1128 && found >= 1096 && rated >= 1092,
        "{found}/{rows}, {rated} rated alike"
    );
}

#[test]
fn pages_whose_markup_is_skipped_hold_no_microdata_or_rdfa_review() {
    let Some(dir) = corpus("recipe-scrapers-pages") else {
        return;
    };
    let mut skipped = 0;
    let mut pages = 0;
    for folder in [
        "pages_with_reviews",
        "pages_invalid_jsonld",
        "pages_microdata_review",
    ] {
        for (path, _) in recipe_pages(&dir, folder) {
            pages += 1;
            let html = read_text(&path);
            if structured::outline(&html).has_review_markup {
                continue;
            }
            skipped += 1;
            let document = scraper::Html::parse_document(&html);
            for syntax in [Syntax::Microdata, Syntax::RdfaLite] {
                for item in items::items(&document, syntax, None) {
                    let found = parse_review_page(
                        &format!(
                            "<script type=application/ld+json>{}</script>",
                            item.to_json_ld()
                        ),
                        &page_url_of(&path),
                    );
                    assert!(
                        found.reviews.is_empty() && found.aggregate.is_none(),
                        "{}: the outline skipped {syntax:?} that holds a review or rating",
                        path.display()
                    );
                }
            }
        }
    }
    println!("outline: {skipped}/{pages} recipe pages needed no HTML tree; none of them holds a microdata or RDFa review");
}

#[test]
fn the_skeleton_of_a_page_gives_the_same_items_as_the_page() {
    let Some(dir) = corpora_dir() else { return };
    let mut pages: Vec<PathBuf> = walk(&dir.join("extruct-samples/samples"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.extend(
        walk(&dir.join("recipe-scrapers-pages"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "html")),
    );
    let mut compared = 0;
    for path in &pages {
        let html = read_text(path);
        let outline = structured::outline(&html);
        let is_sample = path.to_string_lossy().contains("extruct-samples");
        if !is_sample && !outline.has_review_markup {
            continue;
        }
        compared += 1;
        let whole = scraper::Html::parse_document(&html);
        let skeleton = scraper::Html::parse_document(&structured::skeleton(&html, &outline));
        for syntax in [Syntax::Microdata, Syntax::RdfaLite] {
            assert_eq!(
                items::items(&skeleton, syntax, None),
                items::items(&whole, syntax, None),
                "{}: {syntax:?} items differ between the page and its skeleton",
                path.display()
            );
        }
    }
    println!(
        "skeleton: {compared} pages give the same microdata and RDFa items as their skeletons"
    );
    assert!(compared >= 60, "{compared}");
}
