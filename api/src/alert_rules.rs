//! `/api/v1/alert-rules`: the admin's alert rules. Rules from the config file are
//! listed here too (`"origin": "config"`) but are changed in the file, not here: a
//! change through the API would be undone at the next start.

use crate::auth::{Caller, ManageAlertRules};
use crate::extract::{nullable, JsonBody, PathId};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use earshot_domain::{
    AlertRule, AlertRuleId, AlertRuleSpec, BrandSlug, ChannelName, InvalidValue, LanguageCode,
    SourceName, Threshold, Timestamp,
};
use earshot_store::RuleChange;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/alert-rules", get(list).post(create))
        .route(
            "/api/v1/alert-rules/{id}",
            get(show).patch(update).delete(retire),
        )
}

#[derive(Debug, Serialize)]
struct Rules {
    items: Vec<AlertRule>,
}

async fn list(
    _: Caller<ManageAlertRules>,
    State(state): State<AppState>,
) -> Result<Json<Rules>, ApiError> {
    let items = state.store.alert_rules().await?;
    Ok(Json(Rules { items }))
}

async fn show(
    _: Caller<ManageAlertRules>,
    PathId(id): PathId,
    State(state): State<AppState>,
) -> Result<Json<AlertRule>, ApiError> {
    state
        .store
        .alert_rule(AlertRuleId(id))
        .await?
        .map(Json)
        .ok_or_else(|| not_found(id))
}

/// A new rule as sent. `sources` and `languages` left out (or `null`) mean "any";
/// `channels` left out means none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    brand: String,
    threshold: Option<f64>,
    sources: Option<Vec<String>>,
    languages: Option<Vec<String>>,
    channels: Option<Vec<String>>,
}

async fn create(
    _: Caller<ManageAlertRules>,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawRule>,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let spec = spec(raw, &state.channels)?;
    let rule = state
        .store
        .create_alert_rule(&spec, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// A change: fields left out stay as they are; `null` for a list means "any".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleChange {
    brand: Option<String>,
    threshold: Option<f64>,
    #[serde(default, deserialize_with = "nullable")]
    sources: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    languages: Option<Option<Vec<String>>>,
    /// Replaces the rule's channels (`[]` for none).
    channels: Option<Vec<String>>,
}

async fn update(
    _: Caller<ManageAlertRules>,
    PathId(id): PathId,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawRuleChange>,
) -> Result<Json<AlertRule>, ApiError> {
    let old = state
        .store
        .alert_rule(AlertRuleId(id))
        .await?
        .ok_or_else(|| not_found(id))?;
    let sources = match raw.sources {
        Some(list) => parsed(list.as_deref(), SourceName::parse)?,
        None => old.spec.sources,
    };
    let languages = match raw.languages {
        Some(list) => parsed(list.as_deref(), LanguageCode::parse)?,
        None => old.spec.languages,
    };
    let spec = AlertRuleSpec::new(
        match raw.brand {
            Some(b) => BrandSlug::parse(&b)?,
            None => old.spec.brand,
        },
        match raw.threshold {
            Some(t) => Threshold::new(t)?,
            None => old.spec.threshold,
        },
        sources,
        languages,
    )?
    .with_channels(match raw.channels {
        Some(list) => channels(&list, &state.channels)?,
        None => old.spec.channels,
    });
    match state
        .store
        .update_alert_rule(AlertRuleId(id), &spec, Timestamp::now())
        .await?
    {
        RuleChange::Done(rule) => Ok(Json(rule)),
        refused => Err(refusal(id, refused)),
    }
}

async fn retire(
    _: Caller<ManageAlertRules>,
    PathId(id): PathId,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    match state
        .store
        .retire_alert_rule(AlertRuleId(id), Timestamp::now())
        .await?
    {
        RuleChange::Done(_) => Ok(StatusCode::NO_CONTENT),
        refused => Err(refusal(id, refused)),
    }
}

/// A new rule from its raw parts; each error names the bad value.
fn spec(raw: RawRule, known: &[ChannelName]) -> Result<AlertRuleSpec, ApiError> {
    Ok(AlertRuleSpec::new(
        BrandSlug::parse(&raw.brand)?,
        raw.threshold
            .map_or(Ok(Threshold::DEFAULT), Threshold::new)?,
        parsed(raw.sources.as_deref(), SourceName::parse)?,
        parsed(raw.languages.as_deref(), LanguageCode::parse)?,
    )?
    .with_channels(channels(
        raw.channels.as_deref().unwrap_or_default(),
        known,
    )?))
}

/// A rule's channels as sent: each must be one the config defines (`[[channels]]`).
fn channels(raw: &[String], known: &[ChannelName]) -> Result<Vec<ChannelName>, ApiError> {
    raw.iter()
        .map(|c| {
            let name = ChannelName::parse(c)?;
            if known.contains(&name) {
                Ok(name)
            } else {
                Err(ApiError::BadRequest(format!(
                    "channel {name} is not defined; channels are defined in the config file ([[channels]])"
                )))
            }
        })
        .collect()
}

/// A rule's list as sent (`None`: any), each item parsed.
fn parsed<T>(
    raw: Option<&[String]>,
    parse: impl Fn(&str) -> Result<T, InvalidValue>,
) -> Result<Option<Vec<T>>, ApiError> {
    raw.map(|xs| xs.iter().map(|x| parse(x)).collect::<Result<Vec<_>, _>>())
        .transpose()
        .map_err(ApiError::from)
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("there is no alert rule {id}"))
}

fn refusal(id: i64, change: RuleChange) -> ApiError {
    match change {
        RuleChange::FromConfig => ApiError::Conflict(format!(
            "alert rule {id} comes from the config file; change it there ([[alert_rules]])"
        )),
        _ => not_found(id),
    }
}
