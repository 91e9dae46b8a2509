//! The clinic's LAN is hostile: what a device on it can and cannot do without a token, a console
//! login or a panel pairing, tried through the real server as such a device would.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::App;
use crate::sse::SseReader;

/// An engine reached as a LAN device reaches it. A machine with no non-loopback address fails
/// the test rather than passing it unchecked.
pub async fn lan_app() -> App {
    App::start_lan()
        .await
        .expect("this machine has no non-loopback IPv4 address to play a LAN device from")
}

#[tokio::test]
async fn a_lan_device_cannot_claim_the_console_of_a_fresh_install() {
    let app = lan_app().await;
    let (s, st) = app.send(app.http.get(app.url("/api/v1/console"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["can_set_up"], false, "{st}");
    let (s, b) = app
        .post_as(
            None,
            "/api/v1/console/password",
            json!({ "password": "мой-пароль" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, st) = app.send(app.http.get(app.url("/api/v1/console"))).await;
    assert_eq!(st["password_set"], false, "nothing changed: {st}");
}

/// A web page in the reception PC's own browser that rebinds its name to 127.0.0.1 reaches the
/// engine with its own name in Host: refused before any route, the screens' files included.
#[tokio::test]
async fn a_request_by_a_foreign_host_name_is_refused_everywhere() {
    let app = App::start().await;
    for (method, path) in [
        ("GET", "/api/v1/console"),
        ("POST", "/api/v1/console/password"),
        ("GET", "/api/v1/events"),
        ("GET", "/display"),
        ("GET", "/healthz"),
    ] {
        let req = app
            .http
            .request(method.parse().unwrap(), app.url(path))
            .header("Host", "rebind.evil.example:8787")
            .json(&json!({ "password": "злоумышленник" }));
        let (s, b) = app.send(req).await;
        assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{method} {path}: {b}");
        assert_eq!(b["code"], "host_not_allowed", "{b}");
    }
    let (_, st) = app.get("/api/v1/console").await;
    assert_eq!(st["password_set"], false, "nothing changed: {st}");
    // The PC's own names pass; a name the clinic adds passes once it is in the setting.
    let ok = |host: &'static str| {
        app.http
            .get(app.url("/api/v1/settings/public"))
            .header("Host", host)
    };
    assert_eq!(app.send(ok("localhost:8787")).await.0, StatusCode::OK);
    assert_eq!(
        app.send(ok("otklik.clinic.local")).await.0,
        StatusCode::MISDIRECTED_REQUEST
    );
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "allowed_hosts": "otklik.clinic.local, http://bad:1" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "allowed_hosts");
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "allowed_hosts": "otklik.clinic.local" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(app.send(ok("otklik.clinic.local")).await.0, StatusCode::OK);
}

/// A page of another site (or one the browser marks cross-site) cannot write, even to an
/// endpoint that needs no token; programs that send no Origin are judged by their token.
#[tokio::test]
async fn a_write_from_another_origin_is_refused() {
    let app = App::start().await;
    let host = app.base.trim_start_matches("http://").to_string();
    for (header, value) in [
        ("Origin", "http://evil.example".to_string()),
        ("Origin", "null".to_string()),
        ("Origin", format!("http://{host}.evil.example")),
        ("Sec-Fetch-Site", "cross-site".to_string()),
    ] {
        let req = app
            .http
            .post(app.url("/api/v1/console/password"))
            .header(header, value.clone())
            .json(&json!({ "password": "злоумышленник" }));
        let (s, b) = app.send(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{header}: {value}: {b}");
        assert_eq!(b["code"], "cross_origin", "{b}");
        // Not even with the token: a browser page never has it legitimately.
        let req = app
            .http
            .post(app.url("/api/v1/desks"))
            .bearer_auth(&app.token)
            .header(header, value.clone())
            .json(&json!({ "name": "Окно 9" }));
        assert_eq!(app.send(req).await.0, StatusCode::FORBIDDEN);
    }
    let (_, st) = app.get("/api/v1/console").await;
    assert_eq!(st["password_set"], false);
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks, json!([]));
    // The screens' own origin writes.
    let req = app
        .http
        .post(app.url("/api/v1/desks"))
        .bearer_auth(&app.token)
        .header("Origin", app.base.clone())
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({ "name": "Окно 1" }));
    assert_eq!(app.send(req).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = App::start().await;
    for path in [
        "/display",
        "/admin",
        "/api/v1/settings/public",
        "/no-such-thing",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
    }
}

/// What a device on the LAN learns without a token from the public stream, replay included:
/// the leaderboard, a rating's desk and level, the screens' settings, and "reload" nudges. Not
/// who was rated, their session, alerts and who took them, contest comments, cameras, inputs.
#[tokio::test(flavor = "multi_thread")]
async fn the_public_event_stream_carries_only_what_the_screens_show() {
    let app = lan_app().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна Петрова").await;
    let mut first = SseReader::open(app.http.get(app.url("/api/v1/events"))).await;
    assert_eq!(first.next().await.event, "hello");
    app.start_session(desk, anna).await;
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({ "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 0 }] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .put(
            &format!("/api/v1/desks/{desk}/evidence"),
            json!({"photo": true, "camera": {"kind": "ip", "url": "http://127.0.0.1:9/snap.jpg", "user": "camuser-secret", "password": "campass"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app
        .put(
            &format!("/api/v1/desks/{desk}/input"),
            json!({"kind": "serial", "path": "/dev/otklik-secret-port"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let low = app.rate(desk, 1).await;
    let (_, alerts) = app.get("/api/v1/alerts").await;
    let alert = alerts[0]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/alerts/{alert}/take"),
            json!({ "by": "Старшая Сестра" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app
        .post(
            &format!("/api/v1/ratings/{}/contest", low["id"]),
            json!({ "comment": "комментарий-оспаривания" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    app.patch("/api/v1/settings", json!({ "suspicion_burst_count": 7 }))
        .await;

    // Live, then replayed from the very start to a client reconnecting with an old id.
    let mut live = Vec::new();
    while let Some(ev) = first.within(1500).await {
        live.push(ev);
    }
    let boot = live[0].id.clone().expect("events have ids");
    let boot = boot.split('-').next().unwrap();
    let mut again = SseReader::open(
        app.http
            .get(app.url("/api/v1/events"))
            .header("Last-Event-ID", format!("{boot}-0")),
    )
    .await;
    let mut replayed = Vec::new();
    while let Some(ev) = again.within(1500).await {
        replayed.push(ev);
    }
    for (which, events) in [("live", &live), ("replayed", &replayed)] {
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        for private in [
            "alert",
            "input",
            "evidence",
            "outbox",
            "media",
            "telegram_chat",
        ] {
            assert!(!names.contains(&private), "{which}: {private} in {names:?}");
        }
        for must in ["rating", "leaderboard", "settings", "session", "contest"] {
            assert!(names.contains(&must), "{which}: no {must} in {names:?}");
        }
        let text: String = events.iter().map(|e| e.data.as_str()).collect();
        // The leaderboard names registrars, as the wall shows them; nothing else does.
        for secret in [
            "session_id",
            "Старшая Сестра",
            "комментарий-оспаривания",
            "camuser-secret",
            "otklik-secret-port",
            "suspicion_burst",
            "listen",
        ] {
            assert!(!text.contains(secret), "{which}: {secret} leaked: {text}");
        }
        let rating = events.iter().find(|e| e.event == "rating").unwrap();
        let r: serde_json::Value = serde_json::from_str(&rating.data).unwrap();
        assert!(
            r.get("registrar_id").is_none() && r.get("flag").is_none(),
            "{r}"
        );
        assert_eq!(
            (
                r["desk_id"].as_i64(),
                r["score"].as_i64(),
                r["scale"].as_i64()
            ),
            (Some(desk), Some(1), Some(3)),
            "{r}"
        );
    }

    // The full stream is refused without a token, a login or a ticket.
    for req in [
        app.http.get(app.url("/api/v1/events/all")),
        app.http
            .get(app.url("/api/v1/events/all"))
            .bearer_auth("console-forged"),
        app.http.get(app.url("/api/v1/events/all?ticket=forged")),
    ] {
        assert_eq!(app.send(req).await.0, StatusCode::UNAUTHORIZED);
    }
    // With the token it carries everything, and a ticket opens it once.
    let mut full = SseReader::open(
        app.http
            .get(app.url("/api/v1/events/all"))
            .bearer_auth(&app.token)
            .header("Last-Event-ID", format!("{boot}-0")),
    )
    .await;
    let mut names = Vec::new();
    while let Some(ev) = full.within(1500).await {
        names.push(ev.event);
    }
    assert!(names.iter().any(|n| n == "alert"), "{names:?}");
    let (s, t) = app.post("/api/v1/events/ticket", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let url = app.url(&format!(
        "/api/v1/events/all?ticket={}",
        t["ticket"].as_str().unwrap()
    ));
    let mut by_ticket = SseReader::open(app.http.get(&url)).await;
    assert_eq!(by_ticket.next().await.event, "hello");
    assert_eq!(
        app.send(app.http.get(&url)).await.0,
        StatusCode::UNAUTHORIZED,
        "a ticket opens one stream"
    );
}

/// A console login's full stream ends when the login does.
#[tokio::test(flavor = "multi_thread")]
async fn the_full_stream_ends_with_its_login() {
    let app = lan_app().await;
    let (s, _) = app
        .post(
            "/api/v1/console/password",
            json!({ "password": "пароль-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, login) = app
        .post_as(
            None,
            "/api/v1/console/login",
            json!({ "name": "Руководитель", "password": "пароль-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{login}");
    let console = login["token"].as_str().unwrap().to_string();
    let mut full = SseReader::open(
        app.http
            .get(app.url("/api/v1/events/all"))
            .bearer_auth(&console),
    )
    .await;
    assert_eq!(full.next().await.event, "hello");
    app.desk("Окно 1").await;
    assert_eq!(full.next_named("desk").await.event, "desk");
    let (s, _) = app
        .post_as(Some(&console), "/api/v1/console/logout", json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    app.desk("Окно 2").await;
    let mut after = Vec::new();
    while let Some(ev) = full.within(1500).await {
        after.push(ev.event);
    }
    assert!(
        !after.iter().any(|n| n == "desk"),
        "the stream went on after logout: {after:?}"
    );
}

/// Panels on the LAN act only once paired; a pairing is for one desk and one role, revocable.
#[tokio::test(flavor = "multi_thread")]
async fn panels_on_the_lan_must_be_paired() {
    let app = lan_app().await;
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let anna = app.registrar("Анна").await;
    app.patch("/api/v1/settings", json!({ "panel_lockout_secs": 0 }))
        .await;
    let tap = |desk: i64| format!("/api/v1/desks/{desk}/tap");
    let (s, b) = app.post_as(None, &tap(d1), json!({ "score": 1 })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"].as_str().unwrap().contains("not paired"), "{b}");
    let checkin = format!("/api/v1/desks/{d1}/checkin");
    let (s, _) = app
        .post_as(None, &checkin, json!({ "registrar_id": anna }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let low = format!("/api/v1/registrars/{anna}/low-ratings");
    assert_eq!(
        app.send(app.http.get(app.url(&low))).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.all_ratings().await.len(), 0, "nothing stored");

    // The console shows a code; the panel sends it back (once) and gets its own token.
    let (s, code) = app
        .post(
            &format!("/api/v1/desks/{d1}/pairing"),
            json!({ "role": "patient" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{code}");
    let code = code["code"].as_str().unwrap().to_string();
    let (s, b) = app
        .post_as(None, "/api/v1/panels/pair", json!({ "code": "999999x" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, paired) = app
        .post_as(None, "/api/v1/panels/pair", json!({ "code": code }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{paired}");
    let panel = paired["token"].as_str().unwrap().to_string();
    let (s, again) = app
        .post_as(None, "/api/v1/panels/pair", json!({ "code": code }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a code pairs once: {again}");

    let (s, r) = app
        .post_as(Some(&panel), &tap(d1), json!({ "score": 3 }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    // Another desk, another role: not this panel's.
    let (s, _) = app
        .post_as(Some(&panel), &tap(d2), json!({ "score": 1 }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .post_as(Some(&panel), &checkin, json!({ "registrar_id": anna }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let me = |t: &str| {
        app.http
            .get(app.url(&format!("/api/v1/panels/me?desk_id={d1}&role=patient")))
            .bearer_auth(t.to_string())
    };
    let (s, b) = app.send(me(&panel)).await;
    assert_eq!((s, b["via"].as_str()), (StatusCode::OK, Some("pairing")));

    // Listed in the console, revoked there: refused at once.
    let (_, list) = app.get("/api/v1/panels").await;
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(list[0]["role"], "patient");
    assert_eq!(list[0]["desk_id"], d1);
    let (s, b) = app.delete(&format!("/api/v1/panels/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app
        .post_as(Some(&panel), &tap(d1), json!({ "score": 3 }))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(me(&panel)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.all_ratings().await.len(), 1);
    let (_, audit) = app.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"panel.paired") && actions.contains(&"panel.revoked"));

    // A registrar panel checks in at its desk.
    let (_, code) = app
        .post(
            &format!("/api/v1/desks/{d1}/pairing"),
            json!({ "role": "registrar" }),
        )
        .await;
    let (_, paired) = app
        .post_as(None, "/api/v1/panels/pair", json!({ "code": code["code"] }))
        .await;
    let reg = paired["token"].as_str().unwrap();
    let (s, b) = app
        .post_as(Some(reg), &checkin, json!({ "registrar_id": anna }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _) = app.send(app.http.get(app.url(&low)).bearer_auth(reg)).await;
    assert_eq!(s, StatusCode::OK);
}

/// Guessing pairing codes from one device is braked before the code is looked at.
#[tokio::test(flavor = "multi_thread")]
async fn guessing_pairing_codes_in_parallel_is_held() {
    let app = lan_app().await;
    app.desk("Окно 1").await;
    let guesses = (0..40).map(|i| {
        let app = &app;
        async move {
            app.post_as(
                None,
                "/api/v1/panels/pair",
                json!({ "code": format!("{:06}", 100_000 + i) }),
            )
            .await
            .0
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let tried = answers
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    let held = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, held), (5, 35), "{answers:?}");
}

/// What the LAN reads without a token is bounded and leaves out what is not for the screens.
#[tokio::test(flavor = "multi_thread")]
async fn public_reads_are_bounded_and_private_ones_refused() {
    let app = lan_app().await;
    let desk = app.desk("Окно 1").await;
    for path in [
        "/api/v1/settings".to_string(),
        "/api/v1/inputs".to_string(),
        format!("/api/v1/desks/{desk}/input"),
        "/healthz".to_string(),
        "/api/v1/events/all".to_string(),
    ] {
        let (s, b) = app.send(app.http.get(app.url(&path))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}: {b}");
    }
    let (s, public) = app
        .send(app.http.get(app.url("/api/v1/settings/public")))
        .await;
    assert_eq!(s, StatusCode::OK);
    for key in [
        "listen",
        "suspicion_burst_count",
        "backup_dir",
        "allowed_hosts",
    ] {
        assert!(public.get(key).is_none(), "{key} is public: {public}");
    }
    assert_eq!(public["scale"], 3);
    // A year of leaderboard is for token holders; the display's periods are for everyone.
    let year = "/api/v1/leaderboard?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z";
    let (s, b) = app.send(app.http.get(app.url(year))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["error"].as_str().unwrap().contains("31 days"), "{b}");
    assert_eq!(app.get(year).await.0, StatusCode::OK);
    let (s, _) = app
        .send(app.http.get(app.url("/api/v1/leaderboard?period=month")))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .send(
            app.http.get(
                app.url("/api/v1/leaderboard?from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z"),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // One device may hold a few event streams, not hundreds.
    let mut open = Vec::new();
    for _ in 0..otklik_store::events::STREAMS_PER_ADDRESS {
        open.push(SseReader::open(app.http.get(app.url("/api/v1/events"))).await);
    }
    let (s, b) = app.send(app.http.get(app.url("/api/v1/events"))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    // A closed one frees its place.
    drop(open.pop());
    let reopened = app
        .until("a freed stream place", 5, || async {
            let resp = app
                .http
                .get(app.url("/api/v1/events"))
                .send()
                .await
                .unwrap();
            (resp.status() == StatusCode::OK).then_some(resp)
        })
        .await;
    drop(reopened);
}

/// A flood of bottom ratings at one desk is flagged like one of top ratings, and raises no
/// alert per press.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_low_ratings_is_flagged_and_does_not_flood_alerts() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    app.put(
        "/api/v1/notify",
        json!({ "alerts": [{ "scores": [1], "channels": ["telegram"], "escalate_after_mins": 0 }] }),
    )
    .await;
    let flags: Vec<Option<String>> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(app.rate(desk, 1).await["flag"].as_str().map(str::to_string));
        }
        v
    };
    let burst = Some("burst".to_string());
    assert_eq!(
        flags,
        [
            None,
            None,
            burst.clone(),
            burst.clone(),
            burst.clone(),
            burst
        ],
        "the 3rd within 20 s and after"
    );
    let (_, alerts) = app.get("/api/v1/alerts").await;
    assert_eq!(alerts.as_array().unwrap().len(), 2, "{alerts}");
    let (_, flagged) = app.get("/api/v1/ratings?flagged=true").await;
    assert_eq!(flagged["items"].as_array().unwrap().len(), 4);
}
