//! The web console over HTTP, as a browser without script would use it: the real router
//! on 127.0.0.1 over a real store. Sign-in with a password or a key, the session cookie's
//! attributes, wrong passwords (one message, no user enumeration), expired and ended
//! sessions, CSRF refusals (403, nothing done), role checks on every screen and action,
//! escaping of crawled text, and the Content-Security-Policy. The users-and-sessions
//! story runs on SQLite and on Postgres.

mod support;

use earshot_api::{create_user, issue_key, AppState};
use earshot_domain::{
    AlertRuleSpec, AlertStatus, BrandSlug, KeyName, Password, Role, SessionOwner, SessionToken,
    Threshold, Timestamp, Username,
};
use earshot_store::{AlertQuery, NewSession, Store};
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::time::Duration;
use support::{acme, crawl_and_classify, feed_source, found, scored, TestDb};

const PASSWORD: &str = "correct horse battery";

/// A browser without script: keeps cookies, follows no redirects (so they can be
/// checked), posts forms.
struct Visitor {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    csp: Option<String>,
    body: String,
}

impl Visitor {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if cookie.is_empty() {
            req
        } else {
            req.header("cookie", cookie.join("; "))
        };
        let r = req.send().await.unwrap();
        let set_cookies: Vec<String> = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Answer {
            status: r.status(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            set_cookies,
            csp: r
                .headers()
                .get(CONTENT_SECURITY_POLICY)
                .map(|v| v.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// Opens the sign-in page and sends `fields` with its form token.
    async fn sign_in(&mut self, fields: &[(&str, &str)]) -> Answer {
        let page = self.get("/signin").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = between(&page.body, r#"name="form_token" value=""#, "\"");
        let mut form = vec![("form_token", token.as_str())];
        form.extend_from_slice(fields);
        self.post("/signin", &form).await
    }

    /// The CSRF token of the signed-in session, read from a page.
    async fn csrf(&mut self) -> String {
        let page = self.get("/").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        between(&page.body, r#"<meta name="csrf-token" content=""#, "\"")
    }
}

fn between(s: &str, start: &str, end: &str) -> String {
    let from = s.find(start).unwrap_or_else(|| panic!("{start} in {s}")) + start.len();
    s[from..][..s[from..].find(end).unwrap()].to_owned()
}

/// A store with Acme, a forum, an alert rule, and three negative mentions (one with
/// markup in its text) that opened alerts; plus users for each role.
async fn world(db: &TestDb) -> String {
    let store = db.store.clone();
    let t0 = Timestamp::now().minus(Duration::from_secs(3600));
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store.sync_config(&[acme()], &[forum], t0).await.unwrap();
    let rule = AlertRuleSpec::new(
        BrandSlug::parse("acme").unwrap(),
        Threshold::DEFAULT,
        None,
        None,
    )
    .unwrap();
    store.sync_alert_rules(&[rule], t0).await.unwrap();
    let mut evil = found("acme", "m3", "Acme <b>bold</b>", Some(t0));
    evil.snippet =
        r#"Acme <script>window.__pwned=1</script><img src=x onerror=alert(1)> broke"#.into();
    evil.url = Some("javascript:alert(1)".into());
    let neg = scored([0.95, 0.03, 0.02], None, "en", "m@1");
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "m1", "Acme kettle leaks", Some(t0)),
            found("acme", "m2", "Acme support never answers", Some(t0)),
            evil,
        ],
        vec![neg.clone(), neg.clone(), neg],
        t0,
    )
    .await;
    for (name, role) in [
        ("pia", Role::Pr),
        ("mark", Role::Marketing),
        ("vic", Role::Viewer),
        ("ada", Role::Admin),
    ] {
        create_user(
            store.as_ref(),
            &Username::parse(name).unwrap(),
            role,
            &Password::parse_new(PASSWORD).unwrap(),
            Timestamp::now(),
        )
        .await
        .unwrap();
    }
    support::serve_api(AppState::new(store)).await
}

async fn open_alerts(store: &dyn Store) -> usize {
    store
        .alerts(&AlertQuery {
            status: Some(AlertStatus::Open),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_pr_user_signs_in_with_a_password_and_gets_a_strict_session_cookie() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    let first = v.get("/alerts").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location.as_deref(), Some("/signin"));

    let done = v
        .sign_in(&[("username", "pia"), ("password", PASSWORD)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/"));
    let session = done
        .set_cookies
        .iter()
        .find(|c| c.starts_with("earshot_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain HTTP on 127.0.0.1 drops Secure: {session}"
    );

    let inbox = v.get("/alerts").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("Acme kettle leaks"));
    assert!(
        inbox.body.contains("<mark>Acme</mark> kettle leaks"),
        "the term is marked"
    );
    let csp = inbox.csp.expect("a CSP");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!inbox.body.contains("<script>window"), "no inline script");
    assert!(
        !inbox.body.contains(" style="),
        "no inline style, which the CSP would block"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn crawled_markup_is_shown_as_text_and_unsafe_links_are_not_links() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "pia"), ("password", PASSWORD)])
        .await;
    let inbox = v.get("/alerts").await;
    assert!(inbox.body.contains(
        "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    ));
    assert!(
        inbox.body.contains("Acme &lt;b&gt;bold&lt;/b&gt;"),
        "the title, escaped"
    );
    assert!(!inbox.body.contains("<script>window.__pwned"));
    assert!(!inbox.body.contains("<img src=x"));
    assert!(!inbox.body.contains("javascript:"), "no javascript: link");
    db.cleanup().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    let wrong = v
        .sign_in(&[("username", "pia"), ("password", "not it at all")])
        .await;
    let unknown = v
        .sign_in(&[("username", "nobody"), ("password", "not it at all")])
        .await;
    let malformed = v
        .sign_in(&[("username", "<Nobody>"), ("password", "x")])
        .await;
    for a in [&wrong, &unknown, &malformed] {
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.body.contains("Wrong username or password."), "{}", a.body);
        assert!(!a.body.contains("no such user") && !a.body.contains("unknown user"));
        assert!(!a
            .set_cookies
            .iter()
            .any(|c| c.starts_with("earshot_session=")));
    }
    assert!(
        !malformed.body.contains("<Nobody>"),
        "the typed name is escaped"
    );

    // A disabled user is refused the same way.
    db.store
        .set_user_disabled(&Username::parse("pia").unwrap(), true, Timestamp::now())
        .await
        .unwrap();
    let disabled = v
        .sign_in(&[("username", "pia"), ("password", PASSWORD)])
        .await;
    assert_eq!(disabled.status, StatusCode::UNAUTHORIZED);
    assert!(disabled.body.contains("Wrong username or password."));

    // A sign-in form without its token (another site's form) is refused.
    let forged = v
        .post("/signin", &[("username", "mark"), ("password", PASSWORD)])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!forged
        .set_cookies
        .iter()
        .any(|c| c.starts_with("earshot_session=")));
    db.cleanup().await;
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused_and_changes_nothing() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "pia"), ("password", PASSWORD)])
        .await;
    let csrf = v.csrf().await;
    let id = db
        .store
        .alerts(&AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
        .0;
    let path = format!("/alerts/{id}/resolve");
    for form in [vec![], vec![("csrf", "0".repeat(64).leak() as &str)]] {
        let refused = v.post(&path, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.body.contains("Form refused"), "{}", refused.body);
        assert!(refused.body.contains("security token"));
    }
    assert_eq!(
        open_alerts(db.store.as_ref()).await,
        3,
        "nothing was resolved"
    );

    let done = v.post(&path, &[("csrf", &csrf), ("back", "/alerts")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/alerts"));
    assert_eq!(open_alerts(db.store.as_ref()).await, 2);
    let inbox = v.get("/alerts").await;
    assert_eq!(inbox.body.matches(r#"<article class="alert"#).count(), 2);

    // The token also works as a header (for scripts), and an off-site `back` is ignored.
    let req = v
        .http
        .post(format!("{base}/alerts/{id}/note"))
        .header("x-csrf-token", &csrf)
        .form(&[("note", "Called the customer"), ("back", "//evil.test/")]);
    let noted = v.send(req).await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER);
    assert_eq!(noted.location.as_deref(), Some("/alerts"));
    db.cleanup().await;
}

#[tokio::test]
async fn each_role_reaches_only_its_screens_and_actions() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let id = db
        .store
        .alerts(&AlertQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
        .0;
    let expect = [
        ("pia", [200, 200, 403, 403]),
        ("mark", [200, 403, 200, 403]),
        ("vic", [200, 403, 403, 403]),
        ("ada", [200, 200, 200, 200]),
    ];
    for (name, codes) in expect {
        let mut v = Visitor::new(&base);
        let done = v
            .sign_in(&[("username", name), ("password", PASSWORD)])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        for (path, code) in ["/", "/alerts", "/reviews", "/admin"]
            .into_iter()
            .zip(codes)
        {
            let a = v.get(path).await;
            assert_eq!(a.status.as_u16(), code, "{name} {path}: {}", a.body);
            if code == 403 {
                assert!(a.body.contains("may not"), "{}", a.body);
            }
        }
        let home = v.get("/").await;
        assert_eq!(
            home.body.contains(r#"href="/alerts""#),
            codes[1] == 200,
            "{name} sees the Alerts link only if allowed"
        );
    }
    // A marketing user cannot act on alerts even with a valid token.
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "mark"), ("password", PASSWORD)])
        .await;
    let csrf = v.csrf().await;
    let refused = v
        .post(&format!("/alerts/{id}/dismiss"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(open_alerts(db.store.as_ref()).await, 3);
    db.cleanup().await;
}

#[tokio::test]
async fn an_api_key_signs_in_and_revoking_it_ends_the_session() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let (key, secret) = issue_key(
        db.store.as_ref(),
        &KeyName::parse("PR desk").unwrap(),
        Role::Pr,
        Timestamp::now(),
    )
    .await
    .unwrap();
    let mut v = Visitor::new(&base);
    let bad = v.sign_in(&[("key", "ek_nope")]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.body.contains("That API key is not valid"));
    let done = v.sign_in(&[("key", secret.expose())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let inbox = v.get("/alerts").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("PR desk (pr)"));
    db.store
        .revoke_api_key(key.id, Timestamp::now())
        .await
        .unwrap();
    let after = v.get("/alerts").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location.as_deref(), Some("/signin?ended=1"));
    db.cleanup().await;
}

#[tokio::test]
async fn an_expired_or_signed_out_session_sends_you_to_sign_in_with_a_reason() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let (user, _) = db
        .store
        .user_credentials(&Username::parse("pia").unwrap())
        .await
        .unwrap()
        .unwrap();
    let token = SessionToken::from_random([9; 32]);
    let past = Timestamp::now().minus(Duration::from_secs(7200));
    db.store
        .create_session(
            &NewSession {
                token: &token.hash(),
                csrf_token: "t",
                owner: SessionOwner::User(user.id),
                expires_at: past.plus(Duration::from_secs(60)),
            },
            past,
        )
        .await
        .unwrap();
    let mut v = Visitor::new(&base);
    v.cookies
        .insert("earshot_session".into(), token.expose().to_owned());
    let a = v.get("/alerts").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location.as_deref(), Some("/signin?ended=1"));
    let page = v.get("/signin?ended=1").await;
    assert!(page.body.contains("Your session has ended"));
    // A POST with an expired session does nothing either (and is not a 500).
    let p = v.post("/alerts/1/resolve", &[("csrf", "t")]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(open_alerts(db.store.as_ref()).await, 3);
    // A garbage cookie is the same.
    v.cookies.insert("earshot_session".into(), "<x>".into());
    assert_eq!(v.get("/").await.status, StatusCode::SEE_OTHER);

    // Signing out ends the session in the database.
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "pia"), ("password", PASSWORD)])
        .await;
    let kept = v.cookies.get("earshot_session").unwrap().clone();
    let csrf = v.csrf().await;
    let out = v.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location.as_deref(), Some("/signin"));
    v.cookies.insert("earshot_session".into(), kept);
    assert_eq!(v.get("/").await.status, StatusCode::SEE_OTHER);
    db.cleanup().await;
}

/// A console form: where it is posted, its fields, and the status it must get.
type Case = (&'static str, Vec<(&'static str, &'static str)>, u16);

#[tokio::test]
async fn bad_form_input_gets_a_clear_4xx_page_never_a_500() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "ada"), ("password", PASSWORD)])
        .await;
    let csrf = v.csrf().await;
    let cases: Vec<Case> = vec![
        ("/alerts/abc/resolve", vec![], 404),
        ("/alerts/999999/resolve", vec![], 404),
        ("/alerts/1/explode", vec![], 404),
        ("/alerts/1/note", vec![("note", "   ")], 400),
        ("/mentions/1/sentiment", vec![("label", "furious")], 400),
        ("/reviews/999/approve", vec![], 404),
        (
            "/admin/users",
            vec![
                ("username", "Bad Name"),
                ("role", "pr"),
                ("password", PASSWORD),
            ],
            400,
        ),
        (
            "/admin/users",
            vec![("username", "pia"), ("role", "pr"), ("password", PASSWORD)],
            409,
        ),
        (
            "/admin/users",
            vec![
                ("username", "new"),
                ("role", "root"),
                ("password", PASSWORD),
            ],
            400,
        ),
        (
            "/admin/users",
            vec![("username", "new"), ("role", "pr"), ("password", "short")],
            400,
        ),
        ("/admin/users/ghost/disable", vec![], 404),
        ("/admin/keys/77/revoke", vec![], 404),
    ];
    for (path, mut form, code) in cases {
        form.push(("csrf", &csrf));
        let a = v.post(path, &form).await;
        assert_eq!(a.status.as_u16(), code, "{path}: {}", a.body);
        assert!(
            a.body.contains("<h1>"),
            "an HTML page that says what happened"
        );
    }
    // Resolving twice: the second is a conflict.
    let ok = v.post("/alerts/1/resolve", &[("csrf", &csrf)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let again = v.post("/alerts/1/resolve", &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    // Not a form at all.
    let req = v
        .http
        .post(format!("{base}/alerts/2/resolve"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({}));
    assert_eq!(v.send(req).await.status, StatusCode::BAD_REQUEST);
    db.cleanup().await;
}

#[tokio::test]
async fn an_admin_creates_and_disables_users_and_keys_in_the_console() {
    let db = TestDb::sqlite().await;
    let base = world(&db).await;
    let mut v = Visitor::new(&base);
    v.sign_in(&[("username", "ada"), ("password", PASSWORD)])
        .await;
    let csrf = v.csrf().await;
    let made = v
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "nina"),
                ("role", "marketing"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let mut nina = Visitor::new(&base);
    let signed = nina
        .sign_in(&[("username", "nina"), ("password", PASSWORD)])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(nina.get("/reviews").await.status, StatusCode::OK);
    let off = v
        .post("/admin/users/nina/disable", &[("csrf", &csrf)])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(
        nina.get("/reviews").await.status,
        StatusCode::SEE_OTHER,
        "her session ended"
    );

    let key = v
        .post(
            "/admin/keys",
            &[("csrf", &csrf), ("name", "Site <CMS>"), ("role", "viewer")],
        )
        .await;
    assert_eq!(key.status, StatusCode::OK);
    assert!(key.body.contains("Copy it now"));
    assert!(key.body.contains("Site &lt;CMS&gt;"));
    let secret = between(&key.body, r#"<code class="secret">"#, "<");
    assert!(secret.starts_with("ek_"));
    db.cleanup().await;
}

/// The store's users and sessions, the same story on both backends.
async fn users_and_sessions_story(db: TestDb) {
    let store = db.store.as_ref();
    let now = Timestamp::now();
    let name = Username::parse("olena").unwrap();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA";
    let user = store
        .create_user(
            &earshot_store::NewUser {
                username: &name,
                role: Role::Pr,
                password_hash: hash,
            },
            now,
        )
        .await
        .unwrap()
        .expect("created");
    let again = store
        .create_user(
            &earshot_store::NewUser {
                username: &name,
                role: Role::Admin,
                password_hash: hash,
            },
            now,
        )
        .await
        .unwrap();
    assert!(again.is_none(), "a taken username");
    let (found, stored) = store.user_credentials(&name).await.unwrap().unwrap();
    assert_eq!((found.clone(), stored.as_str()), (user.clone(), hash));
    assert_eq!(store.users().await.unwrap(), vec![user.clone()]);

    let token = SessionToken::from_random([3; 32]);
    let expires = now.plus(Duration::from_secs(60));
    store
        .create_session(
            &NewSession {
                token: &token.hash(),
                csrf_token: "c",
                owner: SessionOwner::User(user.id),
                expires_at: expires,
            },
            now,
        )
        .await
        .unwrap();
    let s = store.session(&token.hash(), now).await.unwrap().unwrap();
    assert_eq!(
        (s.name.as_str(), s.role, s.csrf_token.as_str()),
        ("olena", Role::Pr, "c")
    );
    assert!(
        store
            .session(&token.hash(), expires)
            .await
            .unwrap()
            .is_none(),
        "expired at its expiry"
    );
    let disabled = store
        .set_user_disabled(&name, true, now)
        .await
        .unwrap()
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    assert!(
        store.session(&token.hash(), now).await.unwrap().is_none(),
        "ended"
    );
    store.set_user_disabled(&name, false, now).await.unwrap();

    let (key, _) = issue_key(store, &KeyName::parse("k").unwrap(), Role::Viewer, now)
        .await
        .unwrap();
    let kt = SessionToken::from_random([4; 32]);
    store
        .create_session(
            &NewSession {
                token: &kt.hash(),
                csrf_token: "d",
                owner: SessionOwner::Key(key.id),
                expires_at: expires,
            },
            now,
        )
        .await
        .unwrap();
    let ks = store.session(&kt.hash(), now).await.unwrap().unwrap();
    assert_eq!((ks.name.as_str(), ks.role), ("k", Role::Viewer));
    assert_eq!(ks.actor().key_id, Some(key.id));
    store.end_session(&kt.hash()).await.unwrap();
    assert!(store.session(&kt.hash(), now).await.unwrap().is_none());

    assert!(store.delete_user(&name).await.unwrap());
    assert!(!store.delete_user(&name).await.unwrap());
    assert!(store.users().await.unwrap().is_empty());
    db.cleanup().await;
}

#[tokio::test]
async fn users_and_sessions_on_sqlite() {
    users_and_sessions_story(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn users_and_sessions_on_postgres() {
    users_and_sessions_story(TestDb::postgres().await).await;
}
