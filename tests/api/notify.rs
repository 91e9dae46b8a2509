//! Notification settings, alerts worked through the API, and the webhook through an outage:
//! every rating arrives once, in order, and nothing holds the ratings up.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::post;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::common::App;

/// A request's `Idempotency-Key` header and body.
type Try = (Option<String>, Value);

/// A webhook receiver on loopback: records bodies; can refuse, and can hold requests.
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    /// Every request, refused or not: its `Idempotency-Key` header and body.
    tries: Arc<Mutex<Vec<Try>>>,
    refuse: Arc<Mutex<Option<u16>>>,
    /// Each request takes a permit before answering; the test hands them out to hold it.
    gate: Arc<Semaphore>,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            got: Arc::default(),
            tries: Arc::default(),
            refuse: Arc::default(),
            gate: Arc::new(Semaphore::new(1_000_000)),
        }
    }

    /// Serves on `addr` until the returned handle is aborted.
    async fn serve(&self, addr: SocketAddr) -> tokio::task::JoinHandle<()> {
        async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> AxStatus {
            let permit = r.gate.acquire().await.unwrap();
            permit.forget();
            let key = headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_string());
            r.tries
                .lock()
                .unwrap()
                .push((key, serde_json::from_str(&body).unwrap()));
            if let Some(code) = *r.refuse.lock().unwrap() {
                return AxStatus::from_u16(code).unwrap();
            }
            r.got
                .lock()
                .unwrap()
                .push(serde_json::from_str(&body).unwrap());
            AxStatus::NO_CONTENT
        }
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        })
    }

    fn rating_ids(&self) -> Vec<i64> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["rating"]["id"].as_i64().unwrap())
            .collect()
    }
}

async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

async fn channel(app: &App, name: &str) -> Value {
    let (_, h) = app.get("/healthz").await;
    h["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == name)
        .cloned()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_gets_every_rating_once_in_order_through_outages() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let addr = free_addr().await;
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({ "webhook_url": format!("http://{addr}/hook"), "retry_max_secs": 1, "alerts": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Down: nobody listens. Ratings are stored and answered all the same.
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(app.rate(desk, 1 + i % 3).await["id"].as_i64().unwrap());
    }
    let down = app
        .until("the webhook to be reported down", 20, || async {
            let c = channel(&app, "webhook").await;
            (c["state"] == "down").then_some(c)
        })
        .await;
    assert_eq!(down["pending"], 5, "{down}");
    assert!(
        down["last_error"].as_str().unwrap().contains("unreachable"),
        "{down}"
    );

    // Back, but refusing (503): still nothing delivered, nothing lost.
    let rx = Receiver::new();
    *rx.refuse.lock().unwrap() = Some(503);
    let server = rx.serve(addr).await;
    sent.push(app.rate(desk, 2).await["id"].as_i64().unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(rx.rating_ids().is_empty());

    // Slow: the receiver holds every request until the test lets it go; ratings still go in.
    *rx.refuse.lock().unwrap() = None;
    let held = rx.gate.available_permits();
    rx.gate.try_acquire_many(held as u32).unwrap().forget();
    sent.push(app.rate(desk, 3).await["id"].as_i64().unwrap());
    sent.push(app.rate(desk, 1).await["id"].as_i64().unwrap());
    assert!(
        rx.rating_ids().is_empty(),
        "nothing went through the held receiver"
    );
    rx.gate.add_permits(1000);

    let got = app
        .until("every rating at the webhook", 30, || async {
            let ids = rx.rating_ids();
            (ids.len() >= sent.len()).then_some(ids)
        })
        .await;
    assert_eq!(got, sent, "each rating once, in the order given");
    let body = rx.got.lock().unwrap()[0].clone();
    assert_eq!(body["event"], "rating");
    assert_eq!(body["rating"]["desk_id"], desk);
    let up = app
        .until("the webhook to be ok", 10, || async {
            let c = channel(&app, "webhook").await;
            (c["state"] == "ok" && c["pending"] == 0).then_some(c)
        })
        .await;
    assert_eq!(up["failed"], 0);

    // Refused for good (404): marked failed with the answer, the queue moves on.
    *rx.refuse.lock().unwrap() = Some(404);
    let lost = app.rate(desk, 2).await["id"].as_i64().unwrap();
    let failed = app
        .until("the refused message to be failed", 20, || async {
            let (_, list) = app.get("/api/v1/outbox?state=failed").await;
            list.as_array().unwrap().first().cloned()
        })
        .await;
    assert!(
        failed["last_error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    *rx.refuse.lock().unwrap() = None;
    let (s, b) = app
        .post(&format!("/api/v1/outbox/{}/retry", failed["id"]), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    app.until("the retried rating", 20, || async {
        rx.rating_ids().contains(&lost).then_some(())
    })
    .await;
    let (s, b) = app
        .post(&format!("/api/v1/outbox/{}/retry", failed["id"]), json!({}))
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "only failed messages are retried: {b}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_webhook_delivery_carries_the_same_idempotency_key() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let addr = free_addr().await;
    let rx = Receiver::new();
    *rx.refuse.lock().unwrap() = Some(503);
    let server = rx.serve(addr).await;
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({ "webhook_url": format!("http://{addr}/hook"), "retry_max_secs": 1, "alerts": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let first = app.rate(desk, 2).await["id"].as_i64().unwrap();
    let second = app.rate(desk, 3).await["id"].as_i64().unwrap();
    app.until("the first rating tried twice", 20, || async {
        (rx.tries.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    *rx.refuse.lock().unwrap() = None;
    app.until("both ratings at the webhook", 20, || async {
        (rx.rating_ids() == [first, second]).then_some(())
    })
    .await;
    let tries = rx.tries.lock().unwrap().clone();
    let key_of = |rating: i64| -> Vec<String> {
        tries
            .iter()
            .filter(|(_, body)| body["rating"]["id"] == rating)
            .map(|(key, body)| {
                let key = key.clone().expect("an Idempotency-Key header");
                assert_eq!(body["id"], key.as_str(), "the body's id is the key");
                key
            })
            .collect()
    };
    let (a, b) = (key_of(first), key_of(second));
    assert!(a.len() >= 2, "the first rating was retried: {tries:#?}");
    assert!(
        a.iter().all(|k| *k == a[0]),
        "one key across retries: {a:?}"
    );
    assert!(b.iter().all(|k| *k == b[0]), "{b:?}");
    assert_ne!(a[0], b[0], "each message its own key");
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_notification_settings_name_the_field_and_change_nothing() {
    let app = App::start().await;
    let (_, before) = app.get("/api/v1/notify").await;
    for (body, field) in [
        (
            json!({ "email": { "enabled": true, "host": "smtp.clinic.test", "from": "otklik@clinic.test", "to": ["nobody"] } }),
            "email.to[0]",
        ),
        (
            json!({ "email": { "enabled": true, "host": "", "from": "otklik@clinic.test", "to": ["a@clinic.test"] } }),
            "email.host",
        ),
        (json!({ "alerts": [{ "scores": [9] }] }), "alerts[0].scores"),
        (
            json!({ "alerts": [{ "scores": [1], "channels": [] }] }),
            "alerts[0].channels",
        ),
        (
            json!({ "reports": [{ "every": "5h" }] }),
            "reports[0].every",
        ),
        (
            json!({ "telegram": { "api_url": "api.telegram.org" } }),
            "telegram.api_url",
        ),
        (json!({ "webhook_url": "ftp://x" }), "webhook_url"),
        (json!({ "retry_max_secs": 0 }), "retry_max_secs"),
        (json!({ "alerts": [{ "score": [1] }] }), "alerts[0].score"),
    ] {
        let (s, b) = app.put("/api/v1/notify", body.clone()).await;
        let want = if field.ends_with("score") {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(s, want, "{body} -> {b}");
        assert!(
            b["field"].as_str().unwrap_or("").starts_with(field)
                || b["error"].as_str().unwrap().contains(field),
            "{body} -> {b}"
        );
    }
    let (_, after) = app.get("/api/v1/notify").await;
    assert_eq!(before["config"], after["config"]);

    for body in [
        json!({ "telegram_token": "not a token" }),
        json!({ "telegram_token": "" }),
        json!({ "smtp_password": "two\nlines" }),
        json!({ "password": "x" }),
    ] {
        let (s, b) = app.put("/api/v1/notify/secrets", body.clone()).await;
        let want = if body.get("password").is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(s, want, "{body} -> {b}");
    }
    let (s, _) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "telegram_token": "123456789:AAHsecret-token-value_xyz", "smtp_password": "pa55-word-секрет" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    assert_eq!(state["telegram_token_set"], true);
    assert_eq!(state["smtp_password_set"], true);
    // The secrets are in the owner-only file and nowhere else: not in the API, the database,
    // or the audit log.
    let text = state.to_string();
    assert!(
        !text.contains("AAHsecret") && !text.contains("pa55"),
        "{text}"
    );
    let db = std::fs::read(app.db_path()).unwrap();
    let wal = std::fs::read(app.dir.path().join("otklik.db-wal")).unwrap_or_default();
    for hay in [&db, &wal] {
        let hay = String::from_utf8_lossy(hay);
        assert!(!hay.contains("AAHsecret") && !hay.contains("pa55"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (s, _) = app
        .put("/api/v1/notify/secrets", json!({ "telegram_token": null }))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    assert_eq!(state["telegram_token_set"], false);
    assert_eq!(
        state["smtp_password_set"], true,
        "an absent field keeps its secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_are_raised_by_rule_and_worked_from_the_console() {
    let app = App::start().await;
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let anna = app.registrar("Анна Петрова").await;
    app.start_session(d1, anna).await;
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({ "alerts": [{ "scores": [1], "desks": [d1], "channels": ["telegram"], "escalate_after_mins": 0 }] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let low = app.rate(d1, 1).await["id"].as_i64().unwrap();
    app.rate(d1, 3).await; // not a score of the rule
    app.rate(d2, 1).await; // not a desk of the rule
    let (_, alerts) = app.get("/api/v1/alerts").await;
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        (a["rating_id"].as_i64(), a["state"].as_str()),
        (Some(low), Some("open"))
    );
    assert_eq!(a["registrar"], "Анна Петрова");
    let id = a["id"].as_i64().unwrap();

    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/resolve"),
            json!({ "by": "Старшая", "cause": "" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "cause");
    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/take"),
            json!({ "by": "Старшая" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["state"].as_str(), b["taken_by"].as_str()),
        (Some("taken"), Some("Старшая"))
    );
    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/take"),
            json!({ "by": "Другая" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["error"].as_str().unwrap().contains("Старшая"), "{b}");
    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/resolve"),
            json!({ "by": "Старшая", "cause": "долго ждал талон" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "resolved");
    assert_eq!(b["cause"], "долго ждал талон");
    assert_eq!(b["minutes_to_resolve"], 0);
    let (_, report) = app.get("/api/v1/reports?period=today").await;
    let summary = &report["alerts"];
    assert_eq!(
        (summary["total"].as_i64(), summary["resolved"].as_i64()),
        (Some(1), Some(1)),
        "{summary}"
    );
    assert_eq!(summary["median_minutes_to_resolve"], 0);
    let (_, other) = app
        .get(&format!("/api/v1/reports?period=today&desk_id={d2}"))
        .await;
    assert_eq!(other["alerts"]["total"], 0, "filtered by desk");
    let (s, _) = app
        .post("/api/v1/alerts/999/take", json!({ "by": "x" }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = app.get("/api/v1/alerts?state=closed").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (_, open) = app.get("/api/v1/alerts?state=open").await;
    assert!(open.as_array().unwrap().is_empty());
    // Telegram is off: nothing could be sent, and the test message says why.
    let (s, b) = app
        .post("/api/v1/notify/test", json!({ "channel": "telegram" }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
}
