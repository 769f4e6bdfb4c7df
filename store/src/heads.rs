//! The SQL for learning from corrections, shared by both backends: the corrected mentions
//! a head is trained on, and the heads trained from them (see migration 0008).
//!
//! A trained head is stored whole (its JSON file) rather than as a path, so that every
//! process sharing the database finds the same head after a restart, on any machine.

use crate::StoreError;

/// Every mention whose latest correction exists, with that label, the text the classifier
/// read, and the stored sentiment's model key and embedding (when it has been classified).
/// `$1` limits it to one brand's slug.
pub(crate) const SELECT_TRAINING_CORRECTIONS: &str = "SELECT m.id, b.slug, m.title, m.snippet,
        m.rating, c.label, t.model, t.embedding
    FROM mentions m
    JOIN brands b ON b.id = m.brand_id
    JOIN sentiment_corrections c ON c.id =
        (SELECT MAX(id) FROM sentiment_corrections WHERE mention_id = m.id)
    LEFT JOIN sentiments t ON t.mention_id = m.id
    WHERE (CAST($1 AS TEXT) IS NULL OR b.slug = $1)
    ORDER BY m.id";

pub(crate) const INSERT_HEAD: &str = "INSERT INTO sentiment_heads
    (head_id, encoder, head, evaluation, trained_at, activated_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    RETURNING id";

/// The columns [`head_from_row`] reads.
const HEAD_COLUMNS: &str = "id, head_id, encoder, head, evaluation, trained_at, activated_at";

/// The most recently activated head for the encoder `$1`.
pub(crate) fn select_active_head() -> String {
    format!(
        "SELECT {HEAD_COLUMNS} FROM sentiment_heads
        WHERE encoder = $1 AND activated_at IS NOT NULL
        ORDER BY activated_at DESC, id DESC
        LIMIT 1"
    )
}

/// Every stored head for the encoder `$1`, newest first.
pub(crate) fn select_heads() -> String {
    format!("SELECT {HEAD_COLUMNS} FROM sentiment_heads WHERE encoder = $1 ORDER BY id DESC")
}

/// An embedding as stored (f32 little-endian) back into numbers. A length that is not a
/// multiple of 4 is corrupt.
pub(crate) fn embedding_from_bytes(bytes: &[u8]) -> Result<Vec<f32>, StoreError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(StoreError::Corrupt(format!(
            "a stored embedding has {} bytes, not a multiple of 4",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Rebuilds a row of [`HEAD_COLUMNS`].
pub(crate) fn head_from_row<R>(r: &R) -> Result<crate::StoredHead, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(crate::StoredHead {
        id: r.try_get(0)?,
        head_id: r.try_get(1)?,
        encoder: r.try_get(2)?,
        head_json: r.try_get(3)?,
        evaluation: r.try_get(4)?,
        trained_at: earshot_domain::Timestamp::from_millis(r.try_get(5)?),
        activated_at: crate::shared::ts(r.try_get(6)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_read_back_what_was_stored() {
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(
            embedding_from_bytes(&crate::shared::embedding_bytes(&v)).unwrap(),
            v
        );
        assert!(embedding_from_bytes(&[1, 2, 3]).is_err());
    }
}
