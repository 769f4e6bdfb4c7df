//! The parsed form of one crawled item, whatever kind of source it came from.

use earshot_domain::Timestamp;

/// One item from a source (a feed entry, a forum post, a review or an article), reduced
/// to plain text. Parsers produce it; brand matching and dedup consume it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// The item's own identifier (RSS guid, Atom id, JSON Feed id), if it had one.
    pub guid: Option<String>,
    /// The identity its parser chose where neither guid nor URL tells items apart (a
    /// review without a URL of its own carries its page's); it wins over both.
    pub key: Option<earshot_domain::DedupKey>,
    /// The item's link: absolute, with redirect wrappers such as Google Alerts' removed.
    pub url: Option<url::Url>,
    /// Plain-text title (HTML removed, entities decoded).
    pub title: String,
    /// The title is not this item's own but its context (a forum reply carries its
    /// thread's title): it is shown with the mention but not matched, so a reply in a
    /// thread named after a brand is not a mention unless the reply names it too.
    pub title_is_context: bool,
    /// Plain-text body (HTML removed, entities decoded).
    pub text: String,
    pub author: Option<String>,
    pub published_at: Option<Timestamp>,
    /// A review's star rating, normalised to 0..1 (worst to best), when the page gave one.
    pub rating: Option<f64>,
    /// Text the author quoted from other posts, kept apart from `text`: a brand named
    /// only inside a quote is not a mention by the quoting author, so it is not matched.
    pub quotes: Vec<String>,
}
