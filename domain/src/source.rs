//! Sources: the places Earshot reads, and their crawl state.

use crate::{InvalidValue, Timestamp};
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
}

impl SourceKind {
    /// Every kind this build understands, as written in config.
    pub const ALL: &'static [&'static str] = &["feed"];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "feed" => Ok(Self::Feed),
            other => Err(InvalidValue::new(format!(
                "unknown source kind {other:?}; this version supports: {}",
                Self::ALL.join(", ")
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
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
}

impl Source {
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
        assert!(e.0.contains("feed"), "{e}");
    }
}
