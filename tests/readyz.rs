//! `/readyz` reports the database and, when the process runs one, the sentiment model.

mod support;

use earshot_api::{AppState, ModelProbe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use support::TestDb;

#[tokio::test]
async fn readyz_is_503_once_the_model_has_stopped() {
    let db = TestDb::sqlite().await;
    let alive = Arc::new(AtomicBool::new(true));
    let state = AppState::new(db.store.clone()).with_model(Some(ModelProbe {
        key: "acme/model@3".into(),
        running: {
            let alive = alive.clone();
            Arc::new(move || alive.load(Ordering::SeqCst))
        },
    }));
    let url = format!("{}/readyz", support::serve_api(state).await);

    let ready = reqwest::get(&url).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["model"]["key"], "acme/model@3");
    assert_eq!(body["model"]["status"], "running");

    alive.store(false, Ordering::SeqCst);
    let stopped = reqwest::get(&url).await.unwrap();
    assert_eq!(stopped.status(), 503);
    let body: serde_json::Value = stopped.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("acme/model@3 has stopped"),
        "{body}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn readyz_without_a_model_reports_none() {
    let db = TestDb::sqlite().await;
    let url = format!(
        "{}/readyz",
        support::serve_api(AppState::new(db.store.clone())).await
    );
    let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert!(body["model"].is_null(), "{body}");
    db.cleanup().await;
}
