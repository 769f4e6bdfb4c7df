//! The PR team's alerts inbox: open alerts, most severe and then newest first, each with
//! its snippet (the matched term marked), source, link, author, language, sentiment and
//! time, and one-click actions: acknowledge, resolve, dismiss, assign, note, and "the
//! sentiment is wrong". Filters by brand, source, language and status. The list is
//! also served alone (`/alerts/list`), which `console.js` polls so that new alerts
//! appear without a reload.

use super::markup::{
    correction_form, csrf_field, esc, highlight, local_path, mention_facts, page, time, Screen,
};
use super::{back, ConsoleError, Posted, Signed};
use crate::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::Router;
use earshot_domain::{
    Alert, AlertId, AlertStatus, AlertSubject, Assignee, BrandSlug, Label, MentionId, Note,
    Permission, Session, Timestamp, Transition,
};
use earshot_store::{AlertChange, AlertEdit, AlertQuery};
use serde::Deserialize;
use std::fmt::Write;

/// The most alerts the inbox shows at once.
const MAX_SHOWN: u32 = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(inbox))
        .route("/alerts/list", get(list_only))
        .route("/alerts/{id}/{action}", post(act))
        .route("/mentions/{id}/sentiment", post(correct))
}

/// The inbox's filters as the query string sent them; blank means "any".
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    status: Option<String>,
    brand: Option<String>,
    source: Option<String>,
    language: Option<String>,
}

impl Filters {
    /// The status shown: open unless another (or `all`) was chosen.
    fn status(&self) -> Result<Option<AlertStatus>, ConsoleError> {
        match self.status.as_deref().map(str::trim) {
            None | Some("") => Ok(Some(AlertStatus::Open)),
            Some("all") => Ok(None),
            Some(s) => Ok(Some(AlertStatus::parse(s)?)),
        }
    }

    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }

    /// This filter set as a query string, to come back to after an action.
    fn query_string(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &self.status),
            ("brand", &self.brand),
            ("source", &self.source),
            ("language", &self.language),
        ] {
            if let Some(v) = Self::given(v) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

/// The alerts the filters select, in inbox order: most severe first, then newest.
/// Brand and status are asked of the store; source and language are applied to what it
/// returns (at most [`MAX_SHOWN`]).
async fn select(state: &AppState, f: &Filters) -> Result<Vec<Alert>, ConsoleError> {
    let query = AlertQuery {
        status: f.status()?,
        brand: Filters::given(&f.brand).map(BrandSlug::parse).transpose()?,
        severity: None,
        kind: None,
        before: None,
        limit: MAX_SHOWN,
    };
    let mut alerts = state.store.alerts(&query).await?;
    if let Some(source) = Filters::given(&f.source) {
        alerts.retain(|a| match &a.subject {
            AlertSubject::Mention { mention, .. } => mention.source.as_str() == source,
            AlertSubject::Source { source: s } => s.name.as_str() == source,
            AlertSubject::Spike { .. } => false,
        });
    }
    if let Some(lang) = Filters::given(&f.language) {
        alerts.retain(|a| {
            a.mention()
                .and_then(|m| m.sentiment.as_ref())
                .and_then(|s| s.language.as_deref())
                == Some(lang)
        });
    }
    order(&mut alerts);
    Ok(alerts)
}

/// Inbox order: most severe first, then newest opened, then highest id.
fn order(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.opened_at.cmp(&a.opened_at))
            .then(b.id.cmp(&a.id))
    });
}

async fn inbox(
    signed: Signed,
    State(state): State<AppState>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Permission::WorkAlerts)?;
    let f = filters
        .map_err(|e| ConsoleError::BadRequest(e.body_text()))?
        .0;
    let alerts = select(&state, &f).await?;
    let brands = state.store.brands().await?;
    let sources = state.store.sources().await?;
    let status = f.status()?;
    let select_of = |name: &str, label: &str, chosen: Option<&str>, options: Vec<String>| {
        let mut out =
            format!(r#"<label>{label} <select name="{name}"><option value="">any</option>"#);
        for o in options {
            let sel = if Some(o.as_str()) == chosen {
                " selected"
            } else {
                ""
            };
            let _ = write!(out, r#"<option value="{0}"{sel}>{0}</option>"#, esc(&o));
        }
        out.push_str("</select></label> ");
        out
    };
    let mut status_select = String::from(r#"<label>Status <select name="status">"#);
    for (value, shown) in [
        ("open", Some(AlertStatus::Open)),
        ("acknowledged", Some(AlertStatus::Acknowledged)),
        ("resolved", Some(AlertStatus::Resolved)),
        ("dismissed", Some(AlertStatus::Dismissed)),
        ("all", None),
    ] {
        let sel = if shown == status { " selected" } else { "" };
        let _ = write!(
            status_select,
            r#"<option value="{value}"{sel}>{value}</option>"#
        );
    }
    status_select.push_str("</select></label> ");
    let languages: Vec<String> = {
        let mut l: Vec<String> = ["en", "de", "fr", "es", "it", "nl", "pl", "pt", "ru", "uk"]
            .map(String::from)
            .to_vec();
        if let Some(chosen) = Filters::given(&f.language) {
            if !l.iter().any(|x| x == chosen) {
                l.push(chosen.to_owned());
            }
        }
        l
    };
    let filters_form = format!(
        r#"<form class="filters" method="get" action="/alerts">{status_select}{}{}{}<button type="submit">Filter</button></form>"#,
        select_of(
            "brand",
            "Brand",
            Filters::given(&f.brand),
            brands
                .iter()
                .map(|b| b.brand.slug.as_str().to_owned())
                .collect()
        ),
        select_of(
            "source",
            "Source",
            Filters::given(&f.source),
            sources
                .iter()
                .map(|s| s.source.name.as_str().to_owned())
                .collect()
        ),
        select_of(
            "language",
            "Language",
            Filters::given(&f.language),
            languages
        ),
    );
    let qs = f.query_string();
    let body = format!(
        r#"<h1>Alerts</h1>{filters_form}
<p class="keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>a</kbd> acknowledge, <kbd>r</kbd> resolve, <kbd>d</kbd> dismiss, <kbd>n</kbd> note.</p>
<p id="live" class="live" role="status" aria-live="polite"></p>
{}"#,
        list(&signed.0, &alerts, &qs)
    );
    Ok(Html(page(&signed.0, Some(Screen::Alerts), "Alerts", &body)))
}

async fn list_only(
    signed: Signed,
    State(state): State<AppState>,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Permission::WorkAlerts)?;
    let f = filters
        .map_err(|e| ConsoleError::BadRequest(e.body_text()))?
        .0;
    let alerts = select(&state, &f).await?;
    Ok(Html(list(&signed.0, &alerts, &f.query_string())))
}

/// The list of alerts, which polling replaces whole. `data-ids` lets the script tell
/// which alerts are new.
fn list(session: &Session, alerts: &[Alert], qs: &str) -> String {
    let ids: Vec<String> = alerts.iter().map(|a| a.id.0.to_string()).collect();
    let poll = if qs.is_empty() {
        "/alerts/list".to_owned()
    } else {
        format!("/alerts/list?{qs}")
    };
    let here = if qs.is_empty() {
        "/alerts".to_owned()
    } else {
        format!("/alerts?{qs}")
    };
    let mut out = format!(
        r#"<div id="alert-list" data-poll="{}" data-ids="{}">"#,
        esc(&poll),
        ids.join(" ")
    );
    if alerts.is_empty() {
        out.push_str(r#"<p class="empty">No alerts here. New ones appear on their own.</p>"#);
    }
    for a in alerts {
        out.push_str(&card(session, a, &here));
    }
    out.push_str("</div>");
    out
}

/// What a card shows of its alert's subject: title, the text under it, the facts line
/// and the "sentiment is wrong" form (mention alerts only). All escaped.
fn subject_parts(session: &Session, a: &Alert, here: &str) -> [String; 4] {
    match &a.subject {
        AlertSubject::Mention { mention: m, .. } => {
            let title = if m.title.trim().is_empty() {
                "(untitled)"
            } else {
                m.title.as_str()
            };
            [
                esc(title),
                highlight(&m.snippet, &m.matched_term),
                mention_facts(m),
                correction_form(session, m, here),
            ]
        }
        AlertSubject::Spike { brand, spike } => [
            esc(&format!(
                "Spike: {} negative mentions of {} in one hour",
                spike.count,
                brand.as_str()
            )),
            esc(&format!(
                "The hour from {} is above {:.1}: the past {} hours' mean {:.1} + {} × σ {:.1}.",
                spike.hour, spike.threshold, spike.history_hours, spike.mean, spike.k, spike.stddev
            )),
            format!(
                r#"<p class="facts">{} mentions in that hour (ids {})</p>"#,
                spike.mention_ids.len(),
                esc(&spike
                    .mention_ids
                    .iter()
                    .take(20)
                    .map(|m| m.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", "))
            ),
            String::new(),
        ],
        AlertSubject::Source { source } => [
            esc(&format!("Source {} keeps failing", source.name.as_str())),
            esc(source
                .last_error
                .as_deref()
                .unwrap_or("(no error recorded)")),
            format!(
                r#"<p class="facts">{} failed crawls in a row; unhealthy since {}</p>"#,
                source.failures,
                time(source.unhealthy_since)
            ),
            String::new(),
        ],
    }
}

/// One alert with its actions.
fn card(session: &Session, a: &Alert, here: &str) -> String {
    let [title, snippet, facts, correct] = subject_parts(session, a, here);
    let id = a.id.0;
    let csrf = csrf_field(session);
    let back = esc(here);
    let button = |action: &str, label: &str, key: &str| {
        format!(
            r#"<form class="inline" method="post" action="/alerts/{id}/{action}">{csrf}<input type="hidden" name="back" value="{back}"><button type="submit" data-key="{key}">{label}</button></form>"#
        )
    };
    let mut actions = String::new();
    if a.status == AlertStatus::Open {
        actions.push_str(&button("acknowledge", "Acknowledge", "a"));
    }
    if !a.status.is_final() {
        actions.push_str(&button("resolve", "Resolve", "r"));
        actions.push_str(&button("dismiss", "Dismiss", "d"));
    }
    let assignee = a.assignee.as_deref().unwrap_or("");
    format!(
        r#"<article class="alert sev-{sev}" tabindex="0" data-alert-id="{id}" aria-labelledby="alert-{id}-title">
<header><span class="badge sev-{sev}">{sev}</span> <span class="status">{status}</span> <h2 id="alert-{id}-title">{title}</h2> <span class="when">opened {opened}</span></header>
<p class="snippet">{snippet}</p>
{facts}
<p class="people">Assigned to: <strong>{assignee_shown}</strong>{notes}</p>
<div class="actions">{actions}
<form class="inline" method="post" action="/alerts/{id}/assign">{csrf}<input type="hidden" name="back" value="{back}"><label>Assign to <input name="assignee" value="{assignee}" size="12"></label> <button type="submit">Assign</button></form>
<form class="inline" method="post" action="/alerts/{id}/note">{csrf}<input type="hidden" name="back" value="{back}"><label>Note <input name="note" size="24" data-note></label> <button type="submit">Add note</button></form>
{correct}</div>
</article>"#,
        sev = a.severity.as_str(),
        status = a.status.as_str(),
        opened = time(a.opened_at),
        assignee_shown = esc(if assignee.is_empty() {
            "nobody"
        } else {
            assignee
        }),
        assignee = esc(assignee),
        notes = a
            .notes
            .as_deref()
            .map(|n| format!(r#"<br>Notes: <span class="notes">{}</span>"#, esc(n)))
            .unwrap_or_default(),
    )
}

async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::WorkAlerts)?;
    let id = AlertId(
        id.parse()
            .map_err(|_| ConsoleError::NotFound(format!("there is no alert {id:?}")))?,
    );
    let by = posted.session.actor();
    let now = Timestamp::now();
    let change = match action.as_str() {
        "acknowledge" | "resolve" | "dismiss" => {
            let transition = match action.as_str() {
                "acknowledge" => Transition::Acknowledge,
                "resolve" => Transition::Resolve,
                _ => Transition::Dismiss,
            };
            let note = posted.text("note").map(Note::parse).transpose()?;
            match state
                .store
                .transition_alert(id, transition, &by, note.as_ref(), now)
                .await?
            {
                AlertChange::Refused(why) => {
                    return Err(ConsoleError::Conflict(format!(
                        "Alert {} could not be changed: {why}. Someone may have acted on it first.",
                        id.0
                    )))
                }
                other => other,
            }
        }
        "assign" => {
            let edit = AlertEdit {
                assignee: Some(posted.text("assignee").map(Assignee::parse).transpose()?),
                notes: None,
            };
            state.store.edit_alert(id, &edit, &by, now).await?
        }
        "note" => {
            let Some(text) = posted.text("note") else {
                return Err(ConsoleError::BadRequest("Write a note first.".to_owned()));
            };
            let note = Note::parse(text)?;
            // The alert's notes accumulate: the new one is added under the old ones.
            let current = state.store.alert(id).await?.and_then(|(a, _)| a.notes);
            let joined = match current {
                Some(old) if !old.is_empty() => Note::parse(&format!("{old}\n{}", note.as_str()))?,
                _ => note,
            };
            let edit = AlertEdit {
                assignee: None,
                notes: Some(Some(joined)),
            };
            state.store.edit_alert(id, &edit, &by, now).await?
        }
        other => {
            return Err(ConsoleError::NotFound(format!(
                "there is no alert action {other:?}"
            )))
        }
    };
    if change == AlertChange::NotFound {
        return Err(ConsoleError::NotFound(format!(
            "there is no alert {}",
            id.0
        )));
    }
    Ok(back(local_path(posted.get("back"), "/alerts")))
}

async fn correct(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::CorrectSentiment)?;
    let id = MentionId(
        id.parse()
            .map_err(|_| ConsoleError::NotFound(format!("there is no mention {id:?}")))?,
    );
    let label = Label::parse(posted.get("label").unwrap_or(""))?;
    let found = state
        .store
        .correct_sentiment(id, label, &posted.session.actor(), Timestamp::now())
        .await?;
    if !found {
        return Err(ConsoleError::NotFound(format!(
            "there is no mention {}",
            id.0
        )));
    }
    Ok(back(local_path(posted.get("back"), "/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_inbox_is_open_alerts_and_filters_round_trip() {
        let f = Filters::default();
        assert_eq!(f.status().unwrap(), Some(AlertStatus::Open));
        let f = Filters {
            status: Some("all".into()),
            brand: Some("acme".into()),
            source: Some(" ".into()),
            language: Some("en&x=1".into()),
        };
        assert_eq!(f.status().unwrap(), None);
        assert_eq!(
            f.query_string(),
            "status=all&brand=acme&language=en%26x%3D1"
        );
        let bad = Filters {
            status: Some("closed".into()),
            ..Default::default()
        };
        assert!(bad.status().is_err());
    }
}
