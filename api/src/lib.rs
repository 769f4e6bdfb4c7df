//! Earshot's HTTP API (axum).
//!
//! Each resource module exposes its own `router()`; [`router`] merges them. Every
//! failure goes through [`ApiError`], which picks the status code and a JSON body that
//! says what was wrong, and never leaks internals: bad input is a 4xx, never a 500.

mod error;
mod health;
mod mentions;

use axum::Router;
use earshot_store::Store;
use std::future::Future;
use std::sync::Arc;

pub use error::ApiError;

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
        .fallback(error::not_found)
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
