//! `GET /api/v1/mentions`: stored mentions, newest discovered first, with cursor
//! pagination by discovery id (older posts can be found later, so published dates
//! would skip them). `POST /api/v1/mentions/{id}/sentiment`: a person's correction of a
//! mention's sentiment, stored beside the model's result.
//!
//! The list filters by brand, source, language, label, time and text (`q`), and with
//! `format=csv` answers with the same page as CSV, in the columns `earshot mentions
//! --format csv` prints (one writer serves both). A source name that is well formed but
//! unknown gives an empty list, as an unknown brand slug does: a source retired from the
//! config still has its mentions, and a list is no place to say which names exist.

use crate::auth::{Caller, CorrectSentiment, ReadMentions};
use crate::extract::{JsonBody, PathId};
use crate::paging::{self, Page};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use earshot_domain::{
    csv_line, mention_record, BrandSlug, Label, LanguageCode, Mention, MentionId, SourceName,
    Timestamp, MENTION_CSV_HEADER,
};
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
    source: Option<String>,
    language: Option<String>,
    q: Option<String>,
    format: Option<String>,
}

/// The longest `q` accepted, in characters.
const MAX_Q_CHARS: usize = 200;

/// How a list is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

impl Format {
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw {
            None | Some("json") => Ok(Self::Json),
            Some("csv") => Ok(Self::Csv),
            Some(other) => Err(ApiError::BadRequest(format!(
                "format {other:?} must be json or csv"
            ))),
        }
    }
}

async fn list(
    _: Caller<ReadMentions>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let format = Format::parse(raw.format.as_deref())?;
    let query = parse(raw, Timestamp::now())?;
    let items = state.store.mentions(&query).await?;
    let page = Page::new(items, query.limit, |m| m.id.0);
    Ok(match format {
        Format::Json => Json(page).into_response(),
        Format::Csv => csv(page),
    })
}

/// A page as CSV: a header row, then one row per mention. The next page's cursor, if
/// there is one, is in the `X-Next-Cursor` header.
fn csv(page: Page<Mention>) -> Response {
    let mut body = csv_line(&MENTION_CSV_HEADER);
    for m in &page.items {
        body.push_str(&csv_line(&mention_record(m)));
    }
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Some(cursor) = page
        .next_cursor
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        response.headers_mut().insert("x-next-cursor", cursor);
    }
    response
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
    let label = Label::parse(&raw.label)?;
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
    let source = raw
        .source
        .map(|s| SourceName::parse(&s).map_err(|e| bad(e.0)))
        .transpose()?;
    let language = raw
        .language
        .map(|l| LanguageCode::parse(&l).map_err(|e| bad(e.0)))
        .transpose()?;
    let text = raw
        .q
        .map(|q| {
            let n = q.chars().count();
            // NUL is refused here, not by the database: Postgres cannot take it in text.
            if (1..=MAX_Q_CHARS).contains(&n) && !q.trim().is_empty() && !q.contains('\0') {
                Ok(q)
            } else {
                Err(bad(format!(
                    "q must be 1 to {MAX_Q_CHARS} characters of text to search for, without NUL"
                )))
            }
        })
        .transpose()?;
    let limit = paging::limit(raw.limit.as_deref())?;
    Ok(MentionQuery {
        brand,
        since,
        before,
        label,
        source,
        language,
        text,
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
            source: None,
            language: None,
            q: None,
            format: None,
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
            (
                RawQuery {
                    source: Some("no such/source".into()),
                    ..raw(None, None, None, None)
                },
                "source",
            ),
            (
                RawQuery {
                    language: Some("english".into()),
                    ..raw(None, None, None, None)
                },
                "language",
            ),
            (
                RawQuery {
                    q: Some(" ".into()),
                    ..raw(None, None, None, None)
                },
                "q must",
            ),
            (
                RawQuery {
                    q: Some("a\0b".into()),
                    ..raw(None, None, None, None)
                },
                "q must",
            ),
            (
                RawQuery {
                    q: Some("x".repeat(201)),
                    ..raw(None, None, None, None)
                },
                "q must",
            ),
        ] {
            let e = parse(r, now).unwrap_err();
            assert!(matches!(e, ApiError::BadRequest(_)));
            assert!(e.to_string().contains(word), "{e}");
        }
    }
}
