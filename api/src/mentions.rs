//! `GET /api/v1/mentions`: stored mentions, newest discovered first, with cursor
//! pagination by discovery id (older posts can be found later, so published dates
//! would skip them). `POST /api/v1/mentions/{id}/sentiment`: a person's correction of a
//! mention's sentiment, stored beside the model's result.

use crate::auth::{Caller, CorrectSentiment, ReadMentions};
use crate::extract::{JsonBody, PathId};
use crate::paging::{self, Page};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use earshot_domain::{BrandSlug, Label, Mention, MentionId, Timestamp};
use earshot_store::MentionQuery;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/mentions", get(list))
        .route("/api/v1/mentions/{id}/sentiment", post(correct))
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

async fn list(
    _: Caller<ReadMentions>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Page<Mention>>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw, Timestamp::now())?;
    let items = state.store.mentions(&query).await?;
    Ok(Json(Page::new(items, query.limit, |m| m.id.0)))
}

/// The body of a sentiment correction.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrection {
    label: String,
}

/// Stores the caller's label for the mention and answers with the mention, which now
/// shows the correction beside the model's sentiment.
async fn correct(
    caller: Caller<CorrectSentiment>,
    PathId(id): PathId,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawCorrection>,
) -> Result<Json<Mention>, ApiError> {
    let label = Label::parse(&raw.label).map_err(|e| ApiError::BadRequest(e.0))?;
    let id = MentionId(id);
    let not_found = || ApiError::NotFound(format!("there is no mention {}", id.0));
    if !state
        .store
        .correct_sentiment(id, label, &caller.actor(), Timestamp::now())
        .await?
    {
        return Err(not_found());
    }
    let mention = state.store.mention(id).await?.ok_or_else(not_found)?;
    Ok(Json(mention))
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
    let before = paging::cursor(raw.cursor.as_deref())?.map(MentionId);
    let label = raw
        .sentiment
        .map(|l| Label::parse(&l).map_err(|e| bad(e.0)))
        .transpose()?;
    let limit = paging::limit(raw.limit.as_deref())?;
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
