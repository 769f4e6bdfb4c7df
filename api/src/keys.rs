//! `/api/v1/keys`: the admin's view of API keys. A new key's secret is in the creation
//! response and nowhere else, ever; listings show names, roles and dates only. A key
//! is revoked, never deleted, so history that names it stays readable.

use crate::auth::{issue_key, Caller, ManageKeys};
use crate::extract::{JsonBody, PathId};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use earshot_domain::{ApiKey, ApiKeyId, KeyName, Role, Timestamp};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{id}", delete(revoke))
}

#[derive(Debug, Serialize)]
struct Keys {
    items: Vec<ApiKey>,
}

async fn list(
    _: Caller<ManageKeys>,
    State(state): State<AppState>,
) -> Result<Json<Keys>, ApiError> {
    let items = state.store.api_keys().await?;
    Ok(Json(Keys { items }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNewKey {
    name: String,
    role: String,
}

/// A new key, with its secret: the only time it is shown.
#[derive(Debug, Serialize)]
struct CreatedKey {
    #[serde(flatten)]
    key: ApiKey,
    /// Send as `Authorization: Bearer <key>`. Shown only this once.
    #[serde(rename = "key")]
    secret: String,
}

async fn create(
    _: Caller<ManageKeys>,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawNewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = KeyName::parse(&raw.name)?;
    let role = Role::parse(&raw.role)?;
    let (key, secret) = issue_key(state.store.as_ref(), &name, role, Timestamp::now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key,
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Revokes a key and answers with it; revoking it again changes nothing.
async fn revoke(
    _: Caller<ManageKeys>,
    PathId(id): PathId,
    State(state): State<AppState>,
) -> Result<Json<ApiKey>, ApiError> {
    state
        .store
        .revoke_api_key(ApiKeyId(id), Timestamp::now())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("there is no API key {id}")))
}
