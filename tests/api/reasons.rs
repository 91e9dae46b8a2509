//! Reasons for low ratings: picked once, only for a low rating, only within the window, only from
//! a panel of the rating's desk (or with the token); kept with the rating and counted in the
//! reports, the exports and the alert's follow-up.

use std::io::Read;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;
use crate::smtp::SmtpServer;

async fn pick(app: &App, bearer: Option<&str>, rating: i64, body: Value) -> (StatusCode, Value) {
    app.post_as(bearer, &format!("/api/v1/ratings/{rating}/reason"), body)
        .await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn bad_reason_settings_name_the_problem_and_change_nothing() {
    let app = App::start().await;
    let (_, before) = app.get("/api/v1/settings").await;
    assert_eq!(before["reasons_enabled"], true);
    assert_eq!(before["reasons_timeout_secs"], 15);
    let codes: Vec<&str> = before["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["waiting", "rudeness", "mistake", "queue", "other"]);

    let reason = |code: &str, ru: &str| json!({ "code": code, "labels": { "ru": ru, "en": "x", "es": "x" } });
    let nine: Vec<Value> = (0..9)
        .map(|i| reason(&format!("r{i}"), "Причина"))
        .collect();
    let cases = [
        (
            json!({ "reasons": [reason("queue", "Очередь"), reason("rude", " ")] }),
            "reasons",
            "reason 2 ('rude'): the ru label is empty",
        ),
        (
            json!({ "reasons": [reason("queue", "Очередь"), reason("queue", "Талоны")] }),
            "reasons",
            "code 'queue' is used twice",
        ),
        (
            json!({ "reasons": nine }),
            "reasons",
            "9 reasons are too many",
        ),
        (
            json!({ "reasons": [reason("Долго", "Долго")] }),
            "reasons",
            "must be 1 to 32 of a-z",
        ),
        (
            json!({ "reasons_timeout_secs": 2 }),
            "reasons_timeout_secs",
            "between 5 and 120",
        ),
        (
            json!({ "reasons_timeout_secs": 600 }),
            "reasons_timeout_secs",
            "between 5 and 120",
        ),
        (
            // Together with a good change: that one is not applied either.
            json!({ "reasons": [], "clinic_name": "Другая" }),
            "reasons",
            "the list is empty",
        ),
        (
            json!({ "reasons": [{ "code": "queue", "labels": { "ru": "Очередь", "en": "Queue" } }] }),
            "",
            "missing field `es`",
        ),
    ];
    for (patch, field, words) in cases {
        let (s, b) = app.patch("/api/v1/settings", patch.clone()).await;
        assert!(s.is_client_error(), "{patch}: {s} {b}");
        if !field.is_empty() {
            assert_eq!(b["field"], field, "{patch}: {b}");
        }
        assert!(b["error"].as_str().unwrap().contains(words), "{patch}: {b}");
        let (_, now) = app.get("/api/v1/settings").await;
        assert_eq!(now, before, "{patch} changed nothing");
    }

    // A good list replaces the old one; turned off, an empty one is fine.
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "reasons": [reason("queue", " Очередь "), reason("talon", "Талон")], "reasons_timeout_secs": 20 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["reasons"][0]["labels"]["ru"], "Очередь", "trimmed: {b}");
    assert_eq!(b["reasons"].as_array().unwrap().len(), 2);
    let (_, public) = app
        .send(app.http.get(app.url("/api/v1/settings/public")))
        .await;
    assert_eq!(public["reasons"], b["reasons"], "the panel reads them");
    assert_eq!(public["reasons_timeout_secs"], 20);
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "reasons_enabled": false, "reasons": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn a_low_rating_takes_one_reason_and_carries_it() {
    let app = App::start().await;
    app.patch(
        "/api/v1/settings",
        json!({ "suspicion_burst_count": 0, "language": "en" }),
    )
    .await;
    let desk = app.desk("Desk 1").await;
    let anna = app.registrar("Anna").await;
    app.start_session(desk, anna).await;
    let low = id(&app.rate(desk, 1).await);
    let top = id(&app.rate(desk, 3).await);

    // Refused, nothing stored: no such reason, no such rating, not a low rating.
    let (s, b) = pick(&app, Some(&app.token), low, json!({ "reason": "weather" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("one of waiting, rudeness"),
        "{b}"
    );
    let (s, _) = pick(&app, Some(&app.token), 999, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = pick(&app, Some(&app.token), top, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["error"].as_str().unwrap().contains("is not low"), "{b}");
    let (s, b) = pick(
        &app,
        Some(&app.token),
        low,
        json!({ "reason": "queue", "why": 1 }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields: {b}");

    let (s, b) = pick(&app, Some(&app.token), low, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        (&b["rating_id"], &b["reason"]["code"], &b["reason"]["label"]),
        (&json!(low), &json!("queue"), &json!("The queue"))
    );
    // The first pick stands.
    let (s, b) = pick(&app, Some(&app.token), low, json!({ "reason": "rudeness" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"].as_str().unwrap().contains("already ('queue')"),
        "{b}"
    );

    let (_, r) = app.get(&format!("/api/v1/ratings/{low}")).await;
    assert_eq!(r["reason"]["code"], "queue", "{r}");
    assert_eq!(r["reason"]["label"], "The queue", "{r}");
    let (_, r) = app.get(&format!("/api/v1/ratings/{top}")).await;
    assert_eq!(r["reason"], Value::Null, "serialized as null: {r}");
    let listed = app.all_ratings().await;
    assert_eq!(listed[0]["reason"]["code"], "queue");
    let (_, lows) = app
        .get(&format!("/api/v1/registrars/{anna}/low-ratings"))
        .await;
    assert_eq!(lows[0]["rating"]["reason"]["label"], "The queue", "{lows}");

    // Append-only in the file too.
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let err = conn
        .execute("UPDATE rating_reasons SET code = 'other'", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");

    // Turned off: refused.
    app.patch("/api/v1/settings", json!({ "reasons_enabled": false }))
        .await;
    let other = id(&app.rate(desk, 1).await);
    let (s, b) = pick(&app, Some(&app.token), other, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["error"].as_str().unwrap().contains("turned off"), "{b}");
}

#[tokio::test]
async fn a_reason_after_the_window_is_refused_and_the_rating_stays() {
    let app = App::start().await;
    app.patch("/api/v1/settings", json!({ "reasons_timeout_secs": 5 }))
        .await;
    let desk = app.desk("Окно 1").await;
    let low = id(&app.rate(desk, 1).await);
    // The screen's 5 s and the slack for a tap on its way.
    tokio::time::sleep(Duration::from_millis(5_000 + 5_000 + 500)).await;
    let (s, b) = pick(&app, Some(&app.token), low, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["error"].as_str().unwrap().contains("too late"), "{b}");
    let (s, r) = app.get(&format!("/api/v1/ratings/{low}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((r["score"].as_i64(), &r["reason"]), (Some(1), &Value::Null));
}

/// From the LAN only a panel paired at the rating's own desk may pick, and only in its own role.
#[tokio::test(flavor = "multi_thread")]
async fn only_a_panel_of_the_ratings_desk_picks_its_reason() {
    let app = crate::lan::lan_app().await;
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let patient1 = app.pair_panel(d1, "patient").await;
    let registrar2 = app.pair_panel(d2, "registrar").await;
    let at1 = id(&app.rate(d1, 1).await);
    let at2 = id(&app.rate(d2, 1).await);

    let (s, b) = pick(&app, None, at1, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"].as_str().unwrap().contains("not paired"), "{b}");
    // An unpaired device learns nothing of ratings that do not exist either.
    let (s, _) = pick(&app, None, 999, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Desk 1's patient panel: not desk 2's ratings, and not as a registrar panel.
    let (s, b) = pick(&app, Some(&patient1), at2, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"].as_str().unwrap().contains("desk 2"), "{b}");
    let (s, _) = pick(
        &app,
        Some(&patient1),
        at1,
        json!({ "reason": "queue", "panel": "registrar" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = pick(&app, Some(&registrar2), at2, json!({ "reason": "queue" })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a registrar panel says so");
    assert!(
        app.all_ratings()
            .await
            .iter()
            .all(|r| r["reason"].is_null())
    );

    let (s, b) = pick(&app, Some(&patient1), at1, json!({ "reason": "waiting" })).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = pick(
        &app,
        Some(&registrar2),
        at2,
        json!({ "reason": "mistake", "panel": "registrar" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let conn = rusqlite::Connection::open(app.db_path()).unwrap();
    let via: Vec<(i64, String, String)> = conn
        .prepare("SELECT rating_id, code, via FROM rating_reasons ORDER BY rating_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        via,
        [
            (at1, "waiting".into(), "patient_panel".into()),
            (at2, "mistake".into(), "registrar_panel".into())
        ]
    );
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut out).unwrap();
    out
}

#[tokio::test]
async fn reasons_are_counted_in_reports_and_exports_and_follow_the_alert() {
    let app = App::start().await;
    let smtp = SmtpServer::start().await;
    app.patch(
        "/api/v1/settings",
        json!({ "suspicion_burst_count": 0, "min_ratings": 0 }),
    )
    .await;
    let (s, b) = app
        .put(
            "/api/v1/notify/secrets",
            json!({ "smtp_password": smtp.password }),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let mut email = serde_json::to_value(smtp.config()).unwrap();
    email["to"] = json!(["head@clinic.test"]);
    let (s, b) = app
        .put(
            "/api/v1/notify",
            json!({
                "email": email,
                "alerts": [{ "scores": [1], "channels": ["email"], "escalate_after_mins": 0 }],
                "retry_max_secs": 1,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let d1 = app.desk("Окно 1").await;
    let d2 = app.desk("Окно 2").await;
    let anna = app.registrar("Анна").await;
    let boris = app.registrar("Борис").await;
    app.start_session(d1, anna).await;
    app.start_session(d2, boris).await;
    // Анна: two for the queue, one rudeness, one without a reason; Борис: one for the queue.
    let picks = [
        (d1, Some("queue")),
        (d1, Some("queue")),
        (d1, Some("rudeness")),
        (d1, None),
        (d2, Some("queue")),
    ];
    let mut first = None;
    for (desk, reason) in picks {
        let r = id(&app.rate(desk, 1).await);
        first.get_or_insert(r);
        if let Some(code) = reason {
            let (s, b) = pick(&app, Some(&app.token), r, json!({ "reason": code })).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
    }
    app.rate(d1, 3).await; // a top rating takes no part

    let (_, report) = app.get("/api/v1/reports?period=today").await;
    let reasons = &report["reasons"];
    let totals: Vec<(&str, &str, u64)> = reasons["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["code"].as_str().unwrap(),
                t["label"].as_str().unwrap(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [("queue", "Очередь", 3), ("rudeness", "Грубость", 1)]
    );
    assert_eq!(reasons["without_reason"], 1);
    let group = |list: &Value, id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .cloned()
            .unwrap()
    };
    let a = group(&reasons["registrars"], anna);
    assert_eq!(
        (&a["counts"], &a["without_reason"]),
        (&json!([2, 1]), &json!(1))
    );
    assert_eq!(group(&reasons["desks"], d2)["counts"], json!([1, 0]));
    // Narrowed to a registrar, the counts are hers alone.
    let (_, hers) = app
        .get(&format!(
            "/api/v1/reports?period=today&registrar_id={boris}"
        ))
        .await;
    assert_eq!(hers["reasons"]["totals"][0]["count"], 1, "{hers}");

    let get = |path: String| {
        let app = &app;
        async move {
            let resp = app
                .http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            resp.bytes().await.unwrap().to_vec()
        }
    };
    let csv = String::from_utf8(
        get("/api/v1/reports/export?format=csv&table=reasons_registrars&period=today".into()).await,
    )
    .unwrap();
    assert!(
        csv.contains("Регистратор,Очередь,Грубость,Без причины"),
        "{csv}"
    );
    assert!(csv.lines().any(|l| l == "Анна,2,1,1"), "{csv}");
    assert!(csv.lines().any(|l| l == "Борис,1,0,0"), "{csv}");
    let csv = String::from_utf8(
        get("/api/v1/reports/export?format=csv&table=reasons_desks&period=today".into()).await,
    )
    .unwrap();
    assert!(csv.lines().any(|l| l == "Окно 1,2,1,1"), "{csv}");

    let (_, r) = app
        .get(&format!("/api/v1/ratings/{}", first.unwrap()))
        .await;
    let (from, to) = (r["at"].as_str().unwrap(), "2100-01-01T00:00:00Z");
    let q = format!("from={}&to={to}", from.replace('+', "%2B"));
    let raw =
        String::from_utf8(get(format!("/api/v1/ratings/export?format=csv&{q}")).await).unwrap();
    let head = raw.lines().next().unwrap();
    assert!(head.ends_with(",Причина"), "{head}");
    let with_reason: Vec<&str> = raw.lines().filter(|l| l.ends_with(",Очередь")).collect();
    assert_eq!(with_reason.len(), 3, "{raw}");
    let xlsx = get(format!("/api/v1/ratings/export?format=xlsx&{q}")).await;
    let strings = unzip(&xlsx, "xl/sharedStrings.xml");
    assert!(
        strings.contains("Причина") && strings.contains("Грубость"),
        "{strings}"
    );
    let xlsx = get("/api/v1/reports/export?format=xlsx&period=today".into()).await;
    assert!(unzip(&xlsx, "xl/workbook.xml").contains("reasons_registrars"));
    assert!(unzip(&xlsx, "xl/sharedStrings.xml").contains("Причины низких оценок по окнам"));

    // Each low rating raised an alert at once; each reason followed its alert by email.
    let got = smtp.wait_for(9, Duration::from_secs(40)).await;
    let follow_ups: Vec<&Value> = got
        .iter()
        .filter(|m| m["subject"].as_str().unwrap_or("").contains("причина"))
        .collect();
    assert_eq!(follow_ups.len(), 4, "{got:?}");
    assert!(
        follow_ups.iter().any(|m| {
            m["subject"].as_str().unwrap().contains("«Грубость»")
                && m["text"].as_str().unwrap().contains("Окно 1 · Анна")
        }),
        "{follow_ups:?}"
    );
}

/// The reasons' trend: the report's days with low ratings, in date order, add up to its totals
/// (demo data gives about half its low ratings a reason, over several days).
#[tokio::test]
async fn the_reasons_trend_by_day_adds_up_to_the_totals() {
    let app = App::start().await;
    let (s, b) = app.post("/api/v1/demo", json!({ "days": 10 })).await;
    assert!(s.is_success(), "{b}");
    // The last ten days, whatever today's date (a calendar month may have begun yesterday).
    let now = chrono::Utc::now();
    let q = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (now + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let (s, report) = app.get(&format!("/api/v1/reports?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let reasons = &report["reasons"];
    let totals: Vec<u64> = reasons["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .collect();
    let days = reasons["days"].as_array().unwrap();
    assert!(days.len() >= 2, "demo lows fall on several days: {reasons}");
    assert!(
        totals.iter().sum::<u64>() > 0,
        "some demo lows have a reason"
    );
    let mut sums = vec![0; totals.len()];
    let mut without = 0;
    let mut dates = Vec::new();
    for d in days {
        for (i, n) in d["counts"].as_array().unwrap().iter().enumerate() {
            sums[i] += n.as_u64().unwrap();
        }
        without += d["without_reason"].as_u64().unwrap();
        let date = d["name"].as_str().unwrap().to_string();
        assert!(
            chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok(),
            "{date}"
        );
        assert!(
            report["days"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["date"] == date.as_str()),
            "{date} is a day of the report"
        );
        dates.push(date);
    }
    assert_eq!(sums, totals, "the days add up to the totals");
    assert_eq!(without, reasons["without_reason"].as_u64().unwrap());
    let mut sorted = dates.clone();
    sorted.sort();
    assert_eq!(dates, sorted, "in date order");
}
