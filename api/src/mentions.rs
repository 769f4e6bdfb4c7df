//! `GET /api/v1/mentions`: stored mentions, newest discovered first, with cursor
//! pagination by discovery id (older posts can be found later, so published dates
//! would skip them).

use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use earshot_domain::{BrandSlug, Label, Mention, MentionId, Timestamp};
use earshot_store::MentionQuery;
use serde::{Deserialize, Serialize};

/// Page size when the client does not say.
const DEFAULT_LIMIT: u32 = 50;
/// The largest page a client may ask for.
const MAX_LIMIT: u32 = 500;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/mentions", get(list))
}

/// The query string as sent; validated into a [`MentionQuery`] by [`parse`].
#[derive(Debug, Deserialize)]
struct RawQuery {
    brand: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    sentiment: Option<String>,
}

#[derive(Debug, Serialize)]
struct Page {
    items: Vec<Mention>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    next_cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw, Timestamp::now())?;
    let items = state.store.mentions(&query).await?;
    let next_cursor = (items.len() == query.limit as usize)
        .then(|| items.last().map(|m| m.id.0.to_string()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

fn parse(raw: RawQuery, now: Timestamp) -> Result<MentionQuery, ApiError> {
    let bad = |m: String| ApiError::BadRequest(m);
    let brand = raw
        .brand
        .map(|b| BrandSlug::parse(&b).map_err(|e| bad(e.0)))
        .transpose()?;
    let since = raw
        .since
        .map(|s| Timestamp::parse_since(&s, now).map_err(|e| bad(e.0)))
        .transpose()?;
    let before = raw
        .cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(MentionId)
                .ok_or_else(|| bad(format!("cursor {c:?} is not one this API returned")))
        })
        .transpose()?;
    let label = raw
        .sentiment
        .map(|l| Label::parse(&l).map_err(|e| bad(e.0)))
        .transpose()?;
    let limit = match raw.limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                bad(format!(
                    "limit {l:?} must be a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    Ok(MentionQuery {
        brand,
        since,
        before,
        label,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(
        brand: Option<&str>,
        since: Option<&str>,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> RawQuery {
        RawQuery {
            brand: brand.map(Into::into),
            since: since.map(Into::into),
            cursor: cursor.map(Into::into),
            limit: limit.map(Into::into),
            sentiment: None,
        }
    }

    #[test]
    fn a_valid_query_becomes_typed_values() {
        let now = Timestamp::parse_rfc3339("2026-11-23T00:00:00Z").unwrap();
        let q = parse(raw(Some("acme"), Some("24h"), Some("17"), Some("10")), now).unwrap();
        assert_eq!(q.brand.unwrap().as_str(), "acme");
        assert_eq!(q.since.unwrap().to_rfc3339(), "2026-11-22T00:00:00.000Z");
        assert_eq!(q.before, Some(MentionId(17)));
        assert_eq!(q.limit, 10);
    }

    #[test]
    fn each_bad_parameter_is_named_in_the_error() {
        let now = Timestamp::now();
        for (r, word) in [
            (raw(Some("ACME!"), None, None, None), "brand slug"),
            (raw(None, Some("last week"), None, None), "since"),
            (raw(None, None, Some("abc"), None), "cursor"),
            (raw(None, None, Some("-4"), None), "cursor"),
            (raw(None, None, None, Some("0")), "limit"),
            (raw(None, None, None, Some("100000")), "limit"),
            (
                RawQuery {
                    sentiment: Some("meh".into()),
                    ..raw(None, None, None, None)
                },
                "sentiment",
            ),
        ] {
            let e = parse(r, now).unwrap_err();
            assert!(matches!(e, ApiError::BadRequest(_)));
            assert!(e.to_string().contains(word), "{e}");
        }
    }
}
