//! `/api/v1/sources`: the places Earshot reads, with each one's health (last success,
//! last error, consecutive errors, next check). Every role may list them; the admin
//! adds, changes and retires them. Sources from the config file are listed too
//! (`"origin": "config"`) but are changed in the file. A source made here is due at
//! once; a retired one is no longer crawled, and its mentions stay. A review source's
//! aggregate ratings over time are at `/api/v1/sources/{name}/ratings`.

use crate::auth::{Caller, ManageSetup, ReadSetup};
use crate::extract::{JsonBody, PathText};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use earshot_crawler::forum::CompiledRecipe;
use earshot_domain::{Recipe, Source, SourceKind, SourceName, SourceUrl, Timestamp};
use earshot_store::{Change, SourceRating, StoredSource};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sources", get(list).post(create))
        .route(
            "/api/v1/sources/{name}",
            get(show).patch(update).delete(retire),
        )
        .route("/api/v1/sources/{name}/ratings", get(ratings))
}

/// The interval of a source made without one, as in the config file.
const DEFAULT_EVERY_SECS: i64 = 30 * 60;

#[derive(Debug, Serialize)]
struct Sources {
    items: Vec<StoredSource>,
}

async fn list(
    _: Caller<ReadSetup>,
    State(state): State<AppState>,
) -> Result<Json<Sources>, ApiError> {
    let items = state.store.sources().await?;
    Ok(Json(Sources { items }))
}

async fn show(
    _: Caller<ReadSetup>,
    PathText(name): PathText,
    State(state): State<AppState>,
) -> Result<Json<StoredSource>, ApiError> {
    let name = SourceName::parse(&name)?;
    live(&state, &name).await.map(Json)
}

/// How many aggregate ratings `/ratings` lists.
const RATINGS_LIMIT: u32 = 500;

#[derive(Debug, Serialize)]
struct Ratings {
    items: Vec<SourceRating>,
}

async fn ratings(
    _: Caller<ReadSetup>,
    PathText(name): PathText,
    State(state): State<AppState>,
) -> Result<Json<Ratings>, ApiError> {
    let name = SourceName::parse(&name)?;
    live(&state, &name).await?;
    let items = state.store.source_ratings(&name, RATINGS_LIMIT).await?;
    Ok(Json(Ratings { items }))
}

/// A new source as sent. `kind` defaults to `feed`, `every_secs` to 1800.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    url: String,
    kind: Option<String>,
    every_secs: Option<i64>,
    recipe: Option<Recipe>,
    host_interval_ms: Option<u64>,
}

async fn create(
    _: Caller<ManageSetup>,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawSource>,
) -> Result<(StatusCode, Json<StoredSource>), ApiError> {
    let source = source(
        SourceName::parse(&raw.name)?,
        raw.kind.as_deref().unwrap_or(SourceKind::Feed.as_str()),
        &raw.url,
        raw.every_secs.unwrap_or(DEFAULT_EVERY_SECS),
        raw.recipe,
        raw.host_interval_ms,
    )?;
    match state.store.create_source(&source, Timestamp::now()).await? {
        Change::Done(made) => Ok((StatusCode::CREATED, Json(made))),
        refused => Err(refusal(&source.name, refused)),
    }
}

/// A change: fields left out stay as they are, except that a new kind that takes no
/// recipe drops the old one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSourceChange {
    url: Option<String>,
    kind: Option<String>,
    every_secs: Option<i64>,
    recipe: Option<Recipe>,
    host_interval_ms: Option<u64>,
}

async fn update(
    _: Caller<ManageSetup>,
    PathText(name): PathText,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawSourceChange>,
) -> Result<Json<StoredSource>, ApiError> {
    let name = SourceName::parse(&name)?;
    let old = live(&state, &name).await?.source;
    let every = i64::try_from(old.every.as_secs()).unwrap_or(i64::MAX);
    let kind = raw.kind.as_deref().unwrap_or(old.kind.as_str());
    let takes_recipe = SourceKind::parse(kind)?.takes_recipe();
    let source = source(
        name,
        kind,
        raw.url.as_deref().unwrap_or(old.url.as_str()),
        raw.every_secs.unwrap_or(every),
        raw.recipe.or(old.recipe.filter(|_| takes_recipe)),
        raw.host_interval_ms.or(old
            .host_interval
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))),
    )?;
    match state.store.update_source(&source, Timestamp::now()).await? {
        Change::Done(changed) => Ok(Json(changed)),
        refused => Err(refusal(&source.name, refused)),
    }
}

async fn retire(
    _: Caller<ManageSetup>,
    PathText(name): PathText,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let name = SourceName::parse(&name)?;
    match state.store.retire_source(&name, Timestamp::now()).await? {
        Change::Done(()) => Ok(StatusCode::NO_CONTENT),
        refused => Err(refusal(&name, refused)),
    }
}

/// A source from its raw parts: an http(s) URL with a host, a kind this build reads,
/// an interval from a minute to a week, a recipe that fits the kind and whose selectors
/// parse, and a host interval of at most ten minutes. Each error names the bad value.
fn source(
    name: SourceName,
    kind: &str,
    url: &str,
    every_secs: i64,
    recipe: Option<Recipe>,
    host_interval_ms: Option<u64>,
) -> Result<Source, ApiError> {
    let source = Source {
        name,
        kind: SourceKind::parse(kind)?,
        url: SourceUrl::parse(url)?,
        every: Source::every_from_secs(every_secs)?,
        recipe,
        host_interval: host_interval_ms.map(Duration::from_millis),
    };
    source.check()?;
    if let Some(recipe) = &source.recipe {
        CompiledRecipe::new(recipe)?;
    }
    Ok(source)
}

async fn live(state: &AppState, name: &SourceName) -> Result<StoredSource, ApiError> {
    let sources = state.store.sources().await?;
    sources
        .into_iter()
        .find(|s| s.source.name == *name)
        .ok_or_else(|| not_found(name))
}

fn not_found(name: &SourceName) -> ApiError {
    ApiError::NotFound(format!("there is no source {name}"))
}

fn refusal<T>(name: &SourceName, change: Change<T>) -> ApiError {
    match change {
        Change::FromConfig => ApiError::Conflict(format!(
            "source {name} comes from the config file; change it there ([[sources]])"
        )),
        Change::Taken => ApiError::Conflict(format!(
            "there is already a source {name}; change it with PATCH /api/v1/sources/{name}"
        )),
        _ => not_found(name),
    }
}
