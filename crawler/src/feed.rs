//! Feed parsing: RSS 0.9x/1.0/2.0, Atom and JSON Feed bytes into [`Document`]s.
//!
//! The bytes are decoded by [`crate::charset`] first (so windows-1251 forums and a
//! Content-Type charset are honoured the same way for every format), and the now-stale
//! `encoding` of the XML declaration is removed before `feed-rs` sees the text.
//!
//! `feed-rs` invents an id for entries that have none. We replace its generator with one
//! that returns an empty id, so that [`Document::guid`] is `None` exactly when the feed
//! gave none; dedup then falls back to the URL or the content instead of trusting a hash
//! we did not choose.
//!
//! Titles and bodies are reduced to plain text with [`crate::text::html_to_text`]. Only
//! Atom and JSON Feed declare plain text reliably; RSS titles and descriptions routinely
//! carry markup (Google Alerts puts `<b>` in titles), so RSS text is always treated as
//! HTML.

use crate::links::unwrap_redirect;
use crate::text::{collapse_whitespace, html_to_text};
use crate::Document;
use earshot_domain::Timestamp;
use feed_rs::model::{Entry, FeedType, Link, Person};
use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use url::Url;

/// Why a body could not be read as a feed. The message is shown to the operator as the
/// source's last error, so it says what was wrong in terms they can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The body is not RSS, Atom or JSON Feed at all (an HTML page, an empty body, an
    /// unsupported JSON document): usually the source's URL points at the wrong page.
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// The body looks like a feed but is broken beyond what the parser tolerates.
    #[error("malformed feed: {0}")]
    Malformed(String),
    /// `feed-rs` panicked on this body. That is a bug in the dependency, contained here so
    /// one hostile feed cannot take a crawl down; the corpus tests treat it as a failure.
    #[error("malformed feed: the feed parser crashed on it ({0})")]
    ParserPanicked(String),
}

/// Parses a fetched feed body into documents, in feed order.
///
/// `content_type` is the HTTP `Content-Type` header, used for its charset. `base` is the
/// URL the body was fetched from (after redirects); relative item links are resolved
/// against it (or against an `xml:base`, which `feed-rs` applies first).
///
/// Per item: `guid` is the item's own id or `None`; `url` is the first `alternate` (or
/// unlabelled) link, else the first link of any kind, else a guid that is itself an
/// http(s) URL, made absolute and unwrapped from redirectors (see
/// [`unwrap_redirect`]); `title` and `text` are plain text (content if present,
/// else summary); `author` is the first named author; `published_at` is the publication
/// time, else the update time. Items are never dropped for missing fields.
///
/// Never panics on any input (a panic inside `feed-rs` becomes
/// [`FeedError::ParserPanicked`]); a body that is not a feed is an error, not an empty
/// list.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Vec<Document>, FeedError> {
    let decoded = crate::charset::decode(bytes, content_type);
    let text = crate::charset::strip_xml_encoding_decl(&decoded);
    if text.trim().is_empty() {
        return Err(FeedError::NotAFeed("the body is empty".into()));
    }
    let text = atom_03_as_atom_10(text);
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        // An empty id marks "the feed gave none"; see the module docs.
        .id_generator(|_links, _title, _uri| String::new())
        .build();
    let parsed = std::panic::catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes())))
        .map_err(|panic| FeedError::ParserPanicked(panic_message(panic.as_ref())))?;
    let feed = parsed.map_err(|e| classify_error(e, &text))?;
    let format = feed.feed_type;
    Ok(feed
        .entries
        .into_iter()
        .map(|entry| document(entry, &format, base))
        .collect())
}

/// The channel's `<ttl>` of an RSS 2.0 feed: how many minutes the publisher says it may
/// be cached. Only the part before the first item is looked at, so an item's text cannot
/// set it; an absent, empty, zero or unreadable ttl gives `None`, and a ttl over a week
/// is read as a week. A cheap byte scan (the element is ASCII in every charset feeds use
/// in practice), so the feed is not parsed twice.
pub fn rss_ttl(bytes: &[u8]) -> Option<std::time::Duration> {
    const WEEK_MINUTES: u64 = 7 * 24 * 60;
    let head = match find(bytes, b"<item") {
        Some(at) => &bytes[..at],
        None => bytes,
    };
    let start = find(head, b"<ttl>")? + b"<ttl>".len();
    let len = find(&head[start..], b"</ttl>")?;
    let minutes: u64 = std::str::from_utf8(&head[start..start + len])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (minutes > 0).then(|| std::time::Duration::from_secs(minutes.min(WEEK_MINUTES) * 60))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The namespace of Atom 0.3, the pre-standard draft that old blogs still serve.
const ATOM_03_NS: &str = "http://purl.org/atom/ns#";

/// Re-declares an Atom 0.3 document in the Atom 1.0 namespace.
///
/// `feed-rs` reads only Atom 1.0 and would return an Atom 0.3 feed with no entries at
/// all. The two share the elements we use (`entry`, `title`, `link`, `id`, `author`,
/// `content`, `summary`), so swapping the namespace URI is enough to read titles, links
/// and text; 0.3's own date elements (`issued`, `modified`) stay unread.
fn atom_03_as_atom_10(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.contains(ATOM_03_NS) {
        return text;
    }
    let atom_10 = "http://www.w3.org/2005/Atom";
    Cow::Owned(
        text.replace(&format!("\"{ATOM_03_NS}\""), &format!("\"{atom_10}\""))
            .replace(&format!("'{ATOM_03_NS}'"), &format!("'{atom_10}'")),
    )
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Turns a `feed-rs` error into ours, with a hint when the body is evidently HTML.
fn classify_error(error: ParseFeedError, text: &str) -> FeedError {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            FeedError::NotAFeed(if looks_like_html(text) {
                "got an HTML page, not RSS, Atom or JSON Feed (is the source URL the page instead of its feed?)".into()
            } else {
                "no RSS, Atom or JSON Feed root element found".into()
            })
        }
        ParseFeedError::JsonUnsupportedVersion(version) => {
            FeedError::NotAFeed(format!("unsupported JSON Feed version {version:?}"))
        }
        other => FeedError::Malformed(other.to_string()),
    }
}

fn looks_like_html(text: &str) -> bool {
    let start = text.trim_start();
    let head = &start.as_bytes()[..start.len().min(512)];
    head.windows(5).any(|w| w.eq_ignore_ascii_case(b"<html"))
        || head
            .get(..9)
            .is_some_and(|h| h.eq_ignore_ascii_case(b"<!doctype"))
}

fn document(entry: Entry, format: &FeedType, base: &Url) -> Document {
    let guid = Some(entry.id.trim())
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let title = entry
        .title
        .as_ref()
        .map(|t| plain_text(&t.content, t.content_type.subty().as_str(), format))
        .unwrap_or_default();
    let text = body_text(&entry, format);
    let url = item_link(&entry.links, base)
        .or_else(|| {
            guid.as_deref()
                .and_then(|g| Url::parse(g).ok())
                .filter(is_http)
        })
        .map(|u| unwrap_redirect(&u));
    let author = entry.authors.iter().find_map(author_name);
    let published_at = entry.published.or(entry.updated).map(Timestamp::from);
    Document {
        guid,
        url,
        title,
        text,
        author,
        published_at,
        ..Document::default()
    }
}

/// A person's display name, or `None` when the feed named nobody.
///
/// `feed-rs` fills in placeholders: an Atom author without `<name>` is called `unknown`,
/// and an RSS `<author>` (by the spec an e-mail address, in practice often
/// `jane@example.org (Jane Roe)` or just a name) is a person called `author` whose e-mail
/// holds the element's text. From the latter we take the name in parentheses, else the
/// whole text.
fn author_name(person: &Person) -> Option<String> {
    let name = match (person.name.as_str(), person.email.as_deref()) {
        ("unknown", _) => return None,
        ("author", Some(text)) => text
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or(text, |(inner, _)| inner),
        (name, _) => name,
    };
    Some(collapse_whitespace(name)).filter(|n| !n.is_empty())
}

/// The item's body: its content when that is text and not empty, else its summary.
fn body_text(entry: &Entry, format: &FeedType) -> String {
    let content = entry.content.as_ref().and_then(|c| {
        let (ty, subty) = (c.content_type.ty(), c.content_type.subty());
        let textual = ty.as_str().eq_ignore_ascii_case("text")
            || subty.as_str().to_ascii_lowercase().contains("html")
            || subty.as_str().to_ascii_lowercase().contains("xml");
        // Inline base64 (Atom `type="image/png"`) and the like are not prose.
        let body = c.body.as_deref().filter(|_| textual)?;
        Some(plain_text(body, subty.as_str(), format)).filter(|t| !t.is_empty())
    });
    content
        .or_else(|| {
            entry
                .summary
                .as_ref()
                .map(|s| plain_text(&s.content, s.content_type.subty().as_str(), format))
        })
        .unwrap_or_default()
}

/// Reduces a text construct to plain text. Only Atom and JSON Feed are trusted when they
/// say `text/plain`; see the module docs.
fn plain_text(raw: &str, subtype: &str, format: &FeedType) -> String {
    let declared_plain = subtype.eq_ignore_ascii_case("plain");
    if declared_plain && matches!(format, FeedType::Atom | FeedType::JSON) {
        collapse_whitespace(raw)
    } else {
        html_to_text(raw)
    }
}

/// The item's page: the first `alternate` or unlabelled link, else the first link that
/// resolves to an http(s) URL.
fn item_link(links: &[Link], base: &Url) -> Option<Url> {
    let resolve = |link: &Link| base.join(link.href.trim()).ok().filter(is_http);
    let is_alternate = |link: &&Link| {
        link.rel
            .as_deref()
            .is_none_or(|rel| rel.trim().eq_ignore_ascii_case("alternate"))
    };
    links
        .iter()
        .filter(is_alternate)
        .find_map(resolve)
        .or_else(|| links.iter().find_map(resolve))
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_ttl_is_read_from_the_channel_only() {
        let minutes = |m: u64| Some(std::time::Duration::from_secs(m * 60));
        let rss = |channel: &str, item: &str| {
            format!("<rss version=\"2.0\"><channel><title>t</title>{channel}<item>{item}</item></channel></rss>")
        };
        assert_eq!(rss_ttl(rss("<ttl>60</ttl>", "").as_bytes()), minutes(60));
        assert_eq!(rss_ttl(rss("<ttl> 15 </ttl>", "").as_bytes()), minutes(15));
        assert_eq!(rss_ttl(rss("", "<ttl>60</ttl>").as_bytes()), None);
        assert_eq!(rss_ttl(rss("<ttl>0</ttl>", "").as_bytes()), None);
        assert_eq!(rss_ttl(rss("<ttl>often</ttl>", "").as_bytes()), None);
        assert_eq!(
            rss_ttl(rss("<ttl>99999999</ttl>", "").as_bytes()),
            minutes(7 * 24 * 60)
        );
        assert_eq!(rss_ttl(b"<ttl>5"), None);
    }

    fn base() -> Url {
        Url::parse("https://news.example.org/feeds/main.xml").expect("test URL")
    }

    fn parse(xml: &str) -> Vec<Document> {
        parse_feed(xml.as_bytes(), None, &base()).expect("a valid feed")
    }

    #[test]
    fn rss_items_become_documents_with_plain_text() {
        let docs = parse(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
            <item><guid>item-1</guid><title>Acme &amp;amp; Co &lt;b&gt;wins&lt;/b&gt;</title>
            <link>https://news.example.org/a?utm_source=rss</link>
            <description>&lt;p&gt;Acme&amp;nbsp;anvils &lt;script&gt;x()&lt;/script&gt;rock.&lt;/p&gt;</description>
            <author>jane@example.org (Jane Roe)</author>
            <pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>
            </channel></rss>"#,
        );
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d.guid.as_deref(), Some("item-1"));
        assert_eq!(d.title, "Acme & Co wins");
        assert_eq!(d.text, "Acme anvils rock.");
        assert_eq!(
            d.url.as_ref().map(Url::as_str),
            Some("https://news.example.org/a?utm_source=rss")
        );
        assert_eq!(d.author.as_deref(), Some("Jane Roe"));
        assert_eq!(
            d.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T10:00:00.000Z")
        );
    }

    #[test]
    fn items_without_an_id_have_no_guid() {
        let docs = parse(
            r#"<rss version="2.0"><channel><title>t</title>
            <item><title>No guid here</title><link>/relative/post</link></item>
            </channel></rss>"#,
        );
        assert_eq!(docs[0].guid, None);
        assert_eq!(
            docs[0].url.as_ref().map(Url::as_str),
            Some("https://news.example.org/relative/post")
        );
    }

    #[test]
    fn a_permalink_guid_serves_as_the_link_when_there_is_none() {
        let docs = parse(
            r#"<rss version="2.0"><channel><title>t</title>
            <item><guid>https://news.example.org/p/1</guid><title>x</title></item>
            </channel></rss>"#,
        );
        assert_eq!(
            docs[0].url.as_ref().map(Url::as_str),
            Some("https://news.example.org/p/1")
        );
    }

    #[test]
    fn google_alerts_atom_entries_are_unwrapped_and_stripped_of_bold_tags() {
        let docs = parse(
            r#"<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">
            <id>tag:google.com,2005:reference-time:1</id><title>Google Alert - acme</title>
            <updated>2026-11-23T09:00:00Z</updated>
            <entry><id>tag:google.com,2013:googlealerts/feed:123</id>
            <title type="html">&lt;b&gt;Acme&lt;/b&gt; recalls anvils</title>
            <link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example.net/acme-recall&amp;ct=ga&amp;cd=CAI&amp;usg=AOv"/>
            <published>2026-11-23T08:00:00Z</published><updated>2026-11-23T08:30:00Z</updated>
            <content type="html">The &lt;b&gt;Acme&lt;/b&gt; company said&amp;nbsp;...</content>
            <author><name></name></author></entry></feed>"#,
        );
        let d = &docs[0];
        assert_eq!(d.title, "Acme recalls anvils");
        assert_eq!(d.text, "The Acme company said ...");
        assert_eq!(
            d.url.as_ref().map(Url::as_str),
            Some("https://news.example.net/acme-recall")
        );
        assert_eq!(d.author, None);
        assert_eq!(
            d.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T08:00:00.000Z")
        );
    }

    #[test]
    fn atom_plain_text_keeps_its_angle_brackets() {
        let docs = parse(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><id>f</id><title>t</title><updated>2026-01-01T00:00:00Z</updated>
            <entry><id>e</id><title type="text">1 &lt;b&gt; 2</title><updated>2026-01-01T00:00:00Z</updated>
            <summary>a &amp;amp; b</summary></entry></feed>"#,
        );
        assert_eq!(docs[0].title, "1 <b> 2");
        assert_eq!(docs[0].text, "a &amp; b");
        assert_eq!(
            docs[0].published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn json_feed_content_html_and_content_text_are_read() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
            {"id":"1","url":"https://example.com/1","title":"One","content_html":"<p>Hello <b>Acme</b></p>","authors":[{"name":"Ann"}]},
            {"id":"","url":"/2","content_text":"Plain <not a tag> & more"}]}"#;
        let docs =
            parse_feed(json.as_bytes(), Some("application/feed+json"), &base()).expect("valid");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].text, "Hello Acme");
        assert_eq!(docs[0].author.as_deref(), Some("Ann"));
        assert_eq!(docs[1].guid, None);
        assert_eq!(docs[1].text, "Plain <not a tag> & more");
        assert_eq!(
            docs[1].url.as_ref().map(Url::as_str),
            Some("https://news.example.org/2")
        );
    }

    #[test]
    fn a_windows_1251_feed_is_decoded_from_its_declaration() {
        let xml = "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss version=\"2.0\"><channel><title>Форум</title>\
                   <item><title>Відгук про Акме</title><description>Все добре</description></item></channel></rss>";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
        let docs = parse_feed(&bytes, Some("text/xml"), &base()).expect("valid");
        assert_eq!(docs[0].title, "Відгук про Акме");
        assert_eq!(docs[0].text, "Все добре");
    }

    #[test]
    fn a_koi8_r_feed_is_decoded_from_the_content_type() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title><item><title>Отзыв об Акме</title></item></channel></rss>";
        let (bytes, _, _) = encoding_rs::KOI8_R.encode(xml);
        let docs = parse_feed(&bytes, Some("application/rss+xml; charset=koi8-r"), &base())
            .expect("valid");
        assert_eq!(docs[0].title, "Отзыв об Акме");
    }

    #[test]
    fn rss_1_and_0_9x_feeds_are_read() {
        let rdf = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
            <channel rdf:about="https://example.com/"><title>t</title><link>https://example.com/</link><description>d</description></channel>
            <item rdf:about="https://example.com/1"><title>One</title><link>https://example.com/1</link></item></rdf:RDF>"#;
        assert_eq!(parse(rdf)[0].title, "One");
        let rss091 = r#"<rss version="0.91"><channel><title>t</title><link>https://example.com/</link><description>d</description>
            <item><title>Two</title><link>https://example.com/2</link></item></channel></rss>"#;
        assert_eq!(parse(rss091)[0].title, "Two");
    }

    #[test]
    fn atom_0_3_feeds_are_read_like_atom_1_0() {
        let docs = parse(
            r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>
            <entry><title>Old blog</title><link rel="alternate" type="text/html" href="/2004/post"/>
            <id>tag:example.org,2004:1</id></entry></feed>"#,
        );
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].title, "Old blog");
        assert_eq!(
            docs[0].url.as_ref().map(Url::as_str),
            Some("https://news.example.org/2004/post")
        );
    }

    #[test]
    fn an_html_page_is_not_a_feed_and_says_so() {
        let err = parse_feed(
            b"<!DOCTYPE html><html><body>hi</body></html>",
            Some("text/html"),
            &base(),
        )
        .expect_err("not a feed");
        assert!(matches!(err, FeedError::NotAFeed(_)));
        assert!(
            err.to_string().starts_with("not a feed: got an HTML page"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_garbage_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"   ",
            b"plain text",
            b"{",
            b"<rss version=\"2.0\"><channel><item>",
            b"\xff\xfe\x00<",
        ] {
            assert!(
                parse_feed(body, None, &base()).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn errors_have_a_clear_human_message() {
        let err = parse_feed(b"", None, &base()).expect_err("empty");
        assert_eq!(err.to_string(), "not a feed: the body is empty");
    }
}
