//! Window alert rules end to end: ratings through the real API, alerts through the outbox to the
//! fake Bot API and the real SMTP server, thanks on the desk panel's public live stream. Each
//! rule fires once when its condition becomes true, again only after it cleared, and not again
//! after a restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::botapi::BotApi;
use crate::channels::{GROUP, both_on, deliveries_to, no_flood_rule, pair, telegram_on};
use crate::common::App;
use crate::smtp::SmtpServer;
use crate::sse::SseReader;

/// Replaces the alert rules: no per-rating alert, so every message is a window's.
async fn set_rules(app: &App, windows: Value) {
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["alerts"] = json!([]);
    cfg["windows"] = windows;
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

/// A desk with its registrar at work, Telegram on with the group paired, no flood flags (the
/// windows see every rating), and these window rules.
async fn in_group(desk: &str, registrar: &str, rules: Value) -> (BotApi, App, i64) {
    let bot = BotApi::start().await;
    let app = App::start().await;
    let desk = app.desk(desk).await;
    let reg = app.registrar(registrar).await;
    app.start_session(desk, reg).await;
    telegram_on(&app, &bot, json!({})).await;
    pair(&app, &bot, GROUP, "Регистратура").await;
    no_flood_rule(&app).await;
    set_rules(&app, rules).await;
    (bot, app, desk)
}

/// The Telegram messages in the group whose text has `needle`.
fn group_texts(bot: &BotApi, needle: &str) -> Vec<String> {
    deliveries_to(bot, GROUP)
        .into_iter()
        .filter_map(|c| c.text)
        .filter(|t| t.contains(needle))
        .collect()
}

async fn wait_group(bot: &BotApi, needle: &str, n: usize) {
    let needle = needle.to_string();
    bot.wait_for(
        &format!("{n} message(s) with '{needle}'"),
        Duration::from_secs(20),
        move |calls| {
            calls
                .iter()
                .filter(|c| {
                    c.is_delivery()
                        && c.chat_id == Some(GROUP)
                        && c.text.as_deref().is_some_and(|t| t.contains(&needle))
                })
                .count()
                >= n
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_of_low_ratings_alerts_once_rearms_when_broken_and_a_restart_does_not_refire() {
    let bot = BotApi::start().await;
    let smtp = SmtpServer::start().await;
    let app = App::start().await;
    let desk = app.desk("Окно 2").await;
    let reg = app.registrar("Сидорова Елена").await;
    app.start_session(desk, reg).await;
    both_on(&app, &bot, &smtp, json!({})).await;
    set_rules(
        &app,
        json!([{ "kind": "low_run", "channels": ["telegram", "email"], "escalate_after_mins": 0 }]),
    )
    .await;

    app.rate(desk, 1).await;
    app.rate(desk, 1).await;
    let third = app.rate(desk, 1).await;
    wait_group(&bot, "3 низких оценок подряд", 1).await;
    smtp.wait_for(1, Duration::from_secs(20)).await;
    // The fourth low one in a row: the rule is still firing, nothing new.
    app.rate(desk, 1).await;

    let (_, alerts) = app.get("/api/v1/alerts").await;
    let alerts = alerts.as_array().unwrap().clone();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let first = &alerts[0];
    assert_eq!(first["rule"], "low_run");
    assert_eq!(first["detail"], "3 низких оценок подряд");
    assert_eq!(first["rating_id"], third["id"]);
    // The same buttons as any alert, and the same Take/Resolve flow.
    let id = first["id"].as_i64().unwrap();
    let call = deliveries_to(&bot, GROUP)
        .into_iter()
        .find(|c| c.text.as_deref().is_some_and(|t| t.contains("подряд")))
        .unwrap();
    assert_eq!(
        call.callback_data(),
        vec![format!("take:{id}"), format!("resolve:{id}")]
    );
    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/take"),
            json!({ "by": "Ольга" }),
        )
        .await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("taken")));
    let (s, b) = app
        .post(
            &format!("/api/v1/alerts/{id}/resolve"),
            json!({ "by": "Ольга", "cause": "очередь из-за сбоя кассы" }),
        )
        .await;
    assert_eq!((s, b["state"].as_str()), (StatusCode::OK, Some("resolved")));

    // A restart while the run goes on: the stored state keeps it from firing again.
    let dir = app.stop().await;
    let app = App::start_in(dir).await;
    app.rate(desk, 1).await;
    // A good one breaks the run and re-arms the rule; three low ones fire it again.
    app.rate(desk, 3).await;
    app.rate(desk, 1).await;
    app.rate(desk, 1).await;
    app.rate(desk, 1).await;
    wait_group(&bot, "3 низких оценок подряд", 2).await;
    let mails = smtp.wait_for(2, Duration::from_secs(20)).await;

    // Exactly the two window alerts, on both channels, nothing in between.
    assert_eq!(group_texts(&bot, "подряд").len(), 2);
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for m in &mails {
        let subject = m["subject"].as_str().unwrap();
        assert!(subject.contains("3 низких оценок подряд"), "{subject}");
        assert!(m["text"].as_str().unwrap().contains("Окно 2"), "{m}");
    }
    let (_, alerts) = app.get("/api/v1/alerts").await;
    assert_eq!(alerts.as_array().unwrap().len(), 2, "{alerts}");
    assert_eq!(alerts[0]["state"], "open");
    assert_eq!(alerts[1]["state"], "resolved");
    app.stop().await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_share_of_low_ratings_fires_at_its_threshold_and_again_after_it_cleared() {
    let (bot, app, desk) = in_group(
        "Окно 1",
        "Сидорова Елена",
        json!([{ "kind": "low_share", "minutes": 15, "percent": 50, "min_ratings": 4,
                 "channels": ["telegram"], "escalate_after_mins": 0 }]),
    )
    .await;
    // 2 of 3 are low, but 3 ratings are too few; the fourth makes 2 of 4 = 50 %.
    for score in [1, 3, 1, 3] {
        app.rate(desk, score).await;
    }
    wait_group(&bot, "низких оценок за 15 мин", 1).await;
    // 2 of 5 clears it; 3 of 6 fires it again; 4 of 7 goes on firing.
    for score in [3, 1, 1] {
        app.rate(desk, score).await;
    }
    wait_group(&bot, "низких оценок за 15 мин", 2).await;
    let texts = group_texts(&bot, "низких оценок за 15 мин");
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("50% низких оценок за 15 мин (2 из 4)"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("50% низких оценок за 15 мин (3 из 6)"),
        "{}",
        texts[1]
    );
    app.stop().await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn top_ratings_in_a_row_thank_the_registrar_on_the_desk_panel_and_in_the_group() {
    let (bot, app, desk) = in_group(
        "Окно 4",
        "Петрова Анна",
        json!([{ "kind": "top_run", "run": 3, "channels": ["telegram"] }]),
    )
    .await;
    // The public stream, as the desk panel opens it (no token).
    let mut panel = SseReader::connect(&app.url("/api/v1/events"), None).await;
    for _ in 0..3 {
        app.rate(desk, 3).await;
    }
    let ev = panel.next_named("thanks").await;
    let thanks: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(thanks["desk_id"], desk);
    assert_eq!(thanks["registrar"], "Петрова Анна");
    assert_eq!(
        (thanks["kind"].as_str(), thanks["n"].as_i64()),
        (Some("top_run"), Some(3))
    );
    wait_group(&bot, "Спасибо! 3 высших оценок подряд", 1).await;
    // A fourth top one: still the same stretch. A middle one re-arms; three more thank again.
    for score in [3, 2, 3, 3, 3] {
        app.rate(desk, score).await;
    }
    panel.next_named("thanks").await;
    wait_group(&bot, "Спасибо!", 2).await;
    let texts = group_texts(&bot, "Спасибо!");
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("Петрова Анна"), "{}", texts[0]);
    // The panel got exactly two thanks: nothing more is waiting in its stream.
    while let Some(ev) = panel.within(500).await {
        assert_ne!(ev.event, "thanks", "{}", ev.data);
    }
    app.stop().await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_window_rules_are_refused_by_name_and_change_nothing() {
    let app = App::start().await;
    let (_, before) = app.get("/api/v1/notify").await;
    for (rule, field) in [
        (json!({ "kind": "low_mood" }), "windows[0].kind"),
        (
            json!({ "kind": "low_share", "minutes": 0 }),
            "windows[0].minutes",
        ),
        (
            json!({ "kind": "low_share", "percent": 120 }),
            "windows[0].percent",
        ),
        (
            json!({ "kind": "low_share", "percent": 0 }),
            "windows[0].percent",
        ),
        (
            json!({ "kind": "low_run", "scores": [7] }),
            "windows[0].scores",
        ),
        (
            json!({ "kind": "low_run", "channels": [] }),
            "windows[0].channels",
        ),
    ] {
        let mut cfg = before["config"].clone();
        cfg["windows"] = json!([rule]);
        let (s, b) = app.put("/api/v1/notify", cfg).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{rule}: {b}");
        assert_eq!(b["field"], field, "{b}");
    }
    let (_, after) = app.get("/api/v1/notify").await;
    assert_eq!(after["config"], before["config"]);
    app.stop().await;
}
