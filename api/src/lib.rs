//! Earshot's HTTP API (axum).
//!
//! Each resource module exposes its own `router()`; [`router`] merges them. Every
//! failure goes through [`ApiError`], which picks the status code and a JSON body that
//! says what was wrong, and never leaks internals: bad input is a 4xx, never a 500.
//! Every `/api/v1` route needs an API key whose role allows it (see `auth`);
//! `/healthz` and `/readyz` are open.

mod alert_rules;
mod alerts;
mod auth;
mod error;
mod extract;
mod health;
mod keys;
mod mentions;
mod paging;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use earshot_store::Store;
use std::future::Future;
use std::sync::Arc;

pub use auth::issue_key;
pub use error::ApiError;
pub use extract::MAX_BODY_BYTES;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
}

/// The whole API, ready to serve.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(mentions::router())
        .merge(alerts::router())
        .merge(alert_rules::router())
        .merge(keys::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves the API on an already-bound listener until `shutdown` resolves, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
