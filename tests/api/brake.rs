//! The brake on guessing PINs and passwords, tried through the real server from a LAN device (a
//! burst of parallel guesses is counted before it is checked), and supervisors' own logins: who
//! is named in the audit log and as an alert's taker.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;
use crate::lan::lan_app;

/// How many wrong guesses the policy lets one address make in `elapsed`: 5 free, then one after
/// 1 s, the next 2 s later, then 4 s ... (the burst is normally over well within the first second).
fn allowed_within(elapsed: Duration) -> usize {
    let (mut n, mut spent, mut wait) = (5, 0.0, 1.0);
    while spent + wait <= elapsed.as_secs_f64() {
        spent += wait;
        wait *= 2.0;
        n += 1;
    }
    n
}

/// `n` requests at once (released together), each with its status, `Retry-After` and body.
async fn burst(
    app: &App,
    n: usize,
    url: &str,
    body: Value,
    bearer: Option<&str>,
) -> Vec<(StatusCode, Option<u64>, Value)> {
    let gate = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (http, gate, url, body, bearer) = (
                app.http.clone(),
                gate.clone(),
                url.to_string(),
                body.clone(),
                bearer.map(str::to_string),
            );
            tokio::spawn(async move {
                gate.wait().await;
                let mut req = http.post(url).json(&body);
                if let Some(t) = bearer {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.expect("sent");
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                (
                    resp.status(),
                    retry,
                    resp.json().await.unwrap_or(Value::Null),
                )
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// The burst was held: at most the free allowance was checked (403), the rest refused at once
/// (429 `too_soon`, with Retry-After and words saying how long).
fn assert_held(results: &[(StatusCode, Option<u64>, Value)], elapsed: Duration) {
    let wrong = results
        .iter()
        .filter(|r| r.0 == StatusCode::FORBIDDEN)
        .count();
    let held: Vec<_> = results
        .iter()
        .filter(|r| r.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(
        wrong + held.len(),
        results.len(),
        "only 403 and 429: {results:?}"
    );
    let allowed = allowed_within(elapsed);
    assert!(
        (1..=allowed).contains(&wrong),
        "{wrong} guesses were checked; the policy allows {allowed} in {elapsed:?}"
    );
    for (_, retry, body) in held {
        assert_eq!(body["code"], "too_soon", "{body}");
        let secs = retry.expect("a Retry-After header");
        assert!(secs >= 1, "{secs}");
        let words = body["error"].as_str().unwrap();
        assert!(
            words.contains("try again in ") && words.contains(" s"),
            "{words}"
        );
    }
    println!(
        "# {wrong} of {} parallel guesses checked, {} held",
        results.len(),
        results.len() - wrong
    );
}

/// The same engine as the reception PC reaches it: over loopback.
fn reception_url(app: &App, path: &str) -> String {
    let port = app.server.as_ref().unwrap().addr.port();
    format!("http://127.0.0.1:{port}{path}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_console_passwords_from_a_lan_device_is_held() {
    let app = lan_app().await;
    let (s, b) = app
        .post(
            "/api/v1/console/password",
            json!({ "password": "верный-пароль" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let guess = json!({ "name": "Руководитель", "password": "угадаю" });
    let started = Instant::now();
    let results = burst(&app, 64, &app.url("/api/v1/console/login"), guess, None).await;
    assert_held(&results, started.elapsed());

    // The LAN device's failures do not lock the reception PC out.
    let (s, login) = app
        .send(
            app.http
                .post(reception_url(&app, "/api/v1/console/login"))
                .json(&json!({ "name": "Руководитель", "password": "верный-пароль" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{login}");
    assert_eq!(login["name"], "Руководитель");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_pins_from_a_lan_device_is_held() {
    let app = lan_app().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    let (s, b) = app
        .patch(
            &format!("/api/v1/registrars/{anna}"),
            json!({ "pin": "2468" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A registrar panel paired at the desk (a tablet someone walked off with, say).
    let (_, code) = app
        .post(
            &format!("/api/v1/desks/{desk}/pairing"),
            json!({ "role": "registrar" }),
        )
        .await;
    let (s, paired) = app
        .post_as(None, "/api/v1/panels/pair", json!({ "code": code["code"] }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{paired}");
    let checkin = format!("/api/v1/desks/{desk}/checkin");
    let started = Instant::now();
    let results = burst(
        &app,
        64,
        &app.url(&checkin),
        json!({ "registrar_id": anna, "pin": "0000" }),
        paired["token"].as_str(),
    )
    .await;
    assert_held(&results, started.elapsed());
    let (_, d) = app.get(&format!("/api/v1/desks/{desk}")).await;
    assert_eq!(d["session"], Value::Null, "no wrong PIN opened a session");

    // Anna, at the reception PC, still starts her session with her PIN.
    let (s, b) = app
        .send(
            app.http
                .post(reception_url(&app, &checkin))
                .json(&json!({ "registrar_id": anna, "pin": "2468" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, d) = app.get(&format!("/api/v1/desks/{desk}")).await;
    assert_eq!(d["session"]["registrar_id"], anna);
}

async fn login(app: &App, name: &str, password: &str) -> String {
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": name, "password": password }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{name}: {b}");
    b["token"].as_str().unwrap().to_string()
}

async fn get_as(app: &App, token: &str, path: &str) -> (StatusCode, Value) {
    app.send(app.http.get(app.url(path)).bearer_auth(token))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn supervisors_log_in_as_themselves_and_are_named_in_the_audit_log_and_the_alerts() {
    let app = App::start().await;
    // The first supervisor, set up on the reception PC with a name of their own.
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "name": "Ольга Сергеевна", "password": "старшая-смены" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "name": "Захватчик", "password": "12345678" }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "there is one already: {b}"
    );
    let olga = login(&app, "ольга сергеевна", "старшая-смены").await;

    // She adds Anna; names are unique regardless of case, and checked.
    let add = |name: &str, password: &str| json!({ "name": name, "password": password });
    let (s, anna) = app
        .post_as(
            Some(&olga),
            "/api/v1/supervisors",
            add("Анна Петровна", "анна-1234"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{anna}");
    let anna_id = anna["id"].as_i64().unwrap();
    for (body, status, field) in [
        (
            add("анна петровна", "другой-пароль"),
            StatusCode::CONFLICT,
            None,
        ),
        (
            add("  ", "другой-пароль"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            add("Вера", "12"),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password"),
        ),
    ] {
        let (s, b) = app.post_as(Some(&olga), "/api/v1/supervisors", body).await;
        assert_eq!(s, status, "{b}");
        if let Some(f) = field {
            assert_eq!(b["field"], f, "{b}");
        }
    }
    let (s, list) = get_as(&app, &olga, "/api/v1/supervisors").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ольга Сергеевна", "Анна Петровна"]);
    let (s, _) = app.send(app.http.get(app.url("/api/v1/supervisors"))).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "only a supervisor or the API token lists them"
    );

    // What Anna does is hers in the audit log.
    let anna_token = login(&app, "Анна Петровна", "анна-1234").await;
    let (s, b) = app
        .post_as(
            Some(&anna_token),
            "/api/v1/desks",
            json!({ "name": "Окно 1" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let desk = b["id"].as_i64().unwrap();
    let (_, audit) = app.get("/api/v1/audit?limit=10").await;
    assert_eq!(audit[0]["action"], "desk.create", "{audit}");
    assert_eq!(audit[0]["actor"], "console:Анна Петровна");
    let added = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "supervisor.add" && a["entity_id"] == anna_id)
        .expect("the addition is audited");
    assert_eq!(added["actor"], "console:Ольга Сергеевна");

    // The alert she takes and resolves is taken by her, whatever `by` says.
    let boris = app.registrar("Борис").await;
    app.start_session(desk, boris).await;
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({ "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 0 }] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.rate(desk, 1).await;
    app.rate(desk, 1).await;
    let (_, alerts) = app.get("/api/v1/alerts").await;
    let ids: Vec<i64> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{alerts}");
    let (s, b) = app
        .post_as(
            Some(&anna_token),
            &format!("/api/v1/alerts/{}/take", ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["taken_by"], "Анна Петровна");
    let (s, b) = app
        .post_as(
            Some(&anna_token),
            &format!("/api/v1/alerts/{}/resolve", ids[0]),
            json!({ "by": "Кто-то другой", "cause": "долго ждал" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["resolved_by"], "Анна Петровна");
    // The API token still names the taker, and must.
    let take = format!("/api/v1/alerts/{}/take", ids[1]);
    let (s, b) = app.post(&take, json!({})).await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("by")),
        "{b}"
    );
    let (s, b) = app.post(&take, json!({ "by": "Мария (Telegram)" })).await;
    assert_eq!(
        (s, &b["taken_by"]),
        (StatusCode::OK, &json!("Мария (Telegram)")),
        "{b}"
    );

    // Anna changes her own password (with the current one); only her consoles are logged out.
    let change = |body: Value| app.post_as(Some(&anna_token), "/api/v1/console/password", body);
    let (s, b) = change(json!({ "password": "новый-анны" })).await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("current")),
        "{b}"
    );
    let (s, b) = change(json!({ "password": "новый-анны", "current": "не тот" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) =
        change(json!({ "name": "Ольга Сергеевна", "password": "захвачу", "current": "анна-1234" }))
            .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")),
        "only her own: {b}"
    );
    let (s, b) = change(json!({ "password": "новый-анны", "current": "анна-1234" })).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = get_as(&app, &anna_token, "/api/v1/supervisors").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "her login ended with the change"
    );
    let (s, _) = get_as(&app, &olga, "/api/v1/supervisors").await;
    assert_eq!(s, StatusCode::OK, "Olga's did not");
    let (s, _) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Анна Петровна", "password": "анна-1234" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let anna_token = login(&app, "Анна Петровна", "новый-анны").await;

    // Olga removes Anna: her login ends and she cannot log in; the last supervisor stays.
    let remove = |id: i64| {
        app.send(
            app.http
                .delete(app.url(&format!("/api/v1/supervisors/{id}")))
                .bearer_auth(&olga),
        )
    };
    let (s, b) = remove(anna_id).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = get_as(&app, &anna_token, "/api/v1/supervisors").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Анна Петровна", "password": "новый-анны" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(
        b["error"], "wrong name or password",
        "a gone name is not told apart"
    );
    let (s, b) = remove(anna_id).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let olga_id = list[0]["id"].as_i64().unwrap();
    let (s, b) = remove(olga_id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"].as_str().unwrap().contains("only supervisor"),
        "{b}"
    );
    // The API token sets anyone's password by name.
    let (s, b) = app
        .post(
            "/api/v1/console/password",
            json!({ "name": "Ольга Сергеевна", "password": "от-айтишника" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    login(&app, "Ольга Сергеевна", "от-айтишника").await;
    let (s, b) = app
        .post(
            "/api/v1/console/password",
            json!({ "name": "Никто", "password": "от-айтишника" }),
        )
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name")),
        "{b}"
    );
}

#[tokio::test]
async fn the_console_password_of_before_becomes_the_first_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otklik.db");
    {
        // A database as the version before supervisors left it, with its console password.
        let conn = otklik_store::db::open_writer_upto(&path, 7).unwrap();
        conn.execute(
            "INSERT INTO secrets (key, value) VALUES ('console_password', ?1)",
            [otklik_store::access::hash_secret("старый-пароль")],
        )
        .unwrap();
    }
    let app = App::start_in(dir).await;
    let (_, st) = app.get("/api/v1/console").await;
    assert_eq!(st["password_set"], true, "{st}");
    login(&app, "Руководитель", "старый-пароль").await;
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM secrets WHERE key = 'console_password'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the hash moved, not copied");
}
