//! `/api/v1/alerts`: the PR team's queue. Alerts have a `kind`: `mention` alerts are
//! opened by alert rules when sentiments are saved, `spike` alerts by spike detection
//! (a brand's hourly negative mentions jumped), `source` alerts when a source keeps
//! failing. All share one lifecycle. Here they are listed (newest first, cursor pagination), read
//! with their history, moved through their lifecycle, assigned and annotated. Every
//! change records who made it (the key's name and id) and when.

use crate::auth::{Caller, WorkAlerts};
use crate::extract::{nullable, JsonBody, OptionalJsonBody, PathId};
use crate::paging::{self, Page};
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use earshot_domain::{
    Alert, AlertEvent, AlertId, AlertKind, AlertStatus, Assignee, BrandSlug, Note, Severity,
    Timestamp, Transition,
};
use earshot_store::{AlertChange, AlertEdit, AlertQuery, Store};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alerts", get(list))
        .route("/api/v1/alerts/{id}", get(show).patch(edit))
        .route("/api/v1/alerts/{id}/acknowledge", post(acknowledge))
        .route("/api/v1/alerts/{id}/resolve", post(resolve))
        .route("/api/v1/alerts/{id}/dismiss", post(dismiss))
}

/// The query string as sent; validated into an [`AlertQuery`] by [`parse`].
#[derive(Debug, Deserialize)]
struct RawQuery {
    status: Option<String>,
    brand: Option<String>,
    severity: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(
    _: Caller<WorkAlerts>,
    State(state): State<AppState>,
    raw: Result<Query<RawQuery>, QueryRejection>,
) -> Result<Json<Page<Alert>>, ApiError> {
    let Query(raw) = raw.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = parse(raw)?;
    let items = state.store.alerts(&query).await?;
    Ok(Json(Page::new(items, query.limit, |a| a.id.0)))
}

fn parse(raw: RawQuery) -> Result<AlertQuery, ApiError> {
    Ok(AlertQuery {
        status: raw.status.as_deref().map(AlertStatus::parse).transpose()?,
        brand: raw.brand.as_deref().map(BrandSlug::parse).transpose()?,
        severity: raw.severity.as_deref().map(Severity::parse).transpose()?,
        before: paging::cursor(raw.cursor.as_deref())?.map(AlertId),
        limit: paging::limit(raw.limit.as_deref())?,
        kind: raw.kind.as_deref().map(AlertKind::parse).transpose()?,
    })
}

/// One alert with its history, oldest event first.
#[derive(Debug, Serialize)]
struct AlertWithHistory {
    #[serde(flatten)]
    alert: Alert,
    history: Vec<AlertEvent>,
}

async fn show(
    _: Caller<WorkAlerts>,
    PathId(id): PathId,
    State(state): State<AppState>,
) -> Result<Json<AlertWithHistory>, ApiError> {
    with_history(state.store.as_ref(), AlertId(id)).await
}

async fn with_history(store: &dyn Store, id: AlertId) -> Result<Json<AlertWithHistory>, ApiError> {
    let (alert, history) = store.alert(id).await?.ok_or_else(|| not_found(id))?;
    Ok(Json(AlertWithHistory { alert, history }))
}

fn not_found(id: AlertId) -> ApiError {
    ApiError::NotFound(format!("there is no alert {}", id.0))
}

/// The optional body of an acknowledge, resolve or dismiss: a note for the history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    note: Option<String>,
}

async fn acknowledge(
    caller: Caller<WorkAlerts>,
    PathId(id): PathId,
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<RawAction>,
) -> Result<Json<AlertWithHistory>, ApiError> {
    act(caller, AlertId(id), state, body, Transition::Acknowledge).await
}

async fn resolve(
    caller: Caller<WorkAlerts>,
    PathId(id): PathId,
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<RawAction>,
) -> Result<Json<AlertWithHistory>, ApiError> {
    act(caller, AlertId(id), state, body, Transition::Resolve).await
}

async fn dismiss(
    caller: Caller<WorkAlerts>,
    PathId(id): PathId,
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<RawAction>,
) -> Result<Json<AlertWithHistory>, ApiError> {
    act(caller, AlertId(id), state, body, Transition::Dismiss).await
}

/// Applies a lifecycle transition: 404 for an unknown alert, 409 when the lifecycle
/// does not allow it, else the alert as it now is.
async fn act(
    caller: Caller<WorkAlerts>,
    id: AlertId,
    state: AppState,
    body: Option<RawAction>,
    transition: Transition,
) -> Result<Json<AlertWithHistory>, ApiError> {
    let note = body
        .and_then(|b| b.note)
        .map(|n| Note::parse(&n))
        .transpose()?;
    let change = state
        .store
        .transition_alert(
            id,
            transition,
            &caller.actor(),
            note.as_ref(),
            Timestamp::now(),
        )
        .await?;
    match change {
        AlertChange::Done => with_history(state.store.as_ref(), id).await,
        AlertChange::NotFound => Err(not_found(id)),
        AlertChange::Refused(why) => Err(ApiError::Conflict(format!(
            "cannot {} alert {}: {why}",
            transition.as_str(),
            id.0
        ))),
    }
}

/// A change to the assignee and notes: fields left out stay as they are, `null` clears.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEdit {
    #[serde(default, deserialize_with = "nullable")]
    assignee: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    notes: Option<Option<String>>,
}

async fn edit(
    caller: Caller<WorkAlerts>,
    PathId(id): PathId,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawEdit>,
) -> Result<Json<AlertWithHistory>, ApiError> {
    let edit = AlertEdit {
        assignee: raw
            .assignee
            .map(|a| a.as_deref().map(Assignee::parse).transpose())
            .transpose()?,
        notes: raw
            .notes
            .map(|n| n.as_deref().map(Note::parse).transpose())
            .transpose()?,
    };
    if edit.assignee.is_none() && edit.notes.is_none() {
        return Err(ApiError::BadRequest(
            "nothing to change: send \"assignee\" and/or \"notes\" (null clears)".to_owned(),
        ));
    }
    let id = AlertId(id);
    match state
        .store
        .edit_alert(id, &edit, &caller.actor(), Timestamp::now())
        .await?
    {
        AlertChange::NotFound => Err(not_found(id)),
        _ => with_history(state.store.as_ref(), id).await,
    }
}
