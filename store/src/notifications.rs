//! The SQL for the notification outbox (migration 0011), shared by both backends.
//!
//! A row per (alert, channel) is written in the transaction that opens the alert. A
//! delivery worker leases a channel's due rows (`claimed_by`, `claimed_until`, as
//! sources and mentions are leased), sends them, and records the outcome only while the
//! lease is still its own; a worker that died leaves its rows to come back when the
//! lease runs out. So a notification whose sending was recorded is never sent again,
//! and one whose outcome was lost is sent again: delivery is at least once.

use crate::shared::{corrupt, ts};
use crate::StoreError;
use earshot_domain::{
    AlertId, ChannelName, Notification, NotificationId, NotificationStatus, Timestamp,
};

/// Queues a notification of alert `$1` for channel `$2`, due at once (`$3`); a second
/// one for the same pair is not written.
pub(crate) const INSERT_NOTIFICATION: &str = "INSERT INTO notifications
    (alert_id, channel, status, attempts, next_attempt_at, created_at)
    VALUES ($1, $2, 'pending', 0, $3, $3)
    ON CONFLICT (alert_id, channel) DO NOTHING";

/// The columns [`notification_from_row`] reads.
const COLUMNS: &str =
    "id, alert_id, channel, status, attempts, next_attempt_at, last_error, created_at, sent_at";

/// Leases up to `$5` of channel `$3`'s pending rows due at `$4` to worker `$1` until
/// `$2`, oldest first. The outer lease test plays the same role as in
/// [`crate::shared::claim_sql`]: two claimers never both win a row.
pub(crate) fn claim_sql() -> String {
    format!(
        "UPDATE notifications SET claimed_by = $1, claimed_until = $2
        WHERE id IN (
            SELECT id FROM notifications
            WHERE channel = $3 AND status = 'pending' AND next_attempt_at <= $4
              AND (claimed_until IS NULL OR claimed_until < $4)
            ORDER BY id
            LIMIT $5)
          AND status = 'pending'
          AND (claimed_until IS NULL OR claimed_until < $4)
        RETURNING {COLUMNS}"
    )
}

/// Records that row `$1`, leased by `$2`, was sent at `$3`.
pub(crate) const MARK_SENT: &str = "UPDATE notifications
    SET status = 'sent', attempts = attempts + 1, sent_at = $3, last_error = NULL,
        claimed_by = NULL, claimed_until = NULL
    WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";

/// Records that sending row `$1`, leased by `$2`, failed with `$5`: it becomes `$3`
/// (pending again, or failed for good), next due at `$4`.
pub(crate) const MARK_FAILED: &str = "UPDATE notifications
    SET status = $3, attempts = attempts + 1, next_attempt_at = $4, last_error = $5,
        claimed_by = NULL, claimed_until = NULL
    WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";

/// When channel `$1` last had a notification sent.
pub(crate) const LAST_SENT: &str =
    "SELECT MAX(sent_at) FROM notifications WHERE channel = $1 AND status = 'sent'";

/// Notifications, newest first: `$1` status, `$2` channel, `$3` alert, `$4` cursor (ids
/// below it), `$5` how many.
pub(crate) fn select_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM notifications
        WHERE (CAST($1 AS TEXT) IS NULL OR status = $1)
          AND (CAST($2 AS TEXT) IS NULL OR channel = $2)
          AND (CAST($3 AS BIGINT) IS NULL OR alert_id = $3)
          AND (CAST($4 AS BIGINT) IS NULL OR id < $4)
        ORDER BY id DESC
        LIMIT $5"
    )
}

/// Rebuilds a row of [`COLUMNS`].
pub(crate) fn notification_from_row<R>(r: &R) -> Result<Notification, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let channel: String = r.try_get(2)?;
    let status: String = r.try_get(3)?;
    let attempts: i64 = r.try_get(4)?;
    Ok(Notification {
        id: NotificationId(r.try_get(0)?),
        alert_id: AlertId(r.try_get(1)?),
        channel: ChannelName::parse(&channel).map_err(corrupt)?,
        status: NotificationStatus::parse(&status).map_err(corrupt)?,
        attempts: u32::try_from(attempts.max(0)).unwrap_or(u32::MAX),
        next_attempt_at: Timestamp::from_millis(r.try_get(5)?),
        last_error: r.try_get(6)?,
        created_at: Timestamp::from_millis(r.try_get(7)?),
        sent_at: ts(r.try_get(8)?),
    })
}

/// An error message as stored: at most 1,000 characters, without NUL (Postgres text
/// cannot hold one).
pub(crate) fn error_text(error: &str) -> String {
    error
        .chars()
        .filter(|c| *c != '\0')
        .take(1000)
        .collect::<String>()
}
