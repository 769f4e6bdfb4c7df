//! Earshot's HTTP API (axum).
//!
//! Each resource module exposes its own `router()`; [`router`] merges them. Every
//! failure goes through [`ApiError`], which picks the status code and a JSON body that
//! says what was wrong, and never leaks internals: bad input is a 4xx, never a 500.
//! Every `/api/v1` route and `/metrics` need an API key whose role allows it (see
//! `auth`), but for the OpenAPI document at `/api/v1/openapi.json` (see `openapi`);
//! that, `/healthz`, `/readyz` and the public review feed and widget under `/public/v1`
//! (see `public`) are open. The web console for people (see `console`) is served at
//! `/` by the same router, with its own sign-in, sessions and CSRF checks.

mod alert_rules;
mod alerts;
mod auth;
mod brands;
mod console;
mod error;
mod extract;
mod health;
mod keys;
mod mentions;
mod metrics;
mod notifications;
mod openapi;
mod paging;
mod public;
mod reviews;
mod sources;
mod stats;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use earshot_domain::ChannelName;
use earshot_store::Store;
use std::future::Future;
use std::sync::Arc;
use tracing::Instrument;

pub use auth::issue_key;
pub use console::{create_user, hash_password};
pub use error::ApiError;
pub use extract::MAX_BODY_BYTES;
pub use metrics::RequestCounts;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// This process's sentiment model, for `/readyz` and `/metrics`; `None` when it runs
    /// none.
    pub model: Option<ModelProbe>,
    /// What this process answered, for `/metrics`.
    pub requests: Arc<RequestCounts>,
    /// The metrics this process recorded (crawls, fetches, classification, alerts,
    /// notifications, leases), rendered as Prometheus text after the database's figures
    /// at `/metrics`; `None` when no recorder is installed.
    pub recorded: Option<RenderMetrics>,
    /// The public review feeds built so far, each kept with the stamp it was built at.
    feeds: Arc<public::FeedCache>,
    /// The channels the config defines: the names an alert rule may give.
    pub channels: Arc<[ChannelName]>,
}

impl AppState {
    /// State for an API that runs no sentiment model of its own.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            model: None,
            requests: Arc::default(),
            recorded: None,
            feeds: Arc::default(),
            channels: Arc::from(Vec::new()),
        }
    }

    /// The same state, accepting these channel names in alert rules (a rule naming
    /// any other is refused).
    pub fn with_channels(self, channels: Vec<ChannelName>) -> Self {
        Self {
            channels: channels.into(),
            ..self
        }
    }

    /// The same state, adding what `render` gives (the text exposition of the process's
    /// metrics recorder, whose families must not repeat the database's) to `/metrics`.
    pub fn with_recorded_metrics(self, render: RenderMetrics) -> Self {
        Self {
            recorded: Some(render),
            ..self
        }
    }

    /// The same state, reporting on this process's sentiment model in `/readyz` and
    /// `/metrics`.
    pub fn with_model(self, model: Option<ModelProbe>) -> Self {
        Self { model, ..self }
    }
}

/// What `/readyz` can ask of the sentiment model running in this process. (The API does
/// not depend on the sentiment crate: the binary wires the two together.)
#[derive(Clone)]
pub struct ModelProbe {
    /// The loaded model's key, `model_id@version`.
    pub key: String,
    /// Whether the model can still classify (its thread is running).
    pub running: Arc<dyn Fn() -> bool + Send + Sync>,
}

/// Renders the process's recorded metrics as Prometheus text. (The API does not depend
/// on the exporter: the binary, which installs the recorder, wires the two together.)
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// The whole API, ready to serve.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(mentions::router())
        .merge(alerts::router())
        .merge(alert_rules::router())
        .merge(notifications::router())
        .merge(brands::router())
        .merge(sources::router())
        .merge(keys::router())
        .merge(reviews::router())
        .merge(stats::router())
        .merge(public::router())
        .merge(openapi::router())
        .merge(metrics::router())
        .merge(console::router())
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Answers each request inside a `request` span (`method`, `route`: the route's
/// template, never the raw path's ids; `status` once answered), counts and times it for
/// `/metrics`, logs it at debug level, and logs each request that failed on the server's
/// side (a [`error::ServerFault`]), once, with its cause; bad requests are the client's
/// business and are not logged above debug.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let span = tracing::info_span!("request", %method, route, status = tracing::field::Empty);
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    state.requests.record(status);
    earshot_telemetry::request_answered(took);
    span.record("status", status);
    let _entered = span.enter();
    if let Some(fault) = response.extensions().get::<error::ServerFault>() {
        tracing::error!(path, error = %fault.0, "request failed");
    }
    tracing::debug!(duration_ms = took.as_millis() as u64, "request answered");
    response
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
