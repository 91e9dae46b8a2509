//! The first run: `GET /api/v1/setup`, the settings file (export, import into a fresh engine,
//! refusals naming every path and changing nothing, no secret in it), demo data in place, and
//! the wizard's live device tests (a camera's frame, a microphone's level).

use std::sync::Arc;

use otklik_devices::evidence::camera::JpegSettings;
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_devices::evidence::{Camera, DeviceState, Microphone, Photo};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;
use crate::evidence::ToneMic;

const BOT_TOKEN: &str = "123456789:AAHsetupSecretToken_0123456789";
const SMTP_PASSWORD: &str = "smtp-Secret-Pa55";
const CAMERA_PASSWORD: &str = "cam-Secret-Pa55";
const PIN: &str = "48151";

struct StillCamera(Vec<u8>);

impl Camera for StillCamera {
    fn photo(&self, at: i64, _: &JpegSettings) -> Result<Photo, String> {
        Ok(Photo {
            jpeg: self.0.clone(),
            taken_at: at,
            width: 320,
            height: 240,
        })
    }
    fn state(&self) -> DeviceState {
        DeviceState::new("connected", "still", None)
    }
}

struct BlindCamera;

impl Camera for BlindCamera {
    fn photo(&self, _: i64, _: &JpegSettings) -> Result<Photo, String> {
        Err("no frame from the camera for 3 s (unplugged?)".into())
    }
    fn state(&self) -> DeviceState {
        DeviceState::new("waiting", "usb 0", Some("unplugged".into()))
    }
}

struct BusyMic;

impl Microphone for BusyMic {
    fn clip(&self, _: i64, _: i64) -> Result<otklik_devices::evidence::Clip, String> {
        Err("the microphone is busy (another program holds it)".into())
    }
    fn state(&self) -> DeviceState {
        DeviceState::new("waiting", "default", Some("busy".into()))
    }
}

/// The body of an answer that must have this status.
async fn ok(_: &App, what: (StatusCode, Value), expected: StatusCode) -> Value {
    assert_eq!(what.0, expected, "{}", what.1);
    what.1
}

async fn export(app: &App) -> (Value, String) {
    let resp = app
        .http
        .get(app.url("/api/v1/settings/export"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"otklik-settings-"),
        "{disposition}"
    );
    let text = resp.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

/// What an installation is set up as, to compare two of them: settings, notification settings
/// (alert rules' desks by name), desks by name with their inputs and evidence, registrars.
async fn installation(app: &App) -> Value {
    let (_, settings) = app.get("/api/v1/settings").await;
    let (_, desks) = app.get("/api/v1/desks").await;
    let (_, registrars) = app.get("/api/v1/registrars").await;
    let (_, notify) = app.get("/api/v1/notify").await;
    let mut names = std::collections::HashMap::new();
    let mut out_desks = Vec::new();
    for d in desks.as_array().unwrap() {
        let id = d["id"].as_i64().unwrap();
        names.insert(id, d["name"].clone());
        let (_, mut input) = app.get(&format!("/api/v1/desks/{id}/input")).await;
        let (_, mut evidence) = app.get(&format!("/api/v1/desks/{id}/evidence")).await;
        input.as_object_mut().unwrap().remove("desk_id");
        evidence.as_object_mut().unwrap().remove("desk_id");
        if let Some(cam) = evidence["camera"].as_object_mut() {
            cam.remove("has_password");
        }
        out_desks.push(json!({ "name": d["name"], "active": d["active"], "input": input, "evidence": evidence }));
    }
    let mut config = notify["config"].clone();
    for rule in config["alerts"].as_array_mut().unwrap() {
        let by_name: Vec<Value> = rule["desks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| names[&id.as_i64().unwrap()].clone())
            .collect();
        rule["desks"] = Value::Array(by_name);
    }
    let registrars: Vec<Value> = registrars
        .as_array()
        .unwrap()
        .iter()
        .map(|r| json!({ "name": r["name"], "active": r["active"] }))
        .collect();
    json!({ "settings": settings, "notify": config, "desks": out_desks, "registrars": registrars })
}

/// An installation set up in every part, with a PIN, a camera password, a bot token and an
/// SMTP password.
async fn set_up(app: &App) {
    ok(
        app,
        app.patch(
            "/api/v1/settings",
            json!({
                "clinic_name": "Поликлиника № 7", "language": "en", "timezone": "Asia/Yekaterinburg",
                "scale": 5, "min_ratings": 3, "display_initials": true, "display_period": "week",
                "start_with_system": true, "panel_lockout_secs": 9, "setup_done": true
            }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let _d3 = app.desk("Окно 3").await;
    let d4 = app.desk("Окно 4").await;
    ok(
        app,
        app.patch(&format!("/api/v1/desks/{d4}"), json!({ "active": false }))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app,
        app.put(
            &format!("/api/v1/desks/{d1}/input"),
            json!({ "kind": "keys", "keys": ["F13", "F14", "F15", "F16", "F17"], "debounce_ms": 700 }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app,
        app.put(
            &format!("/api/v1/desks/{d2}/input"),
            json!({ "kind": "serial", "path": "/dev/ttyOTKLIKTEST7", "baud": 19200 }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app,
        app.put(
            &format!("/api/v1/desks/{d2}/evidence"),
            json!({ "photo": true, "camera": { "kind": "ip", "url": "http://127.0.0.1:9/snapshot.jpg", "user": "viewer", "password": CAMERA_PASSWORD },
                    "audio": false, "microphone": "USB Audio Device" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let anna = app.registrar("Анна Смирнова").await;
    app.registrar("Борис Петров").await;
    let vera = app.registrar("Вера Кузнецова").await;
    ok(
        app,
        app.patch(&format!("/api/v1/registrars/{anna}"), json!({ "pin": PIN }))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app,
        app.patch(
            &format!("/api/v1/registrars/{vera}"),
            json!({ "active": false }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        app,
        app.put(
            "/api/v1/notify/secrets",
            json!({ "telegram_token": BOT_TOKEN, "smtp_password": SMTP_PASSWORD }),
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;
    ok(
        app,
        app.put(
            "/api/v1/notify",
            json!({
                "telegram": { "enabled": true, "api_url": "https://api.telegram.org", "min_interval_ms": 2500 },
                "email": { "enabled": true, "host": "smtp.clinic.example", "port": 465, "security": "tls",
                           "user": "otklik", "from": "Otklik <otklik@clinic.example>",
                           "to": ["head@clinic.example"], "escalation_to": ["chief@clinic.example"], "ca_file": "" },
                "alerts": [{ "scores": [1, 2], "desks": [d2], "channels": ["telegram"], "escalate_after_mins": 10 }],
                "reports": [{ "every": "daily@19:30", "condition": "negative", "channels": ["email"] }],
                "webhook_url": "https://mis.clinic.example/otklik",
                "retry_max_secs": 120,
                "link_base": "http://192.168.1.10:8787"
            }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_engine_gives_the_same_installation_without_secrets() {
    let a = App::start().await;
    let (_, s) = a.get("/api/v1/setup").await;
    assert_eq!(
        (
            s["fresh"].as_bool(),
            s["setup_done"].as_bool(),
            s["demo"].as_bool()
        ),
        (Some(true), Some(false), Some(false)),
        "{s}"
    );
    set_up(&a).await;
    let (_, s) = a.get("/api/v1/setup").await;
    assert_eq!(s["fresh"], false, "{s}");

    let (doc, text) = export(&a).await;
    assert_eq!(doc["otklik_settings"], 1);
    assert_eq!(doc["desks"].as_array().unwrap().len(), 4);
    assert_eq!(doc["registrars"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["desks"][0]["input"],
        json!({ "kind": "keys", "keys": ["F13", "F14", "F15", "F16", "F17"], "debounce_ms": 700 })
    );
    // No secret of any kind: not the values, not even whether there is one.
    for secret in [BOT_TOKEN, SMTP_PASSWORD, CAMERA_PASSWORD, PIN, &a.token] {
        assert!(!text.contains(secret), "{secret} in the export: {text}");
    }
    for key in ["password", "\"pin\"", "has_pin", "token", "secret"] {
        assert!(
            !text.to_lowercase().contains(key),
            "'{key}' in the export: {text}"
        );
    }
    // Unauthenticated: refused.
    let anon = reqwest::get(a.url("/api/v1/settings/export"))
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);

    let b = App::start().await;
    let imported = ok(
        &b,
        b.post("/api/v1/settings/import", doc.clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            imported["desks_created"].as_u64(),
            imported["registrars_created"].as_u64(),
            imported["notify"].as_bool()
        ),
        (Some(4), Some(3), Some(true)),
        "{imported}"
    );
    let (ia, ib) = (installation(&a).await, installation(&b).await);
    assert_eq!(ia, ib);
    assert_eq!(ib["settings"]["scale"], 5);
    assert_eq!(ib["settings"]["setup_done"], true);
    assert_eq!(ib["notify"]["alerts"][0]["desks"], json!(["Окно 2"]));
    // Secrets stay behind: set again where they are used.
    let (_, regs) = b.get("/api/v1/registrars").await;
    assert!(
        regs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["has_pin"] == false),
        "{regs}"
    );
    let (_, n) = b.get("/api/v1/notify").await;
    assert_eq!(
        (
            n["telegram_token_set"].as_bool(),
            n["smtp_password_set"].as_bool()
        ),
        (Some(false), Some(false))
    );
    // The engine's own copies follow: the scale of new ratings, the inputs' state.
    let (_, inputs) = b.get("/api/v1/inputs").await;
    assert!(
        inputs.to_string().contains("/dev/ttyOTKLIKTEST7"),
        "{inputs}"
    );
    let (_, lb) = b.get("/api/v1/leaderboard").await;
    assert_eq!(lb["scale"], 5, "{lb}");

    // The same file again: nothing new, nothing duplicated.
    let again = ok(
        &b,
        b.post("/api/v1/settings/import", doc.clone()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            again["desks_created"].as_u64(),
            again["desks_updated"].as_u64(),
            again["registrars_created"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(installation(&b).await, ia);
    // And B's export is A's.
    let (mut eb, _) = export(&b).await;
    let mut ea = doc;
    ea.as_object_mut().unwrap().remove("exported_at");
    eb.as_object_mut().unwrap().remove("exported_at");
    assert_eq!(ea, eb);
}

#[tokio::test]
async fn an_import_with_errors_names_every_path_and_changes_nothing() {
    let app = App::start().await;
    let d1 = app.desk("Окно 1").await;
    app.registrar("Анна Смирнова").await;
    ok(
        &app,
        app.patch("/api/v1/settings", json!({ "clinic_name": "До импорта" }))
            .await,
        StatusCode::OK,
    )
    .await;
    ok(
        &app,
        app.put(
            &format!("/api/v1/desks/{d1}/input"),
            json!({ "kind": "keys", "keys": ["F20", "F21", "F22"] }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let before = installation(&app).await;
    let (_, audit_before) = app.get("/api/v1/audit?limit=1000").await;

    let doc = json!({
        "otklik_settings": 1,
        "settings": { "clinic_name": "После импорта", "scale": 6, "timezone": "Mars/Olympus", "min_ratings": 2 },
        "notify": { "alerts": [{ "scores": [9], "channels": ["telegram"] }] },
        "desks": [
            { "name": "Окно 9" },
            { "name": "   " },
            { "name": "Окно 10", "input": { "kind": "keys", "keys": ["F13", "nope", "F15"] } },
            { "name": "Окно 11", "evidence": { "photo": true, "camera": { "kind": "ip", "url": "ftp://10.0.0.1/x.jpg" }, "audio": false, "microphone": null } },
            { "name": "Окно 12", "input": { "kind": "keys", "keys": ["F16", "F21", "F17"] } },
            { "name": "Окно 13", "input": { "kind": "keys", "keys": ["F1", "F2", 3] } },
            { "name": "Окно 1", "active": false, "colour": "blue" }
        ],
        "registrars": [
            { "name": "Борис Петров" },
            { "name": "Борис Петров" },
            { "name": "Вера", "pin": "1234" }
        ],
        "extra": true
    });
    let (s, body) = app.post("/api/v1/settings/import", doc).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "extra",
        "settings.scale",
        "settings.timezone",
        "notify.alerts[0].scores",
        "desks[1].name",
        "desks[2].input.keys[1]",
        "desks[3].evidence.camera.url",
        "desks[4].input.keys[1]",
        "desks[5].input.keys[2]",
        "desks[6].colour",
        "registrars[1].name",
        "registrars[2].pin",
    ] {
        assert!(
            fields.contains(&expected),
            "{expected} not named in {fields:?}"
        );
    }
    assert_eq!(body["field"], body["errors"][0]["field"]);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{body}"
    );
    // The good parts were not applied either: not the clinic's name, not desk "Окно 9".
    assert_eq!(installation(&app).await, before);
    let (_, audit_after) = app.get("/api/v1/audit?limit=1000").await;
    assert_eq!(audit_before, audit_after);

    // Fixed, the same file goes in whole.
    let good = json!({
        "otklik_settings": 1,
        "settings": { "clinic_name": "После импорта", "min_ratings": 2 },
        "desks": [
            { "name": "Окно 9", "input": { "kind": "keys", "keys": ["F13", "F14", "F15"] } },
            { "name": "Окно 1", "active": false }
        ],
        "registrars": [{ "name": "Борис Петров" }, { "name": "Анна Смирнова", "active": false }]
    });
    let out = ok(
        &app,
        app.post("/api/v1/settings/import", good).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            out["desks_created"].as_u64(),
            out["desks_updated"].as_u64(),
            out["registrars_created"].as_u64(),
            out["registrars_updated"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1)),
        "{out}"
    );
    let (_, settings) = app.get("/api/v1/settings").await;
    assert_eq!(settings["clinic_name"], "После импорта");
    // Left out of the file: as it was (the keys of desk 1 stay bound).
    let (_, input) = app.get(&format!("/api/v1/desks/{d1}/input")).await;
    assert_eq!(input["keys"], json!(["F20", "F21", "F22"]));
}

#[tokio::test]
async fn a_settings_file_of_another_version_is_refused() {
    let app = App::start().await;
    for (doc, says) in [
        (
            json!({ "otklik_settings": 2, "desks": [{ "name": "Окно 1" }] }),
            "version 2",
        ),
        (
            json!({ "desks": [{ "name": "Окно 1" }] }),
            "not an Otklik settings file",
        ),
        (json!([1, 2]), "not an Otklik settings file"),
    ] {
        let (s, body) = app.post("/api/v1/settings/import", doc).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["field"], "otklik_settings", "{body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{body}");
    }
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks, json!([]));
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/v1/settings/import"))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body("{ not json"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn demo_data_goes_only_into_a_fresh_installation_over_the_days_asked() {
    let app = App::start().await;
    let (s, b) = app.post("/api/v1/demo", json!({ "days": 15 })).await;
    assert_eq!(
        (s, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("days")),
        "{b}"
    );
    let (s, _) = app.post_as(None, "/api/v1/demo", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let started = chrono::Utc::now();
    let filled = ok(
        &app,
        app.post("/api/v1/demo", json!({ "days": 3 })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (filled["desks"].as_u64(), filled["registrars"].as_u64()),
        (Some(6), Some(12)),
        "{filled}"
    );
    assert_eq!(filled["ratings"], 480, "{filled}");
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks.as_array().unwrap().len(), 6);
    let (_, regs) = app.get("/api/v1/registrars").await;
    assert_eq!(regs.as_array().unwrap().len(), 12);
    let ratings = app.all_ratings().await;
    assert_eq!(ratings.len(), 480);
    let days: std::collections::BTreeSet<String> = ratings
        .iter()
        .map(|r| r["at"].as_str().unwrap()[..10].to_string())
        .collect();
    let oldest = chrono::DateTime::parse_from_rfc3339(ratings[0]["at"].as_str().unwrap()).unwrap();
    assert!(
        (started - oldest.with_timezone(&chrono::Utc)).num_hours() < 3 * 24 + 14,
        "oldest {oldest}"
    );
    assert!((1..=4).contains(&days.len()), "{days:?}");
    assert!(ratings.iter().any(|r| r["registrar_id"].is_i64()));

    let (_, s) = app.get("/api/v1/setup").await;
    assert_eq!(
        (
            s["fresh"].as_bool(),
            s["setup_done"].as_bool(),
            s["demo"].as_bool(),
            s["ratings"].as_i64()
        ),
        (Some(false), Some(true), Some(true), Some(480)),
        "{s}"
    );
    let (_, settings) = app.get("/api/v1/settings").await;
    assert_eq!(settings["clinic_name"], "Поликлиника (демо)");

    // The engine carries on from the demo's chain: a new rating is stored and the chain verifies.
    let r = app.rate(1, 3).await;
    assert_eq!(r["id"], 481);
    let report = otklik_store::ledger::verify(&app.db_path()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.checked, 481);

    // Not twice.
    let (s, b) = app.post("/api/v1/demo", json!({})).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{b}"
    );

    // Nor into an installation with a desk of its own: refused, nothing changed.
    let other = App::start().await;
    other.desk("Окно регистратуры").await;
    let (s, b) = other.post("/api/v1/demo", json!({ "days": 2 })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["error"].as_str().unwrap().contains("1 desks"), "{b}");
    let (_, desks) = other.get("/api/v1/desks").await;
    assert_eq!(desks.as_array().unwrap().len(), 1);
    assert!(other.all_ratings().await.is_empty());
    let (_, s) = other.get("/api/v1/setup").await;
    assert_eq!(
        (s["fresh"].as_bool(), s["demo"].as_bool()),
        (Some(false), Some(false)),
        "{s}"
    );
}

#[tokio::test]
async fn the_wizard_step_is_kept_and_the_status_needs_no_token() {
    let app = App::start().await;
    let anon = reqwest::get(app.url("/api/v1/setup")).await.unwrap();
    assert_eq!(anon.status(), StatusCode::OK);
    let s: Value = anon.json().await.unwrap();
    assert_eq!(s["step"], Value::Null);
    let s = ok(
        &app,
        app.put("/api/v1/setup", json!({ "step": 4 })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (s["step"].as_u64(), s["fresh"].as_bool()),
        (Some(4), Some(true)),
        "{s}"
    );
    let (st, b) = app.put("/api/v1/setup", json!({ "step": 10 })).await;
    assert_eq!(
        (st, b["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("step")),
        "{b}"
    );
    let resp = app
        .http
        .put(app.url("/api/v1/setup"))
        .json(&json!({ "step": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (_, s) = app.get("/api/v1/setup").await;
    assert_eq!(s["step"], 4);
    // Finishing the wizard is the `setup_done` setting.
    ok(
        &app,
        app.patch("/api/v1/settings", json!({ "setup_done": true }))
            .await,
        StatusCode::OK,
    )
    .await;
    let (_, s) = app.get("/api/v1/setup").await;
    assert_eq!(
        (s["fresh"].as_bool(), s["setup_done"].as_bool()),
        (Some(false), Some(true)),
        "{s}"
    );
}

#[tokio::test]
async fn the_camera_frame_and_the_microphone_level_show_the_devices_now() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let bare = app.desk("Окно 2").await;
    let broken = app.desk("Окно 3").await;
    let frame = crate::evidence::jpeg(320, 240);
    let engine = &app.server.as_ref().unwrap().engine;
    engine.evidence.set_devices(
        desk,
        Some(DeskDevices {
            camera: Some(Ok(Arc::new(StillCamera(frame.clone())))),
            microphone: Some(Ok(Arc::new(ToneMic))),
        }),
    );
    engine.evidence.set_devices(
        broken,
        Some(DeskDevices {
            camera: Some(Ok(Arc::new(BlindCamera))),
            microphone: Some(Ok(Arc::new(BusyMic))),
        }),
    );

    let resp = app
        .http
        .get(app.url(&format!("/api/v1/desks/{desk}/camera/frame")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), frame);

    let level = ok(
        &app,
        app.get(&format!("/api/v1/desks/{desk}/microphone/level"))
            .await,
        StatusCode::OK,
    )
    .await;
    let (l, p) = (
        level["level"].as_f64().unwrap(),
        level["peak"].as_f64().unwrap(),
    );
    // A sine of amplitude 8000: RMS 8000/√2, peak 8000 (of 32768).
    assert!((l - 8000.0 / 2f64.sqrt() / 32768.0).abs() < 0.01, "{level}");
    assert!((p - 8000.0 / 32768.0).abs() < 0.01, "{level}");
    assert_eq!(level["state"], "connected");

    // A desk without devices, a broken one, one that does not exist, and no token.
    let (s, b) = app.get(&format!("/api/v1/desks/{bare}/camera/frame")).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{b}"
    );
    let (s, b) = app
        .get(&format!("/api/v1/desks/{bare}/microphone/level"))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = app
        .get(&format!("/api/v1/desks/{broken}/camera/frame"))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(b["error"].as_str().unwrap().contains("unplugged"), "{b}");
    let (s, b) = app
        .get(&format!("/api/v1/desks/{broken}/microphone/level"))
        .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert!(b["error"].as_str().unwrap().contains("busy"), "{b}");
    let (s, _) = app.get("/api/v1/desks/99/camera/frame").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let anon = reqwest::get(app.url(&format!("/api/v1/desks/{desk}/camera/frame")))
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}
