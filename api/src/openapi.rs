//! `GET /api/v1/openapi.json`: the API described as an OpenAPI 3.1 document.
//!
//! The document is written by hand in `api/openapi.json` and compiled into the binary, so
//! what is served is exactly what was reviewed. It is kept honest by `tests/openapi.rs`,
//! which checks it both ways against the routes the server answers. No key is needed: it
//! says what the API looks like, not what is in it, and clients need it before they
//! have a key.

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// The document, as served.
const DOCUMENT: &str = include_str!("../openapi.json");

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT,
    )
}
