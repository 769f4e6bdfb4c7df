//! Cursor pagination, shared by every list: newest first, by id, with the last id of a
//! page as the next page's cursor. Ids only grow, so a page never shifts when new rows
//! arrive while a client pages.

use crate::ApiError;
use serde::Serialize;

/// Page size when the client does not say.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The largest page a client may ask for.
pub(crate) const MAX_LIMIT: u32 = 500;

/// One page of a list.
#[derive(Debug, Serialize)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` fetched with `limit`: a full page may have more after it.
    pub fn new(items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Self {
        let next_cursor = (items.len() == limit as usize)
            .then(|| items.last().map(|item| id(item).to_string()))
            .flatten();
        Self { items, next_cursor }
    }
}

/// The `limit` parameter: 1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
pub(crate) fn limit(raw: Option<&str>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit {l:?} must be a whole number from 1 to {MAX_LIMIT}"
                ))
            }),
    }
}

/// The `cursor` parameter: an id this API returned as `next_cursor`.
pub(crate) fn cursor(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|c| {
        c.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
            ApiError::BadRequest(format!("cursor {c:?} is not one this API returned"))
        })
    })
    .transpose()
}
