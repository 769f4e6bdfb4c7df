//! The parsed form of one crawled item, whatever kind of source it came from.

use earshot_domain::Timestamp;

/// One item from a source (a feed entry today; a forum post or a review later), reduced
/// to plain text. Parsers produce it; brand matching and dedup consume it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The item's own identifier (RSS guid, Atom id, JSON Feed id), if it had one.
    pub guid: Option<String>,
    /// The item's link: absolute, with redirect wrappers such as Google Alerts' removed.
    pub url: Option<url::Url>,
    /// Plain-text title (HTML removed, entities decoded).
    pub title: String,
    /// Plain-text body (HTML removed, entities decoded).
    pub text: String,
    pub author: Option<String>,
    pub published_at: Option<Timestamp>,
}
