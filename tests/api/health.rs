//! Health: every device and channel as a component with its state, since when and last error in
//! `/healthz`; a component down past `health_notice_after_mins` is told once through the
//! channels that still work (Telegram through the fake Bot API, email through the real SMTP
//! server), and once when it is back; a blip, repeated looks and a restart tell nothing more.
//! Time is moved by passing a later clock reading to `poll_health`, never by sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otklik_devices::evidence::camera::JpegSettings;
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_devices::evidence::{Camera, DeviceState, Photo};
use otklik_engine::Engine;
use otklik_notify::config::EmailConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::botapi::BotApi;
use crate::common::App;
use crate::smtp::SmtpServer;

const TOKEN: &str = "123456789:AAH-test-token-value-0000";
pub(crate) const GROUP: i64 = -1009876;
const CAMERA: &str = "Окно 2 — камера";

/// A camera behind the real interface whose state the test flips.
pub(crate) struct FlipCamera(Mutex<DeviceState>);

impl FlipCamera {
    pub(crate) fn new() -> Arc<FlipCamera> {
        Arc::new(FlipCamera(Mutex::new(DeviceState::new(
            "connected",
            "http://cam.test/snap.jpg",
            None,
        ))))
    }

    pub(crate) fn set(&self, broken: bool) {
        *self.0.lock().unwrap() = if broken {
            DeviceState::new(
                "waiting",
                "http://cam.test/snap.jpg",
                Some("HTTP 500 from the camera: sensor failure".into()),
            )
        } else {
            DeviceState::new("connected", "http://cam.test/snap.jpg", None)
        };
    }
}

impl Camera for FlipCamera {
    fn photo(&self, _at: i64, _: &JpegSettings) -> Result<Photo, String> {
        Err("no photos in this test".into())
    }
    fn state(&self) -> DeviceState {
        self.0.lock().unwrap().clone()
    }
}

fn engine(app: &App) -> Arc<Engine> {
    app.server.as_ref().unwrap().engine.clone()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(rfc3339: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp_millis()
}

/// Russian, notices after one minute.
async fn settings(app: &App, after_mins: i64) {
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "language": "ru", "timezone": "Europe/Moscow", "health_notice_after_mins": after_mins }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// Telegram on the fake Bot API with the group paired; low ratings alert on Telegram only.
pub(crate) async fn telegram_on(app: &App, bot: &BotApi) {
    let (s, b) = app
        .put("/api/v1/notify/secrets", json!({ "telegram_token": TOKEN }))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({
                "telegram": { "enabled": true, "api_url": bot.url(), "min_interval_ms": 0 },
                "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 0 }],
                "reports": [],
                "retry_max_secs": 1,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, p) = app.post("/api/v1/notify/pairing", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let code = p["code"].as_str().unwrap().to_string();
    bot.push_message(
        GROUP,
        "Регистратура",
        "Мария",
        &format!("/pair {code}"),
        None,
    );
    bot.wait_for("the pairing answer", Duration::from_secs(20), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.chat_id == Some(GROUP))
    })
    .await;
}

/// Email on, to `cfg`'s server, beside whatever else is on.
async fn email_on(app: &App, cfg: EmailConfig, password: &str) {
    let (s, _) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    let mut config = state["config"].clone();
    config["email"] = serde_json::to_value(cfg).unwrap();
    config["retry_max_secs"] = json!(1);
    let (s, b) = app.put("/api/v1/notify", config).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// A component as `/healthz` shows it, with the whole answer.
pub(crate) async fn component(app: &App, id: &str) -> (Value, Value) {
    let (_, h) = app.get("/healthz").await;
    let c = h["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null);
    (c, h)
}

/// Waits until `/healthz` shows `id` in `state`, and the monitor has recorded it.
pub(crate) async fn until_state(app: &App, id: &str, state: &str) -> Value {
    app.until(&format!("{id} {state}"), 30, || async {
        let (c, _) = component(app, id).await;
        (c["state"] == state).then_some(())
    })
    .await;
    engine(app).poll_health(now()).await.unwrap();
    let (c, _) = component(app, id).await;
    assert_eq!(c["state"], state, "{c}");
    c
}

/// Health notices in the outbox (whatever their state), oldest first: (channel, summary).
async fn queued_notices(app: &App) -> Vec<(String, String)> {
    let (_, items) = app.get("/api/v1/outbox?limit=1000").await;
    let mut out: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "notice")
        .map(|i| {
            (
                i["channel"].as_str().unwrap().to_string(),
                i["summary"].as_str().unwrap().to_string(),
            )
        })
        .filter(|(_, s)| s.contains("не работает") || s.contains("снова работает"))
        .collect();
    out.reverse();
    out
}

/// Telegram messages delivered to the group that mention `what` and `words`.
fn telegram_says(bot: &BotApi, what: &str, words: &str) -> usize {
    bot.delivered()
        .iter()
        .filter(|c| c.chat_id == Some(GROUP))
        .filter_map(|c| c.text.clone())
        .filter(|t| t.contains(what) && t.contains(words))
        .count()
}

/// Emails whose subject mentions `what` and `words`.
fn email_says(smtp: &SmtpServer, what: &str, words: &str) -> usize {
    smtp.messages()
        .iter()
        .filter_map(|m| m["subject"].as_str().map(str::to_string))
        .filter(|s| s.contains(what) && s.contains(words))
        .count()
}

async fn health_audit(app: &App) -> Vec<Value> {
    let (_, log) = app.get("/api/v1/audit?limit=1000").await;
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "health.notice")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_telegram_outage_is_told_once_by_email_and_its_end_once() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 2").await;
    settings(&app, 1).await;
    telegram_on(&app, &bot).await;
    email_on(&app, smtp.config(), &smtp.password).await;
    let engine = engine(&app);
    let (tg, h) = component(&app, "channel:telegram").await;
    assert_eq!(tg["state"], "ok", "{h}");
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["attention"], json!([]));

    // The Bot API goes away with an alert on its way: Telegram is down.
    bot.stop().await;
    app.rate(desk, 1).await;
    let down = until_state(&app, "channel:telegram", "down").await;
    let since = millis(&down["since"]);
    let error = down["last_error"].as_str().expect("the error").to_string();
    assert!(!error.is_empty());
    assert_eq!(down["name"], "Telegram");
    let (_, h) = component(&app, "channel:telegram").await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(
        h["attention"]
            .as_array()
            .unwrap()
            .contains(&json!("Telegram")),
        "{h}"
    );

    // Within the minute: nothing yet.
    engine.poll_health(since + 30_000).await.unwrap();
    assert_eq!(queued_notices(&app).await, vec![]);

    // Past it: one notice, by email only, with the error.
    engine.poll_health(since + 61_000).await.unwrap();
    let got = smtp.wait_for(1, Duration::from_secs(30)).await;
    let mail = &got[0];
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("Telegram") && subject.contains("не работает"),
        "{mail}"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains(&error[..error.len().min(20)]),
        "the error in {text}"
    );
    assert_eq!(
        queued_notices(&app)
            .await
            .iter()
            .map(|n| n.0.as_str())
            .collect::<Vec<_>>(),
        ["email"],
        "not through Telegram itself"
    );

    // Looking again, later and later, tells nothing more.
    for later in [62_000, 120_000, 600_000, 3_600_000] {
        engine.poll_health(since + later).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(queued_notices(&app).await.len(), 1);
    assert_eq!(email_says(&smtp, "Telegram", "не работает"), 1);

    // The Bot API is back: the alert goes, Telegram is ok, and one email says so.
    bot.restart().await;
    app.until("the 'back' email", 40, || async {
        (email_says(&smtp, "Telegram", "снова работает") == 1).then_some(())
    })
    .await;
    let up = until_state(&app, "channel:telegram", "ok").await;
    assert!(millis(&up["since"]) > since, "a new since: {up}");
    assert_eq!(up["last_error"], json!(error), "the last error is kept");
    for later in [60_000, 600_000] {
        engine.poll_health(now() + later).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(email_says(&smtp, "Telegram", "не работает"), 1);
    assert_eq!(email_says(&smtp, "Telegram", "снова работает"), 1);
    let notices = queued_notices(&app).await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices.iter().all(|n| n.0 == "email"), "{notices:?}");
    // Telegram says its own outage in its own words when it is back, never these.
    bot.wait_for("Telegram's own notice", Duration::from_secs(20), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.text.as_deref().unwrap_or("").contains("не было связи"))
    })
    .await;
    assert_eq!(telegram_says(&bot, "Telegram", "не работает"), 0);
    assert_eq!(telegram_says(&bot, "Telegram", "снова работает"), 0);

    let audit = health_audit(&app).await;
    assert_eq!(audit.len(), 2, "{audit:#?}");
    let states: Vec<&Value> = audit.iter().map(|e| &e["details"]["state"]).collect();
    assert_eq!(states, [&json!("ok"), &json!("down")], "newest first");
    assert_eq!(audit[1]["details"]["component"], "channel:telegram");
    assert_eq!(audit[1]["details"]["channels"], json!(["email"]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_camera_is_told_on_both_channels_once_each_way_not_for_a_blip_nor_when_off() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 2").await;
    settings(&app, 1).await;
    telegram_on(&app, &bot).await;
    email_on(&app, smtp.config(), &smtp.password).await;
    let engine = engine(&app);
    let cam = FlipCamera::new();
    engine.evidence.set_devices(
        desk,
        Some(DeskDevices {
            camera: Some(Ok(cam.clone())),
            microphone: None,
        }),
    );
    let ok = until_state(&app, &format!("camera:{desk}"), "ok").await;
    assert_eq!(ok["name"], CAMERA);
    assert_eq!(ok["kind"], "camera");
    assert_eq!(ok["desk_id"], desk);
    assert_eq!(ok["last_error"], Value::Null);
    let id = format!("camera:{desk}");

    // A blip shorter than the minute: nothing.
    cam.set(true);
    let down = until_state(&app, &id, "down").await;
    let since = millis(&down["since"]);
    engine.poll_health(since + 30_000).await.unwrap();
    cam.set(false);
    engine.poll_health(since + 40_000).await.unwrap();
    until_state(&app, &id, "ok").await;
    assert_eq!(queued_notices(&app).await, vec![], "no notice for a blip");

    // Down for good: /healthz says since when and why.
    cam.set(true);
    let down = until_state(&app, &id, "down").await;
    let since = millis(&down["since"]);
    assert!(
        down["last_error"]
            .as_str()
            .unwrap()
            .contains("sensor failure"),
        "{down}"
    );
    let (_, h) = component(&app, &id).await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["attention"], json!([CAMERA]));
    assert_eq!(h["devices"][0]["state"], "waiting", "the old fields stay");

    // Past the minute: one notice on each channel; looking again tells nothing more.
    for later in [61_000, 62_000, 300_000, 3_600_000] {
        engine.poll_health(since + later).await.unwrap();
    }
    app.until("the notice on both channels", 30, || async {
        (telegram_says(&bot, CAMERA, "не работает") == 1
            && email_says(&smtp, CAMERA, "не работает") == 1)
            .then_some(())
    })
    .await;
    let tg = bot
        .delivered()
        .into_iter()
        .rfind(|c| c.text.as_deref().unwrap_or("").contains(CAMERA))
        .unwrap();
    assert!(
        tg.text.as_deref().unwrap().contains("sensor failure"),
        "{tg:?}"
    );

    // Back: one notice on each, and a new since.
    cam.set(false);
    let up = until_state(&app, &id, "ok").await;
    assert!(millis(&up["since"]) > since, "{up}");
    assert!(
        up["last_error"]
            .as_str()
            .unwrap()
            .contains("sensor failure"),
        "{up}"
    );
    app.until("the 'back' notice on both channels", 30, || async {
        (telegram_says(&bot, CAMERA, "снова работает") == 1
            && email_says(&smtp, CAMERA, "снова работает") == 1)
            .then_some(())
    })
    .await;
    let (_, h) = component(&app, &id).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["attention"], json!([]));

    // Notices off (0): nothing, however long it is down.
    settings(&app, 0).await;
    cam.set(true);
    let down = until_state(&app, &id, "down").await;
    let since = millis(&down["since"]);
    for later in [61_000, 3_600_000] {
        engine.poll_health(since + later).await.unwrap();
    }
    cam.set(false);
    until_state(&app, &id, "ok").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(telegram_says(&bot, CAMERA, "не работает"), 1);
    assert_eq!(email_says(&smtp, CAMERA, "не работает"), 1);
    assert_eq!(telegram_says(&bot, CAMERA, "снова работает"), 1);
    assert_eq!(email_says(&smtp, CAMERA, "снова работает"), 1);
    assert_eq!(queued_notices(&app).await.len(), 4);
    assert_eq!(health_audit(&app).await.len(), 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_other_channel_an_outage_cannot_be_told_and_nothing_is_sent() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 2").await;
    settings(&app, 1).await;
    telegram_on(&app, &bot).await;
    let engine = engine(&app);
    bot.stop().await;
    app.rate(desk, 1).await;
    let down = until_state(&app, "channel:telegram", "down").await;
    let since = millis(&down["since"]);
    for later in [61_000, 600_000] {
        engine.poll_health(since + later).await.unwrap();
    }
    assert_eq!(queued_notices(&app).await, vec![]);
    assert_eq!(health_audit(&app).await, Vec::<Value>::new());
    bot.restart().await;
    until_state(&app, "channel:telegram", "ok").await;
    bot.wait_for("Telegram's own notice", Duration::from_secs(20), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.text.as_deref().unwrap_or("").contains("не было связи"))
    })
    .await;
    assert_eq!(
        queued_notices(&app).await,
        vec![],
        "no 'back' without a 'down'"
    );
    app.stop().await;
}

/// Each run in a runtime of its own, dropped at the end: a real restart (every task of the
/// first engine ends with it).
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(f);
    rt.shutdown_timeout(Duration::from_secs(5));
    out
}

#[test]
fn a_restart_neither_repeats_the_notice_nor_loses_the_back_one() {
    let cam = FlipCamera::new();
    let (dir, since) = run(async {
        let smtp = SmtpServer::start().await;
        let app = App::start().await;
        let desk = app.desk("Окно 2").await;
        assert_eq!(desk, 1);
        settings(&app, 1).await;
        email_on(&app, smtp.config(), &smtp.password).await;
        engine(&app).evidence.set_devices(
            desk,
            Some(DeskDevices {
                camera: Some(Ok(cam.clone())),
                microphone: None,
            }),
        );
        cam.set(true);
        let down = until_state(&app, "camera:1", "down").await;
        let since = millis(&down["since"]);
        engine(&app).poll_health(since + 61_000).await.unwrap();
        smtp.wait_for(1, Duration::from_secs(30)).await;
        assert_eq!(email_says(&smtp, CAMERA, "не работает"), 1);
        (app.stop().await, since)
    });

    run(async {
        // Another mail server (the first one went with the first run); email works.
        let smtp = SmtpServer::start().await;
        let app = App::start_in(dir).await;
        email_on(&app, smtp.config(), &smtp.password).await;
        let engine = engine(&app);
        // Still broken after the restart, long past the minute: told already.
        engine.evidence.set_devices(
            1,
            Some(DeskDevices {
                camera: Some(Ok(cam.clone())),
                microphone: None,
            }),
        );
        let down = until_state(&app, "camera:1", "down").await;
        assert_eq!(millis(&down["since"]), since, "the outage goes on");
        for later in [120_000, 3_600_000] {
            engine.poll_health(now() + later).await.unwrap();
        }
        let (email, _) = component(&app, "channel:email").await;
        assert_eq!(email["state"], "ok", "email works: {email}");
        // Back: the notice owed from before the restart goes, once.
        cam.set(false);
        until_state(&app, "camera:1", "ok").await;
        engine.poll_health(now() + 60_000).await.unwrap();
        smtp.wait_for(1, Duration::from_secs(30)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            email_says(&smtp, CAMERA, "не работает"),
            0,
            "not told twice"
        );
        assert_eq!(email_says(&smtp, CAMERA, "снова работает"), 1);
        let notices = queued_notices(&app).await;
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices.iter().all(|n| n.0 == "email"), "{notices:?}");
        assert_eq!(health_audit(&app).await.len(), 2);
        app.stop().await;
    });
}
