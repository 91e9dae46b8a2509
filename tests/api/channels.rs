//! Alerts and reports end to end through the engine: Telegram against the fake Bot API on
//! loopback (pairing, alert with photo then voice, buttons, commands), email through a real
//! SMTP server with STARTTLS and AUTH, and both channels through outages.

use std::sync::Arc;
use std::time::Duration;

use otklik_devices::evidence::camera::JpegSettings;
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_devices::evidence::{Camera, DeviceState, Photo};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::botapi::{BotApi, Call, Mode};
use crate::common::App;
use crate::evidence::{ToneMic, jpeg};
use crate::smtp::SmtpServer;

pub(crate) const TOKEN: &str = "123456789:AAH-test-token-value-0000";
pub(crate) const GROUP: i64 = -1001234;

/// A camera behind the real interface that always has the same frame.
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

/// A desk with a registrar on shift, a camera and a microphone; clips of 1 s + 1 s.
async fn desk_with_evidence(app: &App) -> (i64, Vec<u8>) {
    let desk = app.desk("Окно 3").await;
    let reg = app.registrar("Иванова Мария").await;
    app.start_session(desk, reg).await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "audio_before_secs": 1, "audio_after_secs": 1, "clinic_name": "Поликлиника №5", "language": "ru", "min_ratings": 1 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let frame = jpeg(320, 240);
    app.server.as_ref().unwrap().engine.evidence.set_devices(
        desk,
        Some(DeskDevices {
            camera: Some(Ok(Arc::new(StillCamera(frame.clone())))),
            microphone: Some(Ok(Arc::new(ToneMic))),
        }),
    );
    (desk, frame)
}

pub(crate) async fn telegram_on(app: &App, bot: &BotApi, extra: Value) {
    let (s, b) = app
        .put("/api/v1/notify/secrets", json!({ "telegram_token": TOKEN }))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let mut cfg = json!({
        "telegram": { "enabled": true, "api_url": bot.url(), "min_interval_ms": 0 },
        "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 0 }],
        "reports": [],
        "retry_max_secs": 1,
    });
    merge(&mut cfg, extra);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

fn merge(a: &mut Value, b: Value) {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

/// Subscribes `chat` with a pairing code from the console.
pub(crate) async fn pair(app: &App, bot: &BotApi, chat: i64, title: &str) {
    let (s, p) = app.post("/api/v1/notify/pairing", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let code = p["code"].as_str().unwrap().to_string();
    bot.push_message(
        chat,
        title,
        "Мария",
        &format!("/pair@otklik_test_bot {code}"),
        None,
    );
    bot.wait_for("the pairing answer", Duration::from_secs(20), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.chat_id == Some(chat))
    })
    .await;
    let (_, state) = app.get("/api/v1/notify").await;
    assert!(
        state["chats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["chat_id"] == chat && c["title"] == title),
        "{state}"
    );
}

pub(crate) fn deliveries_to(bot: &BotApi, chat: i64) -> Vec<Call> {
    bot.delivered()
        .into_iter()
        .filter(|c| c.chat_id == Some(chat))
        .collect()
}

/// The photo kept with a rating, as a token holder downloads it.
async fn stored_photo(app: &App, rating_id: i64) -> Vec<u8> {
    let (_, media) = app
        .get(&format!("/api/v1/ratings/{rating_id}/evidence"))
        .await;
    let photo = media
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "photo")
        .expect("a photo is kept with the rating")
        .clone();
    app.http
        .get(app.url(photo["url"].as_str().unwrap()))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_pairs_a_group_sends_alerts_with_photo_and_voice_and_works_the_buttons() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let (desk, frame) = desk_with_evidence(&app).await;
    telegram_on(&app, &bot, json!({})).await;

    // A wrong code and a stranger's commands get no answer at all.
    bot.push_message(GROUP, "Регистратура", "Мария", "/pair 000000", None);
    bot.push_message(-555, "Чужая группа", "Пётр", "/today", None);
    pair(&app, &bot, GROUP, "Регистратура").await;
    assert!(deliveries_to(&bot, -555).is_empty());
    assert_eq!(
        deliveries_to(&bot, GROUP).len(),
        1,
        "only the pairing answer so far"
    );
    // The code is used up: another group cannot pair with it.
    let (_, state) = app.get("/api/v1/notify").await;
    assert!(state["pairing"].is_null(), "{state}");

    let rating = app.rate(desk, 1).await;
    let rating_id = rating["id"].as_i64().unwrap();
    let calls = bot
        .wait_for(
            "the alert and its voice",
            Duration::from_secs(30),
            |calls| {
                calls
                    .iter()
                    .any(|c| c.is_delivery() && c.method == "sendVoice")
            },
        )
        .await;
    let sent: Vec<&Call> = calls
        .iter()
        .filter(|c| c.is_delivery() && c.chat_id == Some(GROUP))
        .collect();
    let alert = sent[1];
    assert_eq!(
        alert.method, "sendPhoto",
        "the alert goes with its photo: {alert:?}"
    );
    let caption = alert.text.clone().unwrap();
    for want in ["Окно 3", "Иванова Мария"] {
        assert!(caption.contains(want), "{want} missing in {caption}");
    }
    let stored = stored_photo(&app, rating_id).await;
    assert_eq!(
        sha(&alert.file.as_ref().unwrap().bytes),
        sha(&stored),
        "the photo taken at the press"
    );
    assert_eq!(sha(&stored), sha(&frame), "the camera's own frame");
    let (_, alerts) = app.get("/api/v1/alerts").await;
    let alert_id = alerts[0]["id"].as_i64().unwrap();
    assert_eq!(
        alert.callback_data(),
        vec![format!("take:{alert_id}"), format!("resolve:{alert_id}")]
    );
    let voice = sent[2];
    assert_eq!(voice.method, "sendVoice");
    let ogg = &voice.file.as_ref().unwrap().bytes;
    assert_eq!(&ogg[..4], b"OggS", "an Ogg/Opus voice note");
    assert!(
        voice.text.as_deref().unwrap_or("").contains("Окно 3"),
        "{voice:?}"
    );
    let alert_msg = alert.message_id.unwrap();

    // "Take" from the group.
    bot.push_callback(GROUP, alert_msg, "Ольга", &format!("take:{alert_id}"));
    app.until("the alert taken", 20, || async {
        let (_, a) = app.get("/api/v1/alerts").await;
        (a[0]["state"] == "taken").then_some(())
    })
    .await;
    let (_, a) = app.get("/api/v1/alerts").await;
    assert_eq!(a[0]["taken_by"], "Ольга");
    bot.wait_for("the buttons to change", Duration::from_secs(10), |calls| {
        calls.iter().any(|c| c.method == "answerCallbackQuery")
            && calls.iter().any(|c| {
                c.method == "editMessageReplyMarkup"
                    && c.params["message_id"] == alert_msg
                    && c.callback_data() == vec![format!("resolve:{alert_id}")]
            })
    })
    .await;

    // "Resolved" asks for the cause; the reply resolves it.
    bot.push_callback(GROUP, alert_msg, "Ольга", &format!("resolve:{alert_id}"));
    let calls = bot
        .wait_for("the cause prompt", Duration::from_secs(10), |calls| {
            calls.iter().any(|c| {
                c.is_delivery()
                    && c.reply_markup
                        .as_ref()
                        .is_some_and(|m| m["force_reply"] == true)
            })
        })
        .await;
    let prompt = calls
        .iter()
        .find(|c| {
            c.reply_markup
                .as_ref()
                .is_some_and(|m| m["force_reply"] == true)
        })
        .unwrap()
        .message_id
        .unwrap();
    bot.push_message(
        GROUP,
        "Регистратура",
        "Ольга",
        "Пациент ждал талон 40 минут",
        Some(prompt),
    );
    let resolved = app
        .until("the alert resolved", 20, || async {
            let (_, a) = app.get("/api/v1/alerts").await;
            (a[0]["state"] == "resolved").then(|| a[0].clone())
        })
        .await;
    assert_eq!(resolved["cause"], "Пациент ждал талон 40 минут");
    assert_eq!(resolved["resolved_by"], "Ольга");
    bot.wait_for("the buttons removed", Duration::from_secs(10), |calls| {
        calls.iter().any(|c| {
            c.method == "editMessageReplyMarkup"
                && c.params["message_id"] == alert_msg
                && c.callback_data().is_empty()
        })
    })
    .await;

    // Commands answer with today's figures; /desk names who is at the desk.
    for (cmd, want) in [
        ("/today", "Иванова"),
        ("/top", "Иванова"),
        ("/week", "Иванова"),
        ("/desk 3", "Иванова Мария"),
    ] {
        let before = deliveries_to(&bot, GROUP).len();
        bot.push_message(GROUP, "Регистратура", "Мария", cmd, None);
        let calls = bot
            .wait_for(cmd, Duration::from_secs(10), |calls| {
                calls
                    .iter()
                    .filter(|c| c.is_delivery() && c.chat_id == Some(GROUP))
                    .count()
                    > before
            })
            .await;
        let answer = calls
            .iter()
            .rfind(|c| c.is_delivery() && c.chat_id == Some(GROUP))
            .unwrap();
        let text = answer.text.as_deref().unwrap_or("");
        assert!(text.contains(want), "{cmd}: {text}");
    }
    assert!(
        deliveries_to(&bot, -555).is_empty(),
        "the bot never answers a chat it does not serve"
    );
    assert!(bot.calls().iter().all(|c| c.token == TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn email_alert_has_the_photo_then_the_voice_and_the_hourly_report_has_its_chart() {
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let (desk, _) = desk_with_evidence(&app).await;
    // Two ratings in the last full hour, for the report.
    let hour = chrono::Utc::now().timestamp_millis() / 3_600_000 * 3_600_000 - 1_800_000;
    for (i, score) in [3, 1].iter().enumerate() {
        let at = chrono::DateTime::from_timestamp_millis(hour + i as i64 * 60_000)
            .unwrap()
            .to_rfc3339();
        let (s, b) = app
            .post(
                "/api/v1/ratings",
                json!({ "desk_id": desk, "score": score, "at": at }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": smtp.password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let mut email = serde_json::to_value(smtp.config()).unwrap();
    email["to"] = json!(["head@clinic.test", "quality@clinic.test"]);
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({
                "email": email,
                "alerts": [{ "scores": [1], "channels": ["email"], "escalate_after_mins": 0 }],
                "reports": [{ "every": "1h", "condition": "always", "channels": ["email"] }],
                "retry_max_secs": 1,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let rating = app.rate(desk, 1).await;
    let got = smtp.wait_for(3, Duration::from_secs(40)).await;
    let find = |pred: &dyn Fn(&Value) -> bool| got.iter().find(|m| pred(m)).cloned();
    let report = find(&|m| {
        m["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["content_type"] == "image/png")
    })
    .expect("the hourly report with its chart");
    let alert = find(&|m| {
        m["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["content_type"] == "image/jpeg")
    })
    .expect("the alert with its photo");
    let voice = find(&|m| {
        m["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["content_type"] == "audio/ogg")
    })
    .expect("the voice");
    for m in [&report, &alert, &voice] {
        assert_eq!(m["tls"], true, "STARTTLS: {m}");
        assert_eq!(m["auth_user"], smtp.user);
        let mut rcpt: Vec<&str> = m["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        rcpt.sort();
        assert_eq!(rcpt, ["head@clinic.test", "quality@clinic.test"]);
    }
    assert!(
        alert["subject"].as_str().unwrap().contains("Окно 3"),
        "{alert}"
    );
    assert!(
        alert["text"].as_str().unwrap().contains("Иванова Мария"),
        "{alert}"
    );
    let stored = stored_photo(&app, rating["id"].as_i64().unwrap()).await;
    let jpeg_att = alert["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["content_type"] == "image/jpeg")
        .unwrap();
    assert_eq!(jpeg_att["sha256"], sha(&stored));
    // The report: its period's two ratings (before the shift began: nobody on it; the top one
    // flagged as such), the per-registrar table, the low rating with its evidence, the chart.
    let text = report["text"].as_str().unwrap();
    for want in [
        "Поликлиника №5",
        "Оценок: 1",
        "Подозрительных (не в счёте): 1",
        "(никого не было)",
        "Окно 3",
        "(фото, голос)",
    ] {
        assert!(text.contains(want), "{want} missing in the report:\n{text}");
    }
    let chart = report["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["content_type"] == "image/png")
        .unwrap();
    assert!(chart["size"].as_u64().unwrap() > 5_000, "{chart}");
    // A test message goes to the same recipients.
    let (s, b) = app
        .post("/api/v1/notify/test", json!({ "channel": "email" }))
        .await;
    assert_eq!((s, b["queued"].as_i64()), (StatusCode::ACCEPTED, Some(1)));
    smtp.wait_for(4, Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_chat_and_wrong_password_fail_for_good_and_show_on_the_console() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    telegram_on(&app, &bot, json!({})).await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    bot.forbid_chat(GROUP);
    let (s, _) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": "wrong-password-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["email"] = serde_json::to_value(smtp.config()).unwrap();
    cfg["alerts"] =
        json!([{ "scores": [1], "channels": ["telegram", "email"], "escalate_after_mins": 0 }]);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.rate(desk, 1).await;
    let failed = app
        .until("both messages failed", 30, || async {
            let (_, f) = app.get("/api/v1/outbox?state=failed").await;
            (f.as_array().unwrap().len() == 2).then_some(f)
        })
        .await;
    let errors: Vec<String> = failed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{}: {}", f["channel"], f["last_error"]))
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("telegram") && e.contains("chat not found")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("email") && e.to_lowercase().contains("auth")),
        "{errors:?}"
    );
    assert!(
        !failed.to_string().contains("wrong-password-1") && !failed.to_string().contains(TOKEN)
    );
    assert!(smtp.messages().is_empty());
}

/// Every alert's id, in the order Telegram got them (from the buttons' callback data).
fn telegram_alerts(bot: &BotApi) -> Vec<i64> {
    bot.delivered()
        .iter()
        .filter_map(|c| {
            c.callback_data()
                .first()
                .and_then(|d| d.strip_prefix("take:"))
                .map(|id| id.parse().unwrap())
        })
        .collect()
}

/// Every alert's rating id, in the order the SMTP server accepted them (from the subject).
fn email_alerts(smtp: &SmtpServer) -> Vec<String> {
    smtp.messages()
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or("").contains("Окно"))
        .map(|m| m["subject"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn both_channels_down_refusing_and_slow_deliver_every_alert_once_in_order() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let mut desks = Vec::new();
    for i in 1..=3 {
        desks.push(app.desk(&format!("Окно {i}")).await);
    }
    telegram_on(&app, &bot, json!({})).await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    let (s, _) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": smtp.password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["email"] = serde_json::to_value(smtp.config()).unwrap();
    cfg["alerts"] =
        json!([{ "scores": [1], "channels": ["telegram", "email"], "escalate_after_mins": 0 }]);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    no_flood_rule(&app).await;

    let mut lows = Vec::new();
    for fault in ["stopped", "refusing", "slow", "limited"] {
        match fault {
            "stopped" => {
                bot.stop().await;
                smtp.command("stop").await;
            }
            "refusing" => {
                bot.set_mode(Mode::Refusing);
                smtp.command("refuse").await;
            }
            "slow" => {
                bot.set_mode(Mode::Slow(Duration::from_secs(2)));
                smtp.command("slow 2").await;
            }
            _ => {
                // Telegram's rate limit: 429 with retry_after, twice; not an outage.
                bot.set_mode(Mode::Limited {
                    retry_after: 1,
                    times: 2,
                });
            }
        }
        // Ratings keep coming and are answered while the channels are away.
        for (i, desk) in desks.iter().enumerate() {
            lows.push(app.rate(*desk, 1).await["id"].as_i64().unwrap());
            app.rate(*desk, 2 + (i as i64 % 2)).await;
        }
        if fault == "stopped" || fault == "refusing" {
            app.until(&format!("both channels down ({fault})"), 30, || async {
                let (_, h) = app.get("/healthz").await;
                let down = h["channels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["state"] == "down")
                    .count();
                (down == 2).then_some(())
            })
            .await;
        }
        match fault {
            "stopped" => {
                bot.restart().await;
                smtp.command("start").await;
            }
            "refusing" | "slow" => {
                bot.set_mode(Mode::Up);
                smtp.command("ok").await;
            }
            _ => {}
        }
        let want = lows.len();
        app.until(
            &format!("every alert delivered after {fault}"),
            60,
            || async {
                (telegram_alerts(&bot).len() >= want && email_alerts(&smtp).len() >= want)
                    .then_some(())
            },
        )
        .await;
    }
    // Exactly once, in order, on both channels.
    let (_, alerts) = app.get("/api/v1/alerts?limit=1000").await;
    let mut by_rating: Vec<(i64, i64)> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["rating_id"].as_i64().unwrap(), a["id"].as_i64().unwrap()))
        .collect();
    by_rating.sort();
    assert_eq!(by_rating.iter().map(|x| x.0).collect::<Vec<_>>(), lows);
    let ids: Vec<i64> = by_rating.iter().map(|x| x.1).collect();
    assert_eq!(
        telegram_alerts(&bot),
        ids,
        "Telegram: each alert once, in order"
    );
    let subjects = email_alerts(&smtp);
    assert_eq!(
        subjects.len(),
        ids.len(),
        "email: each alert once: {subjects:#?}"
    );
    for (k, subject) in subjects.iter().enumerate() {
        let desk = format!("Окно {}", k % 3 + 1);
        assert!(
            subject.contains(&desk),
            "email: in order, #{k} should be {desk}: {subjects:#?}"
        );
    }
    // One message per outage says how long the channel was away.
    let notices = bot
        .delivered()
        .iter()
        .filter(|c| c.text.as_deref().unwrap_or("").contains("не было связи"))
        .count();
    assert_eq!(
        notices, 2,
        "Telegram: one notice per outage (stopped, refusing)"
    );
    let mail_notices = smtp
        .messages()
        .iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("не было связи"))
        .count();
    assert_eq!(mail_notices, 2, "email: one notice per outage");
    let (_, outbox) = app.get("/api/v1/outbox?state=failed").await;
    assert_eq!(outbox, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alert_nobody_takes_goes_to_the_escalation_chat_once() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 7").await;
    telegram_on(
        &app,
        &bot,
        json!({ "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 10 }] }),
    )
    .await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    const HEAD: i64 = -2002;
    pair(&app, &bot, HEAD, "Заведующая").await;
    let (s, b) = app
        .patch(
            &format!("/api/v1/notify/chats/{HEAD}"),
            json!({ "role": "escalation" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .patch(
            &format!("/api/v1/notify/chats/{HEAD}"),
            json!({ "role": "boss" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");

    let engine = app.server.as_ref().unwrap().engine.clone();
    app.rate(desk, 1).await; // left open
    app.rate(desk, 1).await; // taken in time
    let (_, alerts) = app.get("/api/v1/alerts").await;
    let (open, taken) = (
        alerts[1]["id"].as_i64().unwrap(),
        alerts[0]["id"].as_i64().unwrap(),
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/alerts/{taken}/take"),
            json!({ "by": "Ольга" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    bot.wait_for(
        "both alerts in the main group",
        Duration::from_secs(20),
        |calls| {
            calls
                .iter()
                .filter(|c| {
                    c.is_delivery() && c.chat_id == Some(GROUP) && !c.callback_data().is_empty()
                })
                .count()
                == 2
        },
    )
    .await;
    assert!(
        deliveries_to(&bot, HEAD).len() == 1,
        "the escalation chat got only its pairing answer"
    );

    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        engine.notify.escalate_due(now + 9 * 60_000).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        engine.notify.escalate_due(now + 11 * 60_000).await.unwrap(),
        1,
        "the open one only"
    );
    assert_eq!(
        engine.notify.escalate_due(now + 12 * 60_000).await.unwrap(),
        0,
        "once"
    );
    let calls = bot
        .wait_for("the escalation", Duration::from_secs(20), |calls| {
            calls.iter().any(|c| {
                c.is_delivery() && c.chat_id == Some(HEAD) && !c.callback_data().is_empty()
            })
        })
        .await;
    let esc = calls
        .iter()
        .find(|c| c.is_delivery() && c.chat_id == Some(HEAD) && !c.callback_data().is_empty())
        .unwrap();
    assert!(
        esc.text.as_deref().unwrap().contains("Никто не взял"),
        "{esc:?}"
    );
    assert_eq!(esc.callback_data()[0], format!("take:{open}"));
    let (_, alerts) = app.get("/api/v1/alerts").await;
    assert!(
        alerts[1]["escalated_at"].is_string() && alerts[0]["escalated_at"].is_null(),
        "{alerts}"
    );
    // The head of reception takes it from the escalation chat.
    let msg = esc.message_id.unwrap();
    bot.push_callback(HEAD, msg, "Заведующая", &format!("take:{open}"));
    app.until("taken from the escalation chat", 20, || async {
        let (_, a) = app.get("/api/v1/alerts?state=taken").await;
        (a.as_array().unwrap().len() == 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_go_by_their_condition_once_per_period() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    // Two fine ratings in the last full hour: nothing negative.
    let hour = chrono::Utc::now().timestamp_millis() / 3_600_000 * 3_600_000 - 1_800_000;
    for i in 0..2 {
        let at = chrono::DateTime::from_timestamp_millis(hour + i * 60_000)
            .unwrap()
            .to_rfc3339();
        let (s, b) = app
            .post(
                "/api/v1/ratings",
                json!({ "desk_id": desk, "score": 2, "at": at }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "timezone": "Europe/Moscow", "language": "en" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    telegram_on(
        &app,
        &bot,
        json!({ "reports": [
            { "every": "1h", "condition": "negative", "channels": ["telegram"] },
            { "every": "1h", "condition": "always", "channels": ["telegram"] },
        ] }),
    )
    .await;
    pair(&app, &bot, GROUP, "Reception").await;
    let engine = app.server.as_ref().unwrap().engine.clone();
    let now = chrono::Utc::now().timestamp_millis();
    // The clock may have been first; either way each period is handled once.
    let first = engine.notify.reports_due(now).await.unwrap();
    let calls = bot
        .wait_for("the report", Duration::from_secs(30), |calls| {
            calls
                .iter()
                .any(|c| c.is_delivery() && c.method == "sendPhoto")
        })
        .await;
    assert!(first <= 1);
    assert_eq!(
        engine.notify.reports_due(now).await.unwrap(),
        0,
        "a period goes once"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let photos: Vec<&Call> = calls
        .iter()
        .filter(|c| c.is_delivery() && c.method == "sendPhoto")
        .collect();
    assert_eq!(
        bot.delivered()
            .iter()
            .filter(|c| c.method == "sendPhoto")
            .count(),
        1,
        "only the 'always' rule's report"
    );
    let chart = &photos[0].file.as_ref().unwrap().bytes;
    assert_eq!(&chart[1..4], b"PNG");
    let text: String = bot
        .delivered()
        .iter()
        .filter(|c| c.chat_id == Some(GROUP))
        .filter_map(|c| c.text.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("Report"),
        "in the installation's language: {text}"
    );
    assert!(text.contains("Ratings: <b>2</b>"), "{text}");
}

/// Telegram (paired with GROUP) and email, alerts of the lowest score on both.
pub(crate) async fn both_on(app: &App, bot: &BotApi, smtp: &SmtpServer, extra: Value) {
    telegram_on(app, bot, extra).await;
    pair(app, bot, GROUP, "Регистратура").await;
    let (s, _) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": smtp.password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["email"] = serde_json::to_value(smtp.config()).unwrap();
    cfg["alerts"] =
        json!([{ "scores": [1], "channels": ["telegram", "email"], "escalate_after_mins": 0 }]);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    no_flood_rule(app).await;
}

/// These tests rate faster than patients do: not a flood to be flagged (see `lan.rs` for that).
pub(crate) async fn no_flood_rule(app: &App) {
    let (s, _) = app
        .patch("/api/v1/settings", json!({ "suspicion_burst_count": 0 }))
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// The channels `/healthz` shows, by name.
async fn channels_state(app: &App) -> Vec<Value> {
    let (_, h) = app.get("/healthz").await;
    h["channels"].as_array().unwrap().clone()
}

/// N in the notice's "Задержанные сообщения (N) идут ниже.".
fn held_in(text: &str) -> Option<usize> {
    let rest = text.split("Задержанные сообщения (").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_away_notice_goes_before_the_held_messages_and_counts_them_exactly() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    both_on(&app, &bot, &smtp, json!({})).await;

    bot.stop().await;
    smtp.command("stop").await;
    for _ in 0..4 {
        app.rate(desk, 1).await;
    }
    app.until("both channels down, the alerts held", 30, || async {
        let down = channels_state(&app)
            .await
            .iter()
            .filter(|c| c["state"] == "down" && c["pending"] == 4)
            .count();
        (down == 2).then_some(())
    })
    .await;
    let (tg_before, mail_before) = (deliveries_to(&bot, GROUP).len(), smtp.messages().len());
    bot.restart().await;
    smtp.command("start").await;
    app.until("both channels ok, nothing pending", 60, || async {
        let ok = channels_state(&app)
            .await
            .iter()
            .filter(|c| c["state"] == "ok" && c["pending"] == 0)
            .count();
        (ok == 2).then_some(())
    })
    .await;

    let tg: Vec<String> = deliveries_to(&bot, GROUP)[tg_before..]
        .iter()
        .map(|c| c.text.clone().unwrap_or_default())
        .collect();
    assert!(
        tg[0].contains("не было связи"),
        "Telegram: the notice comes before the held alerts: {tg:#?}"
    );
    assert_eq!(tg.len(), 5, "the notice and the 4 alerts: {tg:#?}");
    assert_eq!(held_in(&tg[0]), Some(4), "Telegram: {}", tg[0]);
    assert!(
        tg[1..].iter().all(|t| !t.contains("не было связи")),
        "{tg:#?}"
    );

    let mail: Vec<String> = smtp.messages()[mail_before..]
        .iter()
        .map(|m| m["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        mail[0].contains("не было связи"),
        "email: the notice comes before the held alerts: {mail:#?}"
    );
    assert_eq!(mail.len(), 5, "the notice and the 4 alerts: {mail:#?}");
    assert_eq!(held_in(&mail[0]), Some(4), "email: {}", mail[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn while_telegram_is_down_new_ratings_do_not_cut_its_backoff_short() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    telegram_on(&app, &bot, json!({ "retry_max_secs": 300 })).await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    no_flood_rule(&app).await;

    bot.set_mode(Mode::Cutting);
    let mut lows = 1;
    app.rate(desk, 1).await;
    // The alert's first try (after its wait for a photo), cut off.
    let first = app
        .until("the alert's first try", 30, || async {
            bot.calls()
                .iter()
                .find(|c| c.status == 0 && !c.callback_data().is_empty())
                .map(|c| c.at)
        })
        .await;
    let refused = |bot: &BotApi| -> Vec<Call> {
        bot.calls()
            .into_iter()
            .filter(|c| c.status == 0 && c.at >= first)
            .collect()
    };
    // Ratings keep coming, each queuing an alert, for 8 s.
    while first.elapsed() < Duration::from_secs(8) {
        app.rate(desk, 1).await;
        lows += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let tries = refused(&bot).len();
    let elapsed = first.elapsed().as_secs_f64();
    // After 1, 2, 4 … s: try k comes at least 2^k - 1 s after the first.
    let allowed = (elapsed + 1.0).log2().floor() as usize + 1;
    assert!(
        tries <= allowed,
        "{tries} tries in {elapsed:.1} s while {lows} ratings came; the backoff allows {allowed}"
    );

    bot.set_mode(Mode::Up);
    app.until("every alert delivered", 60, || async {
        (telegram_alerts(&bot).len() == lows).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_report_at_half_past_counts_only_the_ratings_before_closing() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "timezone": "UTC", "language": "en" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Two days ago (no clock tick looks that far back): ratings before and after closing,
    // in the same hour.
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(2);
    let at = |h: u32, m: u32| day.and_hms_opt(h, m, 0).unwrap().and_utc();
    for (h, m, score) in [(19, 20, 1), (20, 10, 2), (20, 40, 1), (20, 50, 2)] {
        let (s, b) = app
            .post(
                "/api/v1/ratings",
                json!({ "desk_id": desk, "score": score, "at": at(h, m).to_rfc3339() }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    telegram_on(
        &app,
        &bot,
        json!({ "alerts": [], "reports": [
            { "every": "daily@19:15", "condition": "any", "channels": ["telegram"] },
            { "every": "daily@19:15", "condition": "negative", "channels": ["telegram"] },
            { "every": "daily@20:30", "condition": "always", "channels": ["telegram"] },
        ] }),
    )
    .await;
    pair(&app, &bot, GROUP, "Reception").await;
    let engine = app.server.as_ref().unwrap().engine.clone();
    let queued = engine
        .notify
        .reports_due(at(20, 31).timestamp_millis())
        .await
        .unwrap();
    // By 19:15 nothing was rated: neither `any` nor `negative` has a report.
    let db = rusqlite::Connection::open(app.db_path()).unwrap();
    let outcomes: Vec<(String, String)> = db
        .prepare("SELECT rule, outcome FROM report_runs WHERE period_end = ?1 ORDER BY rule")
        .unwrap()
        .query_map([at(19, 15).timestamp_millis()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(_, o)| o == "skipped"),
        "nothing before 19:15, so no report: {outcomes:?}"
    );
    assert_eq!(queued, 1, "only the 20:30 report");
    let calls = bot
        .wait_for("the 20:30 report", Duration::from_secs(30), |calls| {
            calls
                .iter()
                .any(|c| c.is_delivery() && c.text.as_deref().unwrap_or("").contains("20:30"))
        })
        .await;
    let text = calls
        .iter()
        .filter(|c| c.is_delivery())
        .filter_map(|c| c.text.clone())
        .find(|t| t.contains("20:30") && t.contains("Ratings: <b>"))
        .unwrap();
    assert!(
        text.contains("Ratings: <b>2</b>"),
        "19:20 and 20:10 count, 20:40 and 20:50 do not: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_nobody_receives_draws_nothing_and_a_sent_reports_chart_is_removed() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    app.desk("Окно 1").await;
    telegram_on(
        &app,
        &bot,
        json!({ "alerts": [], "reports": [
            { "every": "1h", "condition": "always", "channels": ["telegram"] },
        ] }),
    )
    .await;
    let engine = app.server.as_ref().unwrap().engine.clone();
    let dir = app.dir.path().join("outbox");
    let files = || std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    let now = chrono::Utc::now().timestamp_millis();
    // No chat is paired yet: the clock's ticks find nobody to send to.
    for _ in 0..3 {
        assert_eq!(engine.notify.reports_due(now).await.unwrap(), 0);
    }
    assert_eq!(files(), 0, "no chart drawn for nobody");

    pair(&app, &bot, GROUP, "Регистратура").await;
    engine.notify.reports_due(now).await.unwrap();
    bot.wait_for("the report", Duration::from_secs(30), |calls| {
        calls
            .iter()
            .any(|c| c.is_delivery() && c.method == "sendPhoto")
    })
    .await;
    app.until("the sent report's chart removed", 20, || async {
        let pending = channels_state(&app).await[0]["pending"].clone();
        (pending == 0 && files() == 0).then_some(())
    })
    .await;
    assert_eq!(
        engine.notify.reports_due(now).await.unwrap(),
        0,
        "a period goes once"
    );
    assert_eq!(files(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_outage_is_told_in_seconds_and_a_sent_message_shows_no_old_error() {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    telegram_on(&app, &bot, json!({})).await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    bot.stop().await;
    app.rate(desk, 1).await;
    app.until("Telegram down", 30, || async {
        (channels_state(&app).await[0]["state"] == "down").then_some(())
    })
    .await;
    bot.restart().await;
    app.until("the alert and the notice delivered", 30, || async {
        let c = &channels_state(&app).await[0];
        (c["state"] == "ok" && c["pending"] == 0).then_some(())
    })
    .await;
    let notice = deliveries_to(&bot, GROUP)
        .into_iter()
        .filter_map(|c| c.text)
        .find(|t| t.contains("не было связи"))
        .expect("a notice");
    assert!(
        !notice.contains("(0 мин)") && notice.contains(" с)"),
        "a few seconds away reads in seconds: {notice}"
    );
    let (_, sent) = app.get("/api/v1/outbox?state=sent").await;
    let sent = sent.as_array().unwrap();
    assert!(
        sent.iter().any(|m| m["attempts"].as_i64().unwrap() > 1),
        "the alert was tried during the outage: {sent:#?}"
    );
    assert!(
        sent.iter().all(|m| m["last_error"].is_null()),
        "a sent message shows no error: {sent:#?}"
    );
}
