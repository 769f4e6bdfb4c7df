//! Who may call what: every API route against every kind of caller (each role, no key,
//! a malformed key, an unknown key, a revoked key), through the real router served on
//! 127.0.0.1 over a real SQLite store. The expected roles are written out here, not
//! derived from the code under test; the README's role table says the same.

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{AlertRuleSpec, BrandSlug, KeyName, Role, Threshold, Timestamp};
use earshot_store::{AlertQuery, Change, ReviewQuery, Store};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use support::{acme, brand, crawl_and_classify, feed_source, found, scored, TestDb};

/// Someone calling the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Role(Role),
    NoKey,
    /// Not shaped like a key at all.
    Malformed,
    /// Shaped like a key, but no such key exists.
    Unknown,
    /// An admin key that was revoked: revocation beats the role.
    Revoked,
}

const CALLERS: [Caller; 8] = [
    Caller::Role(Role::Admin),
    Caller::Role(Role::Pr),
    Caller::Role(Role::Marketing),
    Caller::Role(Role::Viewer),
    Caller::NoKey,
    Caller::Malformed,
    Caller::Unknown,
    Caller::Revoked,
];

use Role::{Admin, Marketing, Pr, Viewer};

/// Everyone, key or not.
const OPEN: Option<&[Role]> = None;

/// One route: method, path (with `{alert}`, `{rule}`, `{key}`, `{review}`, `{brand}`,
/// `{source}`, `{mention}` filled in with a fresh object per request), body, the status on success, and who may
/// call it.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    success: u16,
    allowed: Option<&'static [Role]>,
}

fn routes() -> Vec<Route> {
    let r = |method: Method,
             path: &'static str,
             body: Option<Value>,
             success: u16,
             allowed: Option<&'static [Role]>| Route {
        method,
        path,
        body,
        success,
        allowed,
    };
    const ANY_ROLE: Option<&[Role]> = Some(&[Admin, Pr, Marketing, Viewer]);
    const CORRECTORS: Option<&[Role]> = Some(&[Admin, Pr, Marketing]);
    const PR_DESK: Option<&[Role]> = Some(&[Admin, Pr]);
    const MARKETING: Option<&[Role]> = Some(&[Admin, Marketing]);
    const ADMIN: Option<&[Role]> = Some(&[Admin]);
    vec![
        r(Method::GET, "/healthz", None, 200, OPEN),
        r(Method::GET, "/readyz", None, 200, OPEN),
        r(Method::GET, "/api/v1/openapi.json", None, 200, OPEN),
        r(Method::GET, "/metrics", None, 200, ANY_ROLE),
        r(Method::GET, "/api/v1/mentions", None, 200, ANY_ROLE),
        r(
            Method::GET,
            "/api/v1/mentions?source=forum&language=en&q=acme&format=csv",
            None,
            200,
            ANY_ROLE,
        ),
        r(
            Method::GET,
            "/api/v1/stats?brand=acme&from=7d&bucket=hour",
            None,
            200,
            ANY_ROLE,
        ),
        r(
            Method::POST,
            "/api/v1/mentions/{mention}/sentiment",
            Some(json!({"label": "positive"})),
            200,
            CORRECTORS,
        ),
        r(Method::GET, "/api/v1/alerts", None, 200, PR_DESK),
        r(Method::GET, "/api/v1/notifications", None, 200, PR_DESK),
        r(Method::GET, "/api/v1/alerts/{alert}", None, 200, PR_DESK),
        r(
            Method::PATCH,
            "/api/v1/alerts/{alert}",
            Some(json!({"assignee": "Olena", "notes": "called them"})),
            200,
            PR_DESK,
        ),
        r(
            Method::POST,
            "/api/v1/alerts/{alert}/acknowledge",
            None,
            200,
            PR_DESK,
        ),
        r(
            Method::POST,
            "/api/v1/alerts/{alert}/resolve",
            Some(json!({"note": "answered on the forum"})),
            200,
            PR_DESK,
        ),
        r(
            Method::POST,
            "/api/v1/alerts/{alert}/dismiss",
            None,
            200,
            PR_DESK,
        ),
        r(Method::GET, "/api/v1/reviews", None, 200, MARKETING),
        r(
            Method::GET,
            "/api/v1/reviews/{review}",
            None,
            200,
            MARKETING,
        ),
        r(
            Method::POST,
            "/api/v1/reviews/{review}/approve",
            Some(json!({"excerpt": "Acme works"})),
            200,
            MARKETING,
        ),
        r(
            Method::POST,
            "/api/v1/reviews/{review}/reject",
            Some(json!({"reason": "not about our kettles"})),
            200,
            MARKETING,
        ),
        r(
            Method::GET,
            "/public/v1/brands/acme/reviews",
            None,
            200,
            OPEN,
        ),
        r(
            Method::GET,
            "/public/v1/brands/acme/widget.js",
            None,
            200,
            OPEN,
        ),
        r(
            Method::OPTIONS,
            "/public/v1/brands/acme/reviews",
            None,
            204,
            OPEN,
        ),
        r(Method::GET, "/api/v1/alert-rules", None, 200, ADMIN),
        r(
            Method::POST,
            "/api/v1/alert-rules",
            Some(json!({"brand": "acme", "threshold": 0.9})),
            201,
            ADMIN,
        ),
        r(Method::GET, "/api/v1/alert-rules/{rule}", None, 200, ADMIN),
        r(
            Method::PATCH,
            "/api/v1/alert-rules/{rule}",
            Some(json!({"threshold": 0.8, "languages": ["uk"]})),
            200,
            ADMIN,
        ),
        r(
            Method::DELETE,
            "/api/v1/alert-rules/{rule}",
            None,
            204,
            ADMIN,
        ),
        r(Method::GET, "/api/v1/brands", None, 200, ANY_ROLE),
        r(Method::GET, "/api/v1/brands/acme", None, 200, ANY_ROLE),
        r(
            Method::POST,
            "/api/v1/brands",
            Some(json!({"slug": "globex", "name": "Globex", "terms": ["Globex"]})),
            201,
            ADMIN,
        ),
        r(
            Method::PATCH,
            "/api/v1/brands/{brand}",
            Some(json!({"terms": ["Initech", "Инитек"]})),
            200,
            ADMIN,
        ),
        r(Method::DELETE, "/api/v1/brands/{brand}", None, 204, ADMIN),
        r(Method::GET, "/api/v1/sources", None, 200, ANY_ROLE),
        r(Method::GET, "/api/v1/sources/forum", None, 200, ANY_ROLE),
        r(
            Method::GET,
            "/api/v1/sources/forum/ratings",
            None,
            200,
            ANY_ROLE,
        ),
        r(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"name": "blog", "url": "https://blog.test/feed"})),
            201,
            ADMIN,
        ),
        r(
            Method::PATCH,
            "/api/v1/sources/{source}",
            Some(json!({"every_secs": 7200})),
            200,
            ADMIN,
        ),
        r(Method::DELETE, "/api/v1/sources/{source}", None, 204, ADMIN),
        r(Method::GET, "/api/v1/keys", None, 200, ADMIN),
        r(
            Method::POST,
            "/api/v1/keys",
            Some(json!({"name": "new desk", "role": "viewer"})),
            201,
            ADMIN,
        ),
        r(Method::DELETE, "/api/v1/keys/{key}", None, 200, ADMIN),
    ]
}

/// A store with plenty of alerts, API rules, brands, sources and spare keys to act on, one of each per
/// request, and the token each caller sends.
struct World {
    store: Arc<dyn Store>,
    base: String,
    tokens: Vec<(Caller, Option<String>)>,
    alerts: Vec<String>,
    rules: Vec<String>,
    spare_keys: Vec<String>,
    reviews: Vec<String>,
    /// Slugs of brands made through the API.
    brands: Vec<String>,
    /// Names of sources made through the API.
    sources: Vec<String>,
    mention: i64,
}

async fn world(db: &TestDb) -> World {
    let store = db.store.clone();
    let t0 = Timestamp::now();
    let forum = feed_source("forum", "https://forum.test/feed", Duration::from_secs(60));
    store.sync_config(&[acme()], &[forum], t0).await.unwrap();
    let acme_slug = BrandSlug::parse("acme").unwrap();
    let rule = AlertRuleSpec::new(acme_slug.clone(), Threshold::DEFAULT, None, None).unwrap();
    store.sync_alert_rules(&[rule], t0).await.unwrap();

    let n = 60;
    let mentions = crawl_and_classify(
        store.as_ref(),
        "forum",
        (0..n)
            .map(|i| found("acme", &format!("p{i}"), &format!("Acme broke {i}"), None))
            .collect(),
        (0..n)
            .map(|_| scored([0.95, 0.03, 0.02], None, "en", "m@1"))
            .collect(),
        t0,
    )
    .await;
    let alerts = store
        .alerts(&AlertQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), n, "every mention opened an alert");
    crawl_and_classify(
        store.as_ref(),
        "forum",
        (0..40)
            .map(|i| found("acme", &format!("q{i}"), &format!("Acme works {i}"), None))
            .collect(),
        (0..40)
            .map(|_| scored([0.02, 0.03, 0.95], None, "en", "m@1"))
            .collect(),
        t0,
    )
    .await;
    let reviews = store
        .reviews(&ReviewQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        reviews.len(),
        40,
        "every positive mention is a review candidate"
    );

    let mut rules = Vec::new();
    for _ in 0..30 {
        let spec = AlertRuleSpec::new(acme_slug.clone(), Threshold::new(0.75).unwrap(), None, None)
            .unwrap();
        rules.push(
            store
                .create_alert_rule(&spec, t0)
                .await
                .unwrap()
                .id
                .0
                .to_string(),
        );
    }
    let mut spare_keys = Vec::new();
    for i in 0..10 {
        let name = KeyName::parse(&format!("spare {i}")).unwrap();
        let (key, _) = issue_key(store.as_ref(), &name, Role::Viewer, t0)
            .await
            .unwrap();
        spare_keys.push(key.id.0.to_string());
    }

    let (mut brands, mut sources) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let made = brand(&format!("spare-{i}"), "Spare", &[&format!("Spare{i}")], &[]);
        let made = store.create_brand(&made, t0).await.unwrap();
        assert!(matches!(made, Change::Done(_)));
        let url = format!("https://spare{i}.test/feed");
        let made = feed_source(&format!("spare-{i}"), &url, Duration::from_secs(600));
        let made = store.create_source(&made, t0).await.unwrap();
        assert!(matches!(made, Change::Done(_)));
        brands.push(format!("spare-{i}"));
        sources.push(format!("spare-{i}"));
    }

    let mut tokens = Vec::new();
    for caller in CALLERS {
        let token = match caller {
            Caller::Role(role) => {
                let name = KeyName::parse(&format!("{role} desk")).unwrap();
                let (_, secret) = issue_key(store.as_ref(), &name, role, t0).await.unwrap();
                Some(secret.expose().to_owned())
            }
            Caller::NoKey => None,
            Caller::Malformed => Some("let-me-in".to_owned()),
            Caller::Unknown => Some(format!("ek_{}", "0".repeat(64))),
            Caller::Revoked => {
                let name = KeyName::parse("old admin").unwrap();
                let (key, secret) = issue_key(store.as_ref(), &name, Role::Admin, t0)
                    .await
                    .unwrap();
                store.revoke_api_key(key.id, t0).await.unwrap();
                Some(secret.expose().to_owned())
            }
        };
        tokens.push((caller, token));
    }

    let base = support::serve_api(AppState::new(store.clone())).await;
    World {
        store,
        base,
        tokens,
        alerts: alerts.iter().map(|a| a.id.0.to_string()).collect(),
        rules,
        spare_keys,
        reviews: reviews.iter().map(|r| r.id.0.to_string()).collect(),
        brands,
        sources,
        mention: mentions[0].0,
    }
}

/// What must not change when a request is refused, one line per object: every key
/// (but its last use: a 403 did authenticate), brand, source, rule, alert with its
/// history, review, and correction.
async fn fingerprint(store: &dyn Store) -> Vec<String> {
    let mut out: Vec<String> = store
        .api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| format!("{:?}", (k.id, k.name, k.role, k.revoked_at)))
        .collect();
    out.extend(
        store
            .brands()
            .await
            .unwrap()
            .iter()
            .map(|b| format!("{b:?}")),
    );
    out.extend(
        store
            .sources()
            .await
            .unwrap()
            .iter()
            .map(|s| format!("{s:?}")),
    );
    out.extend(
        store
            .alert_rules()
            .await
            .unwrap()
            .iter()
            .map(|r| format!("{r:?}")),
    );
    for a in store
        .alerts(&AlertQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
    {
        let (alert, history) = store.alert(a.id).await.unwrap().unwrap();
        out.push(format!("{alert:?} {history:?}"));
    }
    out.extend(
        store
            .reviews(&ReviewQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .map(|r| format!("{r:?}")),
    );
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_caller_as_the_role_table_says() {
    let db = TestDb::sqlite().await;
    let mut w = world(&db).await;
    let http = reqwest::Client::new();
    let routes = routes();

    let expected = |route: &Route, caller: Caller| match (route.allowed, caller) {
        (None, _) => route.success,
        (Some(roles), Caller::Role(role)) if roles.contains(&role) => route.success,
        (Some(_), Caller::Role(_)) => 403,
        (Some(_), _) => 401,
    };

    // Refused requests first: together they must change nothing at all.
    let before = fingerprint(w.store.as_ref()).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for pass in ["refused", "allowed"] {
        if pass == "allowed" {
            let after = fingerprint(w.store.as_ref()).await;
            let changed: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
            assert!(
                changed.is_empty() && after.len() == before.len(),
                "refused requests changed stored state: {changed:#?}"
            );
        }
        for route in &routes {
            for (caller, token) in w.tokens.clone() {
                let want = expected(route, caller);
                let refused = want == 401 || want == 403;
                if refused != (pass == "refused") {
                    continue;
                }
                let path = fill(route.path, &mut w);
                let mut req = http.request(route.method.clone(), format!("{}{path}", w.base));
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if let Some(body) = &route.body {
                    req = req.json(body);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let challenge = resp
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body: Value = if status == 204 {
                    Value::Null
                } else {
                    resp.json().await.unwrap_or(Value::Null)
                };
                checked += 1;
                let what = format!("{} {path} as {caller:?}", route.method);
                if status != want {
                    failures.push(format!("{what}: {status}, expected {want}: {body}"));
                    continue;
                }
                match status {
                    401 => {
                        assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
                        assert!(
                            challenge
                                .as_deref()
                                .is_some_and(|c| c.starts_with("Bearer")),
                            "{what}: WWW-Authenticate {challenge:?}"
                        );
                        if caller == Caller::Revoked {
                            assert!(
                                body["error"]["message"]
                                    .as_str()
                                    .unwrap()
                                    .contains("revoked"),
                                "{what}: {body}"
                            );
                        }
                    }
                    403 => {
                        assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
                        assert!(challenge.is_none(), "{what}: a 403 is not a challenge");
                    }
                    _ => assert!(body.get("error").is_none(), "{what}: {body}"),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, routes.len() * CALLERS.len());
    db.cleanup().await;
}

/// The path with `{mention}` filled in, and each other placeholder replaced by a fresh
/// object's id, so that no request depends on what an earlier one did.
fn fill(path: &str, w: &mut World) -> String {
    let mut path = path.replace("{mention}", &w.mention.to_string());
    for (placeholder, ids) in [
        ("{alert}", &mut w.alerts),
        ("{rule}", &mut w.rules),
        ("{key}", &mut w.spare_keys),
        ("{review}", &mut w.reviews),
        ("{brand}", &mut w.brands),
        ("{source}", &mut w.sources),
    ] {
        if path.contains(placeholder) {
            let id = ids.pop().expect("the world has enough fresh objects");
            path = path.replace(placeholder, &id);
        }
    }
    path
}
