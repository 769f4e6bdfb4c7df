//! The SQL for alert rules, alerts (of every kind: mention, spike, source), their
//! history and sentiment corrections, shared by both backends.
//!
//! Every alert is inserted by one of three clearly named paths, each with its `open`
//! event in the same transaction: `open_alerts` (mention alerts, when sentiments are
//! saved), `open_spike_alert` (spike alerts) and `open_source_alert` (when a crawl makes
//! a source unhealthy). Anything that must follow every new alert belongs there.
//!
//! A rule's source and language lists are JSON arrays in TEXT columns (NULL for "any"),
//! like a brand's terms. Statuses, severities and actions are stored as the words the
//! API uses, and parsed back through the domain types, so a row this build does not
//! understand is reported as corrupt rather than guessed at.

use crate::shared::{
    actor, corrupt, mention_columns, mention_from_row, mention_joins, MENTION_COLUMNS,
};
use crate::StoreError;
use earshot_domain::{
    Alert, AlertAction, AlertEvent, AlertId, AlertKind, AlertRule, AlertRuleId, AlertRuleSpec,
    AlertStatus, AlertSubject, BrandSlug, ChannelName, LanguageCode, MentionId, Origin, Severity,
    SourceAlert, SourceName, SpikeAlert, Threshold, Timestamp,
};

pub(crate) const INSERT_CORRECTION: &str = "INSERT INTO sentiment_corrections
    (mention_id, label, actor, actor_key_id, corrected_at)
    SELECT id, $2, $3, $4, $5 FROM mentions WHERE id = $1";

/// The columns [`rule_from_row`] reads, from `alert_rules r` joined to `brands b`.
macro_rules! rule_select {
    () => {
        "SELECT r.id, b.slug, r.threshold, r.sources, r.languages, r.origin, r.created_at,
            r.updated_at, r.channels
        FROM alert_rules r JOIN brands b ON b.id = r.brand_id
        WHERE r.retired_at IS NULL "
    };
}

pub(crate) const SELECT_RULES: &str = concat!(rule_select!(), "ORDER BY r.id");

pub(crate) const SELECT_RULE: &str = concat!(rule_select!(), "AND r.id = $1");

/// The config rules retired at `$1`, that is, by the first step of a config sync.
pub(crate) const SELECT_RULES_RETIRED_AT: &str = "SELECT r.id, b.slug, r.threshold, r.sources,
        r.languages, r.origin, r.created_at, r.updated_at, r.channels
    FROM alert_rules r JOIN brands b ON b.id = r.brand_id
    WHERE r.origin = 'config' AND r.retired_at = $1
    ORDER BY r.id";

pub(crate) const RETIRE_CONFIG_RULES: &str =
    "UPDATE alert_rules SET retired_at = $1 WHERE origin = 'config' AND retired_at IS NULL";

pub(crate) const UNRETIRE_RULE: &str = "UPDATE alert_rules SET retired_at = NULL WHERE id = $1";

/// Inserts a rule for the brand with slug `$1`; no row comes back if there is none.
pub(crate) const INSERT_RULE: &str = "INSERT INTO alert_rules
    (brand_id, threshold, sources, languages, origin, created_at, updated_at, channels)
    SELECT id, $2, $3, $4, $5, $6, $6, $7 FROM brands WHERE slug = $1
    RETURNING id";

pub(crate) const RULE_ORIGIN: &str =
    "SELECT origin FROM alert_rules WHERE id = $1 AND retired_at IS NULL";

pub(crate) const UPDATE_RULE: &str = "UPDATE alert_rules
    SET brand_id = (SELECT id FROM brands WHERE slug = $2), threshold = $3, sources = $4,
        languages = $5, updated_at = $6, channels = $7
    WHERE id = $1 AND origin = 'api' AND retired_at IS NULL
      AND EXISTS (SELECT 1 FROM brands WHERE slug = $2)";

pub(crate) const RETIRE_RULE: &str = "UPDATE alert_rules SET retired_at = $2, updated_at = $2
    WHERE id = $1 AND origin = 'api' AND retired_at IS NULL";

pub(crate) const BRAND_EXISTS: &str = "SELECT COUNT(*) FROM brands WHERE slug = $1";

pub(crate) const SOURCE_EXISTS: &str =
    "SELECT COUNT(*) FROM sources WHERE name = $1 AND retired_at IS NULL";

/// What a rule needs to know about a freshly classified mention.
pub(crate) const MENTION_BRAND_SOURCE: &str = "SELECT m.brand_id, b.slug, s.name
    FROM mentions m JOIN brands b ON b.id = m.brand_id JOIN sources s ON s.id = m.source_id
    WHERE m.id = $1";

/// Opens an alert unless the mention has one; returns the new alert's id.
pub(crate) const INSERT_ALERT: &str = "INSERT INTO alerts
    (mention_id, brand_id, rule_id, severity, status, opened_at, updated_at)
    VALUES ($1, $2, $3, $4, 'open', $5, $5)
    ON CONFLICT (mention_id) DO NOTHING
    RETURNING id";

pub(crate) const INSERT_EVENT: &str = "INSERT INTO alert_events
    (alert_id, at, actor, actor_key_id, action, from_status, to_status, assignee, note)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// A compare-and-set on the status, so concurrent actors cannot both move one alert
/// from the same status.
pub(crate) const SET_ALERT_STATUS: &str =
    "UPDATE alerts SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2";

pub(crate) const ALERT_STATUS: &str = "SELECT status FROM alerts WHERE id = $1";

/// `$2`/`$4` say whether to set the assignee/notes (1) or leave them (0).
pub(crate) const EDIT_ALERT: &str = "UPDATE alerts
    SET assignee = CASE WHEN $2 = 1 THEN $3 ELSE assignee END,
        notes = CASE WHEN $4 = 1 THEN $5 ELSE notes END,
        updated_at = $6
    WHERE id = $1";

/// The alert columns after the mention's in [`SELECT_ALERTS`] and [`SELECT_ALERT`]. The
/// mention is a left join: spike and source alerts have none, and their mention columns
/// are NULL.
macro_rules! alert_select {
    () => {
        concat!(
            "SELECT ",
            mention_columns!(),
            ", a.id, a.status, a.severity, a.rule_id, a.assignee, a.notes, a.opened_at,
                a.updated_at, a.kind, a.details,
                (SELECT slug FROM brands WHERE id = a.brand_id),
                (SELECT name FROM sources WHERE id = a.source_id)
            FROM alerts a LEFT JOIN mentions m ON m.id = a.mention_id",
            mention_joins!()
        )
    };
}

pub(crate) const SELECT_ALERTS: &str = concat!(
    alert_select!(),
    "WHERE (CAST($1 AS TEXT) IS NULL OR a.status = $1)
      AND (CAST($2 AS TEXT) IS NULL OR a.brand_id = (SELECT id FROM brands WHERE slug = $2))
      AND (CAST($3 AS TEXT) IS NULL OR a.severity = $3)
      AND (CAST($4 AS BIGINT) IS NULL OR a.id < $4)
      AND (CAST($6 AS TEXT) IS NULL OR a.kind = $6)
    ORDER BY a.id DESC
    LIMIT $5"
);

pub(crate) const SELECT_ALERT: &str = concat!(alert_select!(), "WHERE a.id = $1");

/// A brand's negative mentions in `$2..$3` per hour, counted from `$2` (on the hour):
/// `$1` the brand's slug. `discovered_at >= $2` bounds the scan by the discovery index
/// (a mention is discovered after it is published, so it loses only mentions dated in
/// the future).
pub(crate) const SELECT_NEGATIVE_HOURS: &str = "SELECT
        (COALESCE(m.published_at, m.discovered_at) - $2) / 3600000, COUNT(*)
    FROM mentions m JOIN sentiments t ON t.mention_id = m.id
    WHERE m.brand_id = (SELECT id FROM brands WHERE slug = $1)
      AND t.label = 'negative'
      AND m.discovered_at >= $2
      AND COALESCE(m.published_at, m.discovered_at) >= $2
      AND COALESCE(m.published_at, m.discovered_at) < $3
    GROUP BY 1
    ORDER BY 1";

/// When the brand with slug `$1` had its first mention discovered (ids grow with
/// discovery, so the brand index finds it at once).
pub(crate) const SELECT_FIRST_DISCOVERED: &str = "SELECT discovered_at FROM mentions
    WHERE brand_id = (SELECT id FROM brands WHERE slug = $1)
    ORDER BY id LIMIT 1";

/// The hour of the latest spike alert of the brand with slug `$1`.
pub(crate) const SELECT_LAST_SPIKE: &str = "SELECT c.hour FROM spike_cooldowns c
    JOIN brands b ON b.id = c.brand_id WHERE b.slug = $1";

/// Moves the brand's spike cooldown to hour `$2` if that is at least `$3` ms after its
/// last spike's hour (or it has none), in one statement; a row comes back (the brand's
/// id) only then. Concurrent callers serialise on the brand's row, and the loser sees
/// the winner's hour.
pub(crate) const CLAIM_SPIKE_HOUR: &str = "INSERT INTO spike_cooldowns (brand_id, hour)
    SELECT id, $2 FROM brands WHERE slug = $1
    ON CONFLICT (brand_id) DO UPDATE SET hour = excluded.hour
        WHERE spike_cooldowns.hour + $3 <= excluded.hour
    RETURNING brand_id";

/// The brand `$1`'s negative mentions in the hour `$2..$3`, oldest first, at most `$4`.
pub(crate) const SELECT_SPIKE_MENTIONS: &str = "SELECT m.id
    FROM mentions m JOIN sentiments t ON t.mention_id = m.id
    WHERE m.brand_id = $1 AND t.label = 'negative'
      AND m.discovered_at >= $2
      AND COALESCE(m.published_at, m.discovered_at) >= $2
      AND COALESCE(m.published_at, m.discovered_at) < $3
    ORDER BY m.id
    LIMIT $4";

/// Opens a spike alert: `$1` brand id, `$2` hour, `$3` details JSON, `$4` now.
pub(crate) const INSERT_SPIKE_ALERT: &str = "INSERT INTO alerts
    (kind, brand_id, spike_hour, details, severity, status, opened_at, updated_at)
    VALUES ('spike', $1, $2, $3, 'high', 'open', $4, $4)
    ON CONFLICT (brand_id, spike_hour) DO NOTHING
    RETURNING id";

/// Marks source `$1` unhealthy since `$2` unless it is already; changes a row only the
/// first time.
pub(crate) const MARK_UNHEALTHY: &str =
    "UPDATE sources SET unhealthy_since = $2 WHERE id = $1 AND unhealthy_since IS NULL";

/// Marks source `$1` healthy; changes a row only if it was unhealthy.
pub(crate) const MARK_HEALTHY: &str =
    "UPDATE sources SET unhealthy_since = NULL WHERE id = $1 AND unhealthy_since IS NOT NULL";

/// Opens a source alert: `$1` source id, `$2` details JSON, `$3` now.
pub(crate) const INSERT_SOURCE_ALERT: &str = "INSERT INTO alerts
    (kind, source_id, details, severity, status, opened_at, updated_at)
    VALUES ('source', $1, $2, 'medium', 'open', $3, $3)
    RETURNING id";

/// Source `$1`'s source alerts that are still open or acknowledged.
pub(crate) const SELECT_LIVE_SOURCE_ALERTS: &str = "SELECT id, status FROM alerts
    WHERE kind = 'source' AND source_id = $1 AND status IN ('open', 'acknowledged')
    ORDER BY id";

/// A spike alert's `details`, as stored.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SpikeDetails {
    pub hour: i64,
    pub count: u32,
    pub mean: f64,
    pub stddev: f64,
    pub threshold: f64,
    pub k: f64,
    pub history_hours: u32,
    pub mention_ids: Vec<i64>,
}

/// A source alert's `details`, as stored.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct SourceDetails {
    pub unhealthy_since: i64,
    pub failures: u32,
    pub last_error: Option<String>,
}

pub(crate) const SELECT_EVENTS: &str = "SELECT at, actor, actor_key_id, action, from_status,
        to_status, assignee, note
    FROM alert_events WHERE alert_id = $1 ORDER BY id";

/// A rule's list as stored: a JSON array, or NULL for "any".
pub(crate) fn list_json<T>(items: &Option<Vec<T>>, text: impl Fn(&T) -> &str) -> Option<String> {
    items.as_ref().map(|xs| {
        let strs: Vec<&str> = xs.iter().map(text).collect();
        crate::shared::json(&strs)
    })
}

pub(crate) fn sources_json(spec: &AlertRuleSpec) -> Option<String> {
    list_json(&spec.sources, SourceName::as_str)
}

pub(crate) fn languages_json(spec: &AlertRuleSpec) -> Option<String> {
    list_json(&spec.languages, LanguageCode::as_str)
}

/// A rule's channels as stored: a JSON array, or NULL for none.
pub(crate) fn channels_json(spec: &AlertRuleSpec) -> Option<String> {
    let channels = (!spec.channels.is_empty()).then(|| spec.channels.clone());
    list_json(&channels, ChannelName::as_str)
}

fn parse_list<T>(
    raw: Option<String>,
    parse: impl Fn(&str) -> Result<T, earshot_domain::InvalidValue>,
) -> Result<Option<Vec<T>>, StoreError> {
    let Some(raw) = raw else { return Ok(None) };
    let strs: Vec<String> = serde_json::from_str(&raw)
        .map_err(|e| StoreError::Corrupt(format!("rule list {raw:?}: {e}")))?;
    strs.iter()
        .map(|s| parse(s).map_err(corrupt))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Rebuilds a row of [`rule_select!`] (or [`SELECT_RULES_RETIRED_AT`]).
pub(crate) fn rule_from_row<R>(r: &R) -> Result<AlertRule, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let slug: String = r.try_get(1)?;
    let origin: String = r.try_get(5)?;
    let spec = AlertRuleSpec::new(
        BrandSlug::parse(&slug).map_err(corrupt)?,
        Threshold::new(r.try_get(2)?).map_err(corrupt)?,
        parse_list(r.try_get(3)?, SourceName::parse)?,
        parse_list(r.try_get(4)?, LanguageCode::parse)?,
    )
    .map_err(corrupt)?
    .with_channels(parse_list(r.try_get(8)?, ChannelName::parse)?.unwrap_or_default());
    Ok(AlertRule {
        id: AlertRuleId(r.try_get(0)?),
        spec,
        origin: Origin::parse(&origin).map_err(corrupt)?,
        created_at: Timestamp::from_millis(r.try_get(6)?),
        updated_at: Timestamp::from_millis(r.try_get(7)?),
    })
}

/// Rebuilds a row of [`SELECT_ALERTS`] or [`SELECT_ALERT`]: the mention (NULL for spike
/// and source alerts), then the alert.
pub(crate) fn alert_from_row<R>(r: &R) -> Result<Alert, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let a = MENTION_COLUMNS;
    let id = AlertId(r.try_get(a)?);
    let status: String = r.try_get(a + 1)?;
    let severity: String = r.try_get(a + 2)?;
    let kind: String = r.try_get(a + 8)?;
    let details = || -> Result<String, StoreError> {
        r.try_get::<Option<String>, _>(a + 9)?
            .ok_or_else(|| StoreError::Corrupt(format!("alert {} has no details", id.0)))
    };
    let bad_details =
        |e: serde_json::Error| StoreError::Corrupt(format!("alert {}'s details: {e}", id.0));
    let subject = match AlertKind::parse(&kind).map_err(corrupt)? {
        AlertKind::Mention => {
            let rule: Option<i64> = r.try_get(a + 3)?;
            AlertSubject::Mention {
                rule_id: AlertRuleId(rule.ok_or_else(|| {
                    StoreError::Corrupt(format!("mention alert {} has no rule", id.0))
                })?),
                mention: Box::new(mention_from_row(r)?),
            }
        }
        AlertKind::Spike => {
            let d: SpikeDetails = serde_json::from_str(&details()?).map_err(bad_details)?;
            let slug: Option<String> = r.try_get(a + 10)?;
            let slug = slug
                .ok_or_else(|| StoreError::Corrupt(format!("spike alert {} has no brand", id.0)))?;
            AlertSubject::Spike {
                brand: BrandSlug::parse(&slug).map_err(corrupt)?,
                spike: SpikeAlert {
                    hour: Timestamp::from_millis(d.hour),
                    count: d.count,
                    mean: d.mean,
                    stddev: d.stddev,
                    threshold: d.threshold,
                    k: d.k,
                    history_hours: d.history_hours,
                    mention_ids: d.mention_ids.into_iter().map(MentionId).collect(),
                },
            }
        }
        AlertKind::Source => {
            let d: SourceDetails = serde_json::from_str(&details()?).map_err(bad_details)?;
            let name: Option<String> = r.try_get(a + 11)?;
            let name = name.ok_or_else(|| {
                StoreError::Corrupt(format!("source alert {} has no source", id.0))
            })?;
            AlertSubject::Source {
                source: SourceAlert {
                    name: SourceName::parse(&name).map_err(corrupt)?,
                    unhealthy_since: Timestamp::from_millis(d.unhealthy_since),
                    failures: d.failures,
                    last_error: d.last_error,
                },
            }
        }
    };
    Ok(Alert {
        id,
        status: AlertStatus::parse(&status).map_err(corrupt)?,
        severity: Severity::parse(&severity).map_err(corrupt)?,
        assignee: r.try_get(a + 4)?,
        notes: r.try_get(a + 5)?,
        opened_at: Timestamp::from_millis(r.try_get(a + 6)?),
        updated_at: Timestamp::from_millis(r.try_get(a + 7)?),
        subject,
    })
}

/// Rebuilds a row of [`SELECT_EVENTS`].
pub(crate) fn event_from_row<R>(r: &R) -> Result<AlertEvent, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let status = |i: usize| -> Result<Option<AlertStatus>, StoreError> {
        r.try_get::<Option<String>, _>(i)?
            .map(|s| AlertStatus::parse(&s).map_err(corrupt))
            .transpose()
    };
    let action: String = r.try_get(3)?;
    Ok(AlertEvent {
        at: Timestamp::from_millis(r.try_get(0)?),
        by: actor(r.try_get(2)?, r.try_get(1)?),
        action: AlertAction::parse(&action).map_err(corrupt)?,
        from: status(4)?,
        to: status(5)?,
        assignee: r.try_get(6)?,
        note: r.try_get(7)?,
    })
}
