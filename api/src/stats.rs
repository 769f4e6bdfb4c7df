//! `GET /api/v1/stats`: one brand's mention volume per final sentiment label, per source,
//! and its net sentiment, in hour, day or week buckets (UTC).
//!
//! `from` and `to` take what `since` takes (a time or an age); the range is `from`
//! inclusive to `to` exclusive, by default the last 30 days. Every bucket of the range
//! is in the answer, empty ones too, so a chart needs no gap filling; that is also why
//! the number of buckets is capped. An unknown brand is `404`, as the public feed
//! answers: unlike a list filter, stats are about one brand, and zeros for a typo would
//! read as a quiet month.

use crate::auth::{Caller, ReadMentions};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use earshot_domain::{BrandSlug, Timestamp};
use earshot_store::{Bucket, Stats, StatsQuery};
use serde::Deserialize;
use std::time::Duration;

/// The most buckets one request may cover.
pub(crate) const MAX_BUCKETS: i64 = 1000;

/// How far back `from` goes when not given.
const DEFAULT_SPAN: Duration = Duration::from_secs(30 * 24 * 3600);

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stats", get(stats))
}

/// The query string as sent; validated into a [`StatsQuery`] by [`parse`].
#[derive(Debug, Deserialize)]
struct RawQuery {
    brand: Option<String>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

async fn stats(
    _: Caller<ReadMentions>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Stats>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw, Timestamp::now())?;
    if state.store.brand_name(&query.brand).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "there is no brand {:?}",
            query.brand.as_str()
        )));
    }
    Ok(Json(state.store.stats(&query).await?))
}

fn parse(raw: RawQuery, now: Timestamp) -> Result<StatsQuery, ApiError> {
    let bad = |m: String| ApiError::BadRequest(m);
    let brand = raw
        .brand
        .ok_or_else(|| bad("brand is required: the slug of the brand to count".into()))
        .and_then(|b| BrandSlug::parse(&b).map_err(|e| bad(e.0)))?;
    let when = |name: &str, raw: Option<String>, default: Timestamp| {
        match raw {
        None => Ok(default),
        Some(r) => Timestamp::parse_since(&r, now).map_err(|_| {
            bad(format!(
                "{name} {r:?} is neither a time (2026-11-23 or 2026-11-23T10:00:00Z) nor an age (24h, 7d)"
            ))
        }),
    }
    };
    let from = when("from", raw.from, now.minus(DEFAULT_SPAN))?;
    let to = when("to", raw.to, now)?;
    if to <= from {
        return Err(bad(format!(
            "to ({}) must be after from ({})",
            to.to_rfc3339(),
            from.to_rfc3339()
        )));
    }
    let bucket = match raw.bucket {
        None => Bucket::Day,
        Some(b) => Bucket::parse(&b).map_err(|e| bad(e.0))?,
    };
    if bucket.count(from, to) > MAX_BUCKETS {
        return Err(bad(format!(
            "from..to spans more than {MAX_BUCKETS} buckets of a {}: narrow it or use a wider bucket",
            bucket.as_str()
        )));
    }
    Ok(StatsQuery {
        brand,
        from,
        to,
        bucket,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(
        brand: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        bucket: Option<&str>,
    ) -> RawQuery {
        RawQuery {
            brand: brand.map(Into::into),
            from: from.map(Into::into),
            to: to.map(Into::into),
            bucket: bucket.map(Into::into),
        }
    }

    #[test]
    fn the_range_defaults_to_the_last_thirty_days_in_days() {
        let now = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        let q = parse(raw(Some("acme"), None, None, None), now).unwrap();
        assert_eq!(q.from.to_rfc3339(), "2026-10-24T12:00:00.000Z");
        assert_eq!(q.to, now);
        assert_eq!(q.bucket, Bucket::Day);
        let q = parse(
            raw(Some("acme"), Some("7d"), Some("2026-11-23"), Some("week")),
            now,
        )
        .unwrap();
        assert_eq!(q.from.to_rfc3339(), "2026-11-16T12:00:00.000Z");
        assert_eq!(q.to.to_rfc3339(), "2026-11-23T00:00:00.000Z");
    }

    #[test]
    fn each_bad_parameter_is_named_in_the_error() {
        let now = Timestamp::parse_rfc3339("2026-11-23T12:00:00Z").unwrap();
        for (r, word) in [
            (raw(None, None, None, None), "brand is required"),
            (raw(Some("ACME!"), None, None, None), "brand slug"),
            (raw(Some("acme"), Some("yesterday"), None, None), "from"),
            (raw(Some("acme"), None, Some("soon"), None), "to"),
            (
                raw(Some("acme"), Some("1h"), Some("2h"), None),
                "must be after",
            ),
            (raw(Some("acme"), None, None, Some("month")), "bucket"),
            (
                raw(Some("acme"), Some("60d"), None, Some("hour")),
                "1000 buckets",
            ),
        ] {
            let e = parse(r, now).unwrap_err();
            assert!(matches!(e, ApiError::BadRequest(_)));
            assert!(e.to_string().contains(word), "{e}");
        }
    }
}
