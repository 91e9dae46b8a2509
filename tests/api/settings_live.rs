//! Every setting takes effect on the running engine as soon as `PATCH /api/v1/settings` answers,
//! or is listed by `GET /api/v1/settings/applies-at-restart`: one engine, each setting changed
//! through the API and its effect seen through the API (the next photo, clip, alert, notice,
//! tap, rating, purge, backup, ...), never by restarting. A setting added to `Settings` without
//! being walked here fails the test.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use otklik_devices::evidence::recorder::DeskDevices;
use otklik_domain::time::now_ms;
use otklik_engine::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::botapi::BotApi;
use crate::common::App;
use crate::evidence::{ToneMic, camera_server, evidence_of};
use crate::health::{FlipCamera, GROUP, telegram_on, until_state};
use crate::sse::SseReader;

const DAY_MS: i64 = 24 * 3_600_000;

/// Changes settings and checks the answer holds them.
async fn set(app: &App, patch: Value) -> Value {
    let (s, b) = app.patch("/api/v1/settings", patch.clone()).await;
    assert_eq!(s, StatusCode::OK, "{patch}: {b}");
    for (key, value) in patch.as_object().unwrap() {
        assert_eq!(&b[key], value, "{key} saved: {b}");
    }
    b
}

/// Changes settings and waits for the `settings` event that carries them (the one the screens
/// and the desktop shell follow); returns it.
async fn set_and_hear(app: &App, events: &mut SseReader, patch: Value) -> Value {
    set(app, patch.clone()).await;
    loop {
        let ev = events.next().await;
        if ev.event != "settings" {
            continue;
        }
        let heard: Value = serde_json::from_str(&ev.data).unwrap();
        if patch
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| &heard[k] == v)
        {
            return heard;
        }
    }
}

/// Health notices in the outbox, whatever their state.
async fn notices(app: &App) -> usize {
    let (_, items) = app.get("/api/v1/outbox?limit=1000").await;
    items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "notice")
        .count()
}

fn engine(app: &App) -> Arc<Engine> {
    app.server.as_ref().unwrap().engine.clone()
}

/// The text of the Telegram message to the group about rating `id` (an alert).
async fn alert_text(bot: &BotApi, id: i64) -> String {
    let about = |t: &str| t.lines().any(|l| l.ends_with(&format!("#{id}")));
    let calls = bot
        .wait_for(
            &format!("the alert of rating {id}"),
            Duration::from_secs(30),
            |calls| {
                calls.iter().any(|c| {
                    c.is_delivery()
                        && c.chat_id == Some(GROUP)
                        && c.text.as_deref().is_some_and(about)
                })
            },
        )
        .await;
    calls
        .into_iter()
        .filter(|c| c.is_delivery() && c.chat_id == Some(GROUP))
        .filter_map(|c| c.text)
        .find(|t| about(t))
        .unwrap()
}

/// "HH:MM" of an RFC 3339 time at a fixed offset from UTC (hours).
fn clock(at: &Value, offset_hours: i32) -> String {
    let at = chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
    let zone = chrono::FixedOffset::east_opt(offset_hours * 3600).unwrap();
    at.with_timezone(&zone).format("%H:%M").to_string()
}

/// The JPEG behind a saved photo.
async fn photo_bytes(app: &App, rating: &Value) -> Vec<u8> {
    let media = evidence_of(app, rating, 1).await;
    assert_eq!(media[0]["state"], "saved", "{media:?}");
    let resp = app
        .http
        .get(app.url(media[0]["url"].as_str().unwrap()))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

/// The span of a saved clip around a rating: (ms before it, ms after it).
async fn clip_span(app: &App, rating: &Value) -> (i64, i64) {
    let media = evidence_of(app, rating, 1).await;
    assert_eq!(media[0]["state"], "saved", "{media:?}");
    let ms = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let at = ms(&rating["at"]);
    (at - ms(&media[0]["from"]), ms(&media[0]["to"]) - at)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_setting_applies_at_once_or_is_marked_for_restart() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let mut walked: BTreeSet<&str> = BTreeSet::new();
    // The full stream, as the desktop shell follows it in-process.
    let mut events = SseReader::open(
        app.http
            .get(app.url("/api/v1/events/all"))
            .bearer_auth(&app.token),
    )
    .await;

    // --- Only these wait for a restart, and the API says so. --------------------------------
    let (s, at_restart) = app.get("/api/v1/settings/applies-at-restart").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        at_restart,
        json!(["listen", "kiosk_display", "kiosk_monitor"])
    );
    // `listen` is saved, and the server goes on where it was bound.
    let listen = set(&app, json!({"listen": "0.0.0.0:18787"})).await;
    assert_eq!(listen["listen"], "0.0.0.0:18787");
    let (s, _) = app.get("/api/v1/settings").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "still answering on the address bound at start"
    );
    // The kiosk display: saved (the desktop app opens its window at its next start).
    let heard = set_and_hear(
        &app,
        &mut events,
        json!({"kiosk_display": true, "kiosk_monitor": 3}),
    )
    .await;
    assert_eq!(heard["kiosk_monitor"], 3);

    // --- Screens and the desktop shell: they follow the `settings` event. --------------------
    // The wall display re-reads its period, rotation, names and unranked rows on this event
    // (ui/src/display.ts); the desktop shell sets the system's start entry (src-tauri).
    set_and_hear(
        &app,
        &mut events,
        json!({"display_period": "week", "display_rotate_secs": 15, "display_initials": true,
               "display_hide_unranked": true, "start_with_system": true}),
    )
    .await;
    walked.extend([
        "display_period",
        "display_rotate_secs",
        "display_initials",
        "display_hide_unranked",
        "start_with_system",
    ]);

    // --- The first-run wizard. ---------------------------------------------------------------
    let (_, setup) = app.get("/api/v1/setup").await;
    assert_eq!(setup["setup_done"], false, "{setup}");
    set(&app, json!({"setup_done": true})).await;
    let (_, setup) = app.get("/api/v1/setup").await;
    assert_eq!(setup["setup_done"], true, "{setup}");
    walked.insert("setup_done");

    // --- Scale, lock-out, bursts, the leaderboard. -------------------------------------------
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    set(&app, json!({"scale": 5, "min_ratings": 2})).await;
    let r = app.rate(desk, 5).await;
    assert_eq!(r["scale"], 5);
    set(&app, json!({"scale": 3})).await;
    let (s, b) = app
        .post("/api/v1/ratings", json!({"desk_id": desk, "score": 5}))
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "5 is off the 3-level scale now: {b}"
    );
    walked.insert("scale");

    let (_, board) = app.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(board["min_ratings"], 2);
    assert_eq!(
        board["entries"][0]["rank"],
        Value::Null,
        "one rating, two needed: {board}"
    );
    set(&app, json!({"min_ratings": 1})).await;
    let (_, board) = app.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(board["entries"][0]["rank"], 1, "{board}");
    walked.insert("min_ratings");

    let tap = format!("/api/v1/desks/{desk}/tap");
    set(&app, json!({"panel_lockout_secs": 600})).await;
    let (s, b) = app.post_as(None, &tap, json!({"score": 3})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app.post_as(None, &tap, json!({"score": 3})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    set(&app, json!({"panel_lockout_secs": 0})).await;
    let (s, b) = app.post_as(None, &tap, json!({"score": 3})).await;
    assert_eq!(s, StatusCode::CREATED, "no lock-out any more: {b}");
    walked.insert("panel_lockout_secs");

    // Top ratings at their own desk, at given moments (ahead of now is accepted).
    let busy = app.desk("Окно 5").await;
    let boris = app.registrar("Борис").await;
    app.start_session(busy, boris).await;
    let t0 = chrono::Utc::now() + chrono::Duration::seconds(1);
    let top_at = |ms: i64| {
        let app = &app;
        let body = json!({"desk_id": busy, "score": 3, "at": (t0 + chrono::Duration::milliseconds(ms)).to_rfc3339()});
        async move {
            let (s, b) = app.post("/api/v1/ratings", body).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            b["flag"].clone()
        }
    };
    set(
        &app,
        json!({"suspicion_burst_count": 0, "suspicion_burst_secs": 20}),
    )
    .await;
    assert_eq!(top_at(0).await, Value::Null);
    assert_eq!(top_at(1_000).await, Value::Null, "the rule is off");
    set(&app, json!({"suspicion_burst_count": 2})).await;
    assert_eq!(top_at(2_000).await, "burst", "two tops within 20 s");
    set(&app, json!({"suspicion_burst_secs": 5})).await;
    assert_eq!(top_at(60_000).await, Value::Null);
    assert_eq!(
        top_at(66_000).await,
        Value::Null,
        "6 s apart, beyond the 5 s window"
    );
    assert_eq!(top_at(70_000).await, "burst", "4 s apart");
    // The low ratings below come faster than patients do: not a flood to be flagged.
    set(&app, json!({"suspicion_burst_count": 0})).await;
    walked.extend(["suspicion_burst_count", "suspicion_burst_secs"]);

    // --- The armed rating window: its grace after serving, and its cap on a forgotten one. -----
    let armed = app.desk("Окно по вызову").await;
    app.patch(&format!("/api/v1/desks/{armed}"), json!({"armed": true}))
        .await;
    let serve = |on: bool| {
        let app = &app;
        async move {
            let (s, b) = app
                .post(
                    &format!("/api/v1/desks/{armed}/serving"),
                    json!({"serving": on}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            b
        }
    };
    // A middle rating: neither a burst nor staff's own top press, only the window can flag it.
    let middle_at = |at: chrono::DateTime<chrono::Utc>| {
        let app = &app;
        let body = json!({"desk_id": armed, "score": 2, "at": at.to_rfc3339()});
        async move {
            let (s, b) = app.post("/api/v1/ratings", body).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            b["flag"].clone()
        }
    };
    let when = |v: &Value| {
        v.as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    serve(true).await;
    let ended = when(&serve(false).await["ended_at"]);
    let after = ended + chrono::Duration::seconds(40);
    set(&app, json!({"serving_grace_secs": 60})).await;
    assert_eq!(
        middle_at(after).await,
        Value::Null,
        "within 60 s of the end"
    );
    set(&app, json!({"serving_grace_secs": 30})).await;
    assert_eq!(middle_at(after).await, "outside_serving", "beyond 30 s");
    let since = when(&serve(true).await["started_at"]);
    let later = since + chrono::Duration::seconds(90);
    set(&app, json!({"serving_max_minutes": 1})).await;
    assert_eq!(
        middle_at(later).await,
        "outside_serving",
        "a minute at most"
    );
    set(&app, json!({"serving_max_minutes": 2})).await;
    assert_eq!(middle_at(later).await, Value::Null, "two minutes");
    serve(false).await;
    walked.extend(["serving_grace_secs", "serving_max_minutes"]);

    // --- Reasons for low ratings: the list, on or off, and the window, on the next pick. -------
    let reasons_desk = app.desk("Окно с причинами").await;
    let low = || {
        let app = &app;
        async move { app.rate(reasons_desk, 1).await["id"].as_i64().unwrap() }
    };
    let pick = |rating: i64, code: &'static str| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/ratings/{rating}/reason"),
                json!({"reason": code}),
            )
            .await
        }
    };
    let old = low().await;
    set(
        &app,
        json!({"reasons": [{"code": "talon", "labels": {"ru": "Талон", "en": "Ticket", "es": "Turno"}}]}),
    )
    .await;
    let r = low().await;
    assert_eq!(pick(r, "queue").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, b) = pick(r, "talon").await;
    assert_eq!(
        (s, &b["reason"]["label"]),
        (StatusCode::CREATED, &json!("Талон"))
    );
    set(&app, json!({"reasons_enabled": false})).await;
    let r = low().await;
    assert_eq!(pick(r, "talon").await.0, StatusCode::CONFLICT);
    set(&app, json!({"reasons_enabled": true})).await;
    assert_eq!(pick(r, "talon").await.0, StatusCode::CREATED);
    // `old` is past 5 s and the slack, well within 120 s.
    set(&app, json!({"reasons_timeout_secs": 5})).await;
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    assert_eq!(pick(old, "talon").await.0, StatusCode::CONFLICT);
    set(&app, json!({"reasons_timeout_secs": 120})).await;
    assert_eq!(pick(old, "talon").await.0, StatusCode::CREATED);
    walked.extend(["reasons", "reasons_enabled", "reasons_timeout_secs"]);

    // --- The time zone: reports, the leaderboard's day, the time in alerts. -----------------
    set(&app, json!({"timezone": "UTC"})).await;
    let (_, report) = app.get("/api/v1/reports?period=today").await;
    assert_eq!(report["timezone"], "UTC", "{report}");
    let (_, utc_day) = app.get("/api/v1/leaderboard?period=today").await;
    set(&app, json!({"timezone": "Asia/Tokyo"})).await;
    let (_, report) = app.get("/api/v1/reports?period=today").await;
    assert_eq!(report["timezone"], "Asia/Tokyo", "{report}");
    let (_, tokyo_day) = app.get("/api/v1/leaderboard?period=today").await;
    let start = |b: &Value| {
        chrono::DateTime::parse_from_rfc3339(b["from"].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert_eq!(
        (start(&utc_day) - start(&tokyo_day)).rem_euclid(DAY_MS),
        9 * 3_600_000,
        "the day starts at midnight in Tokyo now: {} vs {}",
        utc_day["from"],
        tokyo_day["from"]
    );

    // --- Alerts: language, clinic name and time zone of the next one. -------------------------
    set(
        &app,
        json!({"language": "ru", "clinic_name": "Поликлиника №1"}),
    )
    .await;
    telegram_on(&app, &bot).await;
    let low = app.rate(desk, 1).await;
    let text = alert_text(&bot, low["id"].as_i64().unwrap()).await;
    assert!(text.contains("<b>Плохо</b> (1 из 3)"), "{text}");
    assert!(text.contains("Клиника: Поликлиника №1"), "{text}");
    assert!(
        text.contains(&format!("Время: {}", clock(&low["at"], 9))),
        "{text}"
    );
    set(
        &app,
        json!({"language": "en", "clinic_name": "City Clinic 2", "timezone": "UTC"}),
    )
    .await;
    let low = app.rate(desk, 1).await;
    let text = alert_text(&bot, low["id"].as_i64().unwrap()).await;
    assert!(text.contains("<b>Bad</b> (1 of 3)"), "{text}");
    assert!(text.contains("Clinic: City Clinic 2"), "{text}");
    assert!(
        text.contains(&format!("Time: {}", clock(&low["at"], 0))),
        "{text}"
    );
    walked.extend(["language", "clinic_name", "timezone"]);

    // --- Health notices: the wait before a broken device is told. ----------------------------
    set(
        &app,
        json!({"language": "ru", "health_notice_after_mins": 10}),
    )
    .await;
    let watched = app.desk("Окно 2").await;
    let cam = FlipCamera::new();
    engine(&app).evidence.set_devices(
        watched,
        Some(DeskDevices {
            camera: Some(Ok(cam.clone())),
            microphone: None,
        }),
    );
    cam.set(true);
    let down = until_state(&app, &format!("camera:{watched}"), "down").await;
    let since = chrono::DateTime::parse_from_rfc3339(down["since"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    engine(&app).poll_health(since + 2 * 60_000).await.unwrap();
    assert_eq!(notices(&app).await, 0, "down 2 minutes, 10 to wait");
    set(&app, json!({"health_notice_after_mins": 1})).await;
    engine(&app).poll_health(since + 2 * 60_000).await.unwrap();
    assert_eq!(notices(&app).await, 1, "down 2 minutes, 1 to wait");
    bot.wait_for("the camera's notice", Duration::from_secs(30), |calls| {
        calls.iter().any(|c| {
            c.is_delivery()
                && c.text
                    .as_deref()
                    .is_some_and(|t| t.contains("Окно 2") && t.contains("не работает"))
        })
    })
    .await;
    engine(&app).evidence.set_devices(watched, None);
    walked.insert("health_notice_after_mins");

    // --- Photos: size and quality of the next one, from the camera already open. -------------
    let cams = camera_server(Arc::new(Notify::new())).await;
    let photo_desk = app.desk("Окно 3").await;
    let (s, b) = app
        .put(
            &format!("/api/v1/desks/{photo_desk}/evidence"),
            json!({"photo": true, "camera": {"kind": "ip", "url": format!("{cams}/ok.jpg")}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let width = |jpeg: &[u8]| image::load_from_memory(jpeg).unwrap().width();
    let first = photo_bytes(&app, &app.rate(photo_desk, 3).await).await;
    assert_eq!(width(&first), 640, "the default photo_max_width");
    set(&app, json!({"photo_max_width": 320, "photo_quality": 95})).await;
    let fine = photo_bytes(&app, &app.rate(photo_desk, 3).await).await;
    assert_eq!(
        width(&fine),
        320,
        "the camera was not opened again, the width follows"
    );
    set(&app, json!({"photo_quality": 30})).await;
    let coarse = photo_bytes(&app, &app.rate(photo_desk, 3).await).await;
    assert_eq!(width(&coarse), 320);
    assert!(
        coarse.len() * 2 < fine.len(),
        "quality 30 ({} bytes) is far smaller than 95 ({} bytes)",
        coarse.len(),
        fine.len()
    );
    walked.extend(["photo_max_width", "photo_quality"]);

    // --- Pausing capture. ---------------------------------------------------------------------
    set(&app, json!({"capture_paused": true})).await;
    let paused = app.rate(photo_desk, 3).await;
    set(&app, json!({"capture_paused": false})).await;
    let resumed = app.rate(photo_desk, 3).await;
    photo_bytes(&app, &resumed).await;
    assert_eq!(
        evidence_of(&app, &paused, 0).await,
        Vec::<Value>::new(),
        "no photo while paused (the one after it is there already)"
    );
    walked.insert("capture_paused");

    // --- Clips: the seconds before and after the press. --------------------------------------
    let mic_desk = app.desk("Окно 4").await;
    engine(&app).evidence.set_devices(
        mic_desk,
        Some(DeskDevices {
            camera: None,
            microphone: Some(Ok(Arc::new(ToneMic))),
        }),
    );
    set(&app, json!({"audio_before_secs": 1, "audio_after_secs": 1})).await;
    assert_eq!(
        clip_span(&app, &app.rate(mic_desk, 3).await).await,
        (1000, 1000)
    );
    set(&app, json!({"audio_before_secs": 3, "audio_after_secs": 2})).await;
    assert_eq!(
        clip_span(&app, &app.rate(mic_desk, 3).await).await,
        (3000, 2000)
    );
    walked.extend(["audio_before_secs", "audio_after_secs"]);

    // --- Retention: the next purge (a week and a day on). -----------------------------------
    let later = now_ms() + 8 * DAY_MS;
    set(
        &app,
        json!({"photo_retention_days": 30, "audio_retention_days": 30}),
    )
    .await;
    let purged = engine(&app).purge_media(later).await.unwrap();
    assert_eq!((purged.photos, purged.clips), (0, 0));
    set(&app, json!({"photo_retention_days": 7})).await;
    let purged = engine(&app).purge_media(later).await.unwrap();
    assert_eq!(
        (purged.photos, purged.clips),
        (4, 0),
        "every photo, no clip"
    );
    set(&app, json!({"audio_retention_days": 7})).await;
    let purged = engine(&app).purge_media(later).await.unwrap();
    assert_eq!((purged.photos, purged.clips), (0, 2), "the clips now");
    walked.extend(["photo_retention_days", "audio_retention_days"]);

    // --- Backups: folder, how many are kept, the schedule. -----------------------------------
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("otklik-backups");
    // A folder of one's own must be there (a drive not connected is an error, not a new folder).
    std::fs::create_dir(&dir).unwrap();
    set(
        &app,
        json!({"backup_dir": dir.display().to_string(), "backup_keep": 2}),
    )
    .await;
    for _ in 0..3 {
        let (s, b) = app.post("/api/v1/backups", json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["dir"], dir.display().to_string(), "{b}");
    }
    let kept = || std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(kept(), 2);
    set(&app, json!({"backup_keep": 1})).await;
    let (s, b) = app.post("/api/v1/backups", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(kept(), 1);
    set(&app, json!({"backup_every_hours": 0})).await;
    assert!(
        engine(&app)
            .scheduled_backup_due(now_ms() + 2 * DAY_MS)
            .await
            .is_none(),
        "no scheduled backups"
    );
    set(&app, json!({"backup_every_hours": 1})).await;
    let made = engine(&app)
        .scheduled_backup_due(now_ms() + 2 * 3_600_000)
        .await
        .expect("due: the newest backup is older than an hour by then")
        .unwrap();
    assert_eq!(made.dir, dir.display().to_string());
    walked.extend(["backup_dir", "backup_keep", "backup_every_hours"]);

    // --- Log files: an older one goes as soon as fewer days are kept. ------------------------
    let logs = app.dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let today = chrono::Local::now().date_naive();
    let log_of = |days: u64| {
        logs.join(format!(
            "otklik-{}.log",
            (today - chrono::Days::new(days)).format("%Y-%m-%d")
        ))
    };
    for days in [1, 5] {
        std::fs::write(log_of(days), "a line\n").unwrap();
    }
    set(&app, json!({"log_keep_days": 3})).await;
    app.until("the 5-day-old log file deleted", 30, || async {
        (!log_of(5).exists()).then_some(())
    })
    .await;
    assert!(log_of(1).exists(), "yesterday's log is kept");
    walked.insert("log_keep_days");

    // --- allowed_hosts: the next request by that name is let in. ------------------------------
    let by_alias = || {
        app.http
            .get(app.url("/api/v1/settings/public"))
            .header("Host", "otklik.clinic.local")
    };
    assert_eq!(
        app.send(by_alias()).await.0,
        StatusCode::MISDIRECTED_REQUEST
    );
    set(&app, json!({"allowed_hosts": "otklik.clinic.local"})).await;
    assert_eq!(app.send(by_alias()).await.0, StatusCode::OK);
    walked.insert("allowed_hosts");

    // --- Every setting was walked, live or at restart. ---------------------------------------
    let (_, all) = app.get("/api/v1/settings").await;
    let every: BTreeSet<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let restart: BTreeSet<&str> = at_restart
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(walked.is_disjoint(&restart), "{walked:?} / {restart:?}");
    let covered: BTreeSet<&str> = walked.union(&restart).copied().collect();
    assert_eq!(
        every.difference(&covered).collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "settings not walked by this test: add them"
    );
    assert_eq!(covered, every);
}
