//! Discourse's JSON API: the same posts as its HTML, without guessing at markup.
//!
//! Every Discourse page has a JSON twin: a topic `/t/slug/123` is `/t/123.json` (20 posts
//! a page, `?page=N` for the next), a listing (`/latest`, `/c/category/5`, `/tag/x`,
//! `/posts`) is the same path with `.json`. [`json_url`] maps a source URL to the JSON to
//! fetch; [`parse_discourse_json`] reads what comes back: a topic's posts, the forum's
//! latest posts, a single post, or a listing's topic links, plus the next page.
//!
//! Post bodies come as `cooked` HTML. Quotes of other posts are `aside.quote` blocks, and
//! link previews (`aside.onebox`) carry text from the linked page; both are kept apart
//! from the author's words (see [`split_cooked`]). Each post's guid is
//! `host-post-<post id>`, the same shape as the guid in Discourse's own RSS, so a post is
//! one mention whether it was read from the feed, the JSON or the HTML.

use crate::dates::parse_post_date;
use crate::forum::{host_of, resolve_http, split_quotes, CompiledRecipe, ForumPage};
use crate::Document;
use earshot_domain::{Preset, Recipe};
use scraper::Html;
use serde_json::Value;
use std::sync::LazyLock;
use url::Url;

/// Posts per page of a topic's JSON when the topic does not say (`chunk_size`).
const DEFAULT_CHUNK_SIZE: u64 = 20;

/// Path segments that start a Discourse listing whose JSON lists topics or posts.
const LISTING_SEGMENTS: &[&str] = &[
    "latest",
    "top",
    "new",
    "hot",
    "categories",
    "posts",
    "c",
    "tag",
    "tags",
];

/// The JSON URL to fetch for a Discourse source URL (a topic /t/slug/123 -> /t/123.json (with page=N for
/// pagination), a listing /latest or a category -> its .json), or None when it is not a Discourse URL shape.
///
/// A URL whose path already ends in `.json` is returned as it is, so the next pages that
/// [`parse_discourse_json`] returns can be passed through again. The site's root is its
/// latest topics. A topic URL keeps only its `page` parameter; a listing keeps its query.
pub fn json_url(source_url: &Url) -> Option<Url> {
    if !matches!(source_url.scheme(), "http" | "https") {
        return None;
    }
    let path = source_url.path();
    if path.ends_with(".json") {
        return Some(source_url.clone());
    }
    let mut url = source_url.clone();
    url.set_fragment(None);
    if let Some(topic) = Topic::of(source_url) {
        let page = source_url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<u32>().ok());
        url.set_path(&format!("{}/t/{}.json", topic.prefix, topic.id));
        url.set_query(None);
        if let Some(page) = page {
            url.query_pairs_mut().append_pair("page", &page.to_string());
        }
        return Some(url);
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        url.set_path("/latest.json");
        return Some(url);
    }
    let is_listing = trimmed
        .split('/')
        .any(|segment| LISTING_SEGMENTS.contains(&segment));
    if is_listing {
        url.set_path(&format!("{trimmed}.json"));
        return Some(url);
    }
    None
}

/// A topic URL's parts: `{prefix}/t/{slug}/{id}/...` or `{prefix}/t/{id}/...`.
struct Topic {
    /// The path the forum is installed under ("" at the root, "/forum" in a subfolder).
    prefix: String,
    slug: Option<String>,
    id: u64,
}

impl Topic {
    fn of(url: &Url) -> Option<Self> {
        let segments: Vec<&str> = url.path_segments()?.collect();
        let at = segments.iter().position(|s| *s == "t")?;
        let rest = &segments[at + 1..];
        let number = |s: &str| s.trim_end_matches(".json").parse::<u64>().ok();
        let (slug, id) = match rest {
            // /t/123 and /t/123/45 (post 45): the first number is the topic. A slug made
            // only of digits is therefore misread; Discourse makes few of those.
            [first, ..] if number(first).is_some() => (None, number(first)?),
            [slug, id, ..] => (Some((*slug).to_owned()), number(id)?),
            _ => return None,
        };
        let prefix = segments[..at]
            .iter()
            .filter(|s| !s.is_empty())
            .fold(String::new(), |acc, s| format!("{acc}/{s}"));
        Some(Self { prefix, slug, id })
    }

    fn path(&self) -> String {
        match &self.slug {
            Some(slug) => format!("{}/t/{slug}/{}", self.prefix, self.id),
            None => format!("{}/t/{}", self.prefix, self.id),
        }
    }
}

/// The path of the topic a Discourse URL points into (`/t/slug/123`), if it is one.
pub(crate) fn topic_path(url: &Url) -> Option<String> {
    Topic::of(url).map(|t| t.path())
}

/// The path before a listing's first listing segment (`/forum` for `/forum/latest`).
fn install_prefix(url: &Url) -> String {
    let Some(segments) = url.path_segments() else {
        return String::new();
    };
    let mut prefix = String::new();
    for segment in segments {
        let bare = segment.trim_end_matches(".json");
        if bare == "t" || LISTING_SEGMENTS.contains(&bare) || segment.is_empty() {
            break;
        }
        prefix.push('/');
        prefix.push_str(segment);
    }
    prefix
}

/// The Discourse preset, compiled once, for its quote and chrome selectors.
static DISCOURSE: LazyLock<Result<CompiledRecipe, String>> = LazyLock::new(|| {
    CompiledRecipe::new(&Recipe {
        preset: Some(Preset::Discourse),
        ..Recipe::default()
    })
    .map_err(|e| e.0)
});

/// A Discourse `cooked` body (also the `<description>` of its RSS items) as the author's
/// own words and, apart, the quoted passages (`aside.quote`, link previews, blockquotes),
/// each one line of plain text. Quote titles ("alice:") and image captions are dropped.
pub fn split_cooked(cooked: &str) -> (String, Vec<String>) {
    let fragment = Html::parse_fragment(cooked);
    match &*DISCOURSE {
        Ok(recipe) => {
            let (quote, chrome) = recipe.quote_selectors();
            let split = split_quotes(fragment.root_element(), quote, chrome);
            (split.text, split.quotes)
        }
        Err(_) => (crate::text::html_to_text(cooked), Vec::new()),
    }
}

/// Posts (from a topic's post_stream, with `cooked` HTML turned into text with quotes separated: Discourse
/// quotes are `aside.quote` blocks) or, for a listing, the topic URLs to follow; plus the next page if any.
///
/// `page_url` is the JSON URL the body came from. Reads a topic (`post_stream`), the
/// latest posts (`latest_posts`), one post (`cooked` at the top), or a topic list
/// (`topic_list`). Small-action posts ("closed the topic"), deleted posts and posts with
/// no text of their own are skipped. The next page is a JSON URL: `?page=N+1` of the
/// topic while posts remain, the list's `more_topics_url`, or `/posts.json?before=` the
/// oldest post read. Fails, with the reason in words, when the body is not JSON or not
/// one of these shapes (Discourse's own error answers are quoted). Never panics.
pub fn parse_discourse_json(body: &str, page_url: &Url) -> Result<ForumPage, String> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| format!("not JSON (is this a Discourse forum?): {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("not a Discourse answer: the JSON is not an object".into());
    };
    let mut page = ForumPage::default();
    if let Some(stream) = object.get("post_stream") {
        let topic_title = object.get("title").and_then(Value::as_str).unwrap_or("");
        let posts = stream.get("posts").and_then(Value::as_array);
        let Some(posts) = posts else {
            return Err("a Discourse topic without post_stream.posts".into());
        };
        for post in posts {
            read_post(post, topic_title, page_url, &mut page);
        }
        page.next_page = next_topic_page(object, stream, page_url);
    } else if let Some(latest) = object.get("latest_posts") {
        let Some(posts) = latest.as_array() else {
            return Err("a Discourse post list whose latest_posts is not a list".into());
        };
        for post in posts {
            let title = post
                .get("topic_title")
                .and_then(Value::as_str)
                .unwrap_or("");
            read_post(post, title, page_url, &mut page);
        }
        let oldest = posts.iter().filter_map(|p| p.get("id")?.as_u64()).min();
        if let (Some(oldest), false) = (oldest, posts.is_empty()) {
            let mut next = page_url.clone();
            next.set_path(&format!("{}/posts.json", install_prefix(page_url)));
            next.set_query(None);
            next.query_pairs_mut()
                .append_pair("before", &oldest.to_string());
            page.next_page = Some(next);
        }
    } else if let Some(list) = object.get("topic_list") {
        let topics = list.get("topics").and_then(Value::as_array);
        let prefix = install_prefix(page_url);
        for topic in topics.into_iter().flatten() {
            let Some(id) = topic.get("id").and_then(Value::as_u64) else {
                page.problems.push("a topic in the list has no id".into());
                continue;
            };
            let slug = topic.get("slug").and_then(Value::as_str).unwrap_or("topic");
            let path = format!("{prefix}/t/{}/{id}", encode_segment(slug));
            if let Some(url) = resolve_http(page_url, &path) {
                if !page.threads.contains(&url) {
                    page.threads.push(url);
                }
            }
        }
        page.next_page = list
            .get("more_topics_url")
            .and_then(Value::as_str)
            .and_then(|more| resolve_http(page_url, more))
            .and_then(|u| json_url(&u));
    } else if object.contains_key("cooked") {
        let title = object
            .get("topic_title")
            .and_then(Value::as_str)
            .unwrap_or("");
        read_post(&value, title, page_url, &mut page);
    } else if let Some(errors) = object.get("errors") {
        return Err(format!("Discourse answered with an error: {errors}"));
    } else {
        return Err(
            "not a Discourse topic, post list or topic list (no post_stream, latest_posts or topic_list)"
                .into(),
        );
    }
    Ok(page)
}

/// Adds one post of the JSON to the page, or a problem saying why it could not.
fn read_post(post: &Value, topic_title: &str, page_url: &Url, page: &mut ForumPage) {
    let id = post.get("id").and_then(Value::as_u64);
    let label = id.map_or_else(
        || "a post without an id".to_owned(),
        |id| format!("post {id}"),
    );
    // 1 regular, 2 moderator, 3 small action ("closed the topic"), 4 whisper.
    if post.get("post_type").and_then(Value::as_u64) == Some(3)
        || post.get("deleted_at").is_some_and(|d| !d.is_null())
        || post.get("hidden").and_then(Value::as_bool) == Some(true)
    {
        return;
    }
    let Some(cooked) = post.get("cooked").and_then(Value::as_str) else {
        page.problems.push(format!("{label}: no cooked HTML"));
        return;
    };
    let (text, quotes) = split_cooked(cooked);
    if text.is_empty() {
        return;
    }
    let url = post
        .get("post_url")
        .and_then(Value::as_str)
        .and_then(|u| resolve_http(page_url, u))
        .or_else(|| {
            let slug = post
                .get("topic_slug")
                .and_then(Value::as_str)
                .unwrap_or("topic");
            let topic = post.get("topic_id").and_then(Value::as_u64)?;
            let number = post.get("post_number").and_then(Value::as_u64)?;
            let prefix = install_prefix(page_url);
            resolve_http(
                page_url,
                &format!("{prefix}/t/{}/{topic}/{number}", encode_segment(slug)),
            )
        });
    let guid = match id {
        Some(id) => Some(format!("{}-post-{id}", host_of(page_url))),
        None => {
            page.problems
                .push(format!("{label}: no post id; keyed by its URL"));
            url.as_ref().map(Url::to_string)
        }
    };
    let author = ["username", "name"]
        .iter()
        .filter_map(|k| post.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .find(|a| !a.is_empty())
        .map(str::to_owned);
    let published_at = post
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(parse_post_date);
    if published_at.is_none() {
        page.problems
            .push(format!("{label}: no readable created_at"));
    }
    page.posts.push(Document {
        guid,
        url: Some(url.unwrap_or_else(|| page_url.clone())),
        title: crate::text::collapse_whitespace(topic_title),
        text,
        author,
        published_at,
        rating: None,
        quotes,
        ..Document::default()
    });
}

/// `?page=N+1` of a topic's JSON while the topic has posts beyond this page. Only for
/// the plain topic JSON (`/t/123.json`, `/t/123/posts.json`): a window around one post
/// number has no next page of its own.
fn next_topic_page(
    topic: &serde_json::Map<String, Value>,
    stream: &Value,
    page_url: &Url,
) -> Option<Url> {
    let parsed = Topic::of(page_url)?;
    let path = page_url.path();
    let plain = path.ends_with(&format!("/t/{}.json", parsed.id))
        || (path.ends_with("/posts.json") && page_url.query().is_none());
    if !plain {
        return None;
    }
    let current: u64 = page_url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per_page = topic
        .get("chunk_size")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_CHUNK_SIZE);
    let total = match stream.get("stream").and_then(Value::as_array) {
        Some(ids) => ids.len() as u64,
        None => topic
            .get("posts_count")
            .or_else(|| stream.get("posts")?.get(0)?.get("posts_count"))
            .and_then(Value::as_u64)?,
    };
    if current.saturating_mul(per_page) >= total {
        return None;
    }
    let mut next = page_url.clone();
    next.set_path(&format!("{}/t/{}.json", parsed.prefix, parsed.id));
    next.set_query(None);
    next.query_pairs_mut()
        .append_pair("page", &(current + 1).to_string());
    Some(next)
}

/// A slug as one path segment (Discourse slugs may be non-ASCII).
fn encode_segment(slug: &str) -> String {
    url::form_urlencoded::byte_serialize(slug.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn topic_and_listing_urls_map_to_their_json() {
        let cases = [
            (
                "https://f.example/t/kettles-rock/123",
                Some("https://f.example/t/123.json"),
            ),
            (
                "https://f.example/t/kettles-rock/123/7",
                Some("https://f.example/t/123.json"),
            ),
            (
                "https://f.example/t/kettles-rock/123?page=3&u=bob",
                Some("https://f.example/t/123.json?page=3"),
            ),
            (
                "https://f.example/t/123",
                Some("https://f.example/t/123.json"),
            ),
            (
                "https://f.example/forum/t/x/9",
                Some("https://f.example/forum/t/9.json"),
            ),
            (
                "https://f.example/latest",
                Some("https://f.example/latest.json"),
            ),
            (
                "https://f.example/c/support/5",
                Some("https://f.example/c/support/5.json"),
            ),
            (
                "https://f.example/c/support/5/",
                Some("https://f.example/c/support/5.json"),
            ),
            (
                "https://f.example/latest?page=2",
                Some("https://f.example/latest.json?page=2"),
            ),
            ("https://f.example/", Some("https://f.example/latest.json")),
            (
                "https://f.example/t/123.json?page=2",
                Some("https://f.example/t/123.json?page=2"),
            ),
            ("https://f.example/u/bob", None),
            ("https://f.example/t/no-id-here", None),
            ("ftp://f.example/latest", None),
        ];
        for (source, expected) in cases {
            assert_eq!(
                json_url(&url(source)).map(|u| u.to_string()).as_deref(),
                expected,
                "{source}"
            );
        }
    }

    #[test]
    fn not_json_and_unknown_shapes_are_errors_in_words() {
        let page = url("https://f.example/t/1.json");
        assert!(parse_discourse_json("<html>", &page)
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse_discourse_json("[1,2]", &page)
            .unwrap_err()
            .contains("not an object"));
        assert!(parse_discourse_json("{\"a\":1}", &page)
            .unwrap_err()
            .contains("post_stream"));
        let e = parse_discourse_json(
            r#"{"errors":["not found"],"error_type":"not_found"}"#,
            &page,
        )
        .unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }

    #[test]
    fn a_topic_list_gives_thread_links_and_the_next_page() {
        let body = r#"{"topic_list":{"more_topics_url":"/latest?page=1","topics":[
            {"id":5,"slug":"kettle-leaks"},{"id":6,"slug":"чайник"},{"slug":"no-id"}]}}"#;
        let page = parse_discourse_json(body, &url("https://f.example/latest.json")).unwrap();
        let threads: Vec<String> = page.threads.iter().map(Url::to_string).collect();
        assert_eq!(
            threads,
            [
                "https://f.example/t/kettle-leaks/5",
                "https://f.example/t/%D1%87%D0%B0%D0%B9%D0%BD%D0%B8%D0%BA/6"
            ]
        );
        assert_eq!(
            page.next_page.map(|u| u.to_string()).as_deref(),
            Some("https://f.example/latest.json?page=1")
        );
        assert_eq!(page.problems.len(), 1);
    }

    #[test]
    fn a_topic_gives_its_posts_with_quotes_and_link_previews_apart() {
        let page = parse_discourse_json(
            include_str!("../tests/fixtures/forums/discourse-topic.json"),
            &url("https://forum.lumora.example/t/321.json"),
        )
        .unwrap();
        // The small action (3) and the deleted post (5) are skipped.
        let guids: Vec<_> = page
            .posts
            .iter()
            .filter_map(|p| p.guid.as_deref())
            .collect();
        assert_eq!(
            guids,
            [
                "forum.lumora.example-post-5001",
                "forum.lumora.example-post-5002",
                "forum.lumora.example-post-5004"
            ]
        );
        let first = &page.posts[0];
        assert_eq!(first.title, "Lumora Aura after a month");
        assert_eq!(first.author.as_deref(), Some("alice"));
        assert_eq!(
            first.text,
            "After a month with the Lumora Aura kettle: it boils 1.5 l in under four minutes and the lid no longer squeaks since the firmware update. Anyone else seeing the blue ring flicker?"
        );
        assert!(first.quotes.is_empty());
        let reply = &page.posts[1];
        assert_eq!(
            reply.text,
            "Mine still squeaks. I went back to my old stovetop one."
        );
        assert_eq!(
            reply.quotes,
            ["the Lumora Aura kettle: it boils 1.5 l in under four minutes and the lid no longer squeaks"]
        );
        assert_eq!(
            reply.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T15:20:00.000Z")
        );
        assert_eq!(
            reply.url.as_ref().map(Url::as_str),
            Some("https://forum.lumora.example/t/lumora-aura-after-a-month/321/2")
        );
        let linker = &page.posts[2];
        assert_eq!(
            linker.text,
            "The flicker is documented here: Descaling fixed it for me, @alice."
        );
        assert_eq!(linker.quotes.len(), 1);
        assert!(
            linker.quotes[0].contains("Lumora Aura status ring"),
            "{:?}",
            linker.quotes
        );
        assert_eq!(
            page.next_page.as_ref().map(Url::as_str),
            Some("https://forum.lumora.example/t/321.json?page=2")
        );
        assert!(page.problems.is_empty(), "{:?}", page.problems);
    }

    #[test]
    fn the_last_page_of_a_topic_has_no_next_page() {
        let body = include_str!("../tests/fixtures/forums/discourse-topic.json");
        let page =
            parse_discourse_json(body, &url("https://forum.lumora.example/t/321.json?page=2"))
                .unwrap();
        assert_eq!(page.next_page, None);
        let window =
            parse_discourse_json(body, &url("https://forum.lumora.example/t/321/4.json")).unwrap();
        assert_eq!(window.next_page, None);
    }
}
