//! The one error type every handler returns.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use earshot_store::StoreError;
use std::sync::Arc;

/// Why a request failed on the server's side, with its cause chain. It rides in the
/// response's extensions to the logging layer (see `lib.rs`), which logs it once;
/// clients never see it.
#[derive(Debug, Clone)]
pub(crate) struct ServerFault(pub Arc<str>);

/// An API failure. The status and the message are chosen here, once. Every one is sent
/// as `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// No key, or a key that is malformed, unknown or revoked.
    #[error("{message}")]
    Unauthorized {
        message: String,
        /// A key was sent but is no good (RFC 6750's `invalid_token`), as opposed to
        /// none sent at all.
        invalid_key: bool,
    },
    /// A valid key whose role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the resource's state (an alert transition the
    /// lifecycle does not allow; changing a rule that belongs to the config file).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database is unreachable or failing. The details go to the log, not the client.
    #[error("storage unavailable")]
    Storage(StoreError),
    /// A part of this process that requests depend on is not working; the message says
    /// which and what to do.
    #[error("{0}")]
    Unavailable(String),
    /// The OS could not supply randomness for a new key.
    #[error("no randomness available to make a key; try again")]
    NoRandomness,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Storage(_) | Self::Unavailable(_) | Self::NoRandomness => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Storage(_) => "storage_unavailable",
            Self::Unavailable(_) | Self::NoRandomness => "unavailable",
        }
    }
}

/// A store error caused by the request (it names a brand or source that does not
/// exist) is the client's to fix; anything else is the storage's fault.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownBrand(b) => Self::BadRequest(format!("there is no brand {b:?}")),
            StoreError::UnknownSource(s) => Self::BadRequest(format!("there is no source {s:?}")),
            e => Self::Storage(e),
        }
    }
}

/// A value the client sent that the domain refuses; its message says why.
impl From<earshot_domain::InvalidValue> for ApiError {
    fn from(e: earshot_domain::InvalidValue) -> Self {
        Self::BadRequest(e.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code(), "message": self.to_string() }
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::Storage(e) = &self {
            let mut chain = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                chain.push_str(": ");
                chain.push_str(&c.to_string());
                cause = c.source();
            }
            response.extensions_mut().insert(ServerFault(chain.into()));
        }
        if let Self::Unauthorized { invalid_key, .. } = self {
            let challenge = if invalid_key {
                "Bearer realm=\"earshot\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"earshot\""
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no such resource: {}", uri.path()))
}

pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
