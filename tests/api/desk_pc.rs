//! Desk PCs: two real engines on loopback, a reception and a desk PC paired to it with a code
//! through the HTTP API; presses made at the desk PC reach the reception's paired desk, bound
//! to the session open at the press time, each once, also after the reception was away. Then
//! the reception's ingest taken apart: resends, holes, tokens, bad bodies, clocks.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;

/// Pairs `desk_pc` as the desk PC of the reception's `desk`, as a supervisor and the desk PC's
/// own console would: a code from the reception, sent by the desk PC.
async fn pair(reception: &App, desk_pc: &App, desk: i64) -> Value {
    let (s, code) = reception
        .post(
            &format!("/api/v1/desks/{desk}/pairing"),
            json!({ "role": "desk_pc" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{code}");
    assert_eq!(code["role"], "desk_pc");
    let (s, link) = desk_pc
        .post(
            "/api/v1/desk-pc/pair",
            json!({ "reception_url": reception.base, "code": code["code"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{link}");
    link
}

/// A press at the desk PC's own desk, as its button receiver stores it.
async fn press(desk_pc: &App, local_desk: i64, score: i64) -> Value {
    let (s, r) = desk_pc
        .post(
            "/api/v1/ratings",
            json!({ "desk_id": local_desk, "score": score, "source": "keys" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn ratings_at(reception: &App, n: usize, secs: u64) -> Vec<Value> {
    reception
        .until(&format!("{n} ratings at the reception"), secs, || async {
            let all = reception.all_ratings().await;
            assert!(all.len() <= n, "more than {n} ratings: {all:?}");
            (all.len() == n).then_some(all)
        })
        .await
}

fn entry(board: &Value, registrar: i64) -> Value {
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["registrar_id"] == registrar)
        .cloned()
        .unwrap_or_else(|| panic!("registrar {registrar} on {board}"))
}

/// The desk PC's own health of its link to the reception.
fn link_health(health: &Value) -> Value {
    health["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "link:reception")
        .cloned()
        .unwrap_or_else(|| panic!("no link in {health}"))
}

#[tokio::test]
async fn presses_at_a_desk_pc_reach_the_reception_once_bound_by_press_time_across_an_outage() {
    let reception = App::start().await;
    let addr = reception.server.as_ref().expect("in-process").addr;
    // Desk ids differ between the two: the reception's desk is the pairing's, not the desk PC's.
    reception.desk("Окно 1").await;
    let desk = reception.desk("Окно 2").await;
    let anna = reception.registrar("Анна").await;
    let boris = reception.registrar("Борис").await;
    reception.start_session(desk, anna).await;

    let desk_pc = App::start().await;
    let local = desk_pc.desk("Стол").await;
    let link = pair(&reception, &desk_pc, desk).await;
    assert_eq!(link["link"]["kind"], "reception", "{link}");
    assert_eq!(link["link"]["hub_url"], reception.base.as_str());
    let (_, panels) = reception.get("/api/v1/panels").await;
    assert_eq!(panels[0]["role"], "desk_pc", "{panels}");
    assert_eq!(panels[0]["desk_id"], desk);
    // The desk PC's token is with its secrets, not in what the API shows.
    assert!(!link.to_string().contains("panel-"), "{link}");
    let secrets = std::fs::read_to_string(desk_pc.dir.path().join("secrets.json")).unwrap();
    assert!(secrets.contains("reception_token"), "{secrets}");

    // Live: three presses, at the reception's desk, Anna's.
    let scores = [2, 3, 1, 2, 3, 2, 1];
    let mut local_ratings = Vec::new();
    for &s in &scores[..3] {
        local_ratings.push(press(&desk_pc, local, s).await);
    }
    let got = ratings_at(&reception, 3, 30).await;
    assert!(
        got.iter()
            .all(|r| r["desk_id"] == desk && r["registrar_id"] == anna && r["source"] == "keys"),
        "{got:?}"
    );

    // The reception goes away; the desk PC keeps recording and says it is behind.
    let dir = reception.stop().await;
    for &s in &scores[3..5] {
        local_ratings.push(press(&desk_pc, local, s).await);
    }
    let state = desk_pc
        .until("the desk PC to see the reception gone", 30, || async {
            let (_, u) = desk_pc.get("/api/v1/uplink").await;
            // Its two presses, and what its own database adds to them (a flag, an alert).
            let behind = u["link"]["backlog"].as_u64().unwrap_or(0) >= 2;
            (!u["state"]["last_error"].is_null() && behind).then_some(u)
        })
        .await;
    println!("desk PC while the reception is away: {state}");
    let (_, health) = desk_pc.get("/healthz").await;
    let link = link_health(&health);
    assert_eq!(link["state"], "down", "{health}");
    assert!(
        link["last_error"].as_str().unwrap().contains("reception"),
        "{link}"
    );
    assert!(
        health["attention"]
            .to_string()
            .contains("Связь с регистратурой"),
        "{health}"
    );

    // Meanwhile the reception's desk changes hands (the reception started elsewhere, where the
    // desk PC does not reach it); the presses made after that are Boris's.
    let elsewhere = App::start_in(dir).await;
    let (s, b) = elsewhere
        .delete(&format!("/api/v1/desks/{desk}/session"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    elsewhere.start_session(desk, boris).await;
    let dir = elsewhere.stop().await;
    for &s in &scores[5..] {
        local_ratings.push(press(&desk_pc, local, s).await);
    }

    // Back where the desk PC looks for it: every press arrives, once, in order.
    let reception = App::start_on(dir, addr).await;
    let started = std::time::Instant::now();
    let got = ratings_at(&reception, 7, 60).await;
    println!(
        "the reception back: 4 presses caught up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let seen: Vec<(i64, String, i64)> = got
        .iter()
        .map(|r| {
            (
                r["score"].as_i64().unwrap(),
                r["at"].as_str().unwrap().to_string(),
                r["registrar_id"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let pressed: Vec<(i64, String, i64)> = local_ratings
        .iter()
        .zip([anna, anna, anna, anna, anna, boris, boris])
        .map(|(r, who)| {
            (
                r["score"].as_i64().unwrap(),
                r["at"].as_str().unwrap().to_string(),
                who,
            )
        })
        .collect();
    // Same scores, same press times, in the order pressed; the two pressed during the outage
    // while Anna still had the desk are hers, though they arrived after Boris took it.
    assert_eq!(seen, pressed);

    let (_, board) = reception.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(entry(&board, anna)["count"], 5, "{board}");
    assert_eq!(entry(&board, anna)["levels"], json!([1, 2, 2]));
    assert_eq!(entry(&board, boris)["count"], 2);
    assert_eq!(board["totals"]["count"], 7);

    let state = desk_pc
        .until("the desk PC's backlog to empty", 30, || async {
            let (_, u) = desk_pc.get("/api/v1/uplink").await;
            (u["link"]["backlog"] == 0 && u["state"]["last_error"].is_null()).then_some(u)
        })
        .await;
    assert!(state["state"]["last_ok_at"].is_i64(), "{state}");
    let (_, health) = desk_pc.get("/healthz").await;
    assert_eq!(link_health(&health)["state"], "ok", "{health}");
    let (_, pcs) = reception.get("/api/v1/desk-pcs").await;
    assert_eq!(pcs[0]["desk_id"], desk, "{pcs}");
    assert!(pcs[0]["last_seq"].as_i64().unwrap() >= 7, "{pcs}");
    assert!(
        pcs[0]["clock_drift_ms"].as_i64().unwrap().abs() < 60_000,
        "{pcs}"
    );

    // A desk PC linked to a reception is not linked to a hub at the same time.
    let (s, b) = desk_pc
        .put(
            "/api/v1/uplink",
            json!({ "hub_url": "http://127.0.0.1:9", "site_key": "otk_site_x" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    drop(reception);
}

#[tokio::test]
async fn pairing_a_desk_pc_refuses_a_wrong_code_a_bad_address_and_a_panels_code() {
    let reception = App::start().await;
    let desk = reception.desk("Окно 1").await;
    let desk_pc = App::start().await;
    let pair_with = |url: String, code: Value| {
        let desk_pc = &desk_pc;
        async move {
            desk_pc
                .post(
                    "/api/v1/desk-pc/pair",
                    json!({ "reception_url": url, "code": code }),
                )
                .await
        }
    };
    let (s, b) = pair_with("reception:8787".into(), json!("123456")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "reception_url");
    let (s, b) = pair_with(reception.base.clone(), json!("12 34")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "code");
    let (s, b) = pair_with(reception.base.clone(), json!("000000")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    // Nobody listens on port 9 of loopback.
    let (s, b) = pair_with("http://127.0.0.1:9".into(), json!("123456")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "reception_url");
    assert!(b["error"].as_str().unwrap().contains("cannot reach"), "{b}");
    // A patient panel's code pairs a patient panel, which is no desk PC.
    let (_, code) = reception
        .post(
            &format!("/api/v1/desks/{desk}/pairing"),
            json!({ "role": "patient" }),
        )
        .await;
    let (s, b) = pair_with(reception.base.clone(), code["code"].clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "code");
    // Nothing was linked by any of these.
    let (_, u) = desk_pc.get("/api/v1/uplink").await;
    assert!(u["link"].is_null(), "{u}");
    // Without the desk PC's own API token, nobody pairs it.
    let (s, _) = desk_pc
        .post_as(
            None,
            "/api/v1/desk-pc/pair",
            json!({ "reception_url": reception.base, "code": "123456" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

fn rating(seq: i64, id: i64, score: i64, at: i64) -> Value {
    json!({ "seq": seq, "change": {
        "kind": "rating", "id": id, "desk_id": 1, "score": score, "scale": 3, "source": "serial",
        "at": at, "received_at": at, "registrar_id": null, "session_id": null } })
}

fn batch(events: Vec<Value>, sent_at: i64) -> Value {
    json!({ "protocol": 1, "schema": 14, "sent_at": sent_at, "time_zone": "Europe/Moscow", "events": events })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn the_reception_takes_a_desk_pcs_batches_once_in_order_and_only_from_a_desk_pc() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let token = app.pair_panel(desk, "desk_pc").await;
    let ingest = "/api/v1/desk-pc/ingest";
    // Pressed after Anna's session began.
    let t = now();

    let first = batch(
        vec![
            rating(1, 101, 2, t),
            rating(2, 102, 3, t + 1),
            rating(3, 103, 1, t + 2),
        ],
        now(),
    );
    let (s, ack) = app.post_as(Some(&token), ingest, first.clone()).await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    assert_eq!(ack["acked"], 3);
    assert!(ack["hub_time"].is_i64());
    assert_eq!(app.all_ratings().await.len(), 3);

    // The same batch again (its answer was lost): acknowledged, nothing added.
    let (s, ack) = app.post_as(Some(&token), ingest, first).await;
    assert_eq!(
        (s, ack["acked"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{ack}"
    );
    // Overlapping: only the new one counts.
    let (s, ack) = app
        .post_as(
            Some(&token),
            ingest,
            batch(
                vec![rating(3, 103, 1, t + 2), rating(4, 104, 2, t + 3)],
                now(),
            ),
        )
        .await;
    assert_eq!(
        (s, ack["acked"].as_i64()),
        (StatusCode::OK, Some(4)),
        "{ack}"
    );
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 4);
    assert!(
        all.iter()
            .all(|r| r["registrar_id"] == anna && r["desk_id"] == desk)
    );

    // A hole: refused with the seq expected, nothing stored.
    let (s, gap) = app
        .post_as(
            Some(&token),
            ingest,
            batch(vec![rating(7, 107, 2, t + 4)], now()),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{gap}");
    assert_eq!(gap["expected"], 5);
    assert!(gap["error"].as_str().unwrap().contains('5'), "{gap}");
    assert_eq!(app.all_ratings().await.len(), 4);

    // The desk PC's own desks and sessions are acknowledged and ignored: the reception owns them.
    let (s, ack) = app
        .post_as(
            Some(&token),
            ingest,
            batch(
                vec![
                    json!({ "seq": 5, "change": { "kind": "desk", "id": 1, "name": "Стол", "active": true } }),
                    json!({ "seq": 6, "change": { "kind": "session", "id": 1, "desk_id": 1, "registrar_id": 1,
                        "started_at": t, "ended_at": null } }),
                    // A press it sent before under another seq (its journal was rebuilt): still once.
                    rating(7, 101, 2, t),
                ],
                now(),
            ),
        )
        .await;
    assert_eq!(
        (s, ack["acked"].as_i64()),
        (StatusCode::OK, Some(7)),
        "{ack}"
    );
    assert_eq!(app.all_ratings().await.len(), 4);
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks.as_array().unwrap().len(), 1, "{desks}");

    // Bad bodies are named and change nothing.
    let (s, b) = app
        .post_as(
            Some(&token),
            ingest,
            batch(vec![rating(8, 108, 2, t), rating(10, 110, 2, t)], now()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "events[1].seq");
    let (s, b) = app
        .post_as(
            Some(&token),
            ingest,
            batch(vec![rating(8, 108, 4, t)], now()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "events[0].change.score");
    let mut other = batch(vec![], now());
    other["protocol"] = json!(2);
    let (s, b) = app.post_as(Some(&token), ingest, other).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "protocol");
    let (s, b) = app
        .post_as(
            Some(&token),
            ingest,
            json!({ "protocol": 1, "schema": 14, "time_zone": "UTC", "events": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "sent_at");
    assert_eq!(app.all_ratings().await.len(), 4);

    // Only a paired desk PC: no token, a made-up one, the API token, another role's panel, a
    // revoked desk PC.
    let one = batch(vec![rating(8, 108, 2, t)], now());
    let patient = app.pair_panel(desk, "patient").await;
    for (who, bearer, status) in [
        ("no token", None, StatusCode::UNAUTHORIZED),
        (
            "a made-up token",
            Some("panel-forged"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "the API token",
            Some(app.token.as_str()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a patient panel",
            Some(patient.as_str()),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (s, b) = app.post_as(bearer, ingest, one.clone()).await;
        assert_eq!(s, status, "{who}: {b}");
    }
    let (_, panels) = app.get("/api/v1/panels").await;
    let pc = panels
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "desk_pc")
        .unwrap()["id"]
        .clone();
    // A desk PC's token is no panel's: it may not pick a reason as one.
    let (s, b) = app
        .post_as(
            Some(&token),
            "/api/v1/ratings/1/reason",
            json!({ "reason": "wait", "panel": "desk_pc" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "panel");
    let (s, _) = app.delete(&format!("/api/v1/panels/{pc}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.post_as(Some(&token), ingest, one).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "revoked: {b}");
    assert_eq!(app.all_ratings().await.len(), 4);
}

#[tokio::test]
async fn a_desk_pcs_clock_far_off_is_a_health_warning_and_its_presses_still_count() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let token = app.pair_panel(desk, "desk_pc").await;
    let ingest = "/api/v1/desk-pc/ingest";
    let (_, health) = app.get("/healthz").await;
    let pc = |h: &Value| {
        h["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "desk_pc")
            .cloned()
            .unwrap_or_else(|| panic!("no desk_pc in {h}"))
    };
    assert_eq!(pc(&health)["state"], "ok", "{health}");

    // Ten minutes behind: the press is stored at its own time, and health says so.
    let behind = now() - 600_000;
    let (s, ack) = app
        .post_as(
            Some(&token),
            ingest,
            batch(vec![rating(1, 1, 3, behind)], behind),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ack}");
    let (_, health) = app.get("/healthz").await;
    let c = pc(&health);
    assert_eq!(c["state"], "degraded", "{c}");
    assert_eq!(c["desk_id"], desk);
    assert!(c["last_error"].as_str().unwrap().contains("behind"), "{c}");
    assert!(
        health["attention"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("Окно 1")),
        "{health}"
    );
    let (_, pcs) = app.get("/api/v1/desk-pcs").await;
    let drift = pcs[0]["clock_drift_ms"].as_i64().unwrap();
    assert!((-601_000..=-599_000).contains(&drift), "{pcs}");
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 1);

    // A heartbeat with the clock set right clears it.
    let (s, _) = app
        .post_as(Some(&token), ingest, batch(vec![], now()))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, health) = app.get("/healthz").await;
    assert_eq!(pc(&health)["state"], "ok", "{health}");

    // A press on another scale lands on the reception's (5 of 5 is its top).
    let (s, _) = app
        .post_as(
            Some(&token),
            ingest,
            batch(
                vec![json!({ "seq": 2, "change": { "kind": "rating", "id": 2, "desk_id": 1, "score": 5,
                    "scale": 5, "source": "keys", "at": now(), "received_at": now(),
                    "registrar_id": null, "session_id": null } })],
                now(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let all = app.all_ratings().await;
    assert_eq!(
        (all[1]["score"].as_i64(), all[1]["scale"].as_i64()),
        (Some(3), Some(3))
    );
}

#[tokio::test]
async fn otklik_desk_pc_pair_pairs_from_the_command_line() {
    let reception = App::start().await;
    let desk = reception.desk("Окно 1").await;
    let (_, code) = reception
        .post(
            &format!("/api/v1/desks/{desk}/pairing"),
            json!({ "role": "desk_pc" }),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(crate::common::otklik_bin())
        .args(["desk-pc", "pair", "--reception", &reception.base, "--code"])
        .arg(code["code"].as_str().unwrap())
        .arg("--data-dir")
        .arg(dir.path())
        .env("OTKLIK_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", stdout.trim());
    assert!(stdout.contains("Paired with the reception"), "{stdout}");
    assert!(
        !stdout.contains("panel-"),
        "the token is not printed: {stdout}"
    );
    // The same code again: used.
    let again = tokio::process::Command::new(crate::common::otklik_bin())
        .args(["desk-pc", "pair", "--reception", &reception.base, "--code"])
        .arg(code["code"].as_str().unwrap())
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("wrong or has expired"));

    // The desk PC started on that directory forwards its presses.
    let desk_pc = App::start_in(dir).await;
    let local = desk_pc.desk("Стол").await;
    press(&desk_pc, local, 2).await;
    let got = ratings_at(&reception, 1, 30).await;
    assert_eq!(got[0]["desk_id"], desk);
}

#[tokio::test]
async fn a_desk_pc_token_is_only_for_forwarding_on_the_lan() {
    let reception = crate::lan::lan_app().await;
    let desk = reception.desk("Окно 1").await;
    let anna = reception.registrar("Анна").await;
    reception
        .patch("/api/v1/settings", json!({ "panel_lockout_secs": 0 }))
        .await;
    let token = reception.pair_panel(desk, "desk_pc").await;
    // Not a patient panel, nor a registrar panel, of its own desk.
    let (s, b) = reception
        .post_as(
            Some(&token),
            &format!("/api/v1/desks/{desk}/tap"),
            json!({ "score": 3 }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (s, _) = reception
        .post_as(
            Some(&token),
            &format!("/api/v1/desks/{desk}/checkin"),
            json!({ "registrar_id": anna }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = reception
        .send(
            reception
                .http
                .get(reception.url("/api/v1/desk-pcs"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the list is the console's");
    assert_eq!(reception.all_ratings().await.len(), 0);

    // A real desk PC reaching the reception at its LAN address forwards its presses there.
    reception.start_session(desk, anna).await;
    let desk_pc = App::start().await;
    let local = desk_pc.desk("Стол").await;
    pair(&reception, &desk_pc, desk).await;
    press(&desk_pc, local, 2).await;
    let got = ratings_at(&reception, 1, 30).await;
    assert_eq!(
        (got[0]["desk_id"].as_i64(), got[0]["registrar_id"].as_i64()),
        (Some(desk), Some(anna))
    );
}

/// The network hub's side of the same worker: batches still go to `/hub/v1/ingest` with the
/// site key (a stand-in hub on loopback that acknowledges what it gets).
#[tokio::test]
async fn a_site_linked_to_a_hub_still_sends_there_with_its_site_key() {
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, Value)>>>;
    let seen: Seen = Arc::default();
    let hub = axum::Router::new()
        .route(
            "/hub/v1/ingest",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: axum::http::HeaderMap,
                 axum::Json(batch): axum::Json<Value>| async move {
                    let auth = headers["authorization"].to_str().unwrap().to_string();
                    let acked = batch["events"]
                        .as_array()
                        .unwrap()
                        .last()
                        .map_or(0, |e| e["seq"].as_i64().unwrap());
                    seen.lock().unwrap().push((auth, batch));
                    axum::Json(json!({ "acked": acked, "hub_time": now(), "roster_version": 1 }))
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hub).await.unwrap() });

    let site = App::start().await;
    let (s, b) = site
        .put(
            "/api/v1/uplink",
            json!({ "hub_url": format!("http://{hub_addr}"), "site_key": "otk_site_test1" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["link"]["kind"], "hub");
    site.desk("Окно 1").await;
    site.until("the hub to get the desk", 30, || async {
        let (_, u) = site.get("/api/v1/uplink").await;
        (u["link"]["backlog"] == 0 && !seen.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().all(|(auth, _)| auth == "Bearer otk_site_test1"),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .flat_map(|(_, b)| b["events"].as_array().unwrap().iter())
            .any(|e| e["change"]["kind"] == "desk" && e["change"]["name"] == "Окно 1"),
        "{seen:?}"
    );
}

async fn media_bytes(app: &App, url: &str) -> Vec<u8> {
    let resp = app
        .http
        .get(app.url(url))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_photo_taken_at_the_desk_pc_follows_its_rating_to_the_reception() {
    let reception = App::start().await;
    let desk = reception.desk("Окно 1").await;
    let desk_pc = App::start().await;
    let local = desk_pc.desk("Стол").await;
    let cams =
        crate::evidence::camera_server(std::sync::Arc::new(tokio::sync::Notify::new())).await;
    let (s, ev) = desk_pc
        .put(
            &format!("/api/v1/desks/{local}/evidence"),
            json!({ "photo": true, "camera": { "kind": "ip", "url": format!("{cams}/ok.jpg") } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    pair(&reception, &desk_pc, desk).await;

    let r = press(&desk_pc, local, 1).await;
    let here = crate::evidence::evidence_of(&desk_pc, &r, 1).await;
    assert_eq!(here[0]["state"], "saved", "{here:?}");
    let photo = media_bytes(&desk_pc, here[0]["url"].as_str().unwrap()).await;

    let got = ratings_at(&reception, 1, 30).await;
    let there = crate::evidence::evidence_of(&reception, &got[0], 1).await;
    assert_eq!(
        (there[0]["kind"].as_str(), there[0]["desk_id"].as_i64()),
        (Some("photo"), Some(desk))
    );
    assert_eq!(
        media_bytes(&reception, there[0]["url"].as_str().unwrap()).await,
        photo
    );
    println!(
        "a photo of {} bytes followed its rating to the reception",
        photo.len()
    );
}

#[tokio::test]
async fn the_reception_takes_a_desk_pcs_file_once_for_a_rating_it_has() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let token = app.pair_panel(desk, "desk_pc").await;
    let (s, _) = app
        .post_as(
            Some(&token),
            "/api/v1/desk-pc/ingest",
            batch(vec![rating(1, 41, 1, now())], now()),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let photo = crate::evidence::jpeg(64, 48);
    let upload = |id: i64, query: &str, bearer: Option<&str>, body: Vec<u8>| {
        let mut req = app
            .http
            .post(app.url(&format!("/api/v1/desk-pc/media/{id}?{query}")))
            .header("content-type", "image/jpeg")
            .body(body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t.to_string());
        }
        app.send(req)
    };
    let (s, m) = upload(7, "kind=photo&ratings=41", Some(&token), photo.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (s, again) = upload(7, "kind=photo&ratings=41", Some(&token), photo.clone()).await;
    assert_eq!((s, &again["id"]), (StatusCode::OK, &m["id"]), "{again}");
    let r = &app.all_ratings().await[0];
    assert_eq!(crate::evidence::evidence_of(&app, r, 1).await.len(), 1);

    for (query, bearer, body, status, field) in [
        (
            "kind=photo&ratings=99",
            Some(token.as_str()),
            photo.clone(),
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "kind=video&ratings=41",
            Some(token.as_str()),
            photo.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("kind"),
        ),
        (
            "kind=photo&ratings=41",
            Some(token.as_str()),
            b"GIF89a".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("body"),
        ),
        (
            "kind=photo&ratings=x",
            Some(token.as_str()),
            photo.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("ratings"),
        ),
        (
            "kind=photo&ratings=41",
            None,
            photo.clone(),
            StatusCode::UNAUTHORIZED,
            None,
        ),
    ] {
        let (s, b) = upload(8, query, bearer, body).await;
        assert_eq!(s, status, "{query}: {b}");
        if let Some(f) = field {
            assert_eq!(b["field"], f, "{b}");
        }
    }
    let patient = app.pair_panel(desk, "patient").await;
    let (s, _) = upload(8, "kind=photo&ratings=41", Some(&patient), photo).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(crate::evidence::evidence_of(&app, r, 1).await.len(), 1);
}

#[tokio::test]
async fn a_days_backlog_from_a_desk_pc_is_applied_in_one_batch() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let token = app.pair_panel(desk, "desk_pc").await;
    // A busy desk's day: 1000 presses, as the worker sends them (its batch size), middle scores
    // so that no burst rule flags them.
    let t = now();
    let events = (1..=1000).map(|i| rating(i, i, 2, t + i)).collect();
    let body = batch(events, now());
    println!(
        "one batch of 1000 presses: {} bytes",
        body.to_string().len()
    );
    let started = std::time::Instant::now();
    let (s, ack) = app
        .post_as(Some(&token), "/api/v1/desk-pc/ingest", body)
        .await;
    let took = started.elapsed().as_secs_f64();
    assert_eq!(
        (s, ack["acked"].as_i64()),
        (StatusCode::OK, Some(1000)),
        "{ack}"
    );
    println!(
        "1000 forwarded presses applied in {took:.2} s ({:.0}/s)",
        1000.0 / took
    );
    let (_, board) = app.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(entry(&board, anna)["count"], 1000, "{board}");
}
