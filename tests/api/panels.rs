//! The desk panel, the patient panel and the supervisor console, through the same public API the
//! screens use: PINs, the panel's lock-out, contests and their decisions, console logins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;

#[tokio::test]
async fn the_patient_panel_rates_without_a_token_and_locks_out_repeated_taps() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let (s, _) = app
        .patch("/api/v1/settings", json!({ "panel_lockout_secs": 2 }))
        .await;
    assert_eq!(s, StatusCode::OK);

    let tap = format!("/api/v1/desks/{desk}/tap");
    let (s, r) = app.post_as(None, &tap, json!({ "score": 3 })).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["source"], "panel");
    assert_eq!(r["registrar_id"], anna);

    // A second tap at once is refused, says how long to wait, and stores nothing.
    let (s, b) = app.post_as(None, &tap, json!({ "score": 3 })).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["code"], "too_soon");
    assert!(b["error"].as_str().unwrap().contains("try again in"), "{b}");
    // A bad score is named and does not start a lock-out at another desk.
    let other = app.desk("Окно 2").await;
    let (s, b) = app
        .post_as(
            None,
            &format!("/api/v1/desks/{other}/tap"),
            json!({ "score": 9 }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "score");
    let (s, _) = app
        .post_as(
            None,
            &format!("/api/v1/desks/{other}/tap"),
            json!({ "score": 1 }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(app.all_ratings().await.len(), 2);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, _) = app.post_as(None, &tap, json!({ "score": 2 })).await;
    assert_eq!(s, StatusCode::CREATED, "after the lock-out");

    // The rest of the API still wants the token.
    let (s, _) = app
        .post_as(
            None,
            "/api/v1/ratings",
            json!({ "desk_id": desk, "score": 3 }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, b) = app
        .post_as(None, "/api/v1/desks/999/tap", json!({ "score": 1 }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}

#[tokio::test]
async fn registrars_check_in_and_out_with_their_pin() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    let boris = app.registrar("Борис").await;

    // A PIN is digits only; a bad one changes nothing (not even the name sent with it).
    let (s, b) = app
        .patch(
            &format!("/api/v1/registrars/{anna}"),
            json!({ "name": "Анна И.", "pin": "12a4" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "pin");
    let (s, b) = app
        .patch(
            &format!("/api/v1/registrars/{anna}"),
            json!({ "pin": "2468" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["has_pin"], true);
    assert_eq!(b["name"], "Анна");
    assert!(
        !b.to_string().contains("argon2"),
        "the hash never leaves: {b}"
    );

    let checkin = format!("/api/v1/desks/{desk}/checkin");
    let (s, b) = app
        .post_as(None, &checkin, json!({ "registrar_id": anna }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "pin");
    let (s, b) = app
        .post_as(
            None,
            &checkin,
            json!({ "registrar_id": anna, "pin": "1111" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(
        desks[0]["session"],
        Value::Null,
        "a wrong PIN opens nothing"
    );

    let (s, b) = app
        .post_as(
            None,
            &checkin,
            json!({ "registrar_id": anna, "pin": "2468" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, audit) = app.get("/api/v1/audit").await;
    assert!(
        audit.to_string().contains(&format!("registrar:{anna}")),
        "the audit log says who: {audit}"
    );

    // Boris has no PIN: he takes the desk over; Anna's session is closed.
    let (s, b) = app
        .post_as(None, &checkin, json!({ "registrar_id": boris }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["closed"][0]["registrar_id"], anna);
    let checkout = format!("/api/v1/desks/{desk}/checkout");
    let (s, b) = app.post_as(None, &checkout, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["change"], "ended");
    let (s, b) = app.post_as(None, &checkout, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    // Guessing Anna's PIN is braked after five wrong tries, even with the right one next.
    for _ in 0..5 {
        let (s, _) = app
            .post_as(
                None,
                &checkin,
                json!({ "registrar_id": anna, "pin": "0000" }),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, b) = app
        .post_as(
            None,
            &checkin,
            json!({ "registrar_id": anna, "pin": "2468" }),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    // Removing the PIN (null) lets her in without one.
    let (s, b) = app
        .patch(
            &format!("/api/v1/registrars/{anna}"),
            json!({ "pin": null }),
        )
        .await;
    assert_eq!((s, &b["has_pin"]), (StatusCode::OK, &json!(false)), "{b}");
    let (s, _) = app
        .post_as(None, &checkin, json!({ "registrar_id": anna }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, b) = app
        .post_as(None, &checkin, json!({ "registrar_id": 999 }))
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("registrar_id"))
    );
}

#[tokio::test]
async fn a_contested_rating_is_annulled_by_the_supervisor_and_leaves_the_ranking() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let low = app.rate(desk, 1).await["id"].as_i64().unwrap();
    let kept = app.rate(desk, 1).await["id"].as_i64().unwrap();
    app.rate(desk, 3).await;

    let (s, lows) = app
        .get(&format!("/api/v1/registrars/{anna}/low-ratings"))
        .await;
    assert_eq!(s, StatusCode::OK, "{lows}");
    let ids: Vec<i64> = lows
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rating"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![kept, low], "newest first, only the low ones");

    let contest = |id: i64, comment: &str| {
        let path = format!("/api/v1/ratings/{id}/contest");
        let body = json!({ "comment": comment });
        let app = &app;
        async move { app.post_as(None, &path, body).await }
    };
    let (s, b) = contest(low, "   ").await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("comment"))
    );
    let (s, c1) = contest(low, "Ребёнок нажал кнопку").await;
    assert_eq!(s, StatusCode::CREATED, "{c1}");
    let (s, _) = contest(low, "ещё раз").await;
    assert_eq!(s, StatusCode::CONFLICT, "one contest per rating");
    let (_, c2) = contest(kept, "Пациент ошибся").await;

    // Deciding needs the console or the token.
    let decide = |id: &Value| format!("/api/v1/contests/{id}/decision");
    let (s, _) = app
        .post_as(None, &decide(&c1["id"]), json!({ "decision": "annul" }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, open) = app.get("/api/v1/contests").await;
    assert_eq!(open.as_array().unwrap().len(), 2, "{open}");
    assert_eq!(open[0]["registrar_name"], "Анна");
    assert_eq!(open[0]["desk_name"], "Окно 1");

    let (_, before) = app.get("/api/v1/leaderboard").await;
    assert_eq!(before["entries"][0]["count"], 3);
    let (s, d) = app
        .post(
            &decide(&c1["id"]),
            json!({ "decision": "annul", "comment": "Подтверждено видео" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["decision"], "annulled");
    let (s, d) = app
        .post(&decide(&c2["id"]), json!({ "decision": "uphold" }))
        .await;
    assert_eq!((s, &d["decision"]), (StatusCode::OK, &json!("upheld")));
    let (s, _) = app
        .post(&decide(&c2["id"]), json!({ "decision": "annul" }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "decided once");
    let (s, b) = app
        .post(&decide(&c2["id"]), json!({ "decision": "maybe" }))
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::BAD_REQUEST, &json!("decision"))
    );

    // The annulled rating is kept and marked, and no longer counts.
    let (_, r) = app.get(&format!("/api/v1/ratings/{low}")).await;
    assert_eq!(r["annulled"], true);
    let (_, after) = app.get("/api/v1/leaderboard").await;
    assert_eq!(after["entries"][0]["count"], 2, "{after}");
    let (_, open) = app.get("/api/v1/contests").await;
    assert_eq!(open, json!([]));
    let (_, all) = app.get("/api/v1/contests?open=false").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (s, _) = contest(low, "снова").await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an annulled rating cannot be contested"
    );
}

#[tokio::test]
async fn the_console_password_is_set_on_the_reception_pc_and_logs_supervisors_in() {
    let app = App::start().await;
    let (_, st) = app.get("/api/v1/console").await;
    assert_eq!(
        st,
        json!({ "password_set": false, "can_set_up": true, "logged_in_as": null })
    );
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Руководитель", "password": "1234" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "password": "abc" }),
        )
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("password"))
    );
    // From loopback (this test is the reception PC) the first password needs nothing else; it
    // is the first supervisor's, named "Руководитель" unless a name is given.
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "password": "регистратура" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (_, st) = app.get("/api/v1/console").await;
    assert_eq!(st["password_set"], true);

    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Руководитель", "password": "wrong" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, login) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": " руководитель ", "password": "регистратура" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{login}");
    assert_eq!(login["name"], "Руководитель", "the name in any case");
    let token = login["token"].as_str().unwrap().to_string();
    let (_, st) = app
        .send(app.http.get(app.url("/api/v1/console")).bearer_auth(&token))
        .await;
    assert_eq!(st["logged_in_as"], "Руководитель", "{st}");

    // The console login works where the API token does, and is audited as its supervisor.
    let (s, r) = app
        .post_as(
            Some(&token),
            "/api/v1/registrars",
            json!({ "name": "Вера" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (_, audit) = app.get("/api/v1/audit").await;
    assert_eq!(audit[0]["actor"], "console:Руководитель", "{audit}");

    // Changing the password needs the current one and logs that supervisor's consoles out.
    let (s, b) = app
        .post_as(
            Some(&token),
            "/api/v1/console/password",
            json!({ "password": "новый-пароль" }),
        )
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("current"))
    );
    let (s, _) = app
        .post_as(
            Some(&token),
            "/api/v1/console/password",
            json!({ "password": "новый-пароль", "current": "регистратура" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .post_as(
            Some(&token),
            "/api/v1/registrars",
            json!({ "name": "Галина" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "logged out by the change");

    let (s, login) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Руководитель", "password": "новый-пароль" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let token = login["token"].as_str().unwrap();
    let (s, _) = app
        .post_as(Some(token), "/api/v1/console/logout", json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .post_as(
            Some(token),
            "/api/v1/registrars",
            json!({ "name": "Галина" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
