//! `otklik demo`: a fresh data directory filled with a realistic history that `otklik verify`
//! accepts and the engine serves as its own; a directory with a history is refused untouched.

use std::path::Path;
use std::process::Command;

use chrono::DateTime;
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::Value;

use crate::common::{App, otklik_bin};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn otklik(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(otklik_bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("OTKLIK_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ms(rfc3339: &Value) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn demo_fills_a_fresh_directory_that_verifies_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let before = now_ms();
    let (code, out, err) = otklik(&["demo", "--ratings", "3000", "--days", "14"], dir.path());
    let after = now_ms();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Writing 3,000 demo ratings over 14 days into"),
        "{out}"
    );
    // Every tenth of the way.
    for done in [
        "300", "600", "900", "1,200", "1,500", "1,800", "2,100", "2,400", "2,700",
    ] {
        let line = format!("written {done} of 3,000 ratings…");
        assert!(out.contains(&line), "{line} in {out}");
    }
    assert!(
        out.contains("6 desks, 12 registrars") && out.contains("3,000 ratings from"),
        "{out}"
    );
    assert!(out.contains("given while nobody was at the desk"), "{out}");

    let (code, out, _) = otklik(&["verify"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("3000 ratings checked, none changed or removed"),
        "{out}"
    );

    let app = App::start_in(dir).await;
    let (s, desks) = app.get("/api/v1/desks").await;
    assert_eq!(s, StatusCode::OK, "{desks}");
    let names: Vec<&str> = desks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Окно 1", "Окно 2", "Окно 3", "Окно 4", "Окно 5", "Окно 6"]
    );
    let (_, registrars) = app.get("/api/v1/registrars").await;
    let registrars = registrars.as_array().unwrap().clone();
    assert_eq!(registrars.len(), 12);
    for r in &registrars {
        let name = r["name"].as_str().unwrap();
        assert_eq!(name.split(' ').count(), 2, "first and last name: {name}");
    }
    let id_of = |name: &str| {
        registrars
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} is on the roster"))["id"]
            .as_i64()
            .unwrap()
    };

    let ratings = app.all_ratings().await;
    assert!((2970..=3030).contains(&ratings.len()), "{}", ratings.len());
    let ids: Vec<i64> = ratings.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1) && ids[0] == 1);
    let mut unassigned = 0;
    for r in &ratings {
        let at = ms(&r["at"]);
        assert!(at >= before - 14 * DAY_MS, "older than 14 days: {r}");
        assert!(at <= after, "in the future: {r}");
        assert!(ms(&r["received_at"]) >= at, "{r}");
        assert!((1..=6).contains(&r["desk_id"].as_i64().unwrap()), "{r}");
        assert!(
            ["keys", "panel"].contains(&r["source"].as_str().unwrap()),
            "{r}"
        );
        let score = r["score"].as_i64().unwrap();
        assert!((1..=r["scale"].as_i64().unwrap()).contains(&score), "{r}");
        if r["registrar_id"].is_null() {
            unassigned += 1;
            assert!(r["session_id"].is_null(), "{r}");
            // The engine's rule: a top rating with nobody at the desk is flagged.
            let top = score == r["scale"].as_i64().unwrap();
            assert_eq!(r["flag"] == "no_session", top, "{r}");
        }
    }
    assert!(unassigned >= 1, "a few ratings with nobody at the desk");
    assert!(ratings.iter().any(|r| r["flag"] == "no_session"));
    assert!(ratings.iter().any(|r| r["annulled"] == true));
    assert!(ratings.iter().any(|r| r["source"] == "panel"));
    let keys = ratings.iter().filter(|r| r["source"] == "keys").count();
    assert!(keys * 2 > ratings.len(), "mostly keys: {keys}");

    // The leaderboard of the calendar month ranks registrars, unless the month began only
    // hours ago (the 1st before opening time, or a Sunday).
    let (s, month) = app.get("/api/v1/leaderboard?period=month").await;
    assert_eq!(s, StatusCode::OK, "{month}");
    let entries = month["entries"].as_array().unwrap();
    if entries.is_empty() {
        assert!(after - ms(&month["from"]) < 2 * DAY_MS, "{month}");
    } else {
        let ranks: Vec<i64> = entries.iter().filter_map(|e| e["rank"].as_i64()).collect();
        assert!(!ranks.is_empty(), "{month}");
        assert_eq!(ranks, (1..=ranks.len() as i64).collect::<Vec<_>>());
    }

    // Over the whole fortnight every registrar has enough ratings to be ranked, and the
    // excellent ones come out above the weak ones.
    let (_, fortnight) = app
        .get(&format!(
            "/api/v1/leaderboard?from={}&to={}",
            rfc(before - 14 * DAY_MS),
            rfc(after + 1000)
        ))
        .await;
    assert_eq!(fortnight["entries"].as_array().unwrap().len(), 12);
    let rank_of = |name: &str| {
        fortnight["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["registrar_id"] == id_of(name))
            .and_then(|e| e["rank"].as_i64())
            .unwrap_or_else(|| panic!("{name} is ranked: {fortnight}"))
    };
    for excellent in ["Анна Смирнова", "Мария Кузнецова"] {
        for weak in ["Юлия Морозова", "Сергей Волков"] {
            assert!(rank_of(excellent) < rank_of(weak), "{fortnight}");
        }
    }
    let dir = app.stop().await;

    // Every rating is bound exactly as the engine binds one: to the session open at its desk at
    // its moment (`sessions::session_at`), or to nobody if none was.
    let conn = Connection::open(dir.path().join("otklik.db")).unwrap();
    let misbound = count(
        &conn,
        "SELECT COUNT(*) FROM ratings r WHERE r.session_id IS NOT (
             SELECT s.id FROM work_sessions s
             WHERE s.desk_id = r.desk_id AND s.started_at <= r.at AND (s.ended_at IS NULL OR s.ended_at > r.at)
             ORDER BY s.started_at DESC, s.id DESC LIMIT 1)
         OR r.registrar_id IS NOT (SELECT s.registrar_id FROM work_sessions s WHERE s.id = r.session_id)",
    );
    assert_eq!(misbound, 0);
    // Sessions at one desk never overlap; at most the current shift is still open.
    let overlapping = count(
        &conn,
        "SELECT COUNT(*) FROM work_sessions a JOIN work_sessions b
         ON a.desk_id = b.desk_id AND a.id < b.id
         AND a.started_at < COALESCE(b.ended_at, 1e18) AND b.started_at < COALESCE(a.ended_at, 1e18)",
    );
    assert_eq!(overlapping, 0);
    assert!(
        count(
            &conn,
            "SELECT COUNT(*) FROM work_sessions WHERE ended_at IS NULL"
        ) <= 6
    );
    // Annulments are recorded as `ratings::correct` records them.
    let annulled = count(&conn, "SELECT COUNT(*) FROM annulled_ratings");
    assert!(annulled >= 1);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM rating_corrections c JOIN annulled_ratings a USING (rating_id)
             JOIN ratings r ON r.id = c.rating_id
             WHERE c.action = 'annul' AND c.at >= r.at"
        ),
        annulled
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'rating.annul'"
        ),
        annulled
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'demo.fill'"
        ),
        1
    );
    drop(conn);

    // A directory with a history is refused, and left as it was.
    let (code, out, err) = otklik(&["demo", "--ratings", "100", "--days", "3"], dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("already holds 3,000 ratings"), "{err}");
    assert!(err.contains("Nothing changed"), "{err}");
    let (code, out, _) = otklik(&["verify"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3000 ratings checked"), "{out}");
}

#[tokio::test]
async fn demo_refuses_a_directory_an_engine_is_running_on() {
    // Fresh, but the engine has it open: rows written behind its back would break its chain.
    let app = App::start().await;
    let (code, out, err) = otklik(&["demo", "--ratings", "100", "--days", "3"], app.dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("is Otklik running on this data directory?"),
        "{err}"
    );
    assert!(app.all_ratings().await.is_empty());
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks, serde_json::json!([]));
    app.stop().await;
}

#[test]
fn demo_refuses_bad_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = otklik(&["demo", "--ratings", "0"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("ratings: must be 1 to"), "{err}");
    let (code, _, err) = otklik(&["demo", "--days", "0"], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("days: must be 1 to"), "{err}");
    assert!(!dir.path().join("otklik.db").exists(), "nothing written");
}

fn rfc(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
