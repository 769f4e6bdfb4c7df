//! Signing in and out, and the password hashing behind it.
//!
//! A person signs in with a username and password (users are made with `earshot users
//! create`, which hashes through [`hash_password`] too) or with an API key. Either way
//! they get a session: a random token in a cookie, of which the database keeps only the
//! SHA-256 (so every API server sharing the database knows it, and a restart signs
//! nobody out), plus a CSRF token for the session's forms. Sessions last
//! [`SESSION_LIFETIME`] from sign-in; disabling the user or revoking the key ends them
//! at once.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it) and `Secure` (only over HTTPS), except when the console is reached as
//! `127.0.0.1`, `localhost` or `[::1]`: there it is served over plain HTTP in
//! development and tests, a browser would drop a `Secure` cookie set over plain HTTP on
//! an IP address, and the connection never leaves the machine. Anywhere else, put the
//! console behind HTTPS.
//!
//! A wrong username, a wrong password and a disabled user all get the same answer, and
//! an unknown username still costs one argon2 verification, so the answer does not tell
//! which usernames exist. The sign-in form itself carries a token matched against a
//! short-lived cookie (double submit), so another site cannot sign a browser in to an
//! account of its choosing.

use super::markup::{bare_page, esc};
use super::{cookie, form_fields, ConsoleError, Posted, SESSION_COOKIE};
use crate::{ApiError, AppState};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use earshot_domain::{
    ApiSecret, Password, Role, SessionOwner, SessionToken, Timestamp, User, Username,
};
use earshot_store::{NewSession, NewUser, Store};
use serde::Deserialize;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a session lasts from sign-in.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The cookie that pairs with the sign-in form's token.
const SIGNIN_COOKIE: &str = "earshot_signin";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(form).post(sign_in))
        .route("/signout", post(sign_out))
}

/// Hashes a new password with argon2id (the crate's default parameters: 19 MiB, 2
/// passes) and a fresh 16-byte salt from the OS, into a PHC string that carries its own
/// parameters. The CLI and the console both hash this way.
pub fn hash_password(password: &Password) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| ApiError::NoRandomness)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| ApiError::NoRandomness)?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::BadRequest(format!("the password cannot be hashed: {e}")))
}

/// Whether `password` is the one `phc` was made from. A hash that does not parse
/// matches nothing.
pub(crate) fn verify_password(password: &Password, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &h)
            .is_ok()
    })
}

/// How many argon2 computations run at once, each taking 19 MiB and tens of
/// milliseconds: a burst of sign-ins waits its turn instead of exhausting memory.
const MAX_HASHING: usize = 4;

/// Runs an argon2 computation on the blocking pool, at most [`MAX_HASHING`] at once.
/// `None` when it could not run to the end.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let _permit = PERMITS
        .get_or_init(|| tokio::sync::Semaphore::new(MAX_HASHING))
        .acquire()
        .await
        .ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// A hash to verify against when the username is unknown, so that answer takes as long
/// as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"earshot-decoy-16").expect("a valid salt");
        Argon2::default()
            .hash_password(b"not anyone's password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Makes a console user with a hashed password. A taken username is a conflict.
pub async fn create_user(
    store: &dyn Store,
    username: &Username,
    role: Role,
    password: &Password,
    now: Timestamp,
) -> Result<User, ApiError> {
    let password = password.clone();
    let hash = off_the_runtime(move || hash_password(&password))
        .await
        .ok_or_else(|| ApiError::Unavailable("password hashing stopped".to_owned()))??;
    store
        .create_user(
            &NewUser {
                username,
                role,
                password_hash: &hash,
            },
            now,
        )
        .await?
        .ok_or_else(|| ApiError::Conflict(format!("there is already a user {username}")))
}

fn random_hex() -> Result<SessionToken, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::NoRandomness)?;
    Ok(SessionToken::from_random(bytes))
}

/// Whether cookies for this request are marked `Secure`: always, but for a console
/// reached on the loopback interface (see the module's docs).
pub(crate) fn secure_cookies(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_owned()
    };
    !matches!(name.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

/// A `Set-Cookie` value with the console's attributes.
fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are hex")
}

#[derive(Debug, Deserialize)]
struct FormQuery {
    ended: Option<String>,
}

async fn form(
    headers: HeaderMap,
    query: Result<Query<FormQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let ended = query.is_ok_and(|q| q.0.ended.is_some());
    let message =
        ended.then_some("Your session has ended (it expired, or you signed out). Sign in again.");
    signin_page(&headers, StatusCode::OK, message, "")
}

/// The sign-in page with a fresh form token (and its cookie), and `message` if any.
fn signin_page(
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<&str>,
    username: &str,
) -> Result<Response, ConsoleError> {
    let token = random_hex()?;
    let notice = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
        .unwrap_or_default();
    let t = esc(token.expose());
    let body = format!(
        r#"<h1>Sign in</h1>{notice}
<div class="signin">
<form method="post" action="/signin" class="card">
<h2>With a username</h2>
<input type="hidden" name="form_token" value="{t}">
<label>Username <input name="username" autocomplete="username" required value="{u}" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/signin" class="card">
<h2>With an API key</h2>
<input type="hidden" name="form_token" value="{t}">
<label>API key <input name="key" type="password" autocomplete="off" required placeholder="ek_…"></label>
<button type="submit">Sign in with key</button>
</form>
</div>"#,
        u = esc(username),
    );
    let mut response = (status, Html(bare_page("Sign in", &body))).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SIGNIN_COOKIE,
            token.expose(),
            "/signin",
            3600,
            secure_cookies(headers),
        ),
    );
    Ok(response)
}

/// The message for any failed password sign-in: the same whichever part was wrong.
const WRONG_PASSWORD: &str = "Wrong username or password.";

async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let fields = form_fields(&headers, &body)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let sent = field("form_token");
    let expected = cookie(&headers, SIGNIN_COOKIE).unwrap_or("");
    if sent.is_empty() || sent != expected {
        return signin_page(
            &headers,
            StatusCode::FORBIDDEN,
            Some("The sign-in form had expired or did not come from this page. Try again."),
            "",
        );
    }
    let now = Timestamp::now();
    let owner = if !field("key").trim().is_empty() {
        match key_owner(state.store.as_ref(), field("key").trim(), now).await? {
            Some(owner) => owner,
            None => {
                return signin_page(
                    &headers,
                    StatusCode::UNAUTHORIZED,
                    Some("That API key is not valid (unknown, mistyped or revoked)."),
                    "",
                )
            }
        }
    } else {
        let typed = field("username");
        match password_owner(state.store.as_ref(), typed, field("password")).await? {
            Some(owner) => owner,
            None => {
                return signin_page(
                    &headers,
                    StatusCode::UNAUTHORIZED,
                    Some(WRONG_PASSWORD),
                    typed.trim(),
                )
            }
        }
    };
    let token = random_hex()?;
    let csrf = random_hex()?;
    state
        .store
        .create_session(
            &NewSession {
                token: &token.hash(),
                csrf_token: csrf.expose(),
                owner,
                expires_at: now.plus(SESSION_LIFETIME),
            },
            now,
        )
        .await?;
    let secure = secure_cookies(&headers);
    let mut response = Redirect::to("/").into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            token.expose(),
            "/",
            SESSION_LIFETIME.as_secs(),
            secure,
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(SIGNIN_COOKIE, "", "/signin", 0, secure),
    );
    Ok(response)
}

/// The key a sign-in's API key names, if it is live.
async fn key_owner(
    store: &dyn Store,
    raw: &str,
    now: Timestamp,
) -> Result<Option<SessionOwner>, ConsoleError> {
    let Ok(secret) = ApiSecret::parse(raw) else {
        return Ok(None);
    };
    Ok(store
        .authenticate(&secret.hash(), now)
        .await?
        .filter(|k| k.revoked_at.is_none())
        .map(|k| SessionOwner::Key(k.id)))
}

/// The user a username and password name, if both are right and the user is enabled.
/// Every refusal but an over-long password costs one argon2 verification.
async fn password_owner(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<Option<SessionOwner>, ConsoleError> {
    let Some(password) = Password::given(password) else {
        return Ok(None);
    };
    let found = match Username::parse(username) {
        Ok(name) => store.user_credentials(&name).await?,
        Err(_) => None,
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, decoy_hash().to_owned()),
    };
    let matches = off_the_runtime(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    Ok(user
        .filter(|u| matches && u.disabled_at.is_none())
        .map(|u| SessionOwner::User(u.id)))
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE).and_then(SessionToken::parse) {
        state.store.end_session(&token.hash()).await?;
    }
    let _ = posted;
    let mut response = Redirect::to("/signin").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/", 0, secure_cookies(&headers)),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_nothing_else_does() {
        let p = Password::parse_new("correct horse battery").unwrap();
        let h = hash_password(&p).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password(&p, &h));
        let wrong = Password::given("correct horse batterY").unwrap();
        assert!(!verify_password(&wrong, &h));
        assert!(!verify_password(&p, "not a hash"));
        assert_ne!(hash_password(&p).unwrap(), h, "a fresh salt each time");
        assert!(!verify_password(&p, decoy_hash()));
    }

    #[test]
    fn cookies_are_secure_except_on_loopback() {
        let with_host = |h: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
            m
        };
        assert!(!secure_cookies(&with_host("127.0.0.1:8080")));
        assert!(!secure_cookies(&with_host("localhost")));
        assert!(!secure_cookies(&with_host("[::1]:3000")));
        assert!(secure_cookies(&with_host("earshot.example.com")));
        assert!(secure_cookies(&with_host("127.0.0.1.evil.test")));
        assert!(secure_cookies(&HeaderMap::new()));
        let c = set_cookie("earshot_session", "ab", "/", 60, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
    }
}
