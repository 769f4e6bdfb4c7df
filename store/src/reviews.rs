//! The SQL for review candidates and their moderation, shared by both backends.
//!
//! A review is created in the sentiment transaction (see `save_sentiments`), one per
//! mention at most (a unique index), pending or, when the brand's auto-approve rule
//! says so, approved. Decisions are a compare-and-set on the status, like alert
//! transitions, so two people deciding one review at once cannot both win.

use crate::shared::{
    actor, corrupt, mention_columns, mention_from_row, mention_joins, ts, MENTION_COLUMNS,
};
use crate::StoreError;
use earshot_domain::{AutoApprove, Review, ReviewId, ReviewStatus, Timestamp};

/// What a review candidate needs to know about a freshly classified mention: its brand,
/// its rating and the brand's auto-approve bounds.
pub(crate) const MENTION_FOR_REVIEW: &str = "SELECT m.brand_id, m.rating,
        b.auto_approve_min_rating, b.auto_approve_min_positive
    FROM mentions m JOIN brands b ON b.id = m.brand_id
    WHERE m.id = $1";

/// Creates a mention's review unless it has one.
pub(crate) const INSERT_REVIEW: &str = "INSERT INTO reviews
    (mention_id, brand_id, status, decided_by, decided_at, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $6)
    ON CONFLICT (mention_id) DO NOTHING";

/// Takes the lock on a brand's row, as raising its feed version will (a write of the same
/// value: portable, and on SQLite the transaction holds the database's write lock anyway).
pub(crate) const LOCK_FEED_VERSION: &str =
    "UPDATE brands SET feed_version = feed_version WHERE id = $1";

/// Approves a review that has status `$2`, with an optional excerpt.
pub(crate) const APPROVE_REVIEW: &str = "UPDATE reviews
    SET status = 'approved', excerpt = $3, reason = NULL, decided_by = $4,
        decided_by_key_id = $5, decided_at = $6, updated_at = $6
    WHERE id = $1 AND status = $2";

/// Rejects a review that has status `$2`, with a reason. The excerpt an earlier
/// approval chose stays on record.
pub(crate) const REJECT_REVIEW: &str = "UPDATE reviews
    SET status = 'rejected', reason = $3, decided_by = $4, decided_by_key_id = $5,
        decided_at = $6, updated_at = $6
    WHERE id = $1 AND status = $2";

pub(crate) const REVIEW_STATUS: &str = "SELECT status FROM reviews WHERE id = $1";

pub(crate) const BRAND_NAME: &str = "SELECT name FROM brands WHERE slug = $1";

/// A brand's name and feed version (see `Store::feed_stamp`).
pub(crate) const FEED_STAMP: &str = "SELECT name, feed_version FROM brands WHERE slug = $1";

/// The review columns after the mention's in [`SELECT_REVIEWS`] and [`SELECT_REVIEW`].
macro_rules! review_select {
    () => {
        concat!(
            "SELECT ",
            mention_columns!(),
            ", r.id, r.status, r.excerpt, r.reason, r.decided_by, r.decided_by_key_id,
                r.decided_at, r.created_at
            FROM reviews r JOIN mentions m ON m.id = r.mention_id",
            mention_joins!()
        )
    };
}

pub(crate) const SELECT_REVIEWS: &str = concat!(
    review_select!(),
    "WHERE (CAST($1 AS TEXT) IS NULL OR r.status = $1)
      AND (CAST($2 AS TEXT) IS NULL OR r.brand_id = (SELECT id FROM brands WHERE slug = $2))
      AND (CAST($3 AS BIGINT) IS NULL OR r.id < $3)
    ORDER BY r.id DESC
    LIMIT $4"
);

pub(crate) const SELECT_REVIEW: &str = concat!(review_select!(), "WHERE r.id = $1");

/// A brand's auto-approve rule as stored: both bounds NULL for none.
pub(crate) fn auto_approve(
    min_rating: Option<f64>,
    min_positive: Option<f64>,
) -> Result<Option<AutoApprove>, StoreError> {
    if min_rating.is_none() && min_positive.is_none() {
        return Ok(None);
    }
    AutoApprove::new(min_rating, min_positive)
        .map(Some)
        .map_err(corrupt)
}

/// Rebuilds a row of [`SELECT_REVIEWS`] or [`SELECT_REVIEW`]: the mention, then the review.
pub(crate) fn review_from_row<R>(r: &R) -> Result<Review, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let a = MENTION_COLUMNS;
    let status: String = r.try_get(a + 1)?;
    let decided_by: Option<String> = r.try_get(a + 4)?;
    let key_id: Option<i64> = r.try_get(a + 5)?;
    Ok(Review {
        id: ReviewId(r.try_get(a)?),
        status: ReviewStatus::parse(&status).map_err(corrupt)?,
        excerpt: r.try_get(a + 2)?,
        reason: r.try_get(a + 3)?,
        decided_by: decided_by.map(|name| actor(key_id, name)),
        decided_at: ts(r.try_get(a + 6)?),
        created_at: Timestamp::from_millis(r.try_get(a + 7)?),
        mention: mention_from_row(r)?,
    })
}
