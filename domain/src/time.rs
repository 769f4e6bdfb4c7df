//! UTC timestamps with millisecond precision, stored as integers in both databases.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A UTC instant, as milliseconds since the Unix epoch.
///
/// Both backends store it as a 64-bit integer, so comparisons in SQL are exact and
/// identical on SQLite and Postgres. It serialises as RFC 3339 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// From milliseconds since the epoch, as stored.
    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch, as stored.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved forward by `d` (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// This instant moved back by `d` (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// Parses RFC 3339 (`2026-11-23T10:00:00Z`) or a bare date (`2026-11-23`, as midnight UTC).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        if let Ok(dt) = DateTime::parse_from_rfc3339(s.trim()) {
            return Some(Self(dt.timestamp_millis()));
        }
        let date = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
        Some(Self(
            date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
        ))
    }

    /// Parses a "since" bound as users write it: an RFC 3339 time, a date, or an age
    /// such as `24h`, `7d` or `30m` counted back from `now`.
    pub fn parse_since(raw: &str, now: Timestamp) -> Result<Self, crate::InvalidValue> {
        if let Some(t) = Self::parse_rfc3339(raw) {
            return Ok(t);
        }
        humantime::parse_duration(raw.trim())
            .map(|age| now.minus(age))
            .map_err(|_| {
                crate::InvalidValue::new(format!(
                    "since {raw:?} is neither a time (2026-11-23 or 2026-11-23T10:00:00Z) nor an age (24h, 7d)"
                ))
            })
    }

    /// RFC 3339 text in UTC, e.g. `2026-11-23T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// As a chrono value, for formatting.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(dt: DateTime<Utc>) -> Self {
        Self(dt.timestamp_millis())
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_bare_dates_are_midnight_utc() {
        let t = Timestamp::parse_rfc3339("2026-11-23T10:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T08:00:00.000Z");
        let d = Timestamp::parse_rfc3339("2026-11-23").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-11-23T00:00:00.000Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn since_accepts_times_dates_and_ages() {
        let now = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let day = Timestamp::parse_since("24h", now).unwrap();
        assert_eq!(day.to_rfc3339(), "2026-11-22T12:00:00.000Z");
        assert_eq!(
            Timestamp::parse_since("2026-11-01", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-01T00:00:00.000Z"
        );
        assert!(Timestamp::parse_since("last tuesday", now).is_err());
    }
}
