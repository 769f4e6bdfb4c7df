//! The admin screen: brands with their terms, sources, alert rules (read-only here:
//! they are changed in the config file or through the API), and the management of API
//! keys (create, revoke) and console users (create, disable, enable, delete).

use super::markup::{csrf_field, esc, maybe_time, page, time, Screen};
use super::{back, ConsoleError, Posted, Signed};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use earshot_domain::{ApiKeyId, KeyName, Password, Permission, Role, Session, Timestamp, Username};
use std::fmt::Write;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin))
        .route("/admin/keys", post(create_key))
        .route("/admin/keys/{id}/revoke", post(revoke_key))
        .route("/admin/users", post(create_user))
        .route("/admin/users/{name}/{action}", post(change_user))
}

fn role_select() -> String {
    let mut out = String::from(r#"<select name="role">"#);
    for r in Role::ALL {
        let _ = write!(out, r#"<option value="{0}">{0}</option>"#, r.as_str());
    }
    out.push_str("</select>");
    out
}

async fn admin(
    signed: Signed,
    State(state): State<AppState>,
) -> Result<Html<String>, ConsoleError> {
    signed.require(Permission::ManageKeys)?;
    Ok(Html(admin_page(&signed.0, &state, None).await?))
}

async fn admin_page(
    s: &Session,
    state: &AppState,
    notice: Option<String>,
) -> Result<String, ConsoleError> {
    let store = state.store.as_ref();
    let csrf = csrf_field(s);
    let mut body = String::from("<h1>Admin</h1>");
    if let Some(n) = notice {
        body.push_str(&n);
    }

    let mut rows = String::new();
    for b in store.brands().await? {
        let terms: Vec<&str> = b.brand.terms.iter().map(|t| t.as_str()).collect();
        let exclude: Vec<&str> = b.brand.exclude.iter().map(|t| t.as_str()).collect();
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(b.brand.slug.as_str()),
            esc(&b.brand.name),
            esc(&terms.join(", ")),
            esc(&exclude.join(", ")),
            b.origin.as_str(),
        );
    }
    let _ = write!(
        body,
        r#"<section><h2>Brands and terms</h2><div class="scroll"><table><thead><tr><th scope="col">Slug</th><th scope="col">Name</th><th scope="col">Terms</th><th scope="col">Excluded</th><th scope="col">From</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#
    );

    let mut rows = String::new();
    for src in store.sources().await? {
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"url\">{}</td><td>{} s</td><td>{}</td></tr>",
            esc(src.source.name.as_str()),
            src.source.kind.as_str(),
            esc(src.source.url.as_str()),
            src.source.every.as_secs(),
            src.origin.as_str(),
        );
    }
    let _ = write!(
        body,
        r#"<section><h2>Sources</h2><div class="scroll"><table><thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">URL</th><th scope="col">Every</th><th scope="col">From</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#
    );

    let mut rows = String::new();
    for r in store.alert_rules().await? {
        let list = |v: Option<Vec<String>>| v.map(|v| v.join(", ")).unwrap_or_else(|| "any".into());
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id.0,
            esc(r.spec.brand.as_str()),
            r.spec.threshold.value(),
            esc(&list(r.spec.sources.as_ref().map(|s| s.iter().map(|x| x.as_str().to_owned()).collect()))),
            esc(&list(r.spec.languages.as_ref().map(|s| s.iter().map(|x| x.as_str().to_owned()).collect()))),
            r.origin.as_str(),
        );
    }
    let _ = write!(
        body,
        r#"<section><h2>Alert rules</h2><div class="scroll"><table><thead><tr><th scope="col">Id</th><th scope="col">Brand</th><th scope="col">P(negative) ≥</th><th scope="col">Sources</th><th scope="col">Languages</th><th scope="col">From</th></tr></thead><tbody>{rows}</tbody></table></div><p class="small">Brands, sources and rules are changed in the config file or through the API (<code>/api/v1</code>).</p></section>"#
    );

    let mut rows = String::new();
    for k in store.api_keys().await? {
        let action = if k.revoked_at.is_some() {
            format!("revoked {}", time(k.revoked_at.unwrap_or(k.created_at)))
        } else {
            format!(
                r#"<form class="inline" method="post" action="/admin/keys/{}/revoke">{csrf}<button type="submit">Revoke</button></form>"#,
                k.id.0
            )
        };
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            k.id.0,
            esc(&k.name),
            k.role,
            time(k.created_at),
            maybe_time(k.last_used_at),
        );
    }
    let _ = write!(
        body,
        r#"<section><h2>API keys</h2><div class="scroll"><table><thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"></th></tr></thead><tbody>{rows}</tbody></table></div>
<form class="card" method="post" action="/admin/keys">{csrf}<h3>New key</h3><label>Name <input name="name" required></label> <label>Role {roles}</label> <button type="submit">Create key</button></form></section>"#,
        roles = role_select(),
    );

    let mut rows = String::new();
    for u in store.users().await? {
        let name = esc(u.username.as_str());
        let toggle = if u.disabled_at.is_some() {
            "enable"
        } else {
            "disable"
        };
        let _ = write!(
            rows,
            r#"<tr><th scope="row">{name}</th><td>{role}</td><td>{created}</td><td>{state}</td><td><form class="inline" method="post" action="/admin/users/{name}/{toggle}">{csrf}<button type="submit">{toggle}</button></form> <form class="inline" method="post" action="/admin/users/{name}/delete">{csrf}<button type="submit" class="danger">delete</button></form></td></tr>"#,
            role = u.role,
            created = time(u.created_at),
            state = if u.disabled_at.is_some() {
                "disabled"
            } else {
                "active"
            },
        );
    }
    let _ = write!(
        body,
        r#"<section><h2>Console users</h2><div class="scroll"><table><thead><tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">State</th><th scope="col"></th></tr></thead><tbody>{rows}</tbody></table></div>
<form class="card" method="post" action="/admin/users">{csrf}<h3>New user</h3><label>Username <input name="username" required autocomplete="off"></label> <label>Role {roles}</label> <label>Password <input name="password" type="password" required minlength="{min}" autocomplete="new-password"></label> <button type="submit">Create user</button></form></section>"#,
        roles = role_select(),
        min = Password::MIN_CHARS,
    );
    Ok(page(s, Some(Screen::Admin), "Admin", &body))
}

async fn create_key(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::ManageKeys)?;
    let name = KeyName::parse(posted.get("name").unwrap_or(""))?;
    let role = Role::parse(posted.get("role").unwrap_or(""))?;
    let (key, secret) =
        crate::issue_key(state.store.as_ref(), &name, role, Timestamp::now()).await?;
    let notice = format!(
        r#"<div class="notice" role="status"><p>Key {} ({}) was created. Copy it now: it is not shown again.</p><p><code class="secret">{}</code></p></div>"#,
        esc(&key.name),
        key.role,
        esc(secret.expose())
    );
    Ok(Html(admin_page(&posted.session, &state, Some(notice)).await?).into_response())
}

async fn revoke_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::ManageKeys)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ConsoleError::NotFound(format!("there is no key {id:?}")))?;
    state
        .store
        .revoke_api_key(ApiKeyId(id), Timestamp::now())
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("there is no key {id}")))?;
    Ok(back("/admin"))
}

async fn create_user(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::ManageKeys)?;
    let username = Username::parse(posted.get("username").unwrap_or(""))?;
    let role = Role::parse(posted.get("role").unwrap_or(""))?;
    let password = Password::parse_new(posted.get("password").unwrap_or(""))?;
    super::create_user(
        state.store.as_ref(),
        &username,
        role,
        &password,
        Timestamp::now(),
    )
    .await?;
    Ok(back("/admin"))
}

async fn change_user(
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    posted: Posted,
) -> Result<Response, ConsoleError> {
    posted.require(Permission::ManageKeys)?;
    let username = Username::parse(&name)?;
    let now = Timestamp::now();
    let found = match action.as_str() {
        "disable" => state
            .store
            .set_user_disabled(&username, true, now)
            .await?
            .is_some(),
        "enable" => state
            .store
            .set_user_disabled(&username, false, now)
            .await?
            .is_some(),
        "delete" => state.store.delete_user(&username).await?,
        other => {
            return Err(ConsoleError::NotFound(format!(
                "there is no user action {other:?}"
            )))
        }
    };
    if !found {
        return Err(ConsoleError::NotFound(format!(
            "there is no user {username}"
        )));
    }
    Ok(back("/admin"))
}
