//! The SQL for API keys, shared by both backends. Only a key's SHA-256 is stored.

use crate::shared::{corrupt, ts};
use crate::StoreError;
use earshot_domain::{ApiKey, ApiKeyId, Role, Timestamp};

/// The columns [`key_from_row`] reads.
const KEY_COLUMNS: &str = "id, name, role, created_at, last_used_at, revoked_at";

pub(crate) fn insert_key_sql() -> String {
    format!(
        "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ($1, $2, $3, $4)
        RETURNING {KEY_COLUMNS}"
    )
}

pub(crate) fn select_keys_sql() -> String {
    format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id")
}

pub(crate) fn select_key_sql() -> String {
    format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1")
}

pub(crate) fn select_key_by_hash_sql() -> String {
    format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1")
}

pub(crate) const REVOKE_KEY: &str =
    "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

/// Moves `last_used_at` only when it is older than `$3`, so that at most one request a
/// minute per key writes.
pub(crate) const TOUCH_KEY: &str = "UPDATE api_keys SET last_used_at = $2
    WHERE id = $1 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < $3)";

/// Rebuilds a row of [`KEY_COLUMNS`].
pub(crate) fn key_from_row<R>(r: &R) -> Result<ApiKey, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let role: String = r.try_get(2)?;
    Ok(ApiKey {
        id: ApiKeyId(r.try_get(0)?),
        name: r.try_get(1)?,
        role: Role::parse(&role).map_err(corrupt)?,
        created_at: Timestamp::from_millis(r.try_get(3)?),
        last_used_at: ts(r.try_get(4)?),
        revoked_at: ts(r.try_get(5)?),
    })
}
