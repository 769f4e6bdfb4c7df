//! The one error type every handler returns.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API failure. The status and the message are chosen here, once.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    #[error("no such resource: {0}")]
    NotFound(String),
    /// The database is unreachable or failing. The details go to the log, not the client.
    #[error("storage unavailable")]
    Storage(#[from] earshot_store::StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::NotFound(_) => "not_found",
            Self::Storage(_) => "storage_unavailable",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.to_string() }
        });
        (self.status(), Json(body)).into_response()
    }
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}
