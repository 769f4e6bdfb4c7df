//! `/api/v1/reviews`: marketing's queue of review candidates. Reviews are created when
//! sentiments are saved (positive mentions, and mentions with a star rating); here they
//! are listed (newest first, cursor pagination), read, approved (optionally with an
//! excerpt, a contiguous part of the text: the text itself is never edited) and
//! rejected with a reason. Only approved reviews reach the public feed (`public.rs`).

use crate::auth::{Caller, ModerateReviews};
use crate::extract::{JsonBody, OptionalJsonBody, PathId};
use crate::paging::{self, Page};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use earshot_domain::{BrandSlug, Excerpt, Note, Review, ReviewId, ReviewStatus, Timestamp};
use earshot_store::{ReviewChange, ReviewDecision, ReviewQuery};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reviews", get(list))
        .route("/api/v1/reviews/{id}", get(show))
        .route("/api/v1/reviews/{id}/approve", post(approve))
        .route("/api/v1/reviews/{id}/reject", post(reject))
}

/// The query string as sent; validated into a [`ReviewQuery`] by [`parse`].
#[derive(Debug, Deserialize)]
struct RawQuery {
    status: Option<String>,
    brand: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(
    _: Caller<ModerateReviews>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Page<Review>>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw)?;
    let items = state.store.reviews(&query).await?;
    Ok(Json(Page::new(items, query.limit, |r| r.id.0)))
}

fn parse(raw: RawQuery) -> Result<ReviewQuery, ApiError> {
    Ok(ReviewQuery {
        status: raw.status.as_deref().map(ReviewStatus::parse).transpose()?,
        brand: raw.brand.as_deref().map(BrandSlug::parse).transpose()?,
        before: paging::cursor(raw.cursor.as_deref())?.map(ReviewId),
        limit: paging::limit(raw.limit.as_deref())?,
    })
}

async fn show(
    _: Caller<ModerateReviews>,
    PathId(id): PathId,
    State(state): State<AppState>,
) -> Result<Json<Review>, ApiError> {
    let id = ReviewId(id);
    let review = state.store.review(id).await?.ok_or_else(|| not_found(id))?;
    Ok(Json(review))
}

fn not_found(id: ReviewId) -> ApiError {
    ApiError::NotFound(format!("there is no review {}", id.0))
}

/// The optional body of an approval: the part of the text to publish.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprove {
    excerpt: Option<String>,
}

/// The body of a rejection: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReject {
    reason: String,
}

/// Approves a pending review: 404 for an unknown review, 400 for an excerpt that is not
/// a contiguous part of the text, 409 when the review is not pending.
async fn approve(
    caller: Caller<ModerateReviews>,
    PathId(id): PathId,
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<RawApprove>,
) -> Result<Json<Review>, ApiError> {
    let id = ReviewId(id);
    let excerpt = match body.and_then(|b| b.excerpt) {
        Some(raw) => {
            // The text never changes, so checking it before the decision is race-free.
            let review = state.store.review(id).await?.ok_or_else(|| not_found(id))?;
            Some(Excerpt::parse(&raw, &review.mention.snippet)?)
        }
        None => None,
    };
    let decision = ReviewDecision::Approve {
        excerpt: excerpt.as_ref(),
    };
    decide(caller, id, state, decision).await
}

/// Rejects a pending or approved review (an approved one leaves the public feed): 404
/// for an unknown review, 400 without a reason, 409 when it is rejected already.
async fn reject(
    caller: Caller<ModerateReviews>,
    PathId(id): PathId,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawReject>,
) -> Result<Json<Review>, ApiError> {
    let reason = Note::parse(&raw.reason).map_err(|_| {
        ApiError::BadRequest(format!(
            "reason must be 1-{} characters, without NUL, saying why the review is not published",
            Note::MAX_CHARS
        ))
    })?;
    let decision = ReviewDecision::Reject { reason: &reason };
    decide(caller, ReviewId(id), state, decision).await
}

async fn decide(
    caller: Caller<ModerateReviews>,
    id: ReviewId,
    state: AppState,
    decision: ReviewDecision<'_>,
) -> Result<Json<Review>, ApiError> {
    let change = state
        .store
        .decide_review(id, &decision, &caller.actor(), Timestamp::now())
        .await?;
    match change {
        ReviewChange::Done(review) => Ok(Json(*review)),
        ReviewChange::NotFound => Err(not_found(id)),
        ReviewChange::Refused(why) => Err(ApiError::Conflict(format!(
            "cannot {} review {}: {why}",
            decision.action().as_str(),
            id.0
        ))),
    }
}
