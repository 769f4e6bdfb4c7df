//! Marketing's review queue: pending review candidates with their rating and source,
//! approved or rejected (with a reason) in one click. An excerpt is chosen by selecting
//! a contiguous part of the text (`console.js` copies the selection into the excerpt
//! field; without script it can be typed). Beside the queue, the brand's public widget
//! (`/public/v1/brands/{slug}/widget.js`, fed by the public feed) shows the approved
//! set as a visitor of the website would see it.

use super::markup::{csrf_field, esc, local_path, mention_facts, page, time, Screen};
use super::{back, ConsoleError, Posted, Signed};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use earshot_domain::{
    BrandSlug, Excerpt, Note, Permission, Review, ReviewId, ReviewStatus, Session, Timestamp,
};
use earshot_store::{ReviewChange, ReviewDecision, ReviewQuery};
use serde::Deserialize;
use std::fmt::Write;

/// The most reviews the queue shows at once.
const MAX_SHOWN: u32 = 100;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/reviews", get(queue))
        .route("/reviews/{id}/{decision}", post(decide))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    brand: Option<String>,
}

async fn queue(
    signed: Signed,
    State(state): State<AppState>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Permission::ModerateReviews)?;
    let f = filters
        .map_err(|e| ConsoleError::BadRequest(e.body_text()))?
        .0;
    let brands = state.store.brands().await?;
    let chosen = f
        .brand
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(BrandSlug::parse)
        .transpose()?;
    let pending = state
        .store
        .reviews(&ReviewQuery {
            status: Some(ReviewStatus::Pending),
            brand: chosen.clone(),
            before: None,
            limit: MAX_SHOWN,
        })
        .await?;
    let here = match &chosen {
        Some(b) => format!("/reviews?brand={}", b.as_str()),
        None => "/reviews".to_owned(),
    };
    let mut brand_select = String::from(
        r#"<form class="filters" method="get" action="/reviews"><label>Brand <select name="brand"><option value="">any</option>"#,
    );
    for b in &brands {
        let slug = b.brand.slug.as_str();
        let sel = if chosen.as_ref().map(|c| c.as_str()) == Some(slug) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            brand_select,
            r#"<option value="{0}"{sel}>{0}</option>"#,
            esc(slug)
        );
    }
    brand_select.push_str(r#"</select></label> <button type="submit">Show</button></form>"#);

    let mut list = String::from(r#"<div id="review-list">"#);
    if pending.is_empty() {
        list.push_str(r#"<p class="empty">No reviews wait for a decision.</p>"#);
    }
    for r in &pending {
        list.push_str(&card(&signed.0, r, &here));
    }
    list.push_str("</div>");

    // The preview: the chosen brand's widget, else each brand's.
    let mut preview = String::new();
    for b in brands
        .iter()
        .filter(|b| chosen.as_ref().is_none_or(|c| *c == b.brand.slug))
    {
        let slug = esc(b.brand.slug.as_str());
        let _ = write!(
            preview,
            r#"<section class="preview" aria-label="Widget preview for {name}"><h3>{name}</h3><div class="widget-frame" data-earshot-brand="{slug}" data-earshot-limit="10" data-earshot-fresh></div><p class="small">Public feed: <a href="/public/v1/brands/{slug}/reviews">/public/v1/brands/{slug}/reviews</a></p></section>"#,
            name = esc(&b.brand.name),
        );
    }
    let script = brands
        .first()
        .map(|b| {
            format!(
                r#"<script src="/public/v1/brands/{}/widget.js" defer></script>"#,
                esc(b.brand.slug.as_str())
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Reviews</h1>{brand_select}
<div class="two">
<section aria-labelledby="queue-h"><h2 id="queue-h">Waiting for a decision ({n})</h2>
<p class="small">To publish part of a review, select the part in its text: it becomes the excerpt. Reviews are never edited, only excerpted.</p>
{list}</section>
<aside aria-labelledby="preview-h"><h2 id="preview-h">On the website</h2>{preview}{script}</aside>
</div>"#,
        n = pending.len(),
    );
    Ok(Html(page(
        &signed.0,
        Some(Screen::Reviews),
        "Reviews",
        &body,
    )))
}

/// A star rating from a normalised 0..1 value, on a five-star scale.
fn stars(rating: f64) -> String {
    let n = (rating.clamp(0.0, 1.0) * 4.0 + 1.0).round() as usize;
    format!(
        r#"<span class="stars" role="img" aria-label="{n} out of 5 stars">{}{}</span>"#,
        "★".repeat(n),
        "☆".repeat(5 - n)
    )
}

fn card(session: &Session, r: &Review, here: &str) -> String {
    let m = &r.mention;
    let id = r.id.0;
    let csrf = csrf_field(session);
    let back = esc(here);
    format!(
        r#"<article class="review" tabindex="0" data-review-id="{id}" aria-labelledby="review-{id}-title">
<header><h3 id="review-{id}-title">{title}</h3> {rating} <span class="when">found {found}</span></header>
<blockquote class="review-text" data-excerpt-source="{id}">{text}</blockquote>
{facts}
<div class="actions">
<form class="inline" method="post" action="/reviews/{id}/approve">{csrf}<input type="hidden" name="back" value="{back}"><label>Excerpt <input name="excerpt" size="40" data-excerpt-for="{id}" placeholder="whole review"></label> <button type="submit" data-key="a">Approve</button></form>
<form class="inline" method="post" action="/reviews/{id}/reject">{csrf}<input type="hidden" name="back" value="{back}"><label>Reason <input name="reason" size="24" required></label> <button type="submit" data-key="x">Reject</button></form>
</div>
</article>"#,
        title = esc(if m.title.trim().is_empty() {
            "(untitled)"
        } else {
            &m.title
        }),
        rating = m.rating.map(stars).unwrap_or_default(),
        found = time(r.created_at),
        text = esc(&m.snippet),
        facts = mention_facts(m),
    )
}

async fn decide(
    State(state): State<AppState>,
    Path((id, decision)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::ModerateReviews)?;
    let id = ReviewId(
        id.parse()
            .map_err(|_| ConsoleError::NotFound(format!("there is no review {id:?}")))?,
    );
    let review = state
        .store
        .review(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no review {}", id.0)))?;
    let excerpt;
    let reason;
    let decision = match decision.as_str() {
        "approve" => {
            excerpt = posted
                .text("excerpt")
                .map(|e| Excerpt::parse(e, &review.mention.snippet))
                .transpose()?;
            ReviewDecision::Approve {
                excerpt: excerpt.as_ref(),
            }
        }
        "reject" => {
            reason = Note::parse(posted.get("reason").unwrap_or("")).map_err(|_| {
                ConsoleError::BadRequest("Say why the review is rejected.".to_owned())
            })?;
            ReviewDecision::Reject { reason: &reason }
        }
        other => {
            return Err(ConsoleError::NotFound(format!(
                "there is no review decision {other:?}"
            )))
        }
    };
    match state
        .store
        .decide_review(id, &decision, &posted.session.actor(), Timestamp::now())
        .await?
    {
        ReviewChange::Done(_) => Ok(back(local_path(posted.get("back"), "/reviews"))),
        ReviewChange::NotFound => Err(ConsoleError::NotFound(format!(
            "there is no review {}",
            id.0
        ))),
        ReviewChange::Refused(why) => Err(ConsoleError::Conflict(format!(
            "Review {} could not be changed: {why}. Someone may have decided it first.",
            id.0
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_show_as_five_stars() {
        assert!(stars(1.0).contains("5 out of 5"));
        assert!(stars(0.0).contains("1 out of 5"));
        assert!(stars(0.75).contains("4 out of 5"));
        assert!(stars(7.0).contains("5 out of 5"));
    }
}
