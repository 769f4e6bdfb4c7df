//! Extractors for JSON bodies and path ids that fail with an [`ApiError`], so bad input
//! gets the same JSON error as everything else (axum's own rejections are plain text).

use crate::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts, StatusCode};
use serde::de::DeserializeOwned;

/// The largest request body the API reads. Its bodies are a label, a note or a rule.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A required JSON body. Unknown fields are refused where the target type says
/// `deny_unknown_fields`, which every request type here does.
pub(crate) struct JsonBody<T>(pub T);

/// A JSON body that may be left out entirely (an empty body, with or without a
/// Content-Type).
pub(crate) struct OptionalJsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_json(req, state)
            .await?
            .map(Self)
            .ok_or_else(|| ApiError::BadRequest("this request needs a JSON body".to_owned()))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_json(req, state).await.map(Self)
    }
}

/// The body as `T`, or `None` if it is empty. A non-empty body must be declared
/// `application/json` (or `…+json`) and be a JSON object that parses as `T`.
async fn read_json<T: DeserializeOwned, S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Option<T>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
                "the request body is larger than {MAX_BODY_BYTES} bytes"
            )),
            _ => ApiError::BadRequest(e.body_text()),
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = content_type.as_deref().is_some_and(|ct| {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON, with Content-Type: application/json".to_owned(),
        ));
    }
    // Every body this API takes is an object. serde would also read a struct from an
    // array of its fields' values in order (`["x", "admin"]` as a new key), which no
    // client means and the OpenAPI document does not allow.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::BadRequest(
            "invalid JSON body: it must be an object, {...}".to_owned(),
        ));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// The `{id}` in a path, a positive whole number.
pub(crate) struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Self)
            .ok_or_else(|| {
                ApiError::BadRequest(format!("id {raw:?} must be a positive whole number"))
            })
    }
}

/// A field that can be left out, set, or set to `null`: `None` when absent,
/// `Some(None)` for `null`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// The one `{slug}` or `{name}` in a path, percent-decoded, for the handler to parse.
pub(crate) struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(raw)| Self(raw))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}
