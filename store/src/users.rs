//! The SQL for the web console's users and sessions (migration 0009), shared by both
//! backends. Only a password's argon2 hash and a session token's SHA-256 are stored.

use crate::shared::{corrupt, ts};
use crate::StoreError;
use earshot_domain::{ApiKeyId, Role, Session, SessionOwner, Timestamp, User, UserId, Username};

/// The columns [`user_from_row`] reads.
const USER_COLUMNS: &str = "id, username, role, created_at, disabled_at";

/// Inserts a user unless the username is taken (then no row comes back).
pub(crate) fn insert_user_sql() -> String {
    format!(
        "INSERT INTO console_users (username, role, password_hash, created_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (username) DO NOTHING
        RETURNING {USER_COLUMNS}"
    )
}

pub(crate) fn select_users_sql() -> String {
    format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY username")
}

pub(crate) fn select_user_sql() -> String {
    format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = $1")
}

/// A user and their password hash (the hash is the last column).
pub(crate) fn select_credentials_sql() -> String {
    format!("SELECT {USER_COLUMNS}, password_hash FROM console_users WHERE username = $1")
}

/// Disables (with `$2` a time) or re-enables (`$2` NULL) a user; disabling keeps the
/// first time.
pub(crate) const SET_USER_DISABLED: &str = "UPDATE console_users
    SET disabled_at = CASE WHEN CAST($2 AS BIGINT) IS NULL THEN NULL
                           ELSE COALESCE(disabled_at, $2) END
    WHERE username = $1";

pub(crate) const DELETE_USER_SESSIONS: &str = "DELETE FROM console_sessions
    WHERE user_id = (SELECT id FROM console_users WHERE username = $1)";

pub(crate) const DELETE_USER: &str = "DELETE FROM console_users WHERE username = $1";

pub(crate) const INSERT_SESSION: &str = "INSERT INTO console_sessions
    (token_hash, csrf_token, user_id, key_id, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6)";

/// Sessions that have expired are removed when a new one is made, so the table holds
/// about as many rows as there are people signed in.
pub(crate) const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM console_sessions WHERE expires_at <= $1";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM console_sessions WHERE token_hash = $1";

/// A live session with its owner, whichever kind it is. [`session_from_row`] reads it.
pub(crate) const SELECT_SESSION: &str = "SELECT s.csrf_token, s.expires_at, s.user_id, s.key_id,
        u.username, u.role, u.disabled_at, k.name, k.role, k.revoked_at
    FROM console_sessions s
    LEFT JOIN console_users u ON u.id = s.user_id
    LEFT JOIN api_keys k ON k.id = s.key_id
    WHERE s.token_hash = $1 AND s.expires_at > $2";

/// Rebuilds a row of [`USER_COLUMNS`].
pub(crate) fn user_from_row<R>(r: &R) -> Result<User, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let username: String = r.try_get(1)?;
    let role: String = r.try_get(2)?;
    Ok(User {
        id: UserId(r.try_get(0)?),
        username: Username::parse(&username).map_err(corrupt)?,
        role: Role::parse(&role).map_err(corrupt)?,
        created_at: Timestamp::from_millis(r.try_get(3)?),
        disabled_at: ts(r.try_get(4)?),
    })
}

/// Rebuilds a row of [`SELECT_SESSION`]: `None` when its user is disabled or its key
/// revoked (the session then grants nothing).
pub(crate) fn session_from_row<R>(r: &R) -> Result<Option<Session>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let csrf_token: String = r.try_get(0)?;
    let expires_at = Timestamp::from_millis(r.try_get(1)?);
    let user_id: Option<i64> = r.try_get(2)?;
    let key_id: Option<i64> = r.try_get(3)?;
    let (owner, name, role, ended) = match (user_id, key_id) {
        (Some(id), _) => (
            SessionOwner::User(UserId(id)),
            r.try_get::<Option<String>, _>(4)?,
            r.try_get::<Option<String>, _>(5)?,
            r.try_get::<Option<i64>, _>(6)?,
        ),
        (None, Some(id)) => (
            SessionOwner::Key(ApiKeyId(id)),
            r.try_get::<Option<String>, _>(7)?,
            r.try_get::<Option<String>, _>(8)?,
            r.try_get::<Option<i64>, _>(9)?,
        ),
        (None, None) => return Err(StoreError::Corrupt("a session without an owner".into())),
    };
    let (Some(name), Some(role)) = (name, role) else {
        return Ok(None);
    };
    if ended.is_some() {
        return Ok(None);
    }
    Ok(Some(Session {
        owner,
        name,
        role: Role::parse(&role).map_err(corrupt)?,
        csrf_token,
        expires_at,
    }))
}
