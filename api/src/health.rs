//! Liveness and readiness.

use crate::{ApiError, AppState};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and answering.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and, when this process runs the sentiment model, the model is
/// loaded and its thread running; 503 when either is not so.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await.map_err(ApiError::Storage)?;
    let model = match &state.model {
        None => json!(null),
        Some(probe) if (probe.running)() => json!({ "key": probe.key, "status": "running" }),
        Some(probe) => {
            return Err(ApiError::Unavailable(format!(
                "the sentiment model {} has stopped; see the server log and restart Earshot",
                probe.key
            )))
        }
    };
    Ok(Json(
        json!({ "status": "ready", "database": "ok", "model": model }),
    ))
}
