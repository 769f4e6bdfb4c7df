//! The OpenAPI document at `/api/v1/openapi.json` against the real router, served on
//! 127.0.0.1 over a real SQLite store: it is served without a key and is OpenAPI 3.1;
//! it documents exactly the routes the server answers (the list below, checked both
//! ways against the document, and every documented operation probed on the live
//! server); it marks exactly the open routes as needing no key; and every `$ref` in it
//! resolves.

mod support;

use earshot_api::{issue_key, AppState};
use earshot_domain::{AlertRuleSpec, BrandSlug, KeyName, Role, Threshold, Timestamp};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::{acme, crawl_and_classify, feed_source, found, scored, TestDb};

/// Every (method, path) the router serves, as its modules' `router()`s write them,
/// checked both ways against the document. A method added on a documented path is also
/// caught by the probe of every method on every path; a route on a new path must be
/// added here and to the document by hand (axum cannot list its routes).
const SERVED: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/mentions"),
    ("POST", "/api/v1/mentions/{id}/sentiment"),
    ("GET", "/api/v1/stats"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/v1/alerts/{id}"),
    ("PATCH", "/api/v1/alerts/{id}"),
    ("POST", "/api/v1/alerts/{id}/acknowledge"),
    ("POST", "/api/v1/alerts/{id}/resolve"),
    ("POST", "/api/v1/alerts/{id}/dismiss"),
    ("GET", "/api/v1/alert-rules"),
    ("POST", "/api/v1/alert-rules"),
    ("GET", "/api/v1/alert-rules/{id}"),
    ("PATCH", "/api/v1/alert-rules/{id}"),
    ("DELETE", "/api/v1/alert-rules/{id}"),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/brands"),
    ("POST", "/api/v1/brands"),
    ("GET", "/api/v1/brands/{slug}"),
    ("PATCH", "/api/v1/brands/{slug}"),
    ("DELETE", "/api/v1/brands/{slug}"),
    ("GET", "/api/v1/sources"),
    ("POST", "/api/v1/sources"),
    ("GET", "/api/v1/sources/{name}"),
    ("PATCH", "/api/v1/sources/{name}"),
    ("DELETE", "/api/v1/sources/{name}"),
    ("GET", "/api/v1/sources/{name}/ratings"),
    ("GET", "/api/v1/keys"),
    ("POST", "/api/v1/keys"),
    ("DELETE", "/api/v1/keys/{id}"),
    ("GET", "/api/v1/reviews"),
    ("GET", "/api/v1/reviews/{id}"),
    ("POST", "/api/v1/reviews/{id}/approve"),
    ("POST", "/api/v1/reviews/{id}/reject"),
    ("GET", "/public/v1/brands/{slug}/reviews"),
    ("OPTIONS", "/public/v1/brands/{slug}/reviews"),
    ("GET", "/public/v1/brands/{slug}/widget.js"),
    ("OPTIONS", "/public/v1/brands/{slug}/widget.js"),
];

/// The routes that need no key.
const OPEN: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/v1/openapi.json",
    "/public/v1/brands/{slug}/reviews",
    "/public/v1/brands/{slug}/widget.js",
];

/// The methods OpenAPI can name on a path item (HEAD and TRACE aside: axum answers HEAD
/// for every GET route by itself).
const METHODS: [&str; 6] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"];

/// A server over a store with the acme brand, an alert and a review (so ids 1 name
/// real objects), an admin key, and the document as served.
struct Served {
    base: String,
    admin: String,
    doc: Value,
    db: TestDb,
}

async fn serve() -> Served {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let t0 = Timestamp::now();
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
    crawl_and_classify(
        store.as_ref(),
        "forum",
        vec![
            found("acme", "bad", "Acme broke", None),
            found("acme", "good", "Acme works", None),
        ],
        vec![
            scored([0.95, 0.03, 0.02], None, "en", "m@1"),
            scored([0.02, 0.03, 0.95], None, "en", "m@1"),
        ],
        t0,
    )
    .await;
    // Key 1 is the one the probe of DELETE /api/v1/keys/{id} revokes; the probes run
    // with key 2.
    let spare = KeyName::parse("spare").unwrap();
    issue_key(store.as_ref(), &spare, Role::Viewer, t0)
        .await
        .unwrap();
    let name = KeyName::parse("probe").unwrap();
    let (_, secret) = issue_key(store.as_ref(), &name, Role::Admin, t0)
        .await
        .unwrap();

    let base = support::serve_api(AppState::new(store)).await;

    let resp = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the document needs no key");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let doc: Value = serde_json::from_str(&resp.text().await.unwrap()).expect("valid JSON");
    Served {
        base,
        admin: secret.expose().to_owned(),
        doc,
        db,
    }
}

/// Every (method, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method.to_ascii_lowercase()).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

/// A documented path with its placeholders filled: ids with 1, slugs with acme.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{slug}", "acme")
        .replace("{name}", "forum")
}

#[tokio::test]
async fn the_document_is_openapi_3_1_served_without_a_key() {
    let s = serve().await;
    let version = s.doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(s.doc["info"]["title"].is_string());
    assert_eq!(
        s.doc["components"]["securitySchemes"]["bearerKey"]["scheme"],
        "bearer"
    );
    s.db.cleanup().await;
}

#[tokio::test]
async fn the_document_names_exactly_the_routes_the_server_serves() {
    let s = serve().await;
    let documented = documented(&s.doc);
    let served: BTreeSet<(String, String)> = SERVED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not served: {extra:?}");

    // Each documented operation is answered by a route on the live server, and every
    // other method on its path is refused as not allowed there: a method the server
    // answers but the document leaves out would show up here.
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in METHODS {
            let url = format!("{}{}", s.base, concrete(path));
            let req = http
                .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
                .bearer_auth(&s.admin);
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let no_route = status == 405
                || (status == 404
                    && body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("no such resource")));
            let is_documented = documented.contains(&(method.to_owned(), path.clone()));
            if is_documented == no_route {
                failures.push(format!(
                    "{method} {path}: {status} {body} (documented: {is_documented})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    s.db.cleanup().await;
}

#[tokio::test]
async fn exactly_the_open_routes_are_documented_as_needing_no_key() {
    let s = serve().await;
    let global = &s.doc["security"];
    assert_eq!(global[0]["bearerKey"], serde_json::json!([]), "{global}");
    let http = reqwest::Client::new();
    for (method, path) in documented(&s.doc) {
        let op = &s.doc["paths"][&path][method.to_ascii_lowercase()];
        let open = op["security"] == serde_json::json!([]);
        assert_eq!(open, OPEN.contains(&path.as_str()), "{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        assert_eq!(
            responses.contains_key("401"),
            !open,
            "{method} {path}: a 401 is documented exactly where a key is needed"
        );
        let url = format!("{}{}", s.base, concrete(&path));
        let resp = http
            .request(Method::from_bytes(method.as_bytes()).unwrap(), url)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status() == 401,
            !open,
            "{method} {path} without a key: {}",
            resp.status()
        );
    }
    s.db.cleanup().await;
}

#[tokio::test]
async fn every_ref_in_the_document_resolves() {
    let s = serve().await;
    let mut refs = Vec::new();
    collect_refs(&s.doc, &mut refs);
    assert!(refs.len() > 50, "the document uses its components");
    let unresolved: Vec<_> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .and_then(|pointer| s.doc.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(unresolved.is_empty(), "unresolved: {unresolved:?}");
    s.db.cleanup().await;
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
