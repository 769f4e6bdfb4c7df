//! Reading one source: its first page, fetched conditionally and parsed by the source's
//! kind, and for forums and review pages the pages it leads to (`next_page`, thread
//! links), within the recipe's limits.
//!
//! The first page decides whether the crawl succeeded. What a later page fails at
//! (an HTTP error, a page that does not parse) is kept as a problem in the crawl run,
//! and the posts already read are still stored: losing page 1's posts because page 3
//! timed out would lose data for nothing.
//!
//! [`parse_page`] is the pure core (bytes in, documents and links out);
//! [`harvest`] is the shell that fetches, through the polite [`Fetcher`].

use crate::document::Document;
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::forum::CompiledRecipe;
use crate::politeness::RequestRules;
use crate::reviews::AggregateRating;
use earshot_domain::{Preset, Source, SourceKind};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use url::Url;

/// No crawl reads more pages than this, whatever its recipe asks for (pagination
/// times thread links could otherwise multiply without bound).
pub const MAX_PAGES_PER_CRAWL: u32 = 100;

/// What one page held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub docs: Vec<Document>,
    /// The next page of the same listing, thread or review list.
    pub next_page: Option<Url>,
    /// Threads to read too (forum listings).
    pub threads: Vec<Url>,
    /// A review page's aggregate rating.
    pub aggregate: Option<AggregateRating>,
    /// What could not be read, in words.
    pub problems: Vec<String>,
}

/// Parses one fetched page of `source` by its kind. `recipe` is the source's compiled
/// recipe, if it has one. Fails only when the page as a whole is not what the kind
/// reads (a body that is no feed, a Discourse answer that is no JSON).
pub fn parse_page(
    source: &Source,
    recipe: Option<&CompiledRecipe>,
    url: &Url,
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Parsed, String> {
    match source.kind {
        SourceKind::Feed => crate::feed::parse_feed(body, content_type, url)
            .map(|docs| Parsed {
                docs,
                ..Parsed::default()
            })
            .map_err(|e| e.to_string()),
        SourceKind::Page => {
            let html = crate::charset::decode(body, content_type);
            Ok(Parsed {
                docs: vec![crate::article::parse_article(&html, url)],
                ..Parsed::default()
            })
        }
        SourceKind::Reviews => {
            let html = crate::charset::decode(body, content_type);
            let page = crate::reviews::parse_review_page(&html, url);
            let mut reviews = page.reviews;
            // Reviews without a URL of their own carry the page's: keyed by their content
            // instead, or they would all share one key.
            // A review is of the page's item, which the review itself seldom names: the
            // page's title (the product, the shop) goes before the review's own, so a
            // review of a brand's product on a page named after it is a mention of it.
            let item = page_title(&html);
            for review in &mut reviews {
                review.key = Some(crate::reviews::review_dedup_key(review, url));
                if let Some(item) = &item {
                    review.title = if review.title.is_empty() {
                        item.clone()
                    } else {
                        format!("{item}: {}", review.title)
                    };
                }
            }
            let mut parsed = Parsed {
                docs: reviews,
                next_page: page.next_page,
                aggregate: page.aggregate,
                problems: page.problems,
                ..Parsed::default()
            };
            // A page without structured reviews is read with the recipe, if there is one.
            if parsed.docs.is_empty() {
                if let Some(recipe) = recipe {
                    let forum = crate::forum::parse_forum_page(&html, url, recipe);
                    parsed.docs = forum.posts;
                    parsed.next_page = parsed.next_page.or(forum.next_page);
                    parsed.problems.extend(forum.problems);
                }
            }
            Ok(parsed)
        }
        SourceKind::Forum if is_discourse_json(content_type, body) => {
            let text = crate::charset::decode(body, content_type);
            crate::discourse::parse_discourse_json(&text, url).map(forum_parsed)
        }
        SourceKind::Forum => {
            let html = crate::charset::decode(body, content_type);
            let recipe = recipe.ok_or("a forum source needs a recipe")?;
            Ok(forum_parsed(crate::forum::parse_forum_page(
                &html, url, recipe,
            )))
        }
    }
}

/// The text of a page's `<title>`, if it has a non-empty one in its first 64 KiB.
fn page_title(html: &str) -> Option<String> {
    let head = &html[..floor_char_boundary(html, 64 * 1024)];
    let lower = head.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    Some(crate::text::html_to_text(&head[start..end])).filter(|t| !t.is_empty())
}

/// The largest char boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn forum_parsed(page: crate::forum::ForumPage) -> Parsed {
    Parsed {
        docs: page.posts,
        next_page: page.next_page,
        threads: page.threads,
        problems: page.problems,
        aggregate: None,
    }
}

/// A body from Discourse's JSON API rather than an HTML page.
fn is_discourse_json(content_type: Option<&str>, body: &[u8]) -> bool {
    content_type.is_some_and(|t| t.to_ascii_lowercase().contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The URL to fetch for a page of `source`: for a Discourse forum, its JSON API's
/// (which gives the same posts more reliably than the HTML), else the page itself.
fn fetch_url(source: &Source, page: &Url) -> Url {
    let discourse = source.kind == SourceKind::Forum
        && source
            .recipe
            .as_ref()
            .is_some_and(|r| r.preset == Some(Preset::Discourse));
    if discourse {
        if let Some(json) = crate::discourse::json_url(page) {
            return json;
        }
    }
    page.clone()
}

/// What one crawl of one source read.
#[derive(Debug, Default)]
pub struct Harvest {
    /// The first page's status.
    pub http_status: Option<u16>,
    /// The first page answered 304: nothing was read, nothing changed.
    pub not_modified: bool,
    /// The first page's validators, for the next conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// How long the first page stays fresh by the server's word: the longer of its
    /// cache headers and, for a feed, its RSS `<ttl>`.
    pub fresh_for: Option<Duration>,
    /// Bytes of every page read.
    pub bytes: u64,
    pub pages: u32,
    pub docs: Vec<Document>,
    pub aggregate: Option<AggregateRating>,
    pub problems: Vec<String>,
}

/// Why a crawl failed: its first page could not be fetched or read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct HarvestError {
    pub message: String,
    pub http_status: Option<u16>,
    /// How long the server asked us to wait (Retry-After).
    pub retry_after: Option<Duration>,
}

impl From<FetchError> for HarvestError {
    fn from(e: FetchError) -> Self {
        Self {
            message: e.to_string(),
            http_status: e.http_status(),
            retry_after: e.retry_after(),
        }
    }
}

/// Reads `source`: its first page with `validators`, then, for forums and review
/// pages, the next pages and threads the recipe leads to, each at most once, within
/// [`MAX_PAGES_PER_CRAWL`]. Documents found on more than one page are kept once.
pub async fn harvest(
    fetcher: &Fetcher,
    source: &Source,
    validators: &Validators<'_>,
) -> Result<Harvest, HarvestError> {
    let recipe = source
        .recipe
        .as_ref()
        .map(CompiledRecipe::new)
        .transpose()
        .map_err(|e| HarvestError {
            message: format!("the recipe does not compile: {e}"),
            http_status: None,
            retry_after: None,
        })?;
    let (max_pages, max_depth) = match &recipe {
        Some(r) => (r.max_pages(), r.max_depth()),
        // A review page without a recipe still follows rel=next, as far as the default.
        None => (earshot_domain::Recipe::DEFAULT_MAX_PAGES, 0),
    };
    let follows = matches!(source.kind, SourceKind::Forum | SourceKind::Reviews);
    let rules = RequestRules {
        min_interval: source.host_interval,
    };
    let mut out = Harvest::default();
    let mut seen_pages: HashSet<Url> = HashSet::new();
    let mut seen_docs: HashSet<earshot_domain::DedupKey> = HashSet::new();
    // (page, thread depth, page number within its thread or listing)
    let mut queue: VecDeque<(Url, u32, u32)> = VecDeque::new();
    let first = source.url.as_url().clone();
    seen_pages.insert(first.clone());
    queue.push_back((first, 0, 1));
    while let Some((page, depth, number)) = queue.pop_front() {
        if out.pages >= MAX_PAGES_PER_CRAWL {
            out.problems.push(format!(
                "stopped after {MAX_PAGES_PER_CRAWL} pages; {} more were not read",
                queue.len() + 1
            ));
            break;
        }
        let is_first = out.pages == 0;
        let none = Validators::default();
        let fetched = fetcher
            .get_with(
                &fetch_url(source, &page),
                if is_first { validators } else { &none },
                &rules,
            )
            .await;
        out.pages += 1;
        let (status, body, content_type) = match fetched {
            Ok(Fetched::NotModified {
                etag,
                last_modified,
                fresh_for,
            }) => {
                if is_first {
                    out.http_status = Some(304);
                    out.not_modified = true;
                    out.etag = etag;
                    out.last_modified = last_modified;
                    out.fresh_for = fresh_for;
                    return Ok(out);
                }
                continue;
            }
            Ok(Fetched::Body {
                status,
                body,
                content_type,
                etag,
                last_modified,
                fresh_for,
            }) => {
                if is_first {
                    out.etag = etag;
                    out.last_modified = last_modified;
                    let ttl = (source.kind == SourceKind::Feed)
                        .then(|| crate::feed::rss_ttl(&body))
                        .flatten();
                    out.fresh_for = fresh_for.max(ttl);
                }
                (status, body, content_type)
            }
            Err(e) if is_first => return Err(e.into()),
            Err(e) => {
                out.problems.push(format!("{page}: {e}"));
                continue;
            }
        };
        if is_first {
            out.http_status = Some(status);
        }
        out.bytes += body.len() as u64;
        let parsed = match parse_page(
            source,
            recipe.as_ref(),
            &page,
            &body,
            content_type.as_deref(),
        ) {
            Ok(parsed) => parsed,
            Err(message) if is_first => {
                return Err(HarvestError {
                    message,
                    http_status: Some(status),
                    retry_after: None,
                })
            }
            Err(message) => {
                out.problems.push(format!("{page}: {message}"));
                continue;
            }
        };
        out.problems.extend(parsed.problems.into_iter().map(|p| {
            if is_first {
                p
            } else {
                format!("{page}: {p}")
            }
        }));
        if out.aggregate.is_none() {
            out.aggregate = parsed.aggregate;
        }
        for (i, mut doc) in parsed.docs.into_iter().enumerate() {
            // A forum post carries its thread's title; only the thread's opening post
            // (the first on its first page) wrote it.
            if source.kind == SourceKind::Forum && !(number == 1 && i == 0) {
                doc.title_is_context = true;
            }
            if seen_docs.insert(crate::dedup::dedup_key(&doc)) {
                out.docs.push(doc);
            }
        }
        if !follows {
            continue;
        }
        if let Some(next) = parsed.next_page {
            if number < max_pages && seen_pages.insert(next.clone()) {
                queue.push_back((next, depth, number + 1));
            }
        }
        if depth < max_depth {
            for thread in parsed.threads {
                if seen_pages.insert(thread.clone()) {
                    queue.push_back((thread, depth + 1, 1));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_domain::{Recipe, SourceName, SourceUrl};

    fn source(kind: SourceKind, recipe: Option<Recipe>) -> Source {
        Source {
            name: SourceName::parse("s").unwrap(),
            kind,
            url: SourceUrl::parse("https://shop.test/kettle").unwrap(),
            every: Duration::from_secs(3600),
            recipe,
            host_interval: None,
        }
    }

    #[test]
    fn a_review_page_without_structured_data_is_read_with_its_recipe() {
        let html = br#"<html><head><title>Lumora Aura kettle</title></head><body>
            <div class="opinion"><span class="who">Olena</span><p class="says">Boils fast, quiet.</p></div>
            <div class="opinion"><span class="who">Marco</span><p class="says">Lid squeaks.</p></div>
            </body></html>"#;
        let recipe = Recipe {
            post: Some("div.opinion".into()),
            body: Some("p.says".into()),
            author: Some(".who".into()),
            ..Recipe::default()
        };
        let compiled = CompiledRecipe::new(&recipe).unwrap();
        let shop = source(SourceKind::Reviews, Some(recipe));
        let url = shop.url.as_url().clone();
        let parsed = parse_page(&shop, Some(&compiled), &url, html, Some("text/html")).unwrap();
        let read: Vec<(Option<&str>, &str)> = parsed
            .docs
            .iter()
            .map(|d| (d.author.as_deref(), d.text.as_str()))
            .collect();
        assert_eq!(
            read,
            vec![
                (Some("Olena"), "Boils fast, quiet."),
                (Some("Marco"), "Lid squeaks.")
            ]
        );
        // Without a recipe the same page has nothing to read, and says nothing is wrong.
        let bare = source(SourceKind::Reviews, None);
        let parsed = parse_page(&bare, None, &url, html, Some("text/html")).unwrap();
        assert!(parsed.docs.is_empty());
    }

    #[test]
    fn a_forum_answer_in_json_is_read_as_discourse_and_a_feed_that_is_not_one_fails() {
        let forum = source(
            SourceKind::Forum,
            Some(Recipe {
                preset: Some(Preset::Discourse),
                ..Recipe::default()
            }),
        );
        assert_eq!(
            fetch_url(
                &forum,
                &"https://forum.test/t/some-topic/321".parse().unwrap()
            )
            .as_str(),
            "https://forum.test/t/321.json"
        );
        let feed = source(SourceKind::Feed, None);
        let url = feed.url.as_url().clone();
        assert!(parse_page(&feed, None, &url, b"<html>not a feed</html>", None).is_err());
    }

    #[test]
    fn a_page_title_is_read_from_the_head_only_and_never_splits_a_character() {
        assert_eq!(
            page_title("<html><head><TITLE>Lumora Aura &amp; co</TITLE></head>").as_deref(),
            Some("Lumora Aura & co")
        );
        assert_eq!(page_title("<title> </title>"), None);
        assert_eq!(page_title("<p>no title</p>"), None);
        let late = format!("{}<title>Late</title>", "я".repeat(40_000));
        assert_eq!(page_title(&late), None);
    }
}
