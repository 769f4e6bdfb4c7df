//! The public side: `/public/v1/brands/{slug}/reviews`, a brand's approved reviews for
//! its website, and `/public/v1/brands/{slug}/widget.js`, the script that shows them on
//! any page. No key is needed: what is here has been approved for publication.
//!
//! What a buyer's browser gets is plain text only (anything shaped like an HTML tag is
//! removed, and the widget sets text with `textContent`), links only when they are
//! http(s), and the feed says that it is a selection. It carries no AggregateRating
//! for the brand: a company's ratings of itself are self-serving review markup that
//! search engines ignore, and an average over hand-picked reviews would misrepresent
//! all of them.
//!
//! Responses are cacheable: a strong ETag (a hash of the body) with `304 Not Modified`
//! for a matching `If-None-Match`, `Cache-Control: public, max-age=300`, and CORS for
//! any origin, so a company's own pages, on any domain, can fetch them.
//!
//! The server keeps each feed it builds ([`FeedCache`]), with the brand's feed stamp
//! (`Store::feed_stamp`) read before building it, and serves it again for as long as a
//! fresh read of the stamp is equal: one indexed read instead of the reviews query and
//! serialisation, and that read shared by the requests that arrive while it is in flight
//! ([`StampReads`]). The stamp is raised by database triggers in the
//! transaction of every change to what the feed shows, whichever process commits it, so
//! a request that starts after an approval or a withdrawal commits never gets the feed
//! from before it. (The API benchmark in BENCHMARKS.md shows why: built per request, the
//! feed reached about 1,100 requests per second.)

use crate::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use earshot_domain::{plain_text, BrandSlug, Review, ReviewStatus, Timestamp};
use earshot_store::{FeedStamp, ReviewQuery, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The widget's source: kept in its own file so it can be read and reviewed as script.
const WIDGET_JS: &str = include_str!("widget.js");

/// Reviews per feed when the client does not say.
pub(crate) const DEFAULT_FEED_LIMIT: u32 = 20;
/// The most a feed returns; larger `limit`s are capped to it.
pub(crate) const MAX_FEED_LIMIT: u32 = 100;

/// How long browsers and caches may keep a response without asking again.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The most feeds [`FeedCache`] holds (one per brand and `limit`); when full, it starts
/// over. Brands come from the config, so in practice this is never reached.
const MAX_CACHED_FEEDS: usize = 1024;

/// The public feeds this process has built, by brand and `limit`, each with the stamp
/// read before it was built. An entry is served only while the brand's current stamp is
/// equal to it; a newer stamp means the feed is built again.
#[derive(Default)]
pub(crate) struct FeedCache {
    feeds: Mutex<HashMap<(BrandSlug, u32), CachedFeed>>,
    stamps: StampReads,
}

#[derive(Clone)]
struct CachedFeed {
    stamp: FeedStamp,
    body: Bytes,
    etag: HeaderValue,
}

/// Shares one read of a brand's feed stamp among the requests that arrive while it is in
/// flight, so that under load the database sees about one stamp read per read's duration
/// instead of one per request. A request may only use a read that *started after it
/// arrived*: such a read sees every change committed before the request, so sharing never
/// serves a feed older than a per-request read would have.
#[derive(Default)]
pub(crate) struct StampReads {
    /// Orders arrivals and read starts: a read answers the requests that drew a lower
    /// ticket than its own.
    tickets: AtomicU64,
    /// Per brand: the latest read, with its ticket. The async lock queues the requests
    /// that arrive while a read is in flight.
    latest: Mutex<HashMap<BrandSlug, LatestRead>>,
}

/// A brand's latest stamp read and the ticket it started with; `None` before the first.
type LatestRead = Arc<tokio::sync::Mutex<Option<(u64, Option<FeedStamp>)>>>;

impl StampReads {
    /// The brand's stamp (`None`: no such brand) as of some moment after this call began.
    async fn stamp(
        &self,
        store: &dyn Store,
        slug: &BrandSlug,
    ) -> Result<Option<FeedStamp>, StoreError> {
        let arrived = self.tickets.fetch_add(1, Ordering::SeqCst);
        let flight = {
            let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
            if latest.len() >= MAX_CACHED_FEEDS && !latest.contains_key(slug) {
                latest.clear();
            }
            latest.entry(slug.clone()).or_default().clone()
        };
        let mut last = flight.lock().await;
        if let Some((started, stamp)) = &*last {
            if *started > arrived {
                return Ok(stamp.clone());
            }
        }
        let started = self.tickets.fetch_add(1, Ordering::SeqCst);
        let stamp = store.feed_stamp(slug).await?;
        *last = Some((started, stamp.clone()));
        Ok(stamp)
    }
}

impl FeedCache {
    /// The feed built at `stamp`, if this process has it.
    fn get(&self, slug: &BrandSlug, limit: u32, stamp: &FeedStamp) -> Option<CachedFeed> {
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        feeds
            .get(&(slug.clone(), limit))
            .filter(|f| f.stamp == *stamp)
            .cloned()
    }

    /// Keeps `feed`, built after `feed.stamp` was read, in place of any older one.
    fn put(&self, slug: BrandSlug, limit: u32, feed: CachedFeed) {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if feeds.len() >= MAX_CACHED_FEEDS {
            feeds.clear();
        }
        feeds.insert((slug, limit), feed);
    }
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/public/v1/brands/{slug}/reviews",
            get(feed).options(preflight),
        )
        .route(
            "/public/v1/brands/{slug}/widget.js",
            get(widget).options(preflight),
        )
        .layer(middleware::map_response(cors))
}

/// Every public response, errors included, may be read from any origin.
async fn cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("If-None-Match"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A CORS preflight: the headers come from [`cors`].
async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

/// The query string of the feed.
#[derive(Debug, Deserialize)]
struct RawFeedQuery {
    limit: Option<String>,
}

/// A brand's public review feed.
#[derive(Debug, Serialize)]
struct Feed {
    brand: FeedBrand,
    /// Always true: these are reviews the brand chose to show, not all its reviews.
    selection: bool,
    notice: String,
    reviews: Vec<PublicReview>,
}

#[derive(Debug, Serialize)]
struct FeedBrand {
    slug: BrandSlug,
    name: String,
}

/// One approved review as the public sees it: plain text only.
#[derive(Debug, Serialize)]
struct PublicReview {
    id: i64,
    /// The approved excerpt, or the whole review text.
    text: String,
    /// Whether `text` is an excerpt of a longer review (the source has the rest).
    excerpt: bool,
    title: String,
    /// The author's display name as the source showed it, when it showed one.
    author: Option<String>,
    rating: Option<PublicRating>,
    /// When it was published (or, when the source gave no date, found).
    date: Timestamp,
    source: PublicSource,
}

#[derive(Debug, Serialize)]
struct PublicRating {
    /// Stars out of `out_of`, to one decimal.
    stars: f64,
    out_of: u8,
    /// 0 (one star) to 1 (five stars).
    normalised: f64,
}

#[derive(Debug, Serialize)]
struct PublicSource {
    name: String,
    /// The review where it was published; only http(s) links are given.
    url: Option<String>,
}

impl From<&Review> for PublicReview {
    fn from(r: &Review) -> Self {
        let m = &r.mention;
        Self {
            id: r.id.0,
            text: plain_text(r.published_text()),
            excerpt: r.excerpt.is_some(),
            title: plain_text(&m.title),
            author: m
                .author
                .as_deref()
                .map(plain_text)
                .filter(|a| !a.is_empty()),
            rating: m.rating.filter(|r| r.is_finite()).map(|r| {
                let r = r.clamp(0.0, 1.0);
                PublicRating {
                    stars: ((1.0 + 4.0 * r) * 10.0).round() / 10.0,
                    out_of: 5,
                    normalised: r,
                }
            }),
            date: m.published_at.unwrap_or(m.discovered_at),
            source: PublicSource {
                name: m.source.to_string(),
                url: m
                    .url
                    .as_deref()
                    .filter(|u| is_web_link(u))
                    .map(str::to_owned),
            },
        }
    }
}

/// An absolute http(s) URL with nothing in it that could break out of an attribute.
fn is_web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The slug in the path, or 404: a malformed slug names no brand either.
fn brand_slug(raw: Result<Path<String>, PathRejection>) -> Result<BrandSlug, ApiError> {
    let Path(raw) = raw.map_err(|_| ApiError::NotFound("there is no such brand".to_owned()))?;
    BrandSlug::parse(&raw).map_err(|_| no_brand(&raw))
}

fn no_brand(raw: &str) -> ApiError {
    ApiError::NotFound(format!("there is no brand {raw:?}"))
}

/// The `limit` parameter: a whole number from 1; above [`MAX_FEED_LIMIT`] it is capped.
fn feed_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_FEED_LIMIT),
        Some(l) => match l.parse::<u64>() {
            Ok(n) if n >= 1 => {
                Ok(u32::try_from(n.min(u64::from(MAX_FEED_LIMIT))).unwrap_or(MAX_FEED_LIMIT))
            }
            _ => Err(ApiError::BadRequest(format!(
                "limit {l:?} must be a whole number from 1 (at most {MAX_FEED_LIMIT} are returned)"
            ))),
        },
    }
}

async fn feed(
    State(state): State<AppState>,
    slug: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    raw: Result<Query<RawFeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let slug = brand_slug(slug)?;
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = feed_limit(raw.limit.as_deref())?;
    // The stamp first: whatever the reviews query then reads is at least as new.
    let stamp = state
        .feeds
        .stamps
        .stamp(state.store.as_ref(), &slug)
        .await?
        .ok_or_else(|| no_brand(slug.as_str()))?;
    if let Some(hit) = state.feeds.get(&slug, limit, &stamp) {
        return Ok(cacheable(&headers, "application/json", hit.body, &hit.etag));
    }
    let reviews = state
        .store
        .reviews(&ReviewQuery {
            status: Some(ReviewStatus::Approved),
            brand: Some(slug.clone()),
            before: None,
            limit,
        })
        .await?;
    let feed = Feed {
        notice: format!(
            "A selection of reviews approved by {}; not all reviews.",
            stamp.name
        ),
        brand: FeedBrand {
            slug: slug.clone(),
            name: stamp.name.clone(),
        },
        selection: true,
        reviews: reviews.iter().map(PublicReview::from).collect(),
    };
    // These types always serialise; were one not to, the stored data is at fault.
    let body = Bytes::from(
        serde_json::to_vec(&feed)
            .map_err(|e| ApiError::Storage(StoreError::Corrupt(format!("review feed: {e}"))))?,
    );
    let etag = etag_of(&body);
    state.feeds.put(
        slug,
        limit,
        CachedFeed {
            stamp,
            body: body.clone(),
            etag: etag.clone(),
        },
    );
    Ok(cacheable(&headers, "application/json", body, &etag))
}

async fn widget(
    State(state): State<AppState>,
    slug: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let slug = brand_slug(slug)?;
    if state.store.brand_name(&slug).await?.is_none() {
        return Err(no_brand(slug.as_str()));
    }
    let body = Bytes::from_static(WIDGET_JS.as_bytes());
    let etag = etag_of(&body);
    Ok(cacheable(
        &headers,
        "text/javascript; charset=utf-8",
        body,
        &etag,
    ))
}

/// `body` with its strong ETag (from [`etag_of`]) and Cache-Control, or `304 Not
/// Modified` when the request's `If-None-Match` names that ETag (or `*`).
fn cacheable(
    headers: &HeaderMap,
    content_type: &'static str,
    body: Bytes,
    etag: &HeaderValue,
) -> Response {
    let matched = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        // If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x".
        .any(|tag| {
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == etag.as_bytes()
        });
    let (status, body) = if matched {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        (StatusCode::OK, Body::from(body))
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(header::ETAG, etag.clone());
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    if !matched {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

/// A strong ETag: the first 128 bits of the body's SHA-256, in hex, quoted.
fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    // Hex digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{hex}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_given() {
        assert!(is_web_link("https://forum.test/t/1"));
        assert!(is_web_link("HTTP://forum.test/t/1"));
        assert!(!is_web_link("javascript:alert(1)"));
        assert!(!is_web_link("https://x.test/a b"));
        assert!(!is_web_link("data:text/html,hi"));
    }

    #[test]
    fn the_limit_is_capped_and_checked() {
        assert_eq!(feed_limit(None).unwrap(), DEFAULT_FEED_LIMIT);
        assert_eq!(feed_limit(Some("5")).unwrap(), 5);
        assert_eq!(feed_limit(Some("100000")).unwrap(), MAX_FEED_LIMIT);
        assert!(feed_limit(Some("0")).is_err());
        assert!(feed_limit(Some("ten")).is_err());
    }

    #[test]
    fn etags_are_strong_and_follow_the_body() {
        let a = etag_of(b"{}");
        let a = a.to_str().unwrap();
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 34);
        assert_ne!(a, etag_of(b"{ }"));
    }
}
