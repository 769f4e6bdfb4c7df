//! The web console: server-rendered pages for the people who act on what Earshot finds,
//! served at `/` by the same router as the API.
//!
//! - `signin`: sign-in with a username and password (made with `earshot users create`)
//!   or with an API key; sessions and CSRF tokens.
//! - `alerts`: the PR team's inbox. `reviews`: marketing's review queue with a preview
//!   of the public widget. `overview`: volume and sentiment per brand, source health.
//!   `admin`: brands, sources, alert rules, keys and users.
//!
//! Each screen asks for the same [`Permission`] the API asks for its data (see
//! `markup::Screen`), read from the session's owner at every request. Handlers read and
//! change state through `store` only, as the API's do. Pages are HTML strings built in
//! `markup`, which escapes all text; the one script is `console.js`, served from this
//! origin, and every response carries a strict Content-Security-Policy (no inline
//! script or style, no framing).
//!
//! State-changing requests are POSTs of ordinary forms, each carrying the session's CSRF
//! token (the `csrf` field, or an `X-CSRF-Token` header); a POST without the right one
//! is refused with 403 before anything is done.

mod admin;
mod alerts;
mod markup;
mod overview;
mod reviews;
mod signin;

use crate::error::ServerFault;
use crate::{ApiError, AppState};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use earshot_domain::{Permission, Session, SessionToken, Timestamp};

pub use signin::{create_user, hash_password};

/// The console's pages and forms, with their security headers.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(signin::router())
        .merge(overview::router())
        .merge(alerts::router())
        .merge(reviews::router())
        .merge(admin::router())
        .route("/assets/console.js", get(script))
        .route("/assets/console.css", get(style))
        .layer(middleware::from_fn(security_headers))
}

/// The policy every console response carries: only this origin's script and style, no
/// inline script, style or event handlers, no plugins, no framing, forms posted only
/// here. Images may be `data:` (none are used yet). The public widget's script is also
/// served from this origin, so its preview runs under the same policy.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn script() -> Response {
    asset(include_str!("console.js"), "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    asset(include_str!("console.css"), "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Why a console request failed, shown as a page that says so. Never a 500: storage
/// trouble is a 503 whose cause goes to the log, not the page.
#[derive(Debug)]
pub(crate) enum ConsoleError {
    /// No session, or it ended: go and sign in. `ended` says a cookie was sent but its
    /// session is over (expired, signed out, user disabled), so the page can say why.
    SignIn {
        ended: bool,
    },
    /// The signed-in role may not do this; the message says what.
    Forbidden(String),
    /// A POST without this session's CSRF token.
    Csrf,
    BadRequest(String),
    NotFound(String),
    Conflict(String),
    /// Anything the API would answer 5xx for (storage down, no randomness).
    Unavailable(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest(m) => Self::BadRequest(m),
            ApiError::Forbidden(m) => Self::Forbidden(m),
            ApiError::NotFound(m) => Self::NotFound(m),
            ApiError::Conflict(m) => Self::Conflict(m),
            e => Self::Unavailable(e),
        }
    }
}

impl From<earshot_store::StoreError> for ConsoleError {
    fn from(e: earshot_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<earshot_domain::InvalidValue> for ConsoleError {
    fn from(e: earshot_domain::InvalidValue) -> Self {
        Self::BadRequest(e.0)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::SignIn { ended } => {
                let to = if ended { "/signin?ended=1" } else { "/signin" };
                return Redirect::to(to).into_response();
            }
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, "Not for your role", m),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not carry this session's security token, so nothing was done. \
                 Go back, reload the page and try again."
                    .to_owned(),
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "That did not work", m),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            Self::Conflict(m) => (StatusCode::CONFLICT, "Already changed", m),
            Self::Unavailable(e) => {
                // Let the API's error pick the status and put its cause in the response
                // for the logging layer.
                let api = e.into_response();
                let status = api.status();
                let fault = api.extensions().get::<ServerFault>().cloned();
                let body = markup::bare_page(
                    "Unavailable",
                    "<h1>Unavailable</h1><p>Earshot cannot answer this right now. Try again in a moment.</p>",
                );
                let mut response = (status, Html(body)).into_response();
                if let Some(fault) = fault {
                    response.extensions_mut().insert(fault);
                }
                return response;
            }
        };
        let body = markup::bare_page(
            title,
            &format!(
                r#"<h1>{}</h1><p class="error" role="alert">{}</p><p><a href="/">Back to the console</a></p>"#,
                markup::esc(title),
                markup::esc(&message)
            ),
        );
        (status, Html(body)).into_response()
    }
}

/// The name of the session cookie.
const SESSION_COOKIE: &str = "earshot_session";

/// The value of the cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The signed-in person behind a request, found from the session cookie. Without a live
/// session the request is sent to sign in.
pub(crate) struct Signed(pub Session);

impl Signed {
    /// Refuses with 403 when the session's role may not do `permission`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        if self.0.role.can(permission) {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(format!(
                "You are signed in as {} ({}), and the {} role may not {}.",
                self.0.name,
                self.0.role,
                self.0.role,
                permission.describe()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(raw) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ConsoleError::SignIn { ended: false });
        };
        let Some(token) = SessionToken::parse(raw) else {
            return Err(ConsoleError::SignIn { ended: true });
        };
        match state.store.session(&token.hash(), Timestamp::now()).await? {
            Some(session) => Ok(Self(session)),
            None => Err(ConsoleError::SignIn { ended: true }),
        }
    }
}

/// The most a console form may send.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// A form posted by a signed-in person, with its CSRF token checked: the session, and
/// the form's other fields by name. Forms are parsed here into pairs; each handler turns
/// the fields it reads into domain values.
pub(crate) struct Posted {
    pub session: Session,
    fields: Vec<(String, String)>,
}

impl Posted {
    /// The field `name`, if it was sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field `name` with white space trimmed; `None` when missing or blank.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Refuses with 403 when the session's role may not do `permission`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), ConsoleError> {
        Signed(self.session.clone()).require(permission)
    }
}

/// Parses an `application/x-www-form-urlencoded` body into pairs, refusing anything
/// else and anything over [`MAX_FORM_BYTES`].
pub(crate) fn form_fields(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, ConsoleError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(ConsoleError::BadRequest(
            "console forms are sent as application/x-www-form-urlencoded".to_owned(),
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(ConsoleError::BadRequest(format!(
            "a console form may send at most {MAX_FORM_BYTES} bytes"
        )));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

impl FromRequest<AppState> for Posted {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Signed(session) = Signed::from_request_parts(&mut parts, state).await?;
        let body = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| {
                ConsoleError::BadRequest(format!(
                    "a console form may send at most {MAX_FORM_BYTES} bytes"
                ))
            })?;
        let fields = form_fields(&parts.headers, &body)?;
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                fields
                    .iter()
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.as_str())
            });
        if !sent.is_some_and(|t| session.csrf_matches(t)) {
            return Err(ConsoleError::Csrf);
        }
        Ok(Self { session, fields })
    }
}

/// Where to go after a form: back to `to`, as a 303 so the browser GETs it.
pub(crate) fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}
