//! `/api/v1/notifications`: what became of the pushes new alerts queued (see the
//! notify crate). For the PR team and admins, who need to know whether a channel is
//! being reached: newest first, filtered by status (`pending`, `sent`, `failed`),
//! channel or alert, with cursor pagination.

use crate::auth::{Caller, WorkAlerts};
use crate::paging::{self, Page};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use earshot_domain::{AlertId, ChannelName, Notification, NotificationId, NotificationStatus};
use earshot_store::NotificationQuery;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/notifications", get(list))
}

/// The query string as sent; validated into a [`NotificationQuery`] by [`parse`].
#[derive(Debug, Deserialize)]
struct RawQuery {
    status: Option<String>,
    channel: Option<String>,
    alert: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(
    _: Caller<WorkAlerts>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Page<Notification>>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw)?;
    let items = state.store.notifications(&query).await?;
    Ok(Json(Page::new(items, query.limit, |n| n.id.0)))
}

fn parse(raw: RawQuery) -> Result<NotificationQuery, ApiError> {
    let alert = raw
        .alert
        .as_deref()
        .map(|a| {
            a.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::BadRequest(format!("alert {a:?} must be an alert id")))
        })
        .transpose()?;
    Ok(NotificationQuery {
        status: raw
            .status
            .as_deref()
            .map(NotificationStatus::parse)
            .transpose()?,
        channel: raw.channel.as_deref().map(ChannelName::parse).transpose()?,
        alert: alert.map(AlertId),
        before: paging::cursor(raw.cursor.as_deref())?.map(NotificationId),
        limit: paging::limit(raw.limit.as_deref())?,
    })
}
