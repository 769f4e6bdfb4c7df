//! The SQL for brands and sources as the admin API changes them, shared by both backends.
//!
//! The config file and the API both define brands and sources; the `origin` column says
//! which. A config sync upserts and retires only what the file defines (a name the file
//! takes over becomes the file's), and the API changes only what it made. Nothing is
//! deleted: retiring keeps the rows, so mentions, alerts and reviews keep their brand
//! and source.

use crate::reviews::auto_approve;
use crate::shared::{brand_slug, corrupt, json};
use crate::{StoreError, StoredBrand};
use earshot_domain::{Brand, BrandTerm, Origin, Timestamp};

/// The columns [`brand_from_row`] reads.
pub(crate) const BRAND_COLUMNS: &str = "slug, name, terms, exclude, \
    auto_approve_min_rating, auto_approve_min_positive, origin, updated_at";

/// Adds a brand from the API, or brings back a retired one with that slug under the new
/// definition. No row comes back when a live brand has the slug.
pub(crate) const INSERT_API_BRAND: &str = "INSERT INTO brands
    (slug, name, terms, exclude, auto_approve_min_rating, auto_approve_min_positive,
     updated_at, origin)
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'api')
    ON CONFLICT (slug) DO UPDATE SET name = excluded.name, terms = excluded.terms,
        exclude = excluded.exclude, auto_approve_min_rating = excluded.auto_approve_min_rating,
        auto_approve_min_positive = excluded.auto_approve_min_positive,
        updated_at = excluded.updated_at, origin = 'api', retired_at = NULL
    WHERE brands.retired_at IS NOT NULL
    RETURNING id";

pub(crate) const UPDATE_API_BRAND: &str = "UPDATE brands
    SET name = $2, terms = $3, exclude = $4, auto_approve_min_rating = $5,
        auto_approve_min_positive = $6, updated_at = $7
    WHERE slug = $1 AND origin = 'api' AND retired_at IS NULL";

pub(crate) const RETIRE_API_BRAND: &str = "UPDATE brands SET retired_at = $2, updated_at = $2
    WHERE slug = $1 AND origin = 'api' AND retired_at IS NULL";

/// Where a live brand was defined, to tell "no such brand" from "defined in the file".
pub(crate) const BRAND_ORIGIN: &str =
    "SELECT origin FROM brands WHERE slug = $1 AND retired_at IS NULL";

/// The config's brands that the file no longer has are retired at `$1`.
pub(crate) const RETIRE_CONFIG_BRAND: &str = "UPDATE brands SET retired_at = $1, updated_at = $1
    WHERE slug = $2 AND origin = 'config' AND retired_at IS NULL";

/// Adds a source from the API, or brings back a retired one with that name as new: due
/// at once, with no validators and no errors (its last success stays, as history). No
/// row comes back when a live source has the name.
pub(crate) const INSERT_API_SOURCE: &str = "INSERT INTO sources
    (name, kind, url, every_secs, updated_at, recipe, host_interval_ms, origin)
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'api')
    ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,
        every_secs = excluded.every_secs, updated_at = excluded.updated_at, origin = 'api',
        recipe = excluded.recipe, host_interval_ms = excluded.host_interval_ms,
        retired_at = NULL, next_check_at = NULL, etag = NULL, last_modified = NULL,
        error_count = 0, last_error = NULL
    WHERE sources.retired_at IS NOT NULL
    RETURNING id";

/// A new URL makes the source due at once and forgets the old URL's validators; a new
/// interval applies from the next check.
pub(crate) const UPDATE_API_SOURCE: &str = "UPDATE sources
    SET kind = $2, url = $3, every_secs = $4, updated_at = $5, recipe = $6,
        host_interval_ms = $7,
        etag = CASE WHEN url = $3 THEN etag ELSE NULL END,
        last_modified = CASE WHEN url = $3 THEN last_modified ELSE NULL END,
        next_check_at = CASE WHEN url = $3 THEN next_check_at ELSE NULL END
    WHERE name = $1 AND origin = 'api' AND retired_at IS NULL";

pub(crate) const RETIRE_API_SOURCE: &str = "UPDATE sources SET retired_at = $2, updated_at = $2
    WHERE name = $1 AND origin = 'api' AND retired_at IS NULL";

pub(crate) const SOURCE_ORIGIN: &str =
    "SELECT origin FROM sources WHERE name = $1 AND retired_at IS NULL";

/// A brand's auto-approve bounds as stored: two nullable columns.
pub(crate) fn auto_approve_columns(brand: &Brand) -> (Option<f64>, Option<f64>) {
    (
        brand.auto_approve.and_then(|r| r.min_rating()),
        brand.auto_approve.and_then(|r| r.min_positive()),
    )
}

/// A brand's terms (or exclusions) as stored: a JSON array of strings.
pub(crate) fn terms_json(terms: &[BrandTerm]) -> String {
    json(&terms.iter().map(BrandTerm::as_str).collect::<Vec<_>>())
}

/// Rebuilds a row of [`BRAND_COLUMNS`]. Stored terms are parsed again, so a row this
/// build would refuse is reported as corrupt rather than matched on.
pub(crate) fn brand_from_row<R>(r: &R) -> Result<StoredBrand, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let terms = |i: usize| -> Result<Vec<BrandTerm>, StoreError> {
        let raw: String = r.try_get(i)?;
        let list: Vec<String> = serde_json::from_str(&raw)
            .map_err(|e| StoreError::Corrupt(format!("brand terms {raw:?}: {e}")))?;
        list.iter()
            .map(|t| BrandTerm::parse(t).map_err(corrupt))
            .collect()
    };
    let mut brand = Brand::new(
        brand_slug(r.try_get(0)?)?,
        r.try_get(1)?,
        terms(2)?,
        terms(3)?,
    )
    .map_err(corrupt)?;
    brand.auto_approve = auto_approve(r.try_get(4)?, r.try_get(5)?)?;
    Ok(StoredBrand {
        brand,
        origin: Origin::parse(&r.try_get::<String, _>(6)?).map_err(corrupt)?,
        updated_at: Timestamp::from_millis(r.try_get(7)?),
    })
}
