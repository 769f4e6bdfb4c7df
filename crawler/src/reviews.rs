//! Review pages: schema.org `Review` and `AggregateRating` out of a page's JSON-LD,
//! microdata and RDFa Lite, as [`Document`]s with normalised star ratings.
//!
//! A pure function of the page's text and URL ([`parse_review_page`]). Microdata and RDFa
//! items are first turned into JSON-LD-shaped values ([`items::Item::to_json_ld`]), so one
//! reader of schema.org terms serves every syntax and the same review comes out the same
//! whichever syntax carried it. JSON-LD needs no HTML tree: [`structured::outline()`] finds
//! the scripts in one pass over the tags, and a scraper tree (of the page's
//! [`structured::skeleton`]) is built only when the page's microdata or RDFa can hold a
//! review or a rating.
//!
//! What counts:
//! - a **review** is any object typed `Review` or one of its schema.org subtypes
//!   (`UserReview`, `CriticReview`, `EmployerReview`, `ClaimReview`, `MediaReview`), or an
//!   untyped object under a `review` or `reviews` property, wherever it is: top level,
//!   inside `@graph`, or nested under the item it reviews. A bare reference
//!   (`{"@id": ...}` alone) is not a review; the node it names is read where it is. The
//!   same review given twice (by `@id`, or with the same author, text, title, rating and
//!   URL, as pages that carry both JSON-LD and microdata do) is kept once, first syntax first
//!   (JSON-LD, then microdata, then RDFa).
//! - the **aggregate** is the first `AggregateRating` (or `EmployerAggregateRating`, or an
//!   untyped object under `aggregateRating`) in document order whose value can be read.
//!
//! Ratings are read from numbers or strings (`"4,5"`, `"4.5/5"`, `"4 out of 5"`) and
//! normalised to 0..1 as (value - worst) / (best - worst), with `bestRating` and
//! `worstRating` defaulting to 5 and 1 (a `/5` or `out of 5` in the value gives the best).
//! A value outside worst..best, or a best not above worst, gives no rating and a problem:
//! a guess at the scale would put a wrong number in front of the PR team. (Several recipe
//! plugins write `ratingValue: 0` for a comment without stars; that is not 0 stars.)

use crate::structured::{self, items, json_ld};
use crate::text::{collapse_whitespace, html_to_text};
use crate::Document;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use earshot_domain::{DedupKey, Timestamp};
use serde_json::{Map, Value};
use std::collections::HashSet;
use url::Url;

/// What a review page holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewPage {
    /// Each review as a Document: text = review body (plain text), title = review
    /// name/headline (or empty), author, published_at, rating = Some(0..1) normalised with
    /// best/worst (defaults 5 and 1), url = the review's own URL if given, else the page
    /// URL (absolute, resolved against the page); guid = the review's @id if it had one
    /// (resolved against the page when relative; blank-node ids such as `_:b0` are not
    /// ids). `quotes` stays empty.
    pub reviews: Vec<Document>,
    /// The page's aggregate rating (of the item reviewed), if any.
    pub aggregate: Option<AggregateRating>,
    /// The rel=next link (a `<link rel="next">` or `<a rel="next">`), absolute, http(s)
    /// only, and never the page itself.
    pub next_page: Option<Url>,
    /// What could not be read, in words (e.g. "JSON-LD block 2: EOF while parsing a
    /// string at line 3 column 12"), for the crawl record. Never a panic.
    pub problems: Vec<String>,
}

/// An aggregate star rating, as the page gave it and normalised: the store keeps it
/// per source over time, in this same shape.
pub use earshot_store::AggregateRating;

/// Reads every review, the aggregate rating and the next-page link of a page (see the
/// module docs for what counts). `page_url` is where the page was fetched from; relative
/// links resolve against the page's `<base href>` if it has one, else against it.
pub fn parse_review_page(html: &str, page_url: &Url) -> ReviewPage {
    let outline = structured::outline(html);
    let base = outline
        .base_href
        .as_deref()
        .and_then(|href| page_url.join(href).ok())
        .filter(is_http)
        .unwrap_or_else(|| page_url.clone());
    let mut reader = Reader::new(page_url, &base);

    for (n, script) in outline.json_ld.iter().enumerate() {
        let block = json_ld::read_block(script);
        if let Some(error) = &block.error {
            reader
                .problems
                .push(format!("JSON-LD block {}: {error}", n + 1));
        }
        for value in &block.values {
            reader.walk(value, None, Origin::JsonLd);
        }
    }
    if outline.has_review_markup {
        let document = scraper::Html::parse_document(&structured::skeleton(html, &outline));
        for syntax in [items::Syntax::Microdata, items::Syntax::RdfaLite] {
            for item in items::items(&document, syntax, Some(&base)) {
                reader.walk(&item.to_json_ld(), None, Origin::from(syntax));
            }
        }
    }

    let next_page = outline
        .next_href
        .as_deref()
        .and_then(|href| match base.join(href) {
            Ok(url) if is_http(&url) && url != *page_url => Some(url),
            Ok(url) if url == *page_url => None,
            _ => {
                reader
                    .problems
                    .push(format!("rel=next link {href:?} is not an http(s) URL"));
                None
            }
        });
    ReviewPage {
        reviews: reader.reviews,
        aggregate: reader.aggregate,
        next_page,
        problems: reader.problems,
    }
}

/// The key to store a review under, for callers that store reviews as mentions.
///
/// [`crate::dedup::dedup_key`] falls back to a document's URL, and a review without a URL
/// of its own carries the page's (see [`ReviewPage::reviews`]), so every such review on a
/// page would share one key and all but the first would be dropped as duplicates. This
/// key is the review's guid when it has one, else its own URL when that is not the page's,
/// else a hash of its author, title and text (so a re-crawl of the same review, even on
/// another page of the listing, keeps its key).
pub fn review_dedup_key(review: &Document, page_url: &Url) -> DedupKey {
    let has_own_url = review.url.as_ref().is_some_and(|u| u != page_url);
    if review.guid.as_deref().is_some_and(|g| !g.trim().is_empty()) || has_own_url {
        return crate::dedup::dedup_key(review);
    }
    let author_and_title = format!(
        "{}\n{}",
        review.author.as_deref().unwrap_or(""),
        review.title
    );
    DedupKey::from_content(&author_and_title, &review.text)
}

/// The syntax a value came from: it decides how its strings are read and how problems
/// name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Strings may hold HTML (entities, `<br>`): reduced with `html_to_text`.
    JsonLd,
    /// Strings are already an element's text.
    Microdata,
    RdfaLite,
}

impl From<items::Syntax> for Origin {
    fn from(syntax: items::Syntax) -> Self {
        match syntax {
            items::Syntax::Microdata => Origin::Microdata,
            items::Syntax::RdfaLite => Origin::RdfaLite,
        }
    }
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::JsonLd => "JSON-LD",
            Origin::Microdata => "microdata",
            Origin::RdfaLite => "RDFa",
        }
    }

    fn plain_text(self, raw: &str) -> String {
        match self {
            Origin::JsonLd => html_to_text(raw),
            Origin::Microdata | Origin::RdfaLite => collapse_whitespace(raw),
        }
    }
}

const REVIEW_TYPES: [&str; 6] = [
    "Review",
    "UserReview",
    "CriticReview",
    "EmployerReview",
    "ClaimReview",
    "MediaReview",
];
const AGGREGATE_TYPES: [&str; 2] = ["AggregateRating", "EmployerAggregateRating"];

/// How deep [`Reader::walk`] goes; serde_json stops at 128 levels already.
const MAX_WALK_DEPTH: usize = 128;

struct Reader<'u> {
    page_url: &'u Url,
    base: &'u Url,
    reviews: Vec<Document>,
    aggregate: Option<AggregateRating>,
    problems: Vec<String>,
    /// Reviews kept so far, by guid and by content, to keep each once.
    seen: HashSet<String>,
    /// Reviews found per syntax, to number them in problems.
    counted: [usize; 3],
}

impl<'u> Reader<'u> {
    fn new(page_url: &'u Url, base: &'u Url) -> Self {
        Reader {
            page_url,
            base,
            reviews: Vec::new(),
            aggregate: None,
            problems: Vec::new(),
            seen: HashSet::new(),
            counted: [0; 3],
        }
    }

    fn walk(&mut self, value: &Value, key: Option<&str>, syntax: Origin) {
        self.walk_at(value, key, syntax, 0);
    }

    fn walk_at(&mut self, value: &Value, key: Option<&str>, syntax: Origin, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        match value {
            Value::Array(values) => {
                for v in values {
                    self.walk_at(v, key, syntax, depth + 1);
                }
            }
            Value::Object(object) => {
                let types = type_names(object);
                let untyped = types.is_empty();
                if !is_reference(object) {
                    if types.iter().any(|t| REVIEW_TYPES.contains(t))
                        || (untyped && matches!(key, Some("review" | "reviews")))
                    {
                        self.review(object, syntax);
                    }
                    if types.iter().any(|t| AGGREGATE_TYPES.contains(t))
                        || (untyped && key == Some("aggregateRating"))
                    {
                        self.aggregate(object, syntax);
                    }
                }
                for (k, v) in object {
                    if k != "@context" {
                        self.walk_at(v, Some(local_name(k)), syntax, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn review(&mut self, object: &Map<String, Value>, syntax: Origin) {
        let index = syntax as usize;
        self.counted[index] += 1;
        let label = format!("{} review {}", syntax.name(), self.counted[index]);

        let text = first_text(object, &["reviewBody", "description", "text"], syntax);
        let title = first_text(object, &["name", "headline"], syntax);
        let author = object
            .get("author")
            .or(object.get("creator"))
            .and_then(|a| person_names(a, syntax));
        let published_at = match first_string(object, &["datePublished", "dateCreated"]) {
            Some(raw) => {
                let parsed = parse_date(&raw);
                if parsed.is_none() {
                    self.problems
                        .push(format!("{label}: date {raw:?} not understood"));
                }
                parsed
            }
            None => None,
        };
        let rating = match object.get("reviewRating") {
            Some(r) => match read_rating(r) {
                Ok(rating) => rating.map(|r| r.normalised),
                Err(why) => {
                    self.problems.push(format!("{label}: {why}"));
                    None
                }
            },
            None => None,
        };
        if text.is_empty() && title.is_empty() && rating.is_none() {
            self.problems
                .push(format!("{label}: no text, title or rating; left out"));
            return;
        }
        let guid = object
            .get("@id")
            .and_then(Value::as_str)
            .and_then(|id| self.global_id(id));
        let url = object
            .get("url")
            .and_then(url_text)
            .and_then(|u| self.base.join(u.trim()).ok())
            .filter(is_http)
            .unwrap_or_else(|| self.page_url.clone());

        // Two reviews with the same words but their own, different URLs are two reviews.
        let content_key = format!(
            "{}\u{1}{}\u{1}{}\u{1}{:?}\u{1}{url}",
            author.as_deref().unwrap_or(""),
            text,
            title,
            rating.map(f64::to_bits)
        );
        let guid_key = guid.as_ref().map(|g| format!("id\u{1}{g}"));
        if self.seen.contains(&content_key)
            || guid_key.as_ref().is_some_and(|k| self.seen.contains(k))
        {
            return;
        }
        self.seen.insert(content_key);
        self.seen.extend(guid_key);
        self.reviews.push(Document {
            guid,
            url: Some(url),
            title,
            text,
            author,
            published_at,
            rating,
            quotes: Vec::new(),
            ..Document::default()
        });
    }

    fn aggregate(&mut self, object: &Map<String, Value>, syntax: Origin) {
        if self.aggregate.is_some() {
            return;
        }
        match read_rating(&Value::Object(object.clone())) {
            Ok(Some(rating)) => {
                let count = ["ratingCount", "reviewCount"]
                    .iter()
                    .find_map(|k| object.get(*k).and_then(read_count));
                self.aggregate = Some(AggregateRating {
                    value: rating.normalised,
                    raw_value: rating.raw,
                    best: rating.best,
                    worst: rating.worst,
                    count,
                });
            }
            Ok(None) => {}
            Err(why) => self
                .problems
                .push(format!("{} aggregate rating: {why}", syntax.name())),
        }
    }

    /// A node id made global: resolved against the page when relative, `None` for blank
    /// nodes and empty ids.
    fn global_id(&self, id: &str) -> Option<String> {
        let id = id.trim();
        if id.is_empty() || id.starts_with("_:") {
            return None;
        }
        Some(match Url::parse(id) {
            Ok(absolute) => absolute.to_string(),
            Err(_) => self
                .base
                .join(id)
                .map_or_else(|_| id.to_owned(), String::from),
        })
    }
}

/// A rating read from a `Rating` object or a bare value.
struct Rating {
    raw: f64,
    best: f64,
    worst: f64,
    normalised: f64,
}

/// `Ok(None)` when there is no value at all; `Err` when there is one that cannot be
/// normalised.
fn read_rating(value: &Value) -> Result<Option<Rating>, String> {
    let (raw_value, object) = match value {
        Value::Object(o) => match o.get("ratingValue") {
            Some(v) => (v, Some(o)),
            None => return Ok(None),
        },
        Value::Array(values) => return values.first().map_or(Ok(None), read_rating),
        v => (v, None),
    };
    if is_blank(raw_value) {
        return Ok(None);
    }
    let Some((raw, scale)) = read_number_with_scale(raw_value) else {
        return Err(format!("rating {} is not a number", compact(raw_value)));
    };
    let bound = |key: &str| -> Result<Option<f64>, String> {
        match object.and_then(|o| o.get(key)) {
            None => Ok(None),
            Some(v) if is_blank(v) => Ok(None),
            Some(v) => read_number_with_scale(v)
                .map(|(n, _)| Some(n))
                .ok_or_else(|| format!("{key} {} is not a number", compact(v))),
        }
    };
    let best = bound("bestRating")?.or(scale).unwrap_or(5.0);
    let worst = bound("worstRating")?.unwrap_or(1.0);
    if best <= worst {
        return Err(format!(
            "bestRating {best} is not above worstRating {worst}"
        ));
    }
    if !(worst..=best).contains(&raw) {
        return Err(format!("rating {raw} is outside {worst}..{best}"));
    }
    Ok(Some(Rating {
        raw,
        best,
        worst,
        normalised: (raw - worst) / (best - worst),
    }))
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A number from a JSON number or from text: `4`, `4.5`, `4,5`, `4.5/5`, `4 out of 5`,
/// `{"@value": "4"}`. The second part is the scale, when the text gave one.
fn read_number_with_scale(value: &Value) -> Option<(f64, Option<f64>)> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| (f, None)),
        Value::String(s) => {
            let (number, rest) = leading_number(s.trim())?;
            let rest = rest.trim_start();
            let scale = ["/", "out of", "of"]
                .iter()
                .find_map(|sep| rest.strip_prefix(sep))
                .and_then(|r| leading_number(r.trim_start()))
                .map(|(n, _)| n);
            Some((number, scale))
        }
        Value::Array(values) => values.first().and_then(read_number_with_scale),
        Value::Object(o) => o.get("@value").and_then(read_number_with_scale),
        _ => None,
    }
}

/// A decimal number at the start of `text` (`,` or `.` as the decimal mark), and the rest.
fn leading_number(text: &str) -> Option<(f64, &str)> {
    let bytes = text.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        end = 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    let integer_digits = end - digits_start;
    if end < bytes.len()
        && matches!(bytes[end], b'.' | b',')
        && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
    {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    } else if integer_digits == 0 {
        return None;
    }
    let number: f64 = text[..end].replace(',', ".").parse().ok()?;
    number.is_finite().then_some((number, &text[end..]))
}

fn read_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => {
            let digits: String = s
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == ',')
                .filter(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        }
        Value::Array(values) => values.first().and_then(read_count),
        _ => None,
    }
}

/// Dates as review pages write them: RFC 3339, ISO 8601 without a colon in the offset
/// or without any offset (read as UTC), with a space for the `T`, or a plain date
/// (midnight UTC).
pub fn parse_date(raw: &str) -> Option<Timestamp> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Timestamp::from_millis(t.timestamp_millis()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(Timestamp::from_millis(t.timestamp_millis()));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(Timestamp::from_millis(t.and_utc().timestamp_millis()));
        }
    }
    // A date, possibly followed by a time we could not read: the date is still right.
    let date_part = s.get(..10).unwrap_or(s);
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(date_part, format) {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|t| Timestamp::from_millis(t.and_utc().timestamp_millis()));
        }
    }
    None
}

/// The local names of an object's `@type` (`https://schema.org/Review` is `Review`).
fn type_names(object: &Map<String, Value>) -> Vec<&str> {
    match object.get("@type") {
        Some(Value::String(t)) => vec![local_name(t)],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(local_name)
            .collect(),
        _ => Vec::new(),
    }
}

/// A term without its vocabulary: after the last `/`, `#` or `:`.
fn local_name(term: &str) -> &str {
    let term = term.trim();
    term.rsplit(['/', '#', ':']).next().unwrap_or(term)
}

/// `{"@id": ...}` (perhaps with a `@type`) and nothing else: a pointer to a node given
/// elsewhere.
fn is_reference(object: &Map<String, Value>) -> bool {
    object.contains_key("@id") && object.keys().all(|k| k == "@id" || k == "@type")
}

/// The first non-empty plain text among `keys`.
fn first_text(object: &Map<String, Value>, keys: &[&str], syntax: Origin) -> String {
    keys.iter()
        .filter_map(|k| object.get(*k))
        .filter_map(scalar_text)
        .map(|raw| syntax.plain_text(&raw))
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

fn first_string(object: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| object.get(*k))
        .filter_map(scalar_text)
        .find(|t| !t.trim().is_empty())
}

/// A string, a number, the first of an array, or a value object's `@value`, as text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(values) => values.iter().find_map(scalar_text),
        Value::Object(o) => o.get("@value").and_then(scalar_text),
        _ => None,
    }
}

/// A URL given as a string, as the first of an array, or as an object's `@id` or `url`.
fn url_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Array(values) => values.iter().find_map(url_text),
        Value::Object(o) => o.get("@id").or(o.get("url")).and_then(url_text),
        _ => None,
    }
}

/// Names from a string, a Person or Organization object, or an array of either,
/// joined with ", ".
fn person_names(value: &Value, syntax: Origin) -> Option<String> {
    let mut names = Vec::new();
    collect_names(value, syntax, &mut names, 0);
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        if !name.is_empty() && !unique.contains(&name) {
            unique.push(name);
        }
    }
    (!unique.is_empty()).then(|| unique.join(", "))
}

fn collect_names(value: &Value, syntax: Origin, names: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    match value {
        Value::String(s) => names.push(syntax.plain_text(s)),
        Value::Array(values) => {
            for v in values {
                collect_names(v, syntax, names, depth + 1);
            }
        }
        Value::Object(o) => {
            if let Some(name) = o.get("name").filter(|n| !is_blank(n)) {
                collect_names(name, syntax, names, depth + 1);
            } else if let Some(given) = o.get("givenName").and_then(Value::as_str) {
                let family = o.get("familyName").and_then(Value::as_str).unwrap_or("");
                names.push(syntax.plain_text(&format!("{given} {family}")));
            } else if let Some(alternate) = o.get("alternateName") {
                collect_names(alternate, syntax, names, depth + 1);
            } else if let Some(v) = o.get("@value") {
                collect_names(v, syntax, names, depth + 1);
            }
        }
        _ => {}
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.has_host()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_without_an_id_or_url_of_their_own_get_distinct_keys() {
        let page_url = Url::parse("https://x.example/kettle").unwrap();
        let html = r##"<script type="application/ld+json">{"@type": "Product", "review": [
            {"author": "Ana", "reviewBody": "Great."},
            {"author": "Ben", "reviewBody": "Great."},
            {"author": "Ana", "reviewBody": "Great.", "url": "/r/3"},
            {"@id": "#r4", "reviewBody": "Fine."}]}</script>"##;
        let page = parse_review_page(html, &page_url);
        let keys: Vec<String> = page
            .reviews
            .iter()
            .map(|r| review_dedup_key(r, &page_url).as_str().to_owned())
            .collect();
        assert_eq!(keys.len(), 4);
        assert!(keys[0].starts_with("sha256:") && keys[1].starts_with("sha256:"));
        assert_ne!(keys[0], keys[1], "two authors, same words: two reviews");
        assert_eq!(keys[2], "url:https://x.example/r/3");
        assert_eq!(keys[3], "guid:https://x.example/kettle#r4");
        // The same review read again from another page of the listing keeps its key.
        let next_page = Url::parse("https://x.example/kettle?page=2").unwrap();
        let again = parse_review_page(html, &next_page);
        assert_eq!(
            review_dedup_key(&again.reviews[0], &next_page).as_str(),
            keys[0]
        );
    }
}
