//! The main text of an article page, without its navigation and boilerplate.
//!
//! This is a small readability-style scorer over `scraper`'s DOM, written here rather
//! than taken from a crate: the Rust readability ports either bring their own HTML parser
//! stack (a second html5ever/markup5ever tree beside `scraper`'s) or a blocking HTTP
//! client for fetching, and the part we need is a few dozen lines over the tree we
//! already build.
//!
//! How it picks the text:
//! 1. Whole subtrees that are never the article are set aside: `nav`, `header`, `footer`,
//!    `aside`, `form`, scripts and styles, ARIA landmarks other than the main one, hidden
//!    elements, and elements whose class or id says they are menus, sidebars, comments,
//!    share bars, cookie banners, ads and the like (unless it also says "article",
//!    "content", "post" or "entry").
//! 2. Every paragraph-like element (`p`, `pre`, `td`, `blockquote`, `li` with sentences)
//!    with at least [`MIN_PARAGRAPH_CHARS`] characters scores for its parent (in full)
//!    and its grandparent (half): one point, one per comma, and one per 100 characters
//!    up to three. Containers named like content earn a bonus, `article` and `main` a
//!    smaller one.
//! 3. A container's score is scaled by the share of its text that is not link text; the
//!    best one is the article. Its siblings that scored well, or that are long, link-poor
//!    paragraphs, are added back in document order (articles split by ads or figures).
//! 4. With no paragraph at all, the body's text outside the boilerplate is the article.
//! 5. When that gives less than [`SHORT_ARTICLE_CHARS`] characters, the page is read
//!    again with class and id names ignored (tags, roles and `hidden` still count), and
//!    the longer text wins: themes name layout wrappers after the sidebar beside them
//!    (`with-sidebar-right`, `sidebar-wrap`), which would otherwise hide the article.
//!
//! Title: `og:title`, else `<title>`, else the first `h1`. Author and date: meta tags
//! (`author`, `article:author`, `article:published_time`, `date`, Dublin Core), then
//! JSON-LD (`author`, `datePublished`), then microdata and `<time datetime>`. The URL is
//! the page's canonical link when it has one, so an article reached under two URLs is one
//! mention.

use crate::dates::parse_post_date;
use crate::forum::{
    element_plain_text, is_invisible, meta_content, resolve_http, split_by_role, Role,
};
use crate::Document;
use earshot_domain::Timestamp;
use ego_tree::NodeId;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;
use url::Url;

/// Shorter paragraphs (captions, buttons, bylines) do not count towards a container.
pub const MIN_PARAGRAPH_CHARS: usize = 25;

/// The main text of an article page, without navigation, header/footer, sidebars, comments widgets,
/// scripts and styles; title from <title>/og:title/h1; author and date from meta tags / JSON-LD / <time>
/// when present.
///
/// `text` is one line of plain text (as [`crate::text::html_to_text`] shapes it), empty
/// when the page has no text at all. `url` is the canonical link (http or https), else
/// `page_url`. `guid`, `rating` and `quotes` are left empty. Never panics.
pub fn parse_article(html: &str, page_url: &Url) -> Document {
    let document = Html::parse_document(html);
    let json_ld = json_ld_objects(&document);
    let (mut best, mut text) = main_text(&document, true);
    if text.chars().count() < SHORT_ARTICLE_CHARS {
        // Layout wrappers named after what sits beside them (`with-sidebar-right`,
        // `sidebar-wrap`) can hide the whole article; read again trusting only tags.
        let (lenient_best, lenient_text) = main_text(&document, false);
        if lenient_text.chars().count() > text.chars().count() {
            (best, text) = (lenient_best, lenient_text);
        }
    }
    Document {
        guid: None,
        url: Some(canonical(&document, page_url)),
        title: title(&document),
        text,
        author: author(&document, &json_ld),
        published_at: published_at(&document, &json_ld, best),
        rating: None,
        quotes: Vec::new(),
        ..Document::default()
    }
}

/// Parses a selector literal of this file (never page input), which the tests exercise.
fn selector(source: &str) -> Selector {
    Selector::parse(source).expect("the selector literals in this file parse")
}

/// Links, for link density; parsed once, as it is used for every candidate.
static LINKS: LazyLock<Selector> = LazyLock::new(|| selector("a"));

/// Below this many characters, the text found with class and id names trusted is
/// suspect, and the page is read again without them.
const SHORT_ARTICLE_CHARS: usize = 500;

/// The best container (if any paragraph was found) and the article text, with class and
/// id names used to spot boilerplate or not.
fn main_text(document: &Html, by_names: bool) -> (Option<NodeId>, String) {
    let (best, scores) = best_container(document, by_names);
    let text = match best {
        Some(container) => article_text(document, container, &scores, by_names),
        None => document
            .select(&selector("body"))
            .next()
            .map(|body| split_by_role(body, &boilerplate_role(by_names)).text)
            .unwrap_or_default(),
    };
    (best, text)
}

fn title(document: &Html) -> String {
    meta_content(document, "meta[property='og:title'], meta[name='og:title']")
        .or_else(|| first_text(document, "title"))
        .or_else(|| first_text(document, "h1"))
        .unwrap_or_default()
}

fn first_text(document: &Html, source: &str) -> Option<String> {
    document
        .select(&selector(source))
        .map(element_plain_text)
        .find(|t| !t.is_empty())
}

fn canonical(document: &Html, page_url: &Url) -> Url {
    document
        .select(&selector("link[rel~='canonical']"))
        .filter_map(|l| l.attr("href"))
        .find_map(|href| resolve_http(page_url, href))
        .unwrap_or_else(|| page_url.clone())
}

fn author(document: &Html, json_ld: &[Value]) -> Option<String> {
    let not_a_link = |a: &String| !a.starts_with("http://") && !a.starts_with("https://");
    meta_content(document, "meta[name='author'], meta[name='Author']")
        .filter(not_a_link)
        .or_else(|| meta_content(document, "meta[property='article:author']").filter(not_a_link))
        .or_else(|| json_ld.iter().find_map(|o| person_name(o.get("author")?)))
        .or_else(|| {
            first_text(
                document,
                "[itemprop='author'] [itemprop='name'], [itemprop='author'], a[rel~='author']",
            )
        })
}

/// A JSON-LD author: a name, a Person, or a list of them (the first named).
fn person_name(value: &Value) -> Option<String> {
    match value {
        Value::String(name) => {
            Some(crate::text::collapse_whitespace(name)).filter(|n| !n.is_empty())
        }
        Value::Object(person) => person.get("name").and_then(person_name),
        Value::Array(people) => people.iter().find_map(person_name),
        _ => None,
    }
}

fn published_at(document: &Html, json_ld: &[Value], best: Option<NodeId>) -> Option<Timestamp> {
    const META: &str =
        "meta[property='article:published_time'], meta[name='article:published_time'], \
         meta[itemprop='datePublished'], meta[name='date'], meta[name='pubdate'], \
         meta[name='publishdate'], meta[name='DC.date.issued'], meta[name='dcterms.created'], \
         meta[name='DC.date']";
    if let Some(t) = document
        .select(&selector(META))
        .filter_map(|m| m.attr("content"))
        .find_map(parse_post_date)
    {
        return Some(t);
    }
    if let Some(t) = json_ld.iter().find_map(|o| {
        o.get("datePublished")
            .or_else(|| o.get("dateCreated"))?
            .as_str()
            .and_then(parse_post_date)
    }) {
        return Some(t);
    }
    let time_in = |root: ElementRef<'_>| {
        root.select(&selector("[itemprop='datePublished'], time[datetime]"))
            .find_map(|e| {
                e.attr("datetime")
                    .or_else(|| e.attr("content"))
                    .and_then(parse_post_date)
                    .or_else(|| parse_post_date(&element_plain_text(e)))
            })
    };
    let in_article = best
        .and_then(|id| document.tree.get(id))
        .and_then(|node| node.parent())
        .and_then(ElementRef::wrap)
        .and_then(time_in);
    in_article.or_else(|| time_in(document.root_element()))
}

/// Every JSON-LD object on the page (`@graph` and top-level lists flattened); blocks
/// that are not valid JSON are skipped.
fn json_ld_objects(document: &Html) -> Vec<Value> {
    let mut objects = Vec::new();
    for script in document.select(&selector("script[type='application/ld+json']")) {
        let raw: String = script.text().collect();
        let Ok(value) = serde_json::from_str::<Value>(raw.trim()) else {
            continue;
        };
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::Array(items) => pending.extend(items.into_iter().rev()),
                Value::Object(mut object) => {
                    if let Some(graph) = object.remove("@graph") {
                        pending.push(graph);
                    }
                    objects.push(Value::Object(object));
                }
                _ => {}
            }
            if objects.len() > 64 {
                break;
            }
        }
    }
    objects
}

/// Words in a class or id that mark boilerplate.
const BOILERPLATE_WORDS: &[&str] = &[
    "nav",
    "menu",
    "sidebar",
    "footer",
    "header",
    "masthead",
    "breadcrumb",
    "comment",
    "disqus",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "promo",
    "sponsor",
    "advert",
    "banner",
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "subscribe",
    "signup",
    "popup",
    "modal",
    "widget",
    "pagination",
    "pager",
    "toolbar",
    "skip-link",
    "byline-tools",
    "tags",
    "author-bio",
    "outbrain",
    "taboola",
    "feedback",
    "reply",
    "replies",
    "respond",
    "discussion",
];

/// Short words that mark boilerplate only as a whole part of a name (`ad-slot`, `top_ads`),
/// since as prefixes they would catch `address` or `adventure`.
const BOILERPLATE_PARTS: &[&str] = &["ad", "ads", "adslot", "adunit", "dfp", "rail"];

/// Words in a class or id that mark the article itself, which override the above.
const CONTENT_WORDS: &[&str] = &[
    "article",
    "content",
    "entry",
    "post-body",
    "post-content",
    "story",
    "main-text",
    "body-text",
];

/// Whether a class or id list contains one of the words, at a word boundary inside it
/// (`site-nav` and `navbar` have "nav"; `canvas` does not). Names that deny a word
/// (`no-sidebar`, `not-sidebar`, layout classes of the column beside a sidebar) are
/// not read.
fn names_contain(names: &str, words: &[&str]) -> bool {
    names
        .split(|c: char| c.is_whitespace())
        .filter(|name| {
            !["no-", "not-", "with-", "without-", "has-no-"]
                .iter()
                .any(|n| name.starts_with(n))
        })
        .flat_map(|name| name.split(['-', '_']).map(move |part| (name, part)))
        .any(|(name, part)| {
            words
                .iter()
                .any(|w| part.starts_with(w) || (w.contains('-') && name.contains(w)))
        })
}

/// Whether a class or id list marks boilerplate (before the article words are weighed).
fn names_boilerplate(names: &str) -> bool {
    names_contain(names, BOILERPLATE_WORDS)
        || names
            .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
            .any(|part| BOILERPLATE_PARTS.contains(&part))
}

fn class_and_id(element: ElementRef<'_>) -> String {
    let value = element.value();
    let mut names = String::new();
    for attr in ["class", "id"] {
        if let Some(v) = value.attr(attr) {
            names.push_str(&v.to_lowercase());
            names.push(' ');
        }
    }
    names
}

/// Whether an element, with everything inside it, is never the article. With
/// `by_names` off, only tags, roles and hidden attributes count, not class and id names.
fn is_boilerplate(element: ElementRef<'_>, by_names: bool) -> bool {
    if is_invisible(element) {
        return true;
    }
    let value = element.value();
    let name = value.name();
    if matches!(
        name,
        "nav"
            | "header"
            | "footer"
            | "aside"
            | "form"
            | "button"
            | "select"
            | "input"
            | "textarea"
            | "dialog"
            | "menu"
            | "object"
            | "embed"
            | "canvas"
    ) {
        return true;
    }
    if matches!(name, "html" | "body" | "article" | "main") {
        return false;
    }
    if value.attr("hidden").is_some() || value.attr("aria-hidden") == Some("true") {
        return true;
    }
    if let Some(role) = value.attr("role") {
        if matches!(
            role,
            "navigation"
                | "banner"
                | "contentinfo"
                | "complementary"
                | "search"
                | "dialog"
                | "menu"
                | "menubar"
                | "alert"
        ) {
            return true;
        }
    }
    if !by_names {
        return false;
    }
    let names = class_and_id(element);
    names_boilerplate(&names) && !names_contain(&names, CONTENT_WORDS)
}

/// Each scored container's score (before link density), by the rules in the module docs.
type Scores = HashMap<NodeId, f64>;

/// How many of the highest raw scores are weighed by their link density: the rest
/// cannot win, and measuring link text costs a walk of the subtree.
const CANDIDATES_WEIGHED: usize = 10;

/// The container whose text is most likely the article, by the scores in the module
/// docs, and every container's score.
fn best_container(document: &Html, by_names: bool) -> (Option<NodeId>, Scores) {
    let mut scores: Scores = HashMap::new();
    let mut stack = vec![document.root_element()];
    while let Some(element) = stack.pop() {
        if is_boilerplate(element, by_names) {
            continue;
        }
        if is_paragraph(element) {
            let text = element_plain_text(element);
            let chars = text.chars().count();
            if chars >= MIN_PARAGRAPH_CHARS {
                let commas = text.matches([',', '،', '，']).count() as f64;
                let score = 1.0 + commas + (chars as f64 / 100.0).min(3.0);
                let parent = element.parent().and_then(ElementRef::wrap);
                if let Some(parent) = parent {
                    *scores
                        .entry(parent.id())
                        .or_insert_with(|| base_score(parent)) += score;
                    if let Some(grand) = parent.parent().and_then(ElementRef::wrap) {
                        *scores
                            .entry(grand.id())
                            .or_insert_with(|| base_score(grand)) += score / 2.0;
                    }
                }
            }
            // A paragraph's children are not paragraphs of their own.
            continue;
        }
        stack.extend(element.child_elements());
    }
    let mut ranked: Vec<(NodeId, f64)> = scores.iter().map(|(id, s)| (*id, *s)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = ranked
        .into_iter()
        .take(CANDIDATES_WEIGHED)
        .filter_map(|(id, score)| {
            let element = ElementRef::wrap(document.tree.get(id)?)?;
            Some((id, score * (1.0 - link_density(element))))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id);
    (best, scores)
}

fn is_paragraph(element: ElementRef<'_>) -> bool {
    match element.value().name() {
        "p" | "pre" | "td" | "blockquote" => true,
        // A list item counts when it holds sentences, not links.
        "li" => element.select(&LINKS).next().is_none(),
        _ => false,
    }
}

/// The score a container starts with, from what its tag and names say about it.
fn base_score(element: ElementRef<'_>) -> f64 {
    let mut score: f64 = match element.value().name() {
        "article" | "main" => 10.0,
        "div" | "section" => 5.0,
        "td" | "blockquote" | "pre" => 3.0,
        "ul" | "ol" | "dl" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    };
    if element.value().attr("itemprop") == Some("articleBody") {
        score += 30.0;
    }
    let names = class_and_id(element);
    if names_contain(&names, CONTENT_WORDS) {
        score += 25.0;
    }
    if names_boilerplate(&names) {
        score -= 25.0;
    }
    score
}

/// The share of an element's text that is inside links, 0 to 1.
fn link_density(element: ElementRef<'_>) -> f64 {
    let total = element_plain_text(element).chars().count();
    if total == 0 {
        return 1.0;
    }
    let linked: usize = element
        .select(&LINKS)
        .map(|a| element_plain_text(a).chars().count())
        .sum();
    (linked as f64 / total as f64).min(1.0)
}

/// Drops boilerplate, keeps the rest as text.
fn boilerplate_role(by_names: bool) -> impl Fn(ElementRef<'_>) -> Role {
    move |element| {
        if is_boilerplate(element, by_names) {
            Role::Drop
        } else {
            Role::Text
        }
    }
}

/// The best container's text, with its siblings that belong to the article.
///
/// A best container that is its parent's only element is first widened to the parent
/// (wrappers such as `post-text > post-text__inner`), so that an article split into
/// blocks by photos or ads is read as a whole: a sibling is kept when it scored at least
/// a fifth of the best (and 10), or is a long, link-poor paragraph.
fn article_text(document: &Html, best: NodeId, scores: &Scores, by_names: bool) -> String {
    let Some(mut best_element) = document.tree.get(best).and_then(ElementRef::wrap) else {
        return String::new();
    };
    let best_score = scores.get(&best).copied().unwrap_or(0.0);
    while let Some(parent) = best_element.parent().and_then(ElementRef::wrap) {
        let only_child = parent.child_elements().count() == 1;
        if !only_child || matches!(parent.value().name(), "body" | "html") {
            break;
        }
        best_element = parent;
    }
    let threshold = (best_score * 0.2).max(10.0);
    let siblings: Vec<ElementRef<'_>> = match best_element.parent() {
        Some(parent) => parent.children().filter_map(ElementRef::wrap).collect(),
        None => vec![best_element],
    };
    let mut parts = Vec::new();
    for sibling in siblings {
        let keep = if sibling.id() == best_element.id() {
            true
        } else if is_boilerplate(sibling, by_names) {
            false
        } else if scores.get(&sibling.id()).is_some_and(|s| *s >= threshold) {
            link_density(sibling) < 0.5
        } else {
            let chars = element_plain_text(sibling).chars().count();
            sibling.value().name() == "p" && chars >= 80 && link_density(sibling) < 0.25
        };
        if keep {
            let text = split_by_role(sibling, &boilerplate_role(by_names)).text;
            if !text.is_empty() {
                parts.push(text);
            }
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    #[test]
    fn names_match_at_word_starts_only() {
        assert!(names_contain("site-nav top", BOILERPLATE_WORDS));
        assert!(names_contain("navbar", BOILERPLATE_WORDS));
        assert!(names_contain("comments_area", BOILERPLATE_WORDS));
        assert!(!names_contain("canvas-wrap", BOILERPLATE_WORDS));
        assert!(!names_contain("not-sidebar no-comments", BOILERPLATE_WORDS));
        assert!(names_contain("entry-content", CONTENT_WORDS));
        assert!(names_boilerplate("ad-slot") && names_boilerplate("top_ads"));
        assert!(!names_boilerplate("address adventure"));
    }

    #[test]
    fn a_page_without_paragraphs_falls_back_to_its_body_text() {
        let html =
            "<html><body><nav>Home About</nav><div>Acme kettles are fine</div></body></html>";
        let doc = parse_article(html, &page("https://news.example/a"));
        assert_eq!(doc.text, "Acme kettles are fine");
    }

    #[test]
    fn empty_and_broken_pages_give_empty_documents() {
        for html in [
            "",
            "<p></p>",
            "<html><body></body></html>",
            "<script>x</script>",
            "</x>",
        ] {
            let doc = parse_article(html, &page("https://news.example/a"));
            assert_eq!(doc.text, "", "{html:?}");
            assert_eq!(doc.url, Some(page("https://news.example/a")));
        }
    }

    #[test]
    fn json_ld_authors_in_any_shape_are_read() {
        let html = r#"<script type="application/ld+json">{"@graph":[{"@type":"WebSite"},
            {"@type":"NewsArticle","author":[{"@type":"Person","name":"Olena Koval"}],
             "datePublished":"2026-11-23T09:30:00+02:00"}]}</script><p>x</p>"#;
        let doc = parse_article(html, &page("https://news.example/a"));
        assert_eq!(doc.author.as_deref(), Some("Olena Koval"));
        assert_eq!(
            doc.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T07:30:00.000Z")
        );
    }

    #[test]
    fn the_article_is_found_among_heavy_boilerplate() {
        let doc = parse_article(
            include_str!("../tests/fixtures/pages/article-boilerplate.html"),
            &page(
                "https://appliance-daily.example/news/2026/11/lumora-aura-recall?utm_source=feed",
            ),
        );
        assert_eq!(
            doc.title,
            "Lumora recalls 4,000 Aura kettles over lid hinge"
        );
        assert_eq!(doc.author.as_deref(), Some("Priya Raman"));
        assert_eq!(
            doc.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T08:15:00.000Z")
        );
        assert_eq!(
            doc.url.as_ref().map(Url::as_str),
            Some("https://appliance-daily.example/news/2026/11/lumora-aura-recall")
        );
        for kept in [
            "Lumora, the Kyiv-based maker of smart kettles",
            "request a free replacement through its support site.",
            "“We found the fault in one batch of hinges",
            "with waits of up to three weeks for a reply.",
        ] {
            assert!(
                doc.text.contains(kept),
                "missing {kept:?} in {:?}",
                doc.text
            );
        }
        assert!(
            doc.text.starts_with("Lumora, the Kyiv-based"),
            "{}",
            doc.text
        );
        for dropped in [
            "BrandX",
            "cookies",
            "Newsletter",
            "Related stories",
            "All rights reserved",
            "Share on",
            "Typical",
            "Deals",
            "Most read",
            "Advertisement",
            "Privacy",
            "NotABrand",
            "position:fixed",
            "Recalls",
        ] {
            assert!(
                !doc.text.contains(dropped),
                "{dropped:?} leaked into {:?}",
                doc.text
            );
        }
    }
}
