//! `/api/v1/brands`: the brands Earshot matches. Every role may list them; the admin
//! adds, changes and retires them. Brands from the config file are listed too
//! (`"origin": "config"`) but are changed in the file: an API change would be undone at
//! the next start. A retired brand is no longer matched; its mentions, alerts and
//! reviews stay, and creating its slug again brings it back.

use crate::auth::{Caller, ManageSetup, ReadSetup};
use crate::extract::{nullable, JsonBody, PathText};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use earshot_domain::{AutoApprove, Brand, BrandSlug, BrandTerm, Timestamp};
use earshot_store::{Change, StoredBrand};
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/brands", get(list).post(create))
        .route(
            "/api/v1/brands/{slug}",
            get(show).patch(update).delete(retire),
        )
}

#[derive(Debug, Serialize)]
struct Brands {
    items: Vec<StoredBrand>,
}

async fn list(
    _: Caller<ReadSetup>,
    State(state): State<AppState>,
) -> Result<Json<Brands>, ApiError> {
    let items = state.store.brands().await?;
    Ok(Json(Brands { items }))
}

async fn show(
    _: Caller<ReadSetup>,
    PathText(slug): PathText,
    State(state): State<AppState>,
) -> Result<Json<StoredBrand>, ApiError> {
    let slug = BrandSlug::parse(&slug)?;
    live(&state, &slug).await.map(Json)
}

/// An auto-approve rule as sent: at least one bound, each from 0 to 1.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoApprove {
    min_rating: Option<f64>,
    min_positive: Option<f64>,
}

/// A new brand as sent. `exclude` left out means none; `auto_approve` left out (or
/// `null`) means every review waits for a person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrand {
    slug: String,
    name: String,
    terms: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    auto_approve: Option<RawAutoApprove>,
}

async fn create(
    _: Caller<ManageSetup>,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawBrand>,
) -> Result<(StatusCode, Json<StoredBrand>), ApiError> {
    let brand = brand(
        BrandSlug::parse(&raw.slug)?,
        raw.name,
        &raw.terms,
        &raw.exclude,
        raw.auto_approve,
    )?;
    match state.store.create_brand(&brand, Timestamp::now()).await? {
        Change::Done(made) => Ok((StatusCode::CREATED, Json(made))),
        refused => Err(refusal(&brand.slug, refused)),
    }
}

/// A change: fields left out stay as they are; `"auto_approve": null` removes the rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrandChange {
    name: Option<String>,
    terms: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    auto_approve: Option<Option<RawAutoApprove>>,
}

async fn update(
    _: Caller<ManageSetup>,
    PathText(slug): PathText,
    State(state): State<AppState>,
    JsonBody(raw): JsonBody<RawBrandChange>,
) -> Result<Json<StoredBrand>, ApiError> {
    let slug = BrandSlug::parse(&slug)?;
    let old = live(&state, &slug).await?.brand;
    let strings = |terms: &[BrandTerm]| terms.iter().map(|t| t.as_str().to_owned()).collect();
    let auto_approve = match raw.auto_approve {
        Some(rule) => rule,
        None => old.auto_approve.map(|r| RawAutoApprove {
            min_rating: r.min_rating(),
            min_positive: r.min_positive(),
        }),
    };
    let brand = brand(
        slug,
        raw.name.unwrap_or(old.name),
        &raw.terms.unwrap_or_else(|| strings(&old.terms)),
        &raw.exclude.unwrap_or_else(|| strings(&old.exclude)),
        auto_approve,
    )?;
    match state.store.update_brand(&brand, Timestamp::now()).await? {
        Change::Done(changed) => Ok(Json(changed)),
        refused => Err(refusal(&brand.slug, refused)),
    }
}

async fn retire(
    _: Caller<ManageSetup>,
    PathText(slug): PathText,
    State(state): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let slug = BrandSlug::parse(&slug)?;
    match state.store.retire_brand(&slug, Timestamp::now()).await? {
        Change::Done(()) => Ok(StatusCode::NO_CONTENT),
        refused => Err(refusal(&slug, refused)),
    }
}

/// A brand from its raw parts, checked as the config file's are; each error names the
/// bad value.
fn brand(
    slug: BrandSlug,
    name: String,
    terms: &[String],
    exclude: &[String],
    auto_approve: Option<RawAutoApprove>,
) -> Result<Brand, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "brand name {name:?} must be 1-200 characters without control characters"
        )));
    }
    let parse = |raw: &[String]| {
        raw.iter()
            .map(|t| BrandTerm::parse(t))
            .collect::<Result<Vec<_>, _>>()
    };
    let mut brand = Brand::new(slug, name.to_owned(), parse(terms)?, parse(exclude)?)?;
    brand.auto_approve = auto_approve
        .map(|r| AutoApprove::new(r.min_rating, r.min_positive))
        .transpose()?;
    Ok(brand)
}

async fn live(state: &AppState, slug: &BrandSlug) -> Result<StoredBrand, ApiError> {
    let brands = state.store.brands().await?;
    brands
        .into_iter()
        .find(|b| b.brand.slug == *slug)
        .ok_or_else(|| not_found(slug))
}

fn not_found(slug: &BrandSlug) -> ApiError {
    ApiError::NotFound(format!("there is no brand {slug}"))
}

fn refusal<T>(slug: &BrandSlug, change: Change<T>) -> ApiError {
    match change {
        Change::FromConfig => ApiError::Conflict(format!(
            "brand {slug} comes from the config file; change it there ([[brands]])"
        )),
        Change::Taken => ApiError::Conflict(format!(
            "there is already a brand {slug}; change it with PATCH /api/v1/brands/{slug}"
        )),
        _ => not_found(slug),
    }
}
