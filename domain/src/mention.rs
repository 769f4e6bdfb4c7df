//! Mentions: a brand named in a document, and the key that makes storing it idempotent.

use crate::{BrandSlug, SourceName, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A stored mention's id. Ids grow with discovery, so they double as a pagination cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MentionId(pub i64);

/// The stable identity of a document within a source: its guid, else its canonical URL,
/// else a hash of its normalised content. Prefixed by which of the three it is, so the
/// kinds can never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DedupKey(String);

impl DedupKey {
    /// From a feed item's guid (any non-empty string, trimmed).
    pub fn from_guid(guid: &str) -> Self {
        Self(format!("guid:{}", guid.trim()))
    }

    /// From a canonical URL (the caller strips tracking parameters first).
    pub fn from_url(url: &url::Url) -> Self {
        Self(format!("url:{url}"))
    }

    /// From the document's content, normalised by [`content_hash`].
    pub fn from_content(title: &str, text: &str) -> Self {
        Self(format!(
            "sha256:{}",
            content_hash(&format!("{title}\n{text}"))
        ))
    }

    /// As stored. Keys read back from the database are trusted as they are.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hex SHA-256 of text after folding case and accents and collapsing white space, so
/// that re-rendered copies of one post hash alike.
pub fn content_hash(text: &str) -> String {
    let folded = crate::fold(text);
    let mut h = Sha256::new();
    for (i, word) in folded.split_whitespace().enumerate() {
        if i > 0 {
            h.update(b" ");
        }
        h.update(word.as_bytes());
    }
    to_hex(&h.finalize())
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A mention found by a crawl, not yet stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewMention {
    pub brand: BrandSlug,
    pub dedup_key: DedupKey,
    pub url: Option<String>,
    pub title: String,
    /// About 300 characters of text around the first hit.
    pub snippet: String,
    /// The term as written in the document.
    pub matched_term: String,
    pub author: Option<String>,
    pub published_at: Option<Timestamp>,
    /// A review's star rating, normalised to 0..1, when the source gave one.
    pub rating: Option<f64>,
}

/// A stored mention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mention {
    pub id: MentionId,
    pub brand: BrandSlug,
    pub source: SourceName,
    pub url: Option<String>,
    pub title: String,
    pub snippet: String,
    pub matched_term: String,
    pub author: Option<String>,
    pub published_at: Option<Timestamp>,
    pub discovered_at: Timestamp,
    /// A review's star rating, normalised to 0..1, when the source gave one.
    pub rating: Option<f64>,
    /// The current sentiment, once classified (without the embedding).
    pub sentiment: Option<crate::Sentiment>,
    /// The latest human correction of the sentiment, if anyone made one. It is kept
    /// beside the model's result, never over it.
    pub correction: Option<Correction>,
}

/// A person's verdict on a mention's sentiment, stored next to the model's, so that it
/// can train a future model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    pub label: crate::Label,
    pub by: crate::Actor,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_ignores_case_accents_and_spacing() {
        assert_eq!(content_hash("Café  au\nlait"), content_hash("cafe au lait"));
        assert_ne!(content_hash("cafe au lait"), content_hash("cafe au lit"));
    }

    #[test]
    fn key_kinds_never_collide() {
        let u = url::Url::parse("https://x.test/a").unwrap();
        assert_ne!(
            DedupKey::from_guid("https://x.test/a"),
            DedupKey::from_url(&u)
        );
    }
}
