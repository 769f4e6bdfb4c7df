//! One fast pass over a page's tags for what needs no tree: the JSON-LD scripts, the
//! `<base href>`, the `rel=next` link, and whether the page carries microdata or RDFa that
//! may describe a review or a rating.
//!
//! Review pages are large (the saved recipe pages average 340 kB, more than half of it
//! inline script and style) and most of them say what we want in JSON-LD, which needs no
//! HTML tree at all. Building an html5ever tree of every page would cost several times
//! what the rest of the extraction costs, so this pass finds tags the way a browser's
//! tokenizer does (comments, quoted attribute values and the raw text of `script`,
//! `style`, `textarea`, `title`, `iframe`... are skipped as such) but builds nothing, and
//! the tree is built only for pages where [`PageOutline::has_review_markup`] is true.
//!
//! It is a tokenizer, not a parser: it does not know which element is open. That is
//! enough for its questions, whose answers are single tags. Malformed markup never
//! panics: an unterminated comment, tag or raw-text element runs to the end of the page.

use memchr::memmem;
use std::borrow::Cow;

/// What [`outline`] found on a page.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageOutline<'a> {
    /// The text of every `<script type="application/ld+json">`, in document order, as
    /// written (a script's text is raw in HTML: no entity is decoded).
    pub json_ld: Vec<&'a str>,
    /// The first `<base href>`, entity-decoded and trimmed, if any.
    pub base_href: Option<String>,
    /// The first `<link>` or `<a>` whose `rel` holds the token `next`: its `href`,
    /// entity-decoded and trimmed.
    pub next_href: Option<String>,
    /// Some tag carries microdata or RDFa that may be a review or a rating: an item
    /// (`itemscope`, `typeof`) whose type names a Review or a Rating, or a property
    /// (`itemprop`, `property`) named `review`, `reviews`, `aggregateRating` or
    /// `reviewRating`, or the page uses `itemref` (which can pull such properties from
    /// anywhere). When false, the page's microdata and RDFa cannot hold a review.
    pub has_review_markup: bool,
    /// Byte ranges of `html` that no microdata or RDFa can use, in order: comments and the
    /// contents of `script` and `style` elements. [`skeleton`] empties them.
    pub inert: Vec<std::ops::Range<usize>>,
}

/// The page with its [`PageOutline::inert`] ranges removed (the `script` and `style` tags
/// stay, empty): the same microdata and RDFa items come out of its tree, and on real
/// review pages, where inline script and style are most of the bytes, building that tree
/// costs about half as much.
pub fn skeleton(html: &str, outline: &PageOutline<'_>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut from = 0;
    for range in &outline.inert {
        out.push_str(&html[from..range.start]);
        from = range.end;
    }
    out.push_str(&html[from..]);
    out
}

/// Scans `html` once (see the module docs). Linear in the input; never panics.
pub fn outline(html: &str) -> PageOutline<'_> {
    let bytes = html.as_bytes();
    let mut found = PageOutline {
        has_review_markup: memmem::find(bytes, b"itemref").is_some(),
        ..PageOutline::default()
    };
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'<', &bytes[i..]) {
        let at = i + offset;
        i = match bytes.get(at + 1) {
            Some(b'!') if bytes[at..].starts_with(b"<!--") => {
                let end =
                    memmem::find(&bytes[at + 4..], b"-->").map_or(bytes.len(), |p| at + 4 + p + 3);
                found.inert.push(at..end);
                end
            }
            Some(b'!' | b'?' | b'/') => {
                memchr::memchr(b'>', &bytes[at + 1..]).map_or(bytes.len(), |p| at + 1 + p + 1)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let tag = StartTag::read(html, at);
                visit(&tag, html, &mut found)
            }
            _ => at + 1,
        };
    }
    found
}

/// Acts on one start tag and returns where scanning resumes.
fn visit<'a>(tag: &StartTag<'a>, html: &'a str, found: &mut PageOutline<'a>) -> usize {
    let name = tag.name;
    if RAW_TEXT.iter().any(|raw| name.eq_ignore_ascii_case(raw)) {
        let close = find_close_tag(html.as_bytes(), tag.end, name);
        if (name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style"))
            && close > tag.end
        {
            found.inert.push(tag.end..close);
        }
        if name.eq_ignore_ascii_case("script") && tag.attr("type").is_some_and(|t| is_json_ld(&t)) {
            found.json_ld.push(&html[tag.end..close]);
        }
        return close;
    }
    if name.eq_ignore_ascii_case("plaintext") {
        return html.len();
    }
    if found.base_href.is_none() && name.eq_ignore_ascii_case("base") {
        found.base_href = tag.attr("href").map(|h| h.trim().to_owned());
    } else if found.next_href.is_none()
        && (name.eq_ignore_ascii_case("link") || name.eq_ignore_ascii_case("a"))
        && tag.attr("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case("next"))
        })
    {
        found.next_href = tag.attr("href").map(|h| h.trim().to_owned());
    }
    if !found.has_review_markup && may_hold_review_markup(tag.attributes) {
        found.has_review_markup = review_markup(tag);
    }
    tag.end
}

/// Elements whose content is raw text up to their end tag: no tag inside them is a tag.
const RAW_TEXT: [&str; 8] = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// `type` values that mean JSON-LD: `application/ld+json`, with any parameters.
fn is_json_ld(script_type: &str) -> bool {
    let essence = script_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/ld+json")
}

/// A cheap filter on the raw attribute text before any attribute is parsed.
fn may_hold_review_markup(attributes: &str) -> bool {
    let a = attributes.as_bytes();
    memmem::find(a, b"item").is_some()
        || memmem::find(a, b"typeof").is_some()
        || memmem::find(a, b"property").is_some()
}

/// Property names (after any vocabulary or prefix) whose values are reviews or ratings.
const REVIEW_PROPERTIES: [&str; 4] = ["review", "reviews", "aggregateRating", "reviewRating"];

fn review_markup(tag: &StartTag<'_>) -> bool {
    let names_review_type = |types: &str| types.contains("Review") || types.contains("Rating");
    let names_review_property = |props: &str| {
        props.split_ascii_whitespace().any(|p| {
            let local = p.rsplit(['/', '#', ':']).next().unwrap_or(p);
            REVIEW_PROPERTIES.contains(&local)
        })
    };
    (tag.attr("itemscope").is_some() && tag.attr("itemtype").is_some_and(|t| names_review_type(&t)))
        || tag.attr("typeof").is_some_and(|t| names_review_type(&t))
        || tag
            .attr("itemprop")
            .is_some_and(|p| names_review_property(&p))
        || tag
            .attr("property")
            .is_some_and(|p| names_review_property(&p))
}

/// Where the raw text of an element named `name` that starts at `from` ends: the `<` of
/// its end tag (matched ASCII-case-insensitively), or the end of the page.
fn find_close_tag(bytes: &[u8], from: usize, name: &str) -> usize {
    let mut i = from;
    while let Some(offset) = memmem::find(&bytes[i..], b"</") {
        let at = i + offset;
        let after = at + 2 + name.len();
        if bytes
            .get(at + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && bytes
                .get(after)
                .is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'>' | b'/'))
        {
            return at;
        }
        i = at + 2;
    }
    bytes.len()
}

/// One start tag, as the HTML tokenizer reads it: a name, then attributes (quoted values
/// may hold `>`), up to the `>` that ends it.
struct StartTag<'a> {
    name: &'a str,
    /// The raw text between the name and the closing `>`.
    attributes: &'a str,
    /// Just past the closing `>` (or the end of the page).
    end: usize,
}

impl<'a> StartTag<'a> {
    /// Reads the tag whose `<` is at `at` (followed by an ASCII letter).
    fn read(html: &'a str, at: usize) -> Self {
        let bytes = html.as_bytes();
        let name_end = bytes[at + 1..]
            .iter()
            .position(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
            .map_or(bytes.len(), |p| at + 1 + p);
        let mut i = name_end;
        let mut quote = None;
        while i < bytes.len() {
            let c = bytes[i];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                // A quote opens a value only right after `=` (and optional space).
                None if matches!(c, b'"' | b'\'') && after_equals(bytes, name_end, i) => {
                    quote = Some(c)
                }
                None if c == b'>' => break,
                None => {}
            }
            i += 1;
        }
        StartTag {
            name: &html[at + 1..name_end],
            attributes: &html[name_end..i.min(bytes.len())],
            end: (i + 1).min(bytes.len()),
        }
    }

    /// The value of attribute `name` (ASCII-case-insensitive), entity-decoded; `Some("")`
    /// for an attribute written without a value. The first occurrence wins, as in HTML.
    fn attr(&self, name: &str) -> Option<Cow<'a, str>> {
        attributes(self.attributes)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| decode_attribute(v))
    }
}

/// Whether the last non-space byte before `i` (and after `from`) is `=`.
fn after_equals(bytes: &[u8], from: usize, i: usize) -> bool {
    bytes[from..i]
        .iter()
        .rev()
        .find(|c| !c.is_ascii_whitespace())
        == Some(&b'=')
}

/// The attributes in a tag's raw attribute text, as (name, raw value) pairs.
fn attributes(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let name_start = i;
        while i < bytes.len()
            && !(bytes[i].is_ascii_whitespace() || matches!(bytes[i], b'/' | b'='))
        {
            i += 1;
        }
        let name = &raw[name_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            return Some((name, ""));
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = i + 1;
                let end = memchr::memchr(q, &bytes[start..]).map_or(bytes.len(), |p| start + p);
                i = (end + 1).min(bytes.len());
                &raw[start..end]
            }
            _ => {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &raw[start..i]
            }
        };
        Some((name, value))
    })
}

/// Decodes character references in an attribute value (rare, so checked first).
fn decode_attribute(raw: &str) -> Cow<'_, str> {
    if raw.contains('&') {
        Cow::Owned(crate::text::html_to_text(raw))
    } else {
        Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ld_scripts_are_found_with_any_case_and_parameters() {
        let page = r#"<html><head><SCRIPT Type="Application/LD+JSON; charset=utf-8">{"a":1}</script>
            <script type="text/javascript">var s = '<script type="application/ld+json">{}</' + 'script>';</script>
            <!-- <script type="application/ld+json">{"commented":1}</script> -->
            <script type=application/ld+json>[{"b":2}]</SCRIPT ></head></html>"#;
        let found = outline(page);
        assert_eq!(found.json_ld, vec![r#"{"a":1}"#, r#"[{"b":2}]"#]);
        assert!(!found.has_review_markup);
    }

    #[test]
    fn the_first_rel_next_and_base_are_read_with_entities_decoded() {
        let page = r#"<base href="/shop/"><a rel="prev" href="p1">1</a>
            <a title="x > y" rel="nofollow Next" href="?page=3&amp;sort=new">next</a>
            <link rel="next" href="later">"#;
        let found = outline(page);
        assert_eq!(found.base_href.as_deref(), Some("/shop/"));
        assert_eq!(found.next_href.as_deref(), Some("?page=3&sort=new"));
    }

    #[test]
    fn review_markup_is_noticed_in_microdata_and_rdfa_but_not_elsewhere() {
        assert!(
            outline(r#"<div itemscope itemtype="https://schema.org/Review">"#).has_review_markup
        );
        assert!(outline(r#"<div itemprop="aggregateRating" itemscope>"#).has_review_markup);
        assert!(outline(r#"<div vocab="https://schema.org/" typeof="Product"><div property="review" typeof="Review">"#).has_review_markup);
        assert!(!outline(r#"<div itemscope itemtype="https://schema.org/WebPage"><p class="review">Review</p>"#).has_review_markup);
        assert!(!outline(r#"<meta property="og:title" content="Reviews">"#).has_review_markup);
    }

    #[test]
    fn the_skeleton_keeps_every_tag_but_drops_comments_scripts_and_styles() {
        let page = "<p itemscope><!-- <b itemprop=x> --><script>if (a<b) {}</script>\
                    <style>p{}</style><span itemprop=name>A &amp; B</span><textarea>kept</textarea>";
        assert_eq!(
            skeleton(page, &outline(page)),
            "<p itemscope><script></script><style></style><span itemprop=name>A &amp; B</span><textarea>kept</textarea>"
        );
    }

    #[test]
    fn unterminated_markup_runs_to_the_end_without_panicking() {
        for page in [
            "<script type='application/ld+json'>{",
            "<!-- x",
            "<a href='x",
            "<",
            "<a",
            "<p  >",
            "</",
        ] {
            let _ = outline(page);
        }
        assert_eq!(
            outline("<script type='application/ld+json'>{").json_ld,
            vec!["{"]
        );
    }
}
