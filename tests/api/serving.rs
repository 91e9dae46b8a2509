//! The armed rating window: an armed desk counts presses only while its registrar is serving a
//! patient; presses outside it are stored, flagged `outside_serving` and counted apart.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;

async fn rate_at(app: &App, desk: i64, score: i64, at: Option<DateTime<Utc>>) -> Value {
    let mut body = json!({ "desk_id": desk, "score": score });
    if let Some(at) = at {
        body["at"] = json!(at.to_rfc3339());
    }
    let (s, b) = app.post("/api/v1/ratings", body).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn serving(app: &App, desk: i64, body: Value) -> Value {
    let (s, b) = app
        .post(&format!("/api/v1/desks/{desk}/serving"), body)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

async fn entry(app: &App, registrar: i64) -> Value {
    let (_, board) = app.get("/api/v1/leaderboard?period=today").await;
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["registrar_id"] == registrar)
        .cloned()
        .unwrap_or(json!({ "count": 0, "flagged": 0 }))
}

#[tokio::test]
async fn an_armed_desk_flags_presses_outside_serving_and_keeps_every_one() {
    let app = App::start().await;
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "suspicion_burst_count": 0, "min_ratings": 0, "serving_grace_secs": 30, "serving_max_minutes": 2 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let armed = app.desk("Окно 1").await;
    let open = app.desk("Окно 2").await;
    let anna = app.registrar("Анна").await;
    let boris = app.registrar("Борис").await;
    app.start_session(armed, anna).await;
    app.start_session(open, boris).await;
    let (s, d) = app
        .patch(&format!("/api/v1/desks/{armed}"), json!({ "armed": true }))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (d["armed"].clone(), d["serving"].clone()),
        (json!(true), Value::Null)
    );

    // Nobody is being served: kept and flagged at the armed desk, counted at the other one.
    let before = rate_at(&app, armed, 3, None).await;
    assert_eq!(before["flag"], "outside_serving", "{before}");
    assert_eq!(rate_at(&app, open, 3, None).await["flag"], Value::Null);

    // The queue system calls ticket A012 to the desk.
    let started = serving(&app, armed, json!({ "serving": true, "ticket": " A012 " })).await;
    assert_eq!(
        (&started["serving"], &started["ticket"], &started["source"]),
        (&json!(true), &json!("A012"), &json!("api")),
        "{started}"
    );
    let start = time(&started["started_at"]);
    let (_, desk) = app.get(&format!("/api/v1/desks/{armed}")).await;
    assert_eq!(desk["serving"]["source"], "api", "{desk}");
    let during = rate_at(&app, armed, 1, None).await;
    assert_eq!(during["flag"], Value::Null, "{during}");

    let ended = serving(&app, armed, json!({ "serving": false })).await;
    assert_eq!(ended["serving"], false);
    assert_eq!(ended["ticket"], "A012");
    let end = time(&ended["ended_at"]);
    // Saying "done" again changes nothing and is no error.
    let again = serving(&app, armed, json!({ "serving": false })).await;
    assert_eq!(
        (again["serving"].clone(), again["ended_at"].clone()),
        (json!(false), Value::Null)
    );

    // Presses judged by when they were given, also when they arrive late: inside the interval
    // and its grace they count; before it, or after the grace, they are flagged.
    let cases = [
        (start - Duration::seconds(5), Some("outside_serving")),
        (start + (end - start) / 2, None),
        (end + Duration::seconds(29), None),
        (end + Duration::seconds(31), Some("outside_serving")),
    ];
    for (at, flag) in cases {
        let r = rate_at(&app, armed, 2, Some(at)).await;
        assert_eq!(r["flag"].as_str(), flag, "at {at}: {r}");
    }

    // A serving nobody ends stops counting after serving_max_minutes; the next call ends it.
    let first = serving(&app, armed, json!({ "serving": true, "ticket": "A013" })).await;
    let next = serving(&app, armed, json!({ "serving": true, "ticket": "A014" })).await;
    assert_eq!(next["ticket"], "A014");
    let (_, desk) = app.get(&format!("/api/v1/desks/{armed}")).await;
    assert_eq!(
        desk["serving"]["since"], next["started_at"],
        "{desk} {first}"
    );
    let since = time(&next["started_at"]);
    let late = rate_at(&app, armed, 3, Some(since + Duration::seconds(150))).await;
    assert_eq!(late["flag"], "outside_serving", "{late}");
    let inside = rate_at(&app, armed, 3, Some(since + Duration::seconds(60))).await;
    assert_eq!(inside["flag"], Value::Null, "{inside}");

    // Nothing was dropped; the flagged ones are counted apart from the ranking.
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 9);
    let flagged = all
        .iter()
        .filter(|r| r["desk_id"] == armed && r["flag"] == "outside_serving")
        .count();
    assert_eq!(flagged, 4);
    let of_anna = |flagged: bool| {
        all.iter()
            .filter(|r| r["registrar_id"] == anna && r["flag"].is_null() != flagged)
            .count() as u64
    };
    let e = entry(&app, anna).await;
    assert_eq!(
        (e["count"].as_u64(), e["flagged"].as_u64()),
        (Some(of_anna(false)), Some(of_anna(true))),
        "{e}"
    );
    assert_eq!(of_anna(false), 4);
    let (_, board) = app.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(board["totals"]["flagged"], 4, "{board}");
    let (_, flagged_page) = app.get("/api/v1/ratings?flagged=true").await;
    assert_eq!(
        flagged_page["items"].as_array().unwrap().len(),
        4,
        "{flagged_page}"
    );

    // Disarmed, the desk counts every press again.
    app.patch(&format!("/api/v1/desks/{armed}"), json!({ "armed": false }))
        .await;
    serving(&app, armed, json!({ "serving": false })).await;
    assert_eq!(rate_at(&app, armed, 3, None).await["flag"], Value::Null);
}

#[tokio::test]
async fn serving_takes_a_clear_body_and_changes_nothing_otherwise() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let path = format!("/api/v1/desks/{desk}/serving");
    let malformed = StatusCode::BAD_REQUEST;
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    for (body, status, field) in [
        (json!({}), malformed, "serving"),
        (json!({ "serving": "yes" }), malformed, "serving"),
        (json!({ "serving": true, "desk": 1 }), malformed, "desk"),
        (json!({ "serving": true, "ticket": "" }), invalid, "ticket"),
        (
            json!({ "serving": true, "ticket": "x".repeat(65) }),
            invalid,
            "ticket",
        ),
        (
            json!({ "serving": true, "ticket": "A\u{7}1" }),
            invalid,
            "ticket",
        ),
    ] {
        let (s, b) = app.post(&path, body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
        assert!(
            b["field"].as_str().unwrap_or_default().contains(field)
                || b["error"].as_str().unwrap_or_default().contains(field),
            "{body}: {b}"
        );
    }
    let (s, b) = app
        .post("/api/v1/desks/999/serving", json!({ "serving": true }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = app
        .patch(&format!("/api/v1/desks/{desk}"), json!({ "armed": "yes" }))
        .await;
    assert_eq!((s, b["field"].as_str()), (malformed, Some("armed")), "{b}");
    for (patch, field) in [
        (json!({ "serving_grace_secs": 601 }), "serving_grace_secs"),
        (json!({ "serving_max_minutes": 0 }), "serving_max_minutes"),
    ] {
        let (s, b) = app.patch("/api/v1/settings", patch.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {b}");
        assert_eq!(b["field"], field, "{b}");
    }
    let input = format!("/api/v1/desks/{desk}/input");
    let keys = json!([
        "ctrl+alt+shift+Digit1",
        "ctrl+alt+shift+Digit2",
        "ctrl+alt+shift+Digit3"
    ]);
    for (body, field) in [
        (
            json!({"kind": "keys", "keys": keys, "serve_key": "ctrl+alt+shift+Digit1"}),
            "serve_key",
        ),
        (
            json!({"kind": "keys", "keys": keys, "serve_key": "Hyper+Nothing"}),
            "serve_key",
        ),
        (
            json!({"kind": "serial", "path": "/dev/ttyACM0", "serve_key": "F9"}),
            "serve_key",
        ),
        (json!({"kind": "panel", "serve_key": "F9"}), "kind"),
    ] {
        let (s, b) = app.put(&input, body.clone()).await;
        assert_eq!(
            (s, b["field"].as_str()),
            (invalid, Some(field)),
            "{body}: {b}"
        );
    }
    let (_, now) = app.get(&input).await;
    assert_eq!(now["kind"], "panel", "{now}");
    let (_, d) = app.get(&format!("/api/v1/desks/{desk}")).await;
    assert_eq!(
        (d["armed"].clone(), d["serving"].clone()),
        (json!(false), Value::Null),
        "{d}"
    );

    app.patch(&format!("/api/v1/desks/{desk}"), json!({ "active": false }))
        .await;
    let (s, b) = app.post(&path, json!({ "serving": true })).await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a deactivated desk serves nobody: {b}"
    );
}

/// From the LAN, only the desk's own registrar panel (or the token) says it is serving.
#[tokio::test]
async fn only_the_desk_s_registrar_panel_starts_serving_from_the_lan() {
    let app = crate::lan::lan_app().await;
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let patient = app.pair_panel(d1, "patient").await;
    let other = app.pair_panel(d2, "registrar").await;
    let mine = app.pair_panel(d1, "registrar").await;
    let path = format!("/api/v1/desks/{d1}/serving");
    for bearer in [None, Some(patient.as_str()), Some(other.as_str())] {
        let (s, b) = app.post_as(bearer, &path, json!({ "serving": true })).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bearer:?}: {b}");
    }
    let (_, d) = app.get(&format!("/api/v1/desks/{d1}")).await;
    assert_eq!(d["serving"], Value::Null, "refusals changed nothing: {d}");
    let (s, b) = app
        .post_as(Some(&mine), &path, json!({ "serving": true }))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["source"], "panel");
}
