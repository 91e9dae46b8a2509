//! Report figures against a small data set computed by hand, across the end of daylight saving
//! time in Madrid (2025-10-26 has 25 hours there); the exports of a history the engine made alone.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{App, otklik_bin};
use otklik_store::ratings::{self, NewRating, Rules};

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

#[tokio::test]
async fn report_figures_match_a_hand_computed_data_set_across_a_dst_change() {
    let app = App::start().await;
    let (s, _) = app
        .patch(
            "/api/v1/settings",
            json!({"timezone": "Europe/Madrid", "suspicion_burst_count": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (d1, d2, d3) = (
        app.desk("Окно 1").await,
        app.desk("Окно 2").await,
        app.desk("Окно 3").await,
    );
    let (anna, boris) = (app.registrar("Анна").await, app.registrar("Борис").await);
    let engine = app.server.as_ref().unwrap().engine.clone();
    // History the API cannot make (sessions in the past), written as the engine writes.
    let ids = engine
        .store.writer
        .write(move |ctx| {
            for (desk, reg) in [(d1, anna), (d2, boris)] {
                ctx.conn.execute(
                    "INSERT INTO work_sessions (desk_id, registrar_id, started_at, ended_at) VALUES (?1, ?2, ?3, ?4)",
                    (desk, reg, ms("2025-10-20T00:00:00Z"), ms("2025-11-05T00:00:00Z")),
                )?;
            }
            let rules = Rules { levels: 3, burst_count: 0, burst_ms: 0, window: Default::default() };
            let mut ids = Vec::new();
            for (desk, score, at) in [
                (d1, 3, "2025-10-25T10:30:00+02:00"), // Anna, previous period
                (d1, 1, "2025-10-26T23:30:00+01:00"), // Anna, Sunday 26th late evening (22:30Z)
                (d1, 3, "2025-10-27T00:30:00+01:00"), // Anna, Monday 27th (still the 26th in UTC)
                (d2, 2, "2025-10-26T12:00:00+01:00"), // Boris
                (d2, 3, "2025-10-26T12:10:00+01:00"), // Boris
                (d3, 3, "2025-10-26T09:00:00+01:00"), // nobody at desk 3: flagged
                (d2, 1, "2025-10-27T09:00:00+01:00"), // Boris, annulled below
            ] {
                let r = ratings::add(
                    ctx,
                    &NewRating { desk_id: desk, score, source: None, at: Some(ms(at)) },
                    rules,
                )?;
                ids.push(r.id);
            }
            ratings::correct(ctx, ids[6], true, "ребёнок нажал", "test")?;
            Ok(ids)
        })
        .await
        .unwrap();
    assert_eq!(ids.len(), 7);

    let (s, r) = app
        .get("/api/v1/reports?from=2025-10-26T00:00:00%2B02:00&to=2025-10-28T00:00:00%2B01:00")
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let fig = |v: &Value| {
        (
            v["count"].as_u64().unwrap(),
            v["levels"].clone(),
            v["satisfaction"].as_f64().unwrap(),
            v["net"].as_f64().unwrap(),
            v["flagged"].as_u64().unwrap(),
            v["annulled"].as_u64().unwrap(),
        )
    };
    assert_eq!(
        fig(&r["totals"]),
        (4, json!([1, 1, 2]), 0.5, 0.25, 1, 1),
        "{r}"
    );
    assert_eq!(
        r["previous_from"], "2025-10-23T21:00:00.000Z",
        "the 49 hours before"
    );
    assert_eq!(fig(&r["previous"]), (1, json!([0, 0, 1]), 1.0, 1.0, 0, 0));

    let regs = r["registrars"].as_array().unwrap();
    let names: Vec<_> = regs.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["Анна", "Борис", ""],
        "best first; ties by count then id; nobody last"
    );
    assert_eq!(fig(&regs[0]), (2, json!([1, 0, 1]), 0.5, 0.0, 0, 0));
    assert_eq!(regs[0]["previous"]["count"], 1);
    assert_eq!(regs[0]["previous"]["satisfaction"], 1.0);
    assert_eq!(fig(&regs[1]), (2, json!([0, 1, 1]), 0.5, 0.5, 0, 1));
    assert_eq!(fig(&regs[2]), (0, json!([0, 0, 0]), 0.0, 0.0, 1, 0));
    let desks = r["desks"].as_array().unwrap();
    assert_eq!(desks.len(), 3);

    // Local days: the 26th (25 hours long) and the 27th.
    let days: Vec<_> = r["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap().to_string(), fig(d)))
        .collect();
    assert_eq!(
        days,
        vec![
            (
                "2025-10-26".to_string(),
                (3, json!([1, 1, 1]), 1.0 / 3.0, 0.0, 1, 0)
            ),
            (
                "2025-10-27".to_string(),
                (1, json!([0, 0, 1]), 1.0, 1.0, 0, 1)
            ),
        ]
    );
    // Hours of the week, local: Sunday 9 (flagged), 12 (Boris x2), 23 (Anna); Monday 0, 9.
    let hours: Vec<_> = r["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["weekday"].as_u64().unwrap(),
                h["hour"].as_u64().unwrap(),
                h["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        hours,
        vec![(1, 0, 1), (1, 9, 0), (7, 9, 0), (7, 12, 2), (7, 23, 1)]
    );

    // Filters, and the same figures whatever the reader.
    let (_, only) = app
        .get(&format!("/api/v1/reports?from=2025-10-26T00:00:00%2B02:00&to=2025-10-28T00:00:00%2B01:00&registrar_id={boris}"))
        .await;
    assert_eq!(fig(&only["totals"]), (2, json!([0, 1, 1]), 0.5, 0.5, 0, 1));
    let (_, desk) = app
        .get(&format!("/api/v1/reports?from=2025-10-26T00:00:00%2B02:00&to=2025-10-28T00:00:00%2B01:00&desk_id={d1}"))
        .await;
    assert_eq!(desk["totals"]["count"], 2);

    // A restored rating counts again; the roll-ups follow corrections.
    app.post(
        &format!("/api/v1/ratings/{}/restore", ids[6]),
        json!({"reason": "ошибка"}),
    )
    .await;
    let (_, r2) = app
        .get("/api/v1/reports?from=2025-10-26T00:00:00%2B02:00&to=2025-10-28T00:00:00%2B01:00")
        .await;
    assert_eq!(fig(&r2["totals"]), (5, json!([2, 1, 2]), 0.4, 0.0, 1, 0));

    // The same report as files: CSV of one table, XLSX of all, a printable PDF.
    let q = "from=2025-10-26T00:00:00%2B02:00&to=2025-10-28T00:00:00%2B01:00";
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
            let mime = resp.headers()["content-type"].to_str().unwrap().to_string();
            (mime, resp.bytes().await.unwrap().to_vec())
        }
    };
    let (mime, csv) = get(format!(
        "/api/v1/reports/export?format=csv&table=registrars&{q}"
    ))
    .await;
    assert!(mime.starts_with("text/csv"), "{mime}");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("Регистратор"), "{csv}");
    // Name, count, levels 1..3, satisfaction, net, flagged, annulled, previous satisfaction.
    assert!(
        csv.lines().any(|l| l.starts_with("Анна,2,1,0,1,0.5")),
        "{csv}"
    );
    let (_, xlsx) = get(format!("/api/v1/reports/export?format=xlsx&{q}")).await;
    assert_eq!(&xlsx[..2], b"PK", "an XLSX is a zip");
    let (mime, pdf) = get(format!("/api/v1/reports/export?format=pdf&{q}")).await;
    assert_eq!(mime, "application/pdf");
    let path = app.dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Отчёт об оценках, 26.10.2025 – 27.10.2025"),
        "{text}"
    );
    assert!(text.contains("Анна") && text.contains("Борис"), "{text}");
    let (s, b) = app
        .get(&format!(
            "/api/v1/reports/export?format=csv&table=people&{q}"
        ))
        .await;
    assert_eq!(
        (s, &b["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("table"))
    );

    // Bad requests are named.
    for (q, field) in [
        ("from=2025-10-26T00:00:00Z", "to"),
        ("from=2025-10-27T00:00:00Z&to=2025-10-26T00:00:00Z", "to"),
        ("from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", "to"),
        ("period=year", "period"),
    ] {
        let (s, b) = app.get(&format!("/api/v1/reports?{q}")).await;
        assert!(s.is_client_error(), "{q}: {s}");
        assert_eq!(b["field"], field, "{q}: {b}");
    }
    let (s, _) = app.send(app.http.get(app.url("/api/v1/reports"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// The exports with nothing written by this process: `otklik demo` makes the history and the
/// engine under test serves it, so this runs against otklik.exe under Wine too (OTKLIK_TEST_BIN).
#[tokio::test]
async fn the_exports_of_a_served_history_agree_with_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(otklik_bin())
        .args(["demo", "--ratings", "600", "--days", "7", "--data-dir"])
        .arg(dir.path())
        .env("OTKLIK_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let app = App::start_in(dir).await;
    let now = chrono::Utc::now();
    let q = format!(
        "from={}&to={}",
        (now - chrono::Duration::days(8)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (s, r) = app.get(&format!("/api/v1/reports?{q}")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
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
            let mime = resp.headers()["content-type"].to_str().unwrap().to_string();
            (mime, resp.bytes().await.unwrap().to_vec())
        }
    };

    // The registrars' table: each one's line carries the report's count for them.
    let (mime, csv) = get(format!(
        "/api/v1/reports/export?format=csv&table=registrars&{q}"
    ))
    .await;
    assert!(mime.starts_with("text/csv"), "{mime}");
    let csv = String::from_utf8(csv).unwrap();
    let named: Vec<(&str, u64)> = r["registrars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["name"] != "")
        .map(|g| (g["name"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(named.len(), 12, "{r}");
    for (name, count) in &named {
        let line = format!("{name},{count},");
        assert!(csv.lines().any(|l| l.starts_with(&line)), "{line} in {csv}");
    }

    // The raw ratings: one row each, as many as the API lists.
    let (mime, raw) = get(format!("/api/v1/ratings/export?format=csv&{q}")).await;
    assert!(mime.starts_with("text/csv"), "{mime}");
    let rows = String::from_utf8(raw).unwrap().lines().count() - 1;
    assert_eq!(rows, app.all_ratings().await.len());
    assert_eq!(rows, 600);

    let (_, xlsx) = get(format!("/api/v1/reports/export?format=xlsx&{q}")).await;
    assert_eq!(&xlsx[..2], b"PK", "an XLSX is a zip");
    let (mime, pdf) = get(format!("/api/v1/reports/export?format=pdf&{q}")).await;
    assert_eq!(mime, "application/pdf");
    let path = app.dir.path().join("report.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Отчёт об оценках"), "{text}");
    // Nothing is cut: every registrar's name is there whole (on their own page at least).
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!flat.contains('…'), "{flat}");
    for (name, _) in &named {
        assert!(flat.contains(name), "{name} in {flat}");
    }
    app.stop().await;
}
