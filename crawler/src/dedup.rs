//! The key that makes storing a document idempotent.
//!
//! A re-crawl sees the same items again, often re-rendered: tracking parameters change,
//! whitespace moves, a feed is served from a mirror. The store keeps one row per key (per
//! source and brand), so the key must be as stable as the item's identity allows.

use crate::links::canonical_url;
use crate::Document;
use earshot_domain::DedupKey;

/// The document's stable identity, from the strongest evidence it has: the key its
/// parser chose, if any; else its guid when non-blank (feeds promise it is stable), else
/// its canonical URL (fragment and tracking parameters removed), else a hash of its title
/// and text (case, accents and spacing folded, so a re-rendered copy hashes alike).
pub fn dedup_key(doc: &Document) -> DedupKey {
    if let Some(key) = &doc.key {
        return key.clone();
    }
    if let Some(guid) = doc.guid.as_deref().filter(|g| !g.trim().is_empty()) {
        return DedupKey::from_guid(guid);
    }
    if let Some(url) = &doc.url {
        return DedupKey::from_url(&canonical_url(url));
    }
    DedupKey::from_content(&doc.title, &doc.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(guid: Option<&str>, url: Option<&str>) -> Document {
        Document {
            guid: guid.map(str::to_owned),
            url: url.map(|u| url::Url::parse(u).expect("test URL")),
            title: "Acme recall".into(),
            text: "Acme anvils recalled.".into(),
            ..Document::default()
        }
    }

    #[test]
    fn a_guid_is_preferred_over_everything_else() {
        let d = doc(
            Some(" tag:example.org,2026:1 "),
            Some("https://example.org/a"),
        );
        assert_eq!(dedup_key(&d), DedupKey::from_guid("tag:example.org,2026:1"));
    }

    #[test]
    fn without_a_guid_the_canonical_url_is_the_key() {
        let tracked = doc(None, Some("https://example.org/a?id=1&utm_source=rss#top"));
        let clean = doc(Some("  "), Some("https://example.org/a?id=1"));
        assert_eq!(dedup_key(&tracked), dedup_key(&clean));
        assert_eq!(dedup_key(&clean).as_str(), "url:https://example.org/a?id=1");
    }

    #[test]
    fn without_guid_or_url_the_content_is_hashed_ignoring_case_and_spacing() {
        let a = doc(None, None);
        let mut b = doc(Some(""), None);
        b.title = "ACME  recall".into();
        assert_eq!(dedup_key(&a), dedup_key(&b));
        assert!(dedup_key(&a).as_str().starts_with("sha256:"));
        b.text = "Different text.".into();
        assert_ne!(dedup_key(&a), dedup_key(&b));
    }
}
