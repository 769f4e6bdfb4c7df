//! Sources: the places Earshot reads, and their crawl state.

use crate::{InvalidValue, Recipe, Timestamp};
use serde::Serialize;
use std::time::Duration;

/// A source's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourceId(pub i64);

/// A source's unique, human-chosen name: 1–100 characters of letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourceName(String);

impl SourceName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = !raw.is_empty()
            && raw.len() <= 100
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "source name {raw:?} must be 1-100 characters of letters, digits, '.', '_' and '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of place a source is, which decides how its bytes are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// A forum listing or thread, read with a [`Recipe`] (a preset or selectors).
    Forum,
    /// A review page: schema.org reviews in JSON-LD or microdata, else a [`Recipe`].
    Reviews,
    /// Any article: its main text, without navigation and boilerplate.
    Page,
}

impl SourceKind {
    /// Every kind this build understands, as written in config.
    pub const ALL: &'static [&'static str] = &["feed", "forum", "reviews", "page"];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "feed" => Ok(Self::Feed),
            "forum" => Ok(Self::Forum),
            "reviews" => Ok(Self::Reviews),
            "page" => Ok(Self::Page),
            other => Err(InvalidValue::new(format!(
                "unknown source kind {other:?}; this version supports: {}",
                Self::ALL.join(", ")
            ))),
        }
    }

    /// Whether a source of this kind may have a [`Recipe`] (forums must; review pages
    /// may, for pages without structured data).
    pub fn takes_recipe(self) -> bool {
        matches!(self, Self::Forum | Self::Reviews)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Forum => "forum",
            Self::Reviews => "reviews",
            Self::Page => "page",
        }
    }
}

/// An absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SourceUrl(url::Url);

impl SourceUrl {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let url = url::Url::parse(raw)
            .map_err(|e| InvalidValue::new(format!("{raw:?} is not a valid URL: {e}")))?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(Self(url)),
            _ => Err(InvalidValue::new(format!(
                "{raw:?} must be an http:// or https:// URL with a host"
            ))),
        }
    }

    pub fn as_url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A configured source: what to read, how, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: SourceName,
    pub kind: SourceKind,
    pub url: SourceUrl,
    /// The normal interval between checks.
    #[serde(rename = "every_secs", with = "duration_secs")]
    pub every: Duration,
    /// Where the posts are on a forum page (required for `forum`; for `reviews`, used
    /// when a page has no structured data; not allowed for the other kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<Recipe>,
    /// The least time between two requests to this source's host, when this source
    /// asks for more than the crawler's default. The slowest rate asked for a host wins.
    #[serde(
        rename = "host_interval_ms",
        with = "duration_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub host_interval: Option<Duration>,
}

impl Source {
    /// The longest per-host interval a source may ask for.
    pub const MAX_HOST_INTERVAL: Duration = Duration::from_secs(600);

    /// Checks what no single field can: that the kind and the recipe go together, the
    /// recipe's limits, and the host interval's bounds.
    pub fn check(&self) -> Result<(), InvalidValue> {
        match (self.kind, &self.recipe) {
            (SourceKind::Forum, None) => {
                return Err(InvalidValue::new(format!(
                    "source {}: a forum needs a recipe: a preset ({}) or at least `post` and `body` selectors",
                    self.name,
                    crate::Preset::ALL.join(", ")
                )))
            }
            (kind, Some(_)) if !kind.takes_recipe() => {
                return Err(InvalidValue::new(format!(
                    "source {}: a {} source takes no recipe (only forum and reviews sources do)",
                    self.name,
                    self.kind.as_str()
                )))
            }
            (SourceKind::Forum, Some(r)) if r.preset.is_none() && (r.post.is_none() || r.body.is_none()) => {
                return Err(InvalidValue::new(format!(
                    "source {}: a forum recipe without a preset needs both `post` and `body` selectors",
                    self.name
                )))
            }
            _ => {}
        }
        if let Some(r) = &self.recipe {
            r.check_limits()
                .map_err(|e| InvalidValue::new(format!("source {}: {e}", self.name)))?;
        }
        if self
            .host_interval
            .is_some_and(|d| d > Self::MAX_HOST_INTERVAL)
        {
            return Err(InvalidValue::new(format!(
                "source {}: host_interval must be at most {}s",
                self.name,
                Self::MAX_HOST_INTERVAL.as_secs()
            )));
        }
        Ok(())
    }

    /// The shortest interval a source made through the API may have: more often would
    /// be impolite to the site, and the scheduler's tick is coarser anyway.
    pub const MIN_EVERY: Duration = Duration::from_secs(60);
    /// The longest: a source checked less than weekly is hardly monitored.
    pub const MAX_EVERY: Duration = Duration::from_secs(7 * 24 * 3600);

    /// The interval for a source made through the API, from whole seconds, within
    /// [`Source::MIN_EVERY`] and [`Source::MAX_EVERY`].
    pub fn every_from_secs(secs: i64) -> Result<Duration, InvalidValue> {
        let (min, max) = (Self::MIN_EVERY.as_secs(), Self::MAX_EVERY.as_secs());
        u64::try_from(secs)
            .ok()
            .filter(|s| (min..=max).contains(s))
            .map(Duration::from_secs)
            .ok_or_else(|| {
                InvalidValue::new(format!(
                    "every_secs = {secs} must be from {min} (a minute) to {max} (a week)"
                ))
            })
    }
}

/// A source's crawl state, as stored on its row: what is due, what failed, what the
/// server told us last time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SourceState {
    pub next_check_at: Option<Timestamp>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Consecutive failures; 0 after a success.
    pub error_count: i64,
    pub last_error: Option<String>,
    pub last_success_at: Option<Timestamp>,
}

/// How many consecutive failed crawls make a source unhealthy (`[crawler]
/// unhealthy_after`): 1 to 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UnhealthyAfter(u32);

impl UnhealthyAfter {
    /// The default: five failures in a row.
    pub const DEFAULT: UnhealthyAfter = UnhealthyAfter(5);

    pub fn new(failures: u32) -> Result<Self, InvalidValue> {
        if (1..=1000).contains(&failures) {
            Ok(Self(failures))
        } else {
            Err(InvalidValue::new(format!(
                "unhealthy_after = {failures} must be from 1 to 1000 consecutive failures"
            )))
        }
    }

    pub fn failures(self) -> u32 {
        self.0
    }

    /// Whether a crawl that failed, leaving the source at `error_count` consecutive
    /// failures, makes (or keeps) it unhealthy.
    pub fn reached_by(self, error_count: i64) -> bool {
        error_count >= i64::from(self.0)
    }
}

/// A source's health: unhealthy from the failed crawl that reached
/// [`UnhealthyAfter`] until its next successful crawl. Serialises as `healthy` (a
/// boolean) and `unhealthy_since`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceHealth {
    pub unhealthy_since: Option<Timestamp>,
}

impl SourceHealth {
    pub fn is_healthy(self) -> bool {
        self.unhealthy_since.is_none()
    }
}

impl Serialize for SourceHealth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("SourceHealth", 2)?;
        st.serialize_field("healthy", &self.is_healthy())?;
        st.serialize_field("unhealthy_since", &self.unhealthy_since)?;
        st.end()
    }
}

mod duration_millis {
    pub fn serialize<S: serde::Serializer>(
        d: &Option<std::time::Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }
}

mod duration_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_unhealthy_from_its_nth_consecutive_failure() {
        let n = UnhealthyAfter::new(5).unwrap();
        assert!(!n.reached_by(4) && n.reached_by(5) && n.reached_by(6));
        assert!(UnhealthyAfter::new(0).is_err() && UnhealthyAfter::new(1001).is_err());
        let sick = SourceHealth {
            unhealthy_since: Some(Timestamp::from_millis(0)),
        };
        assert!(!sick.is_healthy() && SourceHealth::default().is_healthy());
    }

    #[test]
    fn source_urls_must_be_http() {
        assert!(SourceUrl::parse("https://example.org/feed.xml").is_ok());
        assert!(SourceUrl::parse("file:///etc/passwd").is_err());
        assert!(SourceUrl::parse("not a url").is_err());
    }

    #[test]
    fn api_intervals_are_a_minute_to_a_week() {
        assert_eq!(Source::every_from_secs(60), Ok(Duration::from_secs(60)));
        assert_eq!(
            Source::every_from_secs(604_800),
            Ok(Duration::from_secs(604_800))
        );
        for bad in [59, 604_801, 0, -1, i64::MIN] {
            let e = Source::every_from_secs(bad).unwrap_err();
            assert!(e.0.contains("from 60 (a minute) to 604800 (a week)"), "{e}");
        }
    }

    #[test]
    fn unknown_kinds_list_the_known_ones() {
        let e = SourceKind::parse("gopher").unwrap_err();
        assert!(e.0.contains("feed, forum, reviews, page"), "{e}");
    }

    fn source(kind: SourceKind, recipe: Option<Recipe>) -> Source {
        Source {
            name: SourceName::parse("s").unwrap(),
            kind,
            url: SourceUrl::parse("https://forum.test/t/1").unwrap(),
            every: Duration::from_secs(600),
            recipe,
            host_interval: None,
        }
    }

    #[test]
    fn a_forum_needs_a_recipe_and_a_feed_takes_none() {
        let preset = Recipe {
            preset: Some(crate::Preset::Phpbb),
            ..Recipe::default()
        };
        let selectors = Recipe {
            post: Some("div.post".into()),
            body: Some("div.content".into()),
            ..Recipe::default()
        };
        let half = Recipe {
            post: Some("div.post".into()),
            ..Recipe::default()
        };
        assert!(source(SourceKind::Forum, Some(preset.clone()))
            .check()
            .is_ok());
        assert!(source(SourceKind::Forum, Some(selectors)).check().is_ok());
        assert!(source(SourceKind::Reviews, None).check().is_ok());
        assert!(source(SourceKind::Reviews, Some(preset.clone()))
            .check()
            .is_ok());
        let e = source(SourceKind::Forum, None).check().unwrap_err();
        assert!(e.0.contains("a forum needs a recipe"), "{e}");
        let e = source(SourceKind::Forum, Some(half)).check().unwrap_err();
        assert!(e.0.contains("both `post` and `body`"), "{e}");
        let e = source(SourceKind::Feed, Some(preset)).check().unwrap_err();
        assert!(e.0.contains("a feed source takes no recipe"), "{e}");
        let mut slow = source(SourceKind::Page, None);
        slow.host_interval = Some(Duration::from_secs(601));
        assert!(slow.check().is_err());
    }
}
