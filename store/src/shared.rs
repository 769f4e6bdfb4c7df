//! The SQL both backends share, and the one implementation of [`crate::Store`] over it.
//!
//! The queries use only what SQLite (3.35+) and Postgres both accept: `$N` placeholders,
//! `ON CONFLICT`, `RETURNING`, `CAST(... AS ...)` and integer timestamps. The
//! implementation is written once, in [`impl_store!`], and instantiated per backend
//! because sqlx's row and pool types differ; where a backend ever needs its own query,
//! it belongs in that backend's module, behind the same trait method.

pub(crate) const SOURCE_COLUMNS: &str = "id, name, kind, url, every_secs, retired_at, \
    next_check_at, etag, last_modified, error_count, last_error, last_success_at, origin, \
    recipe, host_interval_ms, unhealthy_since, lease_taken_from";

pub(crate) const UPSERT_BRAND: &str = "INSERT INTO brands
    (slug, name, terms, exclude, updated_at, auto_approve_min_rating, auto_approve_min_positive)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (slug) DO UPDATE SET name = excluded.name, terms = excluded.terms,
        exclude = excluded.exclude, updated_at = excluded.updated_at,
        auto_approve_min_rating = excluded.auto_approve_min_rating,
        auto_approve_min_positive = excluded.auto_approve_min_positive,
        origin = 'config', retired_at = NULL";

pub(crate) const UPSERT_SOURCE: &str = "INSERT INTO sources
    (name, kind, url, every_secs, updated_at, recipe, host_interval_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url,
        every_secs = excluded.every_secs, retired_at = NULL, updated_at = excluded.updated_at,
        recipe = excluded.recipe, host_interval_ms = excluded.host_interval_ms,
        origin = 'config',
        etag = CASE WHEN sources.url = excluded.url THEN sources.etag ELSE NULL END,
        last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified ELSE NULL END";

pub(crate) const RETIRE_SOURCE: &str = "UPDATE sources SET retired_at = $1, updated_at = $1
    WHERE name = $2 AND origin = 'config' AND retired_at IS NULL";

pub(crate) const COUNT_MENTIONS_BY_BRAND: &str = "SELECT b.slug, COUNT(m.id)
    FROM brands b LEFT JOIN mentions m ON m.brand_id = b.id
    GROUP BY b.slug ORDER BY b.slug";

pub(crate) const COUNT_ALERTS_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM alerts GROUP BY status ORDER BY status";

pub(crate) const COUNT_REVIEWS_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM reviews GROUP BY status ORDER BY status";

/// The outer `claimed_until` test matters on Postgres: under READ COMMITTED, a claimer
/// that waited on another's row lock re-checks the outer WHERE against the committed
/// row, so two claimers never both win one source.
///
/// A recorded crawl clears `claimed_by`, so a row claimed while it still names another
/// worker is a lease that expired unreleased: `lease_taken_from` keeps that worker's name
/// (SET reads the row as it was before the update, on both backends).
pub(crate) fn claim_sql() -> String {
    format!(
        "UPDATE sources SET claimed_by = $1, claimed_until = $2,
            lease_taken_from = CASE WHEN claimed_by <> $1 THEN claimed_by END
        WHERE id IN (
            SELECT id FROM sources
            WHERE retired_at IS NULL
              AND ($3 = 0 OR next_check_at IS NULL OR next_check_at <= $4)
              AND (CAST($5 AS TEXT) IS NULL OR name = $5)
              AND (claimed_until IS NULL OR claimed_until < $4)
            ORDER BY COALESCE(next_check_at, 0), id
            LIMIT $6)
          AND (claimed_until IS NULL OR claimed_until < $4)
        RETURNING {SOURCE_COLUMNS}"
    )
}

pub(crate) const INSERT_MENTION: &str = "INSERT INTO mentions
    (source_id, brand_id, dedup_key, url, title, snippet, matched_term, author, published_at,
     discovered_at, rating)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (source_id, brand_id, dedup_key) DO NOTHING";

pub(crate) const UPDATE_SOURCE_STATE: &str = "UPDATE sources SET next_check_at = $2, etag = $3,
    last_modified = $4, error_count = $5, last_error = $6, last_success_at = $7,
    claimed_by = NULL, claimed_until = NULL, updated_at = $8
    WHERE id = $1";

pub(crate) const INSERT_CRAWL_RUN: &str = "INSERT INTO crawl_runs
    (source_id, worker, started_at, finished_at, http_status, bytes, items_seen, new_mentions, error,
     problems)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub(crate) const INSERT_SOURCE_RATING: &str = "INSERT INTO source_ratings
    (source_id, observed_at, value, raw_value, best, worst, rating_count)
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// A source's aggregate ratings, newest first: `$1` the source's name, `$2` how many.
pub(crate) const SELECT_SOURCE_RATINGS: &str = "SELECT r.observed_at, r.value, r.raw_value,
    r.best, r.worst, r.rating_count
    FROM source_ratings r JOIN sources s ON s.id = r.source_id
    WHERE s.name = $1 ORDER BY r.observed_at DESC, r.id DESC LIMIT $2";

pub(crate) const SELECT_CRAWL_RUNS: &str = "SELECT r.id, s.name, r.started_at, r.finished_at,
    r.http_status, r.bytes, r.items_seen, r.new_mentions, r.error, r.problems
    FROM crawl_runs r JOIN sources s ON s.id = r.source_id
    ORDER BY r.id DESC LIMIT $1";

/// The columns [`mention_from_row`] reads, in its order, from `m` (mentions) joined as in
/// [`mention_joins!`]. Queries that return mentions with more (alerts) put theirs after.
macro_rules! mention_columns {
    () => {
        "m.id, (SELECT slug FROM brands WHERE id = m.brand_id),
        (SELECT name FROM sources WHERE id = m.source_id), m.url, m.title, m.snippet,
        m.matched_term, m.author,
        m.published_at, m.discovered_at, m.rating,
        t.label, t.model_label, t.p_negative, t.p_neutral, t.p_positive, t.score, t.language,
        t.model, c.label, c.actor, c.actor_key_id, c.corrected_at,
        t.hate, t.hate_flagged, t.mixed, t.mixed_flagged"
    };
}

/// The joins behind [`mention_columns!`]: the current sentiment and the latest
/// correction. The brand's slug and the source's name are scalar subqueries instead of
/// joins, and filters on them compare ids (`m.brand_id = (SELECT id FROM brands WHERE
/// slug = $1)`): with two tables fewer to order, Postgres plans a page query in about a
/// third of the time, and it plans these queries on every call (the API benchmark in
/// BENCHMARKS.md found planning to be most of the alert list's database time).
macro_rules! mention_joins {
    () => {
        " LEFT JOIN sentiments t ON t.mention_id = m.id
        LEFT JOIN sentiment_corrections c ON c.id =
            (SELECT MAX(id) FROM sentiment_corrections WHERE mention_id = m.id) "
    };
}

pub(crate) use {mention_columns, mention_joins};

/// How many columns [`mention_columns!`] has.
pub(crate) const MENTION_COLUMNS: usize = 27;

pub(crate) const SELECT_MENTIONS: &str = concat!(
    "SELECT ",
    mention_columns!(),
    " FROM mentions m",
    mention_joins!(),
    "WHERE (CAST($1 AS TEXT) IS NULL OR m.brand_id = (SELECT id FROM brands WHERE slug = $1))
      AND (CAST($2 AS BIGINT) IS NULL OR COALESCE(m.published_at, m.discovered_at) >= $2)
      AND (CAST($3 AS BIGINT) IS NULL OR m.id < $3)
      AND (CAST($5 AS TEXT) IS NULL OR t.label = $5)
      AND (CAST($6 AS TEXT) IS NULL OR m.source_id = (SELECT id FROM sources WHERE name = $6))
      AND (CAST($7 AS TEXT) IS NULL OR t.language = $7)
      AND (CAST($8 AS TEXT) IS NULL
           OR LOWER(m.title) LIKE LOWER($8) ESCAPE '\\'
           OR LOWER(m.snippet) LIKE LOWER($8) ESCAPE '\\')
    ORDER BY m.id DESC
    LIMIT $4"
);

/// A `LIKE` pattern (with `ESCAPE '\'`) matching text that contains `text`. The SQL
/// lowers both sides with the database's own `LOWER`, so they are folded alike: every
/// letter on Postgres, ASCII letters only on SQLite (where other letters then match in
/// their exact case, never not at all).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A brand's mentions in `$2..$3` (published, else discovered), grouped by bucket
/// (counted from `$4`, `$5` milliseconds wide: integer division is exact and the same
/// on both backends, and never sees a negative number since `$4` is at or before `$2`),
/// source and final label.
pub(crate) const SELECT_STATS: &str = "SELECT
        (COALESCE(m.published_at, m.discovered_at) - $4) / $5, s.name, t.label, COUNT(*)
    FROM mentions m
    JOIN brands b ON b.id = m.brand_id
    JOIN sources s ON s.id = m.source_id
    LEFT JOIN sentiments t ON t.mention_id = m.id
    WHERE b.slug = $1
      AND COALESCE(m.published_at, m.discovered_at) >= $2
      AND COALESCE(m.published_at, m.discovered_at) < $3
    GROUP BY 1, 2, 3";

pub(crate) const SELECT_MENTION: &str = concat!(
    "SELECT ",
    mention_columns!(),
    " FROM mentions m",
    mention_joins!(),
    "WHERE m.id = $1"
);

/// Mentions needing `model`: none yet, or (re-classifying) another model's. The outer
/// lease test plays the same role as in [`claim_sql`].
pub(crate) const CLAIM_UNCLASSIFIED: &str = "UPDATE mentions
    SET classify_claimed_by = $1, classify_claimed_until = $2,
        classify_taken_from = CASE WHEN classify_claimed_by <> $1 THEN classify_claimed_by END
    WHERE id IN (
        SELECT m.id FROM mentions m LEFT JOIN sentiments t ON t.mention_id = m.id
        WHERE (t.mention_id IS NULL OR ($3 = 1 AND t.model <> $4))
          AND (m.classify_claimed_until IS NULL OR m.classify_claimed_until < $5)
          AND (CAST($6 AS BIGINT) IS NULL OR m.discovered_at >= $6)
        ORDER BY m.id
        LIMIT $7)
      AND (classify_claimed_until IS NULL OR classify_claimed_until < $5)
    RETURNING id, title, snippet, rating, classify_taken_from";

pub(crate) const COUNT_UNCLASSIFIED: &str = "SELECT COUNT(*) FROM mentions m
    LEFT JOIN sentiments t ON t.mention_id = m.id
    WHERE t.mention_id IS NULL OR ($1 = 1 AND t.model <> $2)";

pub(crate) const RELEASE_CLASSIFY_LEASE: &str = "UPDATE mentions
    SET classify_claimed_by = NULL, classify_claimed_until = NULL
    WHERE id = $1 AND classify_claimed_by = $2";

/// Gives up every source and mention lease `$1` holds (a worker that stops before its
/// work in flight is recorded), so other workers may claim them at once.
pub(crate) const RELEASE_SOURCE_LEASES: &str = "UPDATE sources
    SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1";

pub(crate) const RELEASE_MENTION_LEASES: &str = "UPDATE mentions
    SET classify_claimed_by = NULL, classify_claimed_until = NULL WHERE classify_claimed_by = $1";

pub(crate) const UPSERT_SENTIMENT: &str = "INSERT INTO sentiments
    (mention_id, label, model_label, p_negative, p_neutral, p_positive, score, language, model,
     embedding, classified_at, hate, hate_flagged, mixed, mixed_flagged)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (mention_id) DO UPDATE SET label = excluded.label,
        model_label = excluded.model_label, p_negative = excluded.p_negative,
        p_neutral = excluded.p_neutral, p_positive = excluded.p_positive,
        score = excluded.score, language = excluded.language, model = excluded.model,
        embedding = excluded.embedding, classified_at = excluded.classified_at,
        hate = excluded.hate, hate_flagged = excluded.hate_flagged, mixed = excluded.mixed,
        mixed_flagged = excluded.mixed_flagged";

/// Implements [`crate::Store`] for `$store`, a struct with a `pool: sqlx::Pool<$db>` field.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }

            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn sync_config(
                &self,
                brands: &[earshot_domain::Brand],
                sources: &[earshot_domain::Source],
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::shared::*;
                let mut tx = self.pool.begin().await?;
                for b in brands {
                    let (min_rating, min_positive) = $crate::setup::auto_approve_columns(b);
                    sqlx::query(UPSERT_BRAND)
                        .bind(b.slug.as_str())
                        .bind(&b.name)
                        .bind($crate::setup::terms_json(&b.terms))
                        .bind($crate::setup::terms_json(&b.exclude))
                        .bind(now.as_millis())
                        .bind(min_rating)
                        .bind(min_positive)
                        .execute(&mut *tx)
                        .await?;
                }
                let stored: Vec<String> = sqlx::query_scalar(
                    "SELECT slug FROM brands WHERE origin = 'config' AND retired_at IS NULL",
                )
                .fetch_all(&mut *tx)
                .await?;
                for slug in stored {
                    if !brands.iter().any(|b| b.slug.as_str() == slug) {
                        sqlx::query($crate::setup::RETIRE_CONFIG_BRAND)
                            .bind(now.as_millis())
                            .bind(&slug)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                for s in sources {
                    Self::source_query(UPSERT_SOURCE, s, now)
                        .execute(&mut *tx)
                        .await?;
                }
                let stored: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sources WHERE origin = 'config' AND retired_at IS NULL",
                )
                .fetch_all(&mut *tx)
                .await?;
                for name in stored {
                    if !sources.iter().any(|s| s.name.as_str() == name) {
                        sqlx::query(RETIRE_SOURCE)
                            .bind(now.as_millis())
                            .bind(&name)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn sources(&self) -> Result<Vec<$crate::StoredSource>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM sources WHERE retired_at IS NULL ORDER BY name",
                    $crate::shared::SOURCE_COLUMNS
                );
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map($crate::shared::source_from_row).collect()
            }

            async fn counts(&self) -> Result<$crate::Counts, $crate::StoreError> {
                use $crate::shared::*;
                let by_brand: Vec<(String, i64)> = sqlx::query_as(COUNT_MENTIONS_BY_BRAND)
                    .fetch_all(&self.pool)
                    .await?;
                // Those with no sentiment at all: "re-classify" off, so the model is moot.
                let unclassified: i64 = sqlx::query_scalar(COUNT_UNCLASSIFIED)
                    .bind(0i64)
                    .bind("")
                    .fetch_one(&self.pool)
                    .await?;
                let by_status = |rows: Vec<(String, i64)>| {
                    rows.into_iter()
                        .map(|(k, n)| (k, unsigned(n)))
                        .collect::<Vec<_>>()
                };
                Ok($crate::Counts {
                    mentions_by_brand: by_brand
                        .into_iter()
                        .map(|(slug, n)| Ok((brand_slug(slug)?, unsigned(n))))
                        .collect::<Result<_, $crate::StoreError>>()?,
                    unclassified: unsigned(unclassified),
                    alerts_by_status: by_status(
                        sqlx::query_as(COUNT_ALERTS_BY_STATUS)
                            .fetch_all(&self.pool)
                            .await?,
                    ),
                    reviews_by_status: by_status(
                        sqlx::query_as(COUNT_REVIEWS_BY_STATUS)
                            .fetch_all(&self.pool)
                            .await?,
                    ),
                })
            }

            async fn brands(&self) -> Result<Vec<$crate::StoredBrand>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM brands WHERE retired_at IS NULL ORDER BY slug",
                    $crate::setup::BRAND_COLUMNS
                );
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map($crate::setup::brand_from_row).collect()
            }

            async fn create_brand(
                &self,
                brand: &earshot_domain::Brand,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<$crate::StoredBrand>, $crate::StoreError> {
                let made = Self::brand_query($crate::setup::INSERT_API_BRAND, brand, now)
                    .fetch_optional(&self.pool)
                    .await?;
                if made.is_none() {
                    return Ok($crate::Change::Taken);
                }
                self.live_brand(&brand.slug).await
            }

            async fn update_brand(
                &self,
                brand: &earshot_domain::Brand,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<$crate::StoredBrand>, $crate::StoreError> {
                use $crate::setup::*;
                let done = Self::brand_query(UPDATE_API_BRAND, brand, now)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return self.refusal(BRAND_ORIGIN, brand.slug.as_str()).await;
                }
                self.live_brand(&brand.slug).await
            }

            async fn retire_brand(
                &self,
                slug: &earshot_domain::BrandSlug,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<()>, $crate::StoreError> {
                use $crate::setup::*;
                self.retire_api(RETIRE_API_BRAND, BRAND_ORIGIN, slug.as_str(), now)
                    .await
            }

            async fn create_source(
                &self,
                source: &earshot_domain::Source,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<$crate::StoredSource>, $crate::StoreError> {
                let made = Self::source_query($crate::setup::INSERT_API_SOURCE, source, now)
                    .fetch_optional(&self.pool)
                    .await?;
                if made.is_none() {
                    return Ok($crate::Change::Taken);
                }
                self.live_source(&source.name).await
            }

            async fn update_source(
                &self,
                source: &earshot_domain::Source,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<$crate::StoredSource>, $crate::StoreError> {
                use $crate::setup::*;
                let done = Self::source_query(UPDATE_API_SOURCE, source, now)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return self.refusal(SOURCE_ORIGIN, source.name.as_str()).await;
                }
                self.live_source(&source.name).await
            }

            async fn retire_source(
                &self,
                name: &earshot_domain::SourceName,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<()>, $crate::StoreError> {
                use $crate::setup::*;
                self.retire_api(RETIRE_API_SOURCE, SOURCE_ORIGIN, name.as_str(), now)
                    .await
            }

            async fn claim_sources(
                &self,
                claim: &$crate::Claim<'_>,
            ) -> Result<Vec<$crate::StoredSource>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::shared::claim_sql())
                    .bind(claim.worker)
                    .bind(claim.now.plus(claim.lease).as_millis())
                    .bind(i64::from(claim.due_only))
                    .bind(claim.now.as_millis())
                    .bind(claim.name.map(|n| n.as_str()))
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = rows
                    .iter()
                    .map($crate::shared::source_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                out.sort_by_key(|s| (s.state.next_check_at, s.id));
                Ok(out)
            }

            async fn record_crawl(
                &self,
                source: earshot_domain::SourceId,
                worker: &str,
                record: &$crate::CrawlRecord,
            ) -> Result<u64, $crate::StoreError> {
                use $crate::shared::*;
                let mut tx = self.pool.begin().await?;
                // Write first: on SQLite a transaction that reads before it writes can
                // fail to upgrade its lock (SQLITE_BUSY) instead of waiting for it.
                let st = &record.state;
                sqlx::query(UPDATE_SOURCE_STATE)
                    .bind(source.0)
                    .bind(st.next_check_at.map(|t| t.as_millis()))
                    .bind(st.etag.as_deref())
                    .bind(st.last_modified.as_deref())
                    .bind(st.error_count)
                    .bind(st.last_error.as_deref())
                    .bind(st.last_success_at.map(|t| t.as_millis()))
                    .bind(record.finished_at.as_millis())
                    .execute(&mut *tx)
                    .await?;
                let turned_unhealthy = Self::record_health(&mut tx, source, record).await?;
                let brand_ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, slug FROM brands")
                    .fetch_all(&mut *tx)
                    .await?;
                let mut new = 0u64;
                for m in &record.mentions {
                    let brand_id = brand_ids
                        .iter()
                        .find(|(_, slug)| slug == m.brand.as_str())
                        .map(|(id, _)| *id)
                        .ok_or_else(|| $crate::StoreError::UnknownBrand(m.brand.to_string()))?;
                    let done = sqlx::query(INSERT_MENTION)
                        .bind(source.0)
                        .bind(brand_id)
                        .bind(m.dedup_key.as_str())
                        .bind(m.url.as_deref())
                        .bind(&m.title)
                        .bind(&m.snippet)
                        .bind(&m.matched_term)
                        .bind(m.author.as_deref())
                        .bind(m.published_at.map(|t| t.as_millis()))
                        .bind(record.finished_at.as_millis())
                        .bind(m.rating)
                        .execute(&mut *tx)
                        .await?;
                    new += done.rows_affected();
                }
                if let Some(a) = &record.aggregate {
                    sqlx::query(INSERT_SOURCE_RATING)
                        .bind(source.0)
                        .bind(record.finished_at.as_millis())
                        .bind(a.value)
                        .bind(a.raw_value)
                        .bind(a.best)
                        .bind(a.worst)
                        .bind(a.count.map(count))
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(INSERT_CRAWL_RUN)
                    .bind(source.0)
                    .bind(worker)
                    .bind(record.started_at.as_millis())
                    .bind(record.finished_at.as_millis())
                    .bind(record.http_status.map(i64::from))
                    .bind(count(record.bytes))
                    .bind(count(record.items_seen))
                    .bind(count(new))
                    .bind(record.error.as_deref())
                    .bind((!record.problems.is_empty()).then(|| json(&record.problems)))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                if turned_unhealthy {
                    earshot_telemetry::alerts_opened(earshot_telemetry::AlertKind::Source, 1);
                }
                Ok(new)
            }

            async fn source_ratings(
                &self,
                name: &earshot_domain::SourceName,
                limit: u32,
            ) -> Result<Vec<$crate::SourceRating>, $crate::StoreError> {
                let rows: Vec<(i64, f64, f64, f64, f64, Option<i64>)> =
                    sqlx::query_as($crate::shared::SELECT_SOURCE_RATINGS)
                        .bind(name.as_str())
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(at, value, raw_value, best, worst, n)| $crate::SourceRating {
                            observed_at: earshot_domain::Timestamp::from_millis(at),
                            rating: $crate::AggregateRating {
                                value,
                                raw_value,
                                best,
                                worst,
                                count: n.map($crate::shared::unsigned),
                            },
                        },
                    )
                    .collect())
            }

            async fn crawl_runs(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::CrawlRun>, $crate::StoreError> {
                let rows = sqlx::query($crate::shared::SELECT_CRAWL_RUNS)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map($crate::shared::crawl_run_from_row)
                    .collect()
            }

            async fn mentions(
                &self,
                q: &$crate::MentionQuery,
            ) -> Result<Vec<earshot_domain::Mention>, $crate::StoreError> {
                let rows = sqlx::query($crate::shared::SELECT_MENTIONS)
                    .bind(q.brand.as_ref().map(|b| b.as_str()))
                    .bind(q.since.map(|t| t.as_millis()))
                    .bind(q.before.map(|id| id.0))
                    .bind(i64::from(q.limit))
                    .bind(q.label.map(|l| l.as_str()))
                    .bind(q.source.as_ref().map(|s| s.as_str()))
                    .bind(q.language.as_ref().map(|l| l.as_str()))
                    .bind(q.text.as_deref().map($crate::shared::contains_pattern))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::shared::mention_from_row).collect()
            }

            async fn stats(
                &self,
                q: &$crate::StatsQuery,
            ) -> Result<$crate::Stats, $crate::StoreError> {
                let rows: Vec<(i64, String, Option<String>, i64)> =
                    sqlx::query_as($crate::shared::SELECT_STATS)
                        .bind(q.brand.as_str())
                        .bind(q.from.as_millis())
                        .bind(q.to.as_millis())
                        .bind(q.bucket.floor(q.from).as_millis())
                        .bind(q.bucket.millis())
                        .fetch_all(&self.pool)
                        .await?;
                let groups = rows
                    .into_iter()
                    .map(|(bucket, source, label, n)| {
                        let label = label
                            .map(|l| earshot_domain::Label::parse(&l))
                            .transpose()
                            .map_err($crate::shared::corrupt)?;
                        Ok((
                            bucket,
                            $crate::shared::source_name(source)?,
                            label,
                            $crate::shared::unsigned(n),
                        ))
                    })
                    .collect::<Result<Vec<_>, $crate::StoreError>>()?;
                Ok($crate::Stats::assemble(q, groups))
            }

            async fn count_mentions(&self) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mentions")
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::shared::unsigned(n))
            }

            async fn claim_unclassified(
                &self,
                claim: &$crate::ClassifyClaim<'_>,
            ) -> Result<Vec<$crate::ClassifyJob>, $crate::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query($crate::shared::CLAIM_UNCLASSIFIED)
                    .bind(claim.worker)
                    .bind(claim.now.plus(claim.lease).as_millis())
                    .bind(i64::from(claim.reclassify))
                    .bind(claim.model)
                    .bind(claim.now.as_millis())
                    .bind(claim.since.map(|t| t.as_millis()))
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut jobs = rows
                    .iter()
                    .map(|r| {
                        Ok($crate::ClassifyJob {
                            id: earshot_domain::MentionId(r.try_get(0)?),
                            title: r.try_get(1)?,
                            snippet: r.try_get(2)?,
                            rating: r.try_get(3)?,
                            taken_over_from: r.try_get(4)?,
                        })
                    })
                    .collect::<Result<Vec<_>, $crate::StoreError>>()?;
                jobs.sort_by_key(|j| j.id);
                Ok(jobs)
            }

            async fn save_sentiments(
                &self,
                worker: &str,
                results: &[(earshot_domain::MentionId, earshot_domain::Sentiment)],
                now: earshot_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                use $crate::shared::*;
                let mut tx = self.pool.begin().await?;
                let mut saved = 0;
                let mut negative = Vec::new();
                let mut stored = Vec::new();
                for (id, s) in results {
                    // Write first (see record_crawl), and only while the lease is ours.
                    let held = sqlx::query(RELEASE_CLASSIFY_LEASE)
                        .bind(id.0)
                        .bind(worker)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if held == 0 {
                        continue;
                    }
                    sqlx::query(UPSERT_SENTIMENT)
                        .bind(id.0)
                        .bind(s.label.as_str())
                        .bind(s.model_label.as_str())
                        .bind(f64::from(s.probabilities[0]))
                        .bind(f64::from(s.probabilities[1]))
                        .bind(f64::from(s.probabilities[2]))
                        .bind(f64::from(s.score))
                        .bind(s.language.as_deref())
                        .bind(&s.model)
                        .bind(embedding_bytes(&s.embedding))
                        .bind(now.as_millis())
                        .bind(s.signals.hate.map(|h| f64::from(h.probability)))
                        .bind(s.signals.hate.map(|h| i64::from(h.flagged)))
                        .bind(s.signals.mixed.map(|m| f64::from(m.probability)))
                        .bind(s.signals.mixed.map(|m| i64::from(m.flagged)))
                        .execute(&mut *tx)
                        .await?;
                    saved += 1;
                    stored.push((*id, s));
                    if s.label == earshot_domain::Label::Negative {
                        negative.push((*id, s));
                    }
                }
                let opened = if negative.is_empty() {
                    0
                } else {
                    Self::open_alerts(&mut tx, &negative, now).await?
                };
                Self::open_reviews(&mut tx, &stored, now).await?;
                tx.commit().await?;
                earshot_telemetry::alerts_opened(earshot_telemetry::AlertKind::Mention, opened);
                Ok(saved)
            }

            async fn release_leases(&self, worker: &str) -> Result<u64, $crate::StoreError> {
                use $crate::shared::*;
                let mut tx = self.pool.begin().await?;
                let mut released = 0;
                for sql in [RELEASE_SOURCE_LEASES, RELEASE_MENTION_LEASES] {
                    released += sqlx::query(sql)
                        .bind(worker)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                tx.commit().await?;
                Ok(released)
            }

            async fn count_unclassified(
                &self,
                model: &str,
                reclassify: bool,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar($crate::shared::COUNT_UNCLASSIFIED)
                    .bind(i64::from(reclassify))
                    .bind(model)
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::shared::unsigned(n))
            }

            async fn mention(
                &self,
                id: earshot_domain::MentionId,
            ) -> Result<Option<earshot_domain::Mention>, $crate::StoreError> {
                let row = sqlx::query($crate::shared::SELECT_MENTION)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref()
                    .map($crate::shared::mention_from_row)
                    .transpose()
            }

            async fn correct_sentiment(
                &self,
                mention: earshot_domain::MentionId,
                label: earshot_domain::Label,
                by: &earshot_domain::Actor,
                now: earshot_domain::Timestamp,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query($crate::alerts::INSERT_CORRECTION)
                    .bind(mention.0)
                    .bind(label.as_str())
                    .bind(&by.name)
                    .bind(by.key_id.map(|k| k.0))
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn training_corrections(
                &self,
                brand: Option<&earshot_domain::BrandSlug>,
            ) -> Result<Vec<$crate::TrainingCorrection>, $crate::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query($crate::heads::SELECT_TRAINING_CORRECTIONS)
                    .bind(brand.map(|b| b.as_str()))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        let label: String = r.try_get(5)?;
                        let embedding: Option<Vec<u8>> = r.try_get(7)?;
                        Ok($crate::TrainingCorrection {
                            job: $crate::ClassifyJob {
                                id: earshot_domain::MentionId(r.try_get(0)?),
                                title: r.try_get(2)?,
                                snippet: r.try_get(3)?,
                                rating: r.try_get(4)?,
                                taken_over_from: None,
                            },
                            brand: $crate::shared::brand_slug(r.try_get(1)?)?,
                            label: earshot_domain::Label::parse(&label)
                                .map_err($crate::shared::corrupt)?,
                            model: r.try_get(6)?,
                            embedding: $crate::heads::embedding_from_bytes(
                                embedding.as_deref().unwrap_or_default(),
                            )?,
                        })
                    })
                    .collect()
            }

            async fn save_head(
                &self,
                head: &$crate::NewHead<'_>,
            ) -> Result<i64, $crate::StoreError> {
                let id: i64 = sqlx::query_scalar($crate::heads::INSERT_HEAD)
                    .bind(head.head_id)
                    .bind(head.encoder)
                    .bind(head.head_json)
                    .bind(head.evaluation)
                    .bind(head.trained_at.as_millis())
                    .bind(head.activated_at.map(|t| t.as_millis()))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(id)
            }

            async fn active_head(
                &self,
                encoder: &str,
            ) -> Result<Option<$crate::StoredHead>, $crate::StoreError> {
                let row = sqlx::query(&$crate::heads::select_active_head())
                    .bind(encoder)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::heads::head_from_row).transpose()
            }

            async fn heads(
                &self,
                encoder: &str,
            ) -> Result<Vec<$crate::StoredHead>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::heads::select_heads())
                    .bind(encoder)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::heads::head_from_row).collect()
            }

            async fn create_api_key(
                &self,
                key: &$crate::NewApiKey<'_>,
                now: earshot_domain::Timestamp,
            ) -> Result<earshot_domain::ApiKey, $crate::StoreError> {
                let row = sqlx::query(&$crate::keys::insert_key_sql())
                    .bind(key.name.as_str())
                    .bind(key.role.as_str())
                    .bind(key.hash.as_str())
                    .bind(now.as_millis())
                    .fetch_one(&self.pool)
                    .await?;
                $crate::keys::key_from_row(&row)
            }

            async fn api_keys(&self) -> Result<Vec<earshot_domain::ApiKey>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::keys::select_keys_sql())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::keys::key_from_row).collect()
            }

            async fn revoke_api_key(
                &self,
                id: earshot_domain::ApiKeyId,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::ApiKey>, $crate::StoreError> {
                sqlx::query($crate::keys::REVOKE_KEY)
                    .bind(id.0)
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await?;
                let row = sqlx::query(&$crate::keys::select_key_sql())
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::keys::key_from_row).transpose()
            }

            async fn authenticate(
                &self,
                hash: &earshot_domain::KeyHash,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::ApiKey>, $crate::StoreError> {
                // Read first and write only when last_used_at is stale: on SQLite a write
                // per request would queue every API call behind a crawl's transaction.
                let row = sqlx::query(&$crate::keys::select_key_by_hash_sql())
                    .bind(hash.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(mut key) = row.as_ref().map($crate::keys::key_from_row).transpose()?
                else {
                    return Ok(None);
                };
                let stale = now.minus(std::time::Duration::from_secs(60));
                if key.revoked_at.is_none() && key.last_used_at.is_none_or(|t| t < stale) {
                    sqlx::query($crate::keys::TOUCH_KEY)
                        .bind(key.id.0)
                        .bind(now.as_millis())
                        .bind(stale.as_millis())
                        .execute(&self.pool)
                        .await?;
                    key.last_used_at = Some(now);
                }
                Ok(Some(key))
            }

            async fn create_user(
                &self,
                user: &$crate::NewUser<'_>,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::User>, $crate::StoreError> {
                let row = sqlx::query(&$crate::users::insert_user_sql())
                    .bind(user.username.as_str())
                    .bind(user.role.as_str())
                    .bind(user.password_hash)
                    .bind(now.as_millis())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::users::user_from_row).transpose()
            }

            async fn users(&self) -> Result<Vec<earshot_domain::User>, $crate::StoreError> {
                let rows = sqlx::query(&$crate::users::select_users_sql())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::users::user_from_row).collect()
            }

            async fn user_credentials(
                &self,
                username: &earshot_domain::Username,
            ) -> Result<Option<(earshot_domain::User, String)>, $crate::StoreError> {
                let row = sqlx::query(&$crate::users::select_credentials_sql())
                    .bind(username.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let hash: String = sqlx::Row::try_get(&row, 5)?;
                Ok(Some(($crate::users::user_from_row(&row)?, hash)))
            }

            async fn set_user_disabled(
                &self,
                username: &earshot_domain::Username,
                disabled: bool,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::User>, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query($crate::users::SET_USER_DISABLED)
                    .bind(username.as_str())
                    .bind(disabled.then(|| now.as_millis()))
                    .execute(&mut *tx)
                    .await?;
                if disabled {
                    sqlx::query($crate::users::DELETE_USER_SESSIONS)
                        .bind(username.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                let row = sqlx::query(&$crate::users::select_user_sql())
                    .bind(username.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let user = row.as_ref().map($crate::users::user_from_row).transpose()?;
                tx.commit().await?;
                Ok(user)
            }

            async fn delete_user(
                &self,
                username: &earshot_domain::Username,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query($crate::users::DELETE_USER_SESSIONS)
                    .bind(username.as_str())
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query($crate::users::DELETE_USER)
                    .bind(username.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_session(
                &self,
                session: &$crate::NewSession<'_>,
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                let (user_id, key_id) = match session.owner {
                    earshot_domain::SessionOwner::User(id) => (Some(id.0), None),
                    earshot_domain::SessionOwner::Key(id) => (None, Some(id.0)),
                };
                let mut tx = self.pool.begin().await?;
                sqlx::query($crate::users::DELETE_EXPIRED_SESSIONS)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($crate::users::INSERT_SESSION)
                    .bind(session.token.as_str())
                    .bind(session.csrf_token)
                    .bind(user_id)
                    .bind(key_id)
                    .bind(now.as_millis())
                    .bind(session.expires_at.as_millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                token: &earshot_domain::SessionHash,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::Session>, $crate::StoreError> {
                let row = sqlx::query($crate::users::SELECT_SESSION)
                    .bind(token.as_str())
                    .bind(now.as_millis())
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(row) => $crate::users::session_from_row(&row),
                    None => Ok(None),
                }
            }

            async fn end_session(
                &self,
                token: &earshot_domain::SessionHash,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::users::DELETE_SESSION)
                    .bind(token.as_str())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn sync_alert_rules(
                &self,
                rules: &[earshot_domain::AlertRuleSpec],
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::alerts::*;
                let mut tx = self.pool.begin().await?;
                // Write first (see record_crawl): retire every config rule, then bring
                // back each one the config still has, unchanged, and add the new ones.
                sqlx::query(RETIRE_CONFIG_RULES)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query(SELECT_RULES_RETIRED_AT)
                    .bind(now.as_millis())
                    .fetch_all(&mut *tx)
                    .await?;
                let mut retired = rows
                    .iter()
                    .map(rule_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                for spec in rules {
                    if let Some(i) = retired.iter().position(|r| r.spec == *spec) {
                        sqlx::query(UNRETIRE_RULE)
                            .bind(retired.remove(i).id.0)
                            .execute(&mut *tx)
                            .await?;
                        continue;
                    }
                    let id: Option<i64> = sqlx::query_scalar(INSERT_RULE)
                        .bind(spec.brand.as_str())
                        .bind(spec.threshold.value())
                        .bind(sources_json(spec))
                        .bind(languages_json(spec))
                        .bind(earshot_domain::Origin::Config.as_str())
                        .bind(now.as_millis())
                        .bind(channels_json(spec))
                        .fetch_optional(&mut *tx)
                        .await?;
                    if id.is_none() {
                        return Err($crate::StoreError::UnknownBrand(spec.brand.to_string()));
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn alert_rules(
                &self,
            ) -> Result<Vec<earshot_domain::AlertRule>, $crate::StoreError> {
                let rows = sqlx::query($crate::alerts::SELECT_RULES)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::alerts::rule_from_row).collect()
            }

            async fn alert_rule(
                &self,
                id: earshot_domain::AlertRuleId,
            ) -> Result<Option<earshot_domain::AlertRule>, $crate::StoreError> {
                let row = sqlx::query($crate::alerts::SELECT_RULE)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map($crate::alerts::rule_from_row).transpose()
            }

            async fn create_alert_rule(
                &self,
                spec: &earshot_domain::AlertRuleSpec,
                now: earshot_domain::Timestamp,
            ) -> Result<earshot_domain::AlertRule, $crate::StoreError> {
                use $crate::alerts::*;
                // Each statement stands alone (no transaction that reads before it
                // writes); the insert itself finds the brand.
                self.check_rule_sources(spec).await?;
                let id: Option<i64> = sqlx::query_scalar(INSERT_RULE)
                    .bind(spec.brand.as_str())
                    .bind(spec.threshold.value())
                    .bind(sources_json(spec))
                    .bind(languages_json(spec))
                    .bind(earshot_domain::Origin::Api.as_str())
                    .bind(now.as_millis())
                    .bind(channels_json(spec))
                    .fetch_optional(&self.pool)
                    .await?;
                let id =
                    id.ok_or_else(|| $crate::StoreError::UnknownBrand(spec.brand.to_string()))?;
                $crate::Store::alert_rule(self, earshot_domain::AlertRuleId(id))
                    .await?
                    .ok_or_else(|| $crate::StoreError::Corrupt(format!("rule {id} vanished")))
            }

            async fn update_alert_rule(
                &self,
                id: earshot_domain::AlertRuleId,
                spec: &earshot_domain::AlertRuleSpec,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::RuleChange, $crate::StoreError> {
                use $crate::alerts::*;
                if let Some(refused) = self.rule_refusal(id).await? {
                    return Ok(refused);
                }
                let brands: i64 = sqlx::query_scalar(BRAND_EXISTS)
                    .bind(spec.brand.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                if brands == 0 {
                    return Err($crate::StoreError::UnknownBrand(spec.brand.to_string()));
                }
                self.check_rule_sources(spec).await?;
                sqlx::query(UPDATE_RULE)
                    .bind(id.0)
                    .bind(spec.brand.as_str())
                    .bind(spec.threshold.value())
                    .bind(sources_json(spec))
                    .bind(languages_json(spec))
                    .bind(now.as_millis())
                    .bind(channels_json(spec))
                    .execute(&self.pool)
                    .await?;
                Ok(match $crate::Store::alert_rule(self, id).await? {
                    Some(rule) => $crate::RuleChange::Done(rule),
                    None => $crate::RuleChange::NotFound,
                })
            }

            async fn retire_alert_rule(
                &self,
                id: earshot_domain::AlertRuleId,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::RuleChange, $crate::StoreError> {
                if let Some(refused) = self.rule_refusal(id).await? {
                    return Ok(refused);
                }
                let Some(rule) = $crate::Store::alert_rule(self, id).await? else {
                    return Ok($crate::RuleChange::NotFound);
                };
                let done = sqlx::query($crate::alerts::RETIRE_RULE)
                    .bind(id.0)
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await?;
                Ok(if done.rows_affected() == 1 {
                    $crate::RuleChange::Done(rule)
                } else {
                    $crate::RuleChange::NotFound
                })
            }

            async fn negative_hours(
                &self,
                brand: &earshot_domain::BrandSlug,
                from: earshot_domain::Timestamp,
                to: earshot_domain::Timestamp,
            ) -> Result<$crate::NegativeHours, $crate::StoreError> {
                use $crate::alerts::*;
                let first: Option<i64> = sqlx::query_scalar(SELECT_FIRST_DISCOVERED)
                    .bind(brand.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let rows: Vec<(i64, i64)> = sqlx::query_as(SELECT_NEGATIVE_HOURS)
                    .bind(brand.as_str())
                    .bind(from.as_millis())
                    .bind(to.as_millis())
                    .fetch_all(&self.pool)
                    .await?;
                let last: Option<i64> = sqlx::query_scalar(SELECT_LAST_SPIKE)
                    .bind(brand.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok($crate::NegativeHours {
                    first_discovered_at: first.map(earshot_domain::Timestamp::from_millis),
                    last_spike: last.map(earshot_domain::Timestamp::from_millis),
                    counts: rows
                        .into_iter()
                        .map(|(hour, n)| {
                            (
                                earshot_domain::Timestamp::from_millis(
                                    from.as_millis() + hour * earshot_domain::HOUR_MS,
                                ),
                                u32::try_from(n).unwrap_or(u32::MAX),
                            )
                        })
                        .collect(),
                })
            }

            async fn open_spike_alert(
                &self,
                brand: &earshot_domain::BrandSlug,
                spike: &earshot_domain::Spike,
                rule: &earshot_domain::SpikeRule,
                now: earshot_domain::Timestamp,
            ) -> Result<Option<earshot_domain::AlertId>, $crate::StoreError> {
                use $crate::alerts::*;
                let hour = spike.hour.as_millis();
                let mut tx = self.pool.begin().await?;
                // Write first (see record_crawl): the cooldown's compare-and-set.
                let claimed: Option<i64> = sqlx::query_scalar(CLAIM_SPIKE_HOUR)
                    .bind(brand.as_str())
                    .bind(hour)
                    .bind($crate::shared::millis(rule.cooldown()))
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(brand_id) = claimed else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let ids: Vec<i64> = sqlx::query_scalar(SELECT_SPIKE_MENTIONS)
                    .bind(brand_id)
                    .bind(hour)
                    .bind(hour + earshot_domain::HOUR_MS)
                    .bind(earshot_domain::SpikeAlert::MAX_MENTION_IDS as i64)
                    .fetch_all(&mut *tx)
                    .await?;
                let b = &spike.baseline;
                let details = SpikeDetails {
                    hour,
                    count: spike.count,
                    mean: b.mean,
                    stddev: b.stddev,
                    threshold: b.threshold,
                    k: rule.k(),
                    history_hours: b.hours,
                    mention_ids: ids,
                };
                let opened: Option<i64> = sqlx::query_scalar(INSERT_SPIKE_ALERT)
                    .bind(brand_id)
                    .bind(hour)
                    .bind($crate::shared::json(&details))
                    .bind(now.as_millis())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(alert) = opened else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let why = format!(
                    "{} negative mentions in the hour from {}, above {:.2} (mean {:.2} + {} x stddev {:.2} over {} hours)",
                    spike.count, spike.hour, b.threshold, b.mean, rule.k(), b.stddev, b.hours
                );
                Self::insert_open_event(&mut tx, alert, why, now).await?;
                tx.commit().await?;
                earshot_telemetry::alerts_opened(earshot_telemetry::AlertKind::Spike, 1);
                Ok(Some(earshot_domain::AlertId(alert)))
            }

            async fn alerts(
                &self,
                q: &$crate::AlertQuery,
            ) -> Result<Vec<earshot_domain::Alert>, $crate::StoreError> {
                let rows = sqlx::query($crate::alerts::SELECT_ALERTS)
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.brand.as_ref().map(|b| b.as_str()))
                    .bind(q.severity.map(|s| s.as_str()))
                    .bind(q.before.map(|id| id.0))
                    .bind(i64::from(q.limit))
                    .bind(q.kind.map(|k| k.as_str()))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::alerts::alert_from_row).collect()
            }

            async fn alert(
                &self,
                id: earshot_domain::AlertId,
            ) -> Result<
                Option<(earshot_domain::Alert, Vec<earshot_domain::AlertEvent>)>,
                $crate::StoreError,
            > {
                use $crate::alerts::*;
                let Some(row) = sqlx::query(SELECT_ALERT)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let alert = alert_from_row(&row)?;
                let events = sqlx::query(SELECT_EVENTS)
                    .bind(id.0)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(event_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some((alert, events)))
            }

            async fn transition_alert(
                &self,
                id: earshot_domain::AlertId,
                transition: earshot_domain::Transition,
                by: &earshot_domain::Actor,
                note: Option<&earshot_domain::Note>,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::AlertChange, $crate::StoreError> {
                use $crate::alerts::*;
                let mut tx = self.pool.begin().await?;
                // Write first: try each status the transition may start from. The one
                // that changes the row is the status the alert had.
                let to = transition.target();
                for from in transition.allowed_from() {
                    let moved = sqlx::query(SET_ALERT_STATUS)
                        .bind(id.0)
                        .bind(from.as_str())
                        .bind(to.as_str())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if moved == 1 {
                        sqlx::query(INSERT_EVENT)
                            .bind(id.0)
                            .bind(now.as_millis())
                            .bind(&by.name)
                            .bind(by.key_id.map(|k| k.0))
                            .bind(earshot_domain::AlertAction::from(transition).as_str())
                            .bind(Some(from.as_str()))
                            .bind(Some(to.as_str()))
                            .bind(None::<&str>)
                            .bind(note.map(|n| n.as_str()))
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        return Ok($crate::AlertChange::Done);
                    }
                }
                let current: Option<String> = sqlx::query_scalar(ALERT_STATUS)
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.rollback().await?;
                let Some(current) = current else {
                    return Ok($crate::AlertChange::NotFound);
                };
                let from = earshot_domain::AlertStatus::parse(&current)
                    .map_err($crate::shared::corrupt)?;
                Ok($crate::AlertChange::Refused(
                    earshot_domain::InvalidTransition { from, transition },
                ))
            }

            async fn edit_alert(
                &self,
                id: earshot_domain::AlertId,
                edit: &$crate::AlertEdit,
                by: &earshot_domain::Actor,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::AlertChange, $crate::StoreError> {
                use earshot_domain::AlertAction;
                use $crate::alerts::*;
                let assignee = edit
                    .assignee
                    .as_ref()
                    .map(|a| a.as_ref().map(|a| a.as_str()));
                let notes = edit.notes.as_ref().map(|n| n.as_ref().map(|n| n.as_str()));
                let mut tx = self.pool.begin().await?;
                let found = sqlx::query(EDIT_ALERT)
                    .bind(id.0)
                    .bind(i64::from(assignee.is_some()))
                    .bind(assignee.flatten())
                    .bind(i64::from(notes.is_some()))
                    .bind(notes.flatten())
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if found == 0 {
                    tx.rollback().await?;
                    return Ok($crate::AlertChange::NotFound);
                }
                let events = [
                    assignee.map(|a| (AlertAction::Assign, a, None)),
                    notes.map(|n| (AlertAction::Note, None, n)),
                ];
                for (action, assignee, note) in events.into_iter().flatten() {
                    sqlx::query(INSERT_EVENT)
                        .bind(id.0)
                        .bind(now.as_millis())
                        .bind(&by.name)
                        .bind(by.key_id.map(|k| k.0))
                        .bind(action.as_str())
                        .bind(None::<&str>)
                        .bind(None::<&str>)
                        .bind(assignee)
                        .bind(note)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok($crate::AlertChange::Done)
            }

            async fn claim_notifications(
                &self,
                claim: &$crate::NotificationClaim<'_>,
            ) -> Result<Vec<earshot_domain::Notification>, $crate::StoreError> {
                use $crate::notifications::*;
                let rows = sqlx::query(&claim_sql())
                    .bind(claim.worker)
                    .bind(claim.now.plus(claim.lease).as_millis())
                    .bind(claim.channel.as_str())
                    .bind(claim.now.as_millis())
                    .bind(i64::from(claim.limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = rows
                    .iter()
                    .map(notification_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                out.sort_by_key(|n| n.id);
                Ok(out)
            }

            async fn record_delivery(
                &self,
                worker: &str,
                ids: &[earshot_domain::NotificationId],
                outcome: &$crate::Delivery,
                now: earshot_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                use $crate::notifications::*;
                let mut tx = self.pool.begin().await?;
                let mut recorded = 0;
                for id in ids {
                    let done = match outcome {
                        $crate::Delivery::Sent => {
                            sqlx::query(MARK_SENT)
                                .bind(id.0)
                                .bind(worker)
                                .bind(now.as_millis())
                                .execute(&mut *tx)
                                .await?
                        }
                        $crate::Delivery::Failed { error, retry_at } => {
                            let status = match retry_at {
                                Some(_) => earshot_domain::NotificationStatus::Pending,
                                None => earshot_domain::NotificationStatus::Failed,
                            };
                            sqlx::query(MARK_FAILED)
                                .bind(id.0)
                                .bind(worker)
                                .bind(status.as_str())
                                .bind(retry_at.unwrap_or(now).as_millis())
                                .bind(error_text(error))
                                .execute(&mut *tx)
                                .await?
                        }
                    };
                    recorded += done.rows_affected();
                }
                tx.commit().await?;
                Ok(recorded)
            }

            async fn last_sent(
                &self,
                channel: &earshot_domain::ChannelName,
            ) -> Result<Option<earshot_domain::Timestamp>, $crate::StoreError> {
                let at: Option<i64> = sqlx::query_scalar($crate::notifications::LAST_SENT)
                    .bind(channel.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                Ok($crate::shared::ts(at))
            }

            async fn notifications(
                &self,
                q: &$crate::NotificationQuery,
            ) -> Result<Vec<earshot_domain::Notification>, $crate::StoreError> {
                use $crate::notifications::*;
                let rows = sqlx::query(&select_sql())
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.channel.as_ref().map(|c| c.as_str()))
                    .bind(q.alert.map(|a| a.0))
                    .bind(q.before.map(|b| b.0))
                    .bind(i64::from(q.limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(notification_from_row).collect()
            }

            async fn reviews(
                &self,
                q: &$crate::ReviewQuery,
            ) -> Result<Vec<earshot_domain::Review>, $crate::StoreError> {
                let rows = sqlx::query($crate::reviews::SELECT_REVIEWS)
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.brand.as_ref().map(|b| b.as_str()))
                    .bind(q.before.map(|id| id.0))
                    .bind(i64::from(q.limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map($crate::reviews::review_from_row).collect()
            }

            async fn review(
                &self,
                id: earshot_domain::ReviewId,
            ) -> Result<Option<earshot_domain::Review>, $crate::StoreError> {
                let row = sqlx::query($crate::reviews::SELECT_REVIEW)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref()
                    .map($crate::reviews::review_from_row)
                    .transpose()
            }

            async fn decide_review(
                &self,
                id: earshot_domain::ReviewId,
                decision: &$crate::ReviewDecision<'_>,
                by: &earshot_domain::Actor,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::ReviewChange, $crate::StoreError> {
                use $crate::reviews::*;
                let action = decision.action();
                let (sql, text) = match decision {
                    $crate::ReviewDecision::Approve { excerpt } => {
                        (APPROVE_REVIEW, excerpt.map(|e| e.as_str()))
                    }
                    $crate::ReviewDecision::Reject { reason } => {
                        (REJECT_REVIEW, Some(reason.as_str()))
                    }
                };
                let mut tx = self.pool.begin().await?;
                // Write first: try each status the action may start from. The one that
                // changes the row is the status the review had.
                let mut moved = false;
                for from in action.allowed_from() {
                    let n = sqlx::query(sql)
                        .bind(id.0)
                        .bind(from.as_str())
                        .bind(text)
                        .bind(&by.name)
                        .bind(by.key_id.map(|k| k.0))
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n == 1 {
                        moved = true;
                        break;
                    }
                }
                if moved {
                    tx.commit().await?;
                    return Ok(match $crate::Store::review(self, id).await? {
                        Some(review) => $crate::ReviewChange::Done(Box::new(review)),
                        None => $crate::ReviewChange::NotFound,
                    });
                }
                let current: Option<String> = sqlx::query_scalar(REVIEW_STATUS)
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.rollback().await?;
                let Some(current) = current else {
                    return Ok($crate::ReviewChange::NotFound);
                };
                let from = earshot_domain::ReviewStatus::parse(&current)
                    .map_err($crate::shared::corrupt)?;
                Ok($crate::ReviewChange::Refused(
                    earshot_domain::InvalidReviewAction { from, action },
                ))
            }

            async fn brand_name(
                &self,
                slug: &earshot_domain::BrandSlug,
            ) -> Result<Option<String>, $crate::StoreError> {
                let name: Option<String> = sqlx::query_scalar($crate::reviews::BRAND_NAME)
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(name)
            }

            async fn feed_stamp(
                &self,
                slug: &earshot_domain::BrandSlug,
            ) -> Result<Option<$crate::FeedStamp>, $crate::StoreError> {
                let row: Option<(String, i64)> = sqlx::query_as($crate::reviews::FEED_STAMP)
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(name, version)| $crate::FeedStamp { name, version }))
            }
        }

        impl $store {
            /// Creates a review for each of these freshly saved sentiments whose mention
            /// is a review candidate, inside the caller's transaction (which has written
            /// already, so reading here is safe on SQLite).
            async fn open_reviews(
                tx: &mut sqlx::Transaction<'_, $db>,
                saved: &[(earshot_domain::MentionId, &earshot_domain::Sentiment)],
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::reviews::*;
                let auto = earshot_domain::AutoApprove::actor();
                let mut candidates = Vec::new();
                for (id, sentiment) in saved {
                    let found: Option<(i64, Option<f64>, Option<f64>, Option<f64>)> =
                        sqlx::query_as(MENTION_FOR_REVIEW)
                            .bind(id.0)
                            .fetch_optional(&mut **tx)
                            .await?;
                    let Some((brand_id, rating, min_rating, min_positive)) = found else {
                        continue;
                    };
                    let rule = auto_approve(min_rating, min_positive)?;
                    if let Some(status) =
                        earshot_domain::review_for(sentiment, rating, rule.as_ref())
                    {
                        candidates.push((brand_id, *id, status));
                    }
                }
                // An approved review raises its brand's feed version (migration 0006),
                // which locks the brand's row until commit. Taking those locks first, in
                // brand order, means two workers saving batches at once on Postgres cannot
                // deadlock on them; the reviews are then inserted in mention order.
                let mut brands: Vec<i64> = candidates
                    .iter()
                    .filter(|(_, _, s)| *s == earshot_domain::ReviewStatus::Approved)
                    .map(|(brand_id, _, _)| *brand_id)
                    .collect();
                brands.sort_unstable();
                brands.dedup();
                for brand_id in brands {
                    sqlx::query(LOCK_FEED_VERSION)
                        .bind(brand_id)
                        .execute(&mut **tx)
                        .await?;
                }
                for (brand_id, id, status) in candidates {
                    let approved = status == earshot_domain::ReviewStatus::Approved;
                    sqlx::query(INSERT_REVIEW)
                        .bind(id.0)
                        .bind(brand_id)
                        .bind(status.as_str())
                        .bind(approved.then_some(auto.name.as_str()))
                        .bind(approved.then_some(now.as_millis()))
                        .bind(now.as_millis())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// The `open` event of an alert that Earshot opened, saying why.
            async fn insert_open_event(
                tx: &mut sqlx::Transaction<'_, $db>,
                alert: i64,
                why: String,
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query($crate::alerts::INSERT_EVENT)
                    .bind(alert)
                    .bind(now.as_millis())
                    .bind(&earshot_domain::Actor::earshot().name)
                    .bind(None::<i64>)
                    .bind(earshot_domain::AlertAction::Open.as_str())
                    .bind(None::<&str>)
                    .bind(Some(earshot_domain::AlertStatus::Open.as_str()))
                    .bind(None::<&str>)
                    .bind(Some(why))
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            /// A crawl's effect on its source's health, inside the crawl's transaction
            /// (after the source's state is written): a failure that reaches
            /// `unhealthy_after` marks the source unhealthy and, only when it was
            /// healthy, opens its source alert; a crawl that did not fail marks it
            /// healthy and resolves its live source alerts (see [`crate::CrawlRecord`]).
            /// True when it opened a source alert.
            async fn record_health(
                tx: &mut sqlx::Transaction<'_, $db>,
                source: earshot_domain::SourceId,
                record: &$crate::CrawlRecord,
            ) -> Result<bool, $crate::StoreError> {
                use $crate::alerts::*;
                let now = record.finished_at;
                let failures = record.state.error_count;
                match (&record.error, record.unhealthy_after) {
                    (Some(error), Some(after)) if after.reached_by(failures) => {
                        let became = sqlx::query(MARK_UNHEALTHY)
                            .bind(source.0)
                            .bind(now.as_millis())
                            .execute(&mut **tx)
                            .await?
                            .rows_affected();
                        if became == 1 {
                            Self::open_source_alert(tx, source, failures, error, now).await?;
                            return Ok(true);
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        let recovered = sqlx::query(MARK_HEALTHY)
                            .bind(source.0)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected();
                        if recovered == 1 {
                            Self::resolve_source_alerts(tx, source, now).await?;
                        }
                    }
                }
                Ok(false)
            }

            /// Opens the `source` alert of a source that has just become unhealthy,
            /// with its `open` event.
            async fn open_source_alert(
                tx: &mut sqlx::Transaction<'_, $db>,
                source: earshot_domain::SourceId,
                failures: i64,
                error: &str,
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::alerts::*;
                let details = SourceDetails {
                    unhealthy_since: now.as_millis(),
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                    last_error: Some(error.to_owned()),
                };
                let alert: i64 = sqlx::query_scalar(INSERT_SOURCE_ALERT)
                    .bind(source.0)
                    .bind($crate::shared::json(&details))
                    .bind(now.as_millis())
                    .fetch_one(&mut **tx)
                    .await?;
                let why = format!("{failures} crawls in a row failed; the last: {error}");
                Self::insert_open_event(tx, alert, why, now).await
            }

            /// Resolves a recovered source's open or acknowledged source alerts, each
            /// with a `resolve` event by Earshot.
            async fn resolve_source_alerts(
                tx: &mut sqlx::Transaction<'_, $db>,
                source: earshot_domain::SourceId,
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                use $crate::alerts::*;
                use earshot_domain::{AlertAction, AlertStatus};
                let live: Vec<(i64, String)> = sqlx::query_as(SELECT_LIVE_SOURCE_ALERTS)
                    .bind(source.0)
                    .fetch_all(&mut **tx)
                    .await?;
                let resolved = AlertStatus::Resolved.as_str();
                for (alert, status) in live {
                    sqlx::query(SET_ALERT_STATUS)
                        .bind(alert)
                        .bind(&status)
                        .bind(resolved)
                        .bind(now.as_millis())
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query(INSERT_EVENT)
                        .bind(alert)
                        .bind(now.as_millis())
                        .bind(&earshot_domain::Actor::earshot().name)
                        .bind(None::<i64>)
                        .bind(AlertAction::Resolve.as_str())
                        .bind(Some(status.as_str()))
                        .bind(Some(resolved))
                        .bind(None::<&str>)
                        .bind(Some("the source recovered: a crawl succeeded"))
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// Opens an alert for each of these freshly saved negative sentiments that an
            /// active rule matches, inside the caller's transaction (which has written
            /// already, so reading here is safe on SQLite). Returns how many it opened.
            async fn open_alerts(
                tx: &mut sqlx::Transaction<'_, $db>,
                negative: &[(earshot_domain::MentionId, &earshot_domain::Sentiment)],
                now: earshot_domain::Timestamp,
            ) -> Result<u64, $crate::StoreError> {
                use $crate::alerts::*;
                let rules = sqlx::query(SELECT_RULES)
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(rule_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                if rules.is_empty() {
                    return Ok(0);
                }
                let mut opened_count = 0;
                for (id, sentiment) in negative {
                    let found: Option<(i64, String, String)> = sqlx::query_as(MENTION_BRAND_SOURCE)
                        .bind(id.0)
                        .fetch_optional(&mut **tx)
                        .await?;
                    let Some((brand_id, slug, source)) = found else {
                        continue;
                    };
                    let brand = $crate::shared::brand_slug(slug)?;
                    let source = $crate::shared::source_name(source)?;
                    let Some((rule, severity)) =
                        earshot_domain::alert_for(&rules, &brand, &source, sentiment)
                    else {
                        continue;
                    };
                    let opened: Option<i64> = sqlx::query_scalar(INSERT_ALERT)
                        .bind(id.0)
                        .bind(brand_id)
                        .bind(rule.0)
                        .bind(severity.as_str())
                        .bind(now.as_millis())
                        .fetch_optional(&mut **tx)
                        .await?;
                    let Some(alert) = opened else {
                        continue; // the mention has its alert already
                    };
                    let opener = rules.iter().find(|r| r.id == rule);
                    let threshold = opener.map_or(0.0, |r| r.spec.threshold.value());
                    if let Some(opener) = opener {
                        Self::enqueue_notifications(
                            tx,
                            earshot_domain::AlertId(alert),
                            &opener.spec.channels,
                            now,
                        )
                        .await?;
                    }
                    let why = format!(
                        "P(negative) {:.2} reached rule {}'s threshold {threshold:.2}",
                        sentiment.probabilities[0], rule.0
                    );
                    Self::insert_open_event(tx, alert, why, now).await?;
                    opened_count += 1;
                }
                Ok(opened_count)
            }

            /// Queues a notification of a newly opened alert for each of `channels`,
            /// due at once, inside the caller's transaction: the alert and its
            /// notifications commit together or not at all. Every path that opens an
            /// alert calls this in the transaction that inserts it. A pair already
            /// queued is left as it is.
            pub(crate) async fn enqueue_notifications(
                tx: &mut sqlx::Transaction<'_, $db>,
                alert: earshot_domain::AlertId,
                channels: &[earshot_domain::ChannelName],
                now: earshot_domain::Timestamp,
            ) -> Result<(), $crate::StoreError> {
                for channel in channels {
                    sqlx::query($crate::notifications::INSERT_NOTIFICATION)
                        .bind(alert.0)
                        .bind(channel.as_str())
                        .bind(now.as_millis())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// Every source a rule names must be a live source.
            async fn check_rule_sources(
                &self,
                spec: &earshot_domain::AlertRuleSpec,
            ) -> Result<(), $crate::StoreError> {
                for name in spec.sources.iter().flatten() {
                    let n: i64 = sqlx::query_scalar($crate::alerts::SOURCE_EXISTS)
                        .bind(name.as_str())
                        .fetch_one(&self.pool)
                        .await?;
                    if n == 0 {
                        return Err($crate::StoreError::UnknownSource(name.to_string()));
                    }
                }
                Ok(())
            }

            /// Why an API change to rule `id` cannot happen (it does not exist, or it comes
            /// from the config), if it cannot.
            async fn rule_refusal(
                &self,
                id: earshot_domain::AlertRuleId,
            ) -> Result<Option<$crate::RuleChange>, $crate::StoreError> {
                let origin: Option<String> = sqlx::query_scalar($crate::alerts::RULE_ORIGIN)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match origin.as_deref() {
                    None => Some($crate::RuleChange::NotFound),
                    Some("api") => None,
                    Some(_) => Some($crate::RuleChange::FromConfig),
                })
            }

            /// A live brand, as [`crate::Store::brands`] lists it.
            async fn live_brand(
                &self,
                slug: &earshot_domain::BrandSlug,
            ) -> Result<$crate::Change<$crate::StoredBrand>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM brands WHERE slug = $1 AND retired_at IS NULL",
                    $crate::setup::BRAND_COLUMNS
                );
                let row = sqlx::query(&sql)
                    .bind(slug.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => $crate::Change::Done($crate::setup::brand_from_row(&r)?),
                    None => $crate::Change::NotFound,
                })
            }

            /// A live source, as [`crate::Store::sources`] lists it.
            async fn live_source(
                &self,
                name: &earshot_domain::SourceName,
            ) -> Result<$crate::Change<$crate::StoredSource>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM sources WHERE name = $1 AND retired_at IS NULL",
                    $crate::shared::SOURCE_COLUMNS
                );
                let row = sqlx::query(&sql)
                    .bind(name.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match row {
                    Some(r) => $crate::Change::Done($crate::shared::source_from_row(&r)?),
                    None => $crate::Change::NotFound,
                })
            }

            /// `sql` with a brand bound as the API's brand statements take it: `$1` slug,
            /// `$2` name, `$3` terms, `$4` exclusions, `$5`/`$6` auto-approve bounds, `$7`
            /// the time.
            fn brand_query<'q>(
                sql: &'q str,
                brand: &'q earshot_domain::Brand,
                now: earshot_domain::Timestamp,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                use $crate::setup::*;
                let (min_rating, min_positive) = auto_approve_columns(brand);
                sqlx::query(sql)
                    .bind(brand.slug.as_str())
                    .bind(&brand.name)
                    .bind(terms_json(&brand.terms))
                    .bind(terms_json(&brand.exclude))
                    .bind(min_rating)
                    .bind(min_positive)
                    .bind(now.as_millis())
            }

            /// `sql` with a source bound as every source statement takes it: `$1` name,
            /// `$2` kind, `$3` URL, `$4` interval in seconds, `$5` the time, `$6` the recipe
            /// (JSON), `$7` the host interval in milliseconds.
            fn source_query<'q>(
                sql: &'q str,
                source: &'q earshot_domain::Source,
                now: earshot_domain::Timestamp,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                sqlx::query(sql)
                    .bind(source.name.as_str())
                    .bind(source.kind.as_str())
                    .bind(source.url.as_str())
                    .bind($crate::shared::secs(source.every))
                    .bind(now.as_millis())
                    .bind(source.recipe.as_ref().map($crate::shared::json))
                    .bind(source.host_interval.map($crate::shared::millis))
            }

            /// Retires the live API brand or source `key` with `retire_sql` (`$1` the key,
            /// `$2` the time), or says why not, from its origin (`origin_sql`).
            async fn retire_api(
                &self,
                retire_sql: &str,
                origin_sql: &str,
                key: &str,
                now: earshot_domain::Timestamp,
            ) -> Result<$crate::Change<()>, $crate::StoreError> {
                let done = sqlx::query(retire_sql)
                    .bind(key)
                    .bind(now.as_millis())
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return self.refusal(origin_sql, key).await;
                }
                Ok($crate::Change::Done(()))
            }

            /// Why an API change matched no row: there is no live `key`
            /// ([`crate::Change::NotFound`]), or the config file defines it
            /// ([`crate::Change::FromConfig`]). `origin_sql` selects a live row's origin.
            async fn refusal<T>(
                &self,
                origin_sql: &str,
                key: &str,
            ) -> Result<$crate::Change<T>, $crate::StoreError> {
                let origin: Option<String> = sqlx::query_scalar(origin_sql)
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(match origin.as_deref() {
                    Some("config") => $crate::Change::FromConfig,
                    _ => $crate::Change::NotFound,
                })
            }
        }
    };
}

pub(crate) use impl_store;

use crate::{CrawlRun, StoreError, StoredSource};
use earshot_domain::{
    Actor, ApiKeyId, BrandSlug, Correction, Label, Mention, MentionId, Origin, Sentiment, Source,
    SourceId, SourceKind, SourceName, SourceState, SourceUrl, Timestamp,
};
use std::time::Duration;

/// A value as stored in a JSON text column. The values stored so (lists of strings,
/// recipes) always serialise; `null` stands in should one ever not.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

/// A stored value that no longer parses.
pub(crate) fn corrupt(e: earshot_domain::InvalidValue) -> StoreError {
    StoreError::Corrupt(e.0)
}

pub(crate) fn brand_slug(raw: String) -> Result<BrandSlug, StoreError> {
    BrandSlug::parse(&raw).map_err(|e| StoreError::Corrupt(e.0))
}

pub(crate) fn source_name(raw: String) -> Result<SourceName, StoreError> {
    SourceName::parse(&raw).map_err(|e| StoreError::Corrupt(e.0))
}

/// Rebuilds a source row (columns in [`SOURCE_COLUMNS`] order) into domain values. A row
/// that no longer parses (say, a kind this build does not know) is reported as corrupt
/// rather than guessed at.
pub(crate) fn source_from_row<R>(r: &R) -> Result<StoredSource, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |e: earshot_domain::InvalidValue| StoreError::Corrupt(e.0);
    let name: String = r.try_get(1)?;
    let kind: String = r.try_get(2)?;
    let url: String = r.try_get(3)?;
    Ok(StoredSource {
        id: SourceId(r.try_get(0)?),
        source: Source {
            name: SourceName::parse(&name).map_err(corrupt)?,
            kind: SourceKind::parse(&kind).map_err(corrupt)?,
            url: SourceUrl::parse(&url).map_err(corrupt)?,
            every: Duration::from_secs(unsigned(r.try_get(4)?)),
            recipe: match r.try_get::<Option<String>, _>(13)? {
                Some(raw) => Some(serde_json::from_str(&raw).map_err(|e| {
                    StoreError::Corrupt(format!("source {name}: recipe {raw:?}: {e}"))
                })?),
                None => None,
            },
            host_interval: r
                .try_get::<Option<i64>, _>(14)?
                .map(|ms| Duration::from_millis(unsigned(ms))),
        },
        retired_at: ts(r.try_get(5)?),
        state: SourceState {
            next_check_at: ts(r.try_get(6)?),
            etag: r.try_get(7)?,
            last_modified: r.try_get(8)?,
            error_count: r.try_get(9)?,
            last_error: r.try_get(10)?,
            last_success_at: ts(r.try_get(11)?),
        },
        origin: Origin::parse(&r.try_get::<String, _>(12)?).map_err(corrupt)?,
        health: earshot_domain::SourceHealth {
            unhealthy_since: ts(r.try_get(15)?),
        },
        lease_taken_from: r.try_get(16)?,
    })
}

/// Rebuilds the first [`MENTION_COLUMNS`] columns of a row: [`mention_columns!`].
pub(crate) fn mention_from_row<R>(r: &R) -> Result<Mention, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(Mention {
        id: MentionId(r.try_get(0)?),
        brand: brand_slug(r.try_get(1)?)?,
        source: source_name(r.try_get(2)?)?,
        url: r.try_get(3)?,
        title: r.try_get(4)?,
        snippet: r.try_get(5)?,
        matched_term: r.try_get(6)?,
        author: r.try_get(7)?,
        published_at: ts(r.try_get(8)?),
        discovered_at: Timestamp::from_millis(r.try_get(9)?),
        rating: r.try_get(10)?,
        sentiment: sentiment_from_row(r)?,
        correction: correction_from_row(r)?,
    })
}

/// The correction columns of [`mention_columns!`] (19 to 22), absent when nobody
/// corrected the mention.
fn correction_from_row<R>(r: &R) -> Result<Option<Correction>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let Some(label) = r.try_get::<Option<String>, _>(19)? else {
        return Ok(None);
    };
    Ok(Some(Correction {
        label: Label::parse(&label).map_err(|e| StoreError::Corrupt(e.0))?,
        by: actor(r.try_get(21)?, r.try_get(20)?),
        at: Timestamp::from_millis(r.try_get(22)?),
    }))
}

/// Who did something, as stored: the key's id (none for Earshot) and its name then.
pub(crate) fn actor(key_id: Option<i64>, name: String) -> Actor {
    Actor {
        key_id: key_id.map(ApiKeyId),
        name,
    }
}

/// The sentiment columns of [`mention_columns!`] (11 to 18, and the signals 23 to 26),
/// absent when the mention has not been classified.
fn sentiment_from_row<R>(r: &R) -> Result<Option<Sentiment>, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let signal = |p: usize| -> Result<Option<earshot_domain::Signal>, StoreError> {
        let probability: Option<f64> = r.try_get(p)?;
        let flagged: Option<i64> = r.try_get(p + 1)?;
        Ok(probability.map(|probability| earshot_domain::Signal {
            probability: probability as f32,
            flagged: flagged == Some(1),
        }))
    };
    let Some(label) = r.try_get::<Option<String>, _>(11)? else {
        return Ok(None);
    };
    let label_of = |raw: &str| Label::parse(raw).map_err(|e| StoreError::Corrupt(e.0));
    let p = |i: usize| -> Result<f32, StoreError> { Ok(r.try_get::<f64, _>(i)? as f32) };
    Ok(Some(Sentiment {
        label: label_of(&label)?,
        model_label: label_of(&r.try_get::<String, _>(12)?)?,
        probabilities: [p(13)?, p(14)?, p(15)?],
        score: p(16)?,
        language: r.try_get(17)?,
        model: r.try_get(18)?,
        embedding: Vec::new(),
        signals: earshot_domain::Signals {
            hate: signal(23)?,
            mixed: signal(25)?,
        },
    }))
}

/// An embedding as stored: f32 little-endian, 4 bytes per dimension.
pub(crate) fn embedding_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Rebuilds a row of [`SELECT_CRAWL_RUNS`].
pub(crate) fn crawl_run_from_row<R>(r: &R) -> Result<CrawlRun, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let status: Option<i64> = r.try_get(4)?;
    Ok(CrawlRun {
        id: r.try_get(0)?,
        source: source_name(r.try_get(1)?)?,
        started_at: Timestamp::from_millis(r.try_get(2)?),
        finished_at: Timestamp::from_millis(r.try_get(3)?),
        http_status: status.and_then(|s| u16::try_from(s).ok()),
        bytes: unsigned(r.try_get(5)?),
        items_seen: unsigned(r.try_get(6)?),
        new_mentions: unsigned(r.try_get(7)?),
        error: r.try_get(8)?,
        problems: match r.try_get::<Option<String>, _>(9)? {
            Some(raw) => serde_json::from_str(&raw)
                .map_err(|e| StoreError::Corrupt(format!("crawl run problems {raw:?}: {e}")))?,
            None => Vec::new(),
        },
    })
}
