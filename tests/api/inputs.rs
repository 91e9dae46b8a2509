//! Rating inputs through their real paths: global keys under Xvfb pressed by `xdotool`, a serial
//! box emulated by a `socat` pseudo-terminal pair (unplugged and plugged back), the debounce, and
//! the suspicion rules at their boundaries.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{App, all_ratings, spawn_serve_with};

/// Polls `f` until it returns Some, for up to 10 s.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// A private X server for the keys test; the display number is found by trying.
fn start_xvfb() -> (Killed, String) {
    for n in 90..140 {
        let display = format!(":{n}");
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let mut child = Command::new("Xvfb")
            .args([&display, "-screen", "0", "640x480x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (scripts/system-deps.sh)");
        for _ in 0..50 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (Killed(child), display);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
    }
    panic!("no free X display for Xvfb");
}

fn xdotool(display: &str, key: &str) {
    let ok = Command::new("xdotool")
        .args(["key", key])
        .env("DISPLAY", display)
        .status()
        .expect("xdotool is installed (scripts/system-deps.sh)")
        .success();
    assert!(ok, "xdotool key {key}");
}

async fn input_state(http: &reqwest::Client, base: &str, desk: i64) -> Value {
    let health: Value = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    health["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["desk_id"] == desk)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn global_keys_rate_whatever_window_has_the_focus() {
    let (_x, display) = start_xvfb();
    let dir = tempfile::tempdir().unwrap();
    let token = "keys-test-token-0123456789";
    let (_serve, addr) =
        spawn_serve_with(dir.path(), token, &[("DISPLAY", display.as_str())]).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let desk: Value = send(
        reqwest::Method::POST,
        "/api/v1/desks",
        json!({"name": "Окно 1"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let desk = desk["id"].as_i64().unwrap();
    let anna: Value = send(
        reqwest::Method::POST,
        "/api/v1/registrars",
        json!({"name": "Анна"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    send(
        reqwest::Method::POST,
        &format!("/api/v1/desks/{desk}/session"),
        json!({"registrar_id": anna["id"]}),
    )
    .await
    .unwrap();

    // X11 knows no F13-F24 here (a receiver on Windows may use them): a clear error, no crash.
    let resp = send(
        reqwest::Method::PUT,
        &format!("/api/v1/desks/{desk}/input"),
        json!({"kind": "keys", "keys": ["F13", "F14", "F15"]}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let state = eventually("the keys error", || async {
        let s = input_state(&http, &base, desk).await;
        (s["state"] == "error").then_some(s)
    })
    .await;
    assert!(state["error"].as_str().unwrap().contains("F13"), "{state}");

    // Keys the X server has: one per score, lowest first.
    let resp = send(
        reqwest::Method::PUT,
        &format!("/api/v1/desks/{desk}/input"),
        json!({"kind": "keys", "keys": ["ctrl+alt+shift+Digit1", "ctrl+alt+shift+Digit2", "ctrl+alt+shift+Digit3"], "debounce_ms": 1500}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    eventually("the keys to be taken", || async {
        (input_state(&http, &base, desk).await["state"] == "connected").then_some(())
    })
    .await;

    xdotool(&display, "ctrl+alt+shift+1");
    let ratings = eventually("the first key press", || async {
        let r = all_ratings(&http, &base, token).await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(ratings[0]["score"], 1);
    assert_eq!(ratings[0]["source"], "keys");
    assert_eq!(ratings[0]["registrar_id"], anna["id"]);
    // A second press at once is a bounce: counted once.
    xdotool(&display, "ctrl+alt+shift+3");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    xdotool(&display, "ctrl+alt+shift+3");
    let ratings = eventually("the press after the debounce", || async {
        let r = all_ratings(&http, &base, token).await;
        (r.len() >= 2).then_some(r)
    })
    .await;
    assert_eq!(ratings.len(), 2, "{ratings:?}");
    assert_eq!(ratings[1]["score"], 3);
    let state = input_state(&http, &base, desk).await;
    assert!(state["last_event"].is_string(), "{state}");

    // A serve key beside the scores toggles the desk's serving.
    let resp = send(
        reqwest::Method::PUT,
        &format!("/api/v1/desks/{desk}/input"),
        json!({"kind": "keys", "keys": ["ctrl+alt+shift+Digit1", "ctrl+alt+shift+Digit2", "ctrl+alt+shift+Digit3"],
               "serve_key": "ctrl+alt+shift+Digit4"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    eventually("the serve key to be taken", || async {
        let s = input_state(&http, &base, desk).await;
        (s["state"] == "connected" && s["detail"].as_str().unwrap_or("").contains("Digit4"))
            .then_some(())
    })
    .await;
    xdotool(&display, "ctrl+alt+shift+4");
    let serving = eventually("serving from the key", || async {
        let d: Value = send(
            reqwest::Method::GET,
            &format!("/api/v1/desks/{desk}"),
            json!(null),
        )
        .await
        .ok()?
        .json()
        .await
        .ok()?;
        (!d["serving"].is_null()).then_some(d["serving"].clone())
    })
    .await;
    assert_eq!(serving["source"], "key");
    assert_eq!(all_ratings(&http, &base, token).await.len(), 2, "no rating");

    // Switching the desk to the panel releases the keys.
    send(
        reqwest::Method::PUT,
        &format!("/api/v1/desks/{desk}/input"),
        json!({"kind": "panel"}),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    xdotool(&display, "ctrl+alt+shift+2");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(all_ratings(&http, &base, token).await.len(), 2);
}

/// A socat pair: the box writes into `box`, Otklik reads `host`.
fn plug(dir: &Path) -> Killed {
    for l in ["box", "host"] {
        let _ = std::fs::remove_file(dir.join(l));
    }
    // Owned by `Killed` at once, so it is reaped on every path.
    let socat = Killed(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", dir.join("box").display()))
            .arg(format!(
                "pty,raw,echo=0,link={}",
                dir.join("host").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is installed (scripts/system-deps.sh)"),
    );
    for _ in 0..100 {
        if dir.join("box").exists() && dir.join("host").exists() {
            return socat;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("socat made no pty pair");
}

fn press(dir: &Path, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("box"))
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
    f.flush().unwrap();
    // socat ends when the box side closes: keep it open until Otklik has read the line.
    std::thread::sleep(Duration::from_millis(300));
}

#[tokio::test]
async fn a_serial_box_rates_and_resumes_after_being_unplugged() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let ports = tempfile::tempdir().unwrap();
    let host = ports.path().join("host").display().to_string();

    // Configured before it is plugged in: waiting, with the reason.
    let (s, b) = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/desks/{desk}/input")))
                .bearer_auth(&app.token)
                .json(&json!({"kind": "serial", "path": host, "baud": 9600, "debounce_ms": 0})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let state = eventually("waiting", || async {
        let s = input_state(&app.http, &app.base, desk).await;
        (s["state"] == "waiting").then_some(s)
    })
    .await;
    assert!(
        state["error"].as_str().unwrap().contains("cannot open"),
        "{state}"
    );
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["status"], "degraded");

    let socat = plug(ports.path());
    eventually("connected", || async {
        (input_state(&app.http, &app.base, desk).await["state"] == "connected").then_some(())
    })
    .await;
    press(ports.path(), "3\n1\r\nxyz\n");
    let ratings = eventually("two presses", || async {
        let r = app.all_ratings().await;
        (r.len() >= 2).then_some(r)
    })
    .await;
    let scores: Vec<_> = ratings
        .iter()
        .map(|r| (r["score"].clone(), r["source"].clone()))
        .collect();
    assert_eq!(
        scores,
        vec![(json!(3), json!("serial")), (json!(1), json!("serial"))]
    );
    let state = input_state(&app.http, &app.base, desk).await;
    assert!(
        state["error"].as_str().unwrap_or("").contains("xyz"),
        "{state}"
    );

    // Unplugged: waiting; plugged back: it resumes by itself.
    drop(socat);
    eventually("waiting after unplug", || async {
        (input_state(&app.http, &app.base, desk).await["state"] == "waiting").then_some(())
    })
    .await;
    let _socat = plug(ports.path());
    eventually("connected after replug", || async {
        (input_state(&app.http, &app.base, desk).await["state"] == "connected").then_some(())
    })
    .await;
    press(ports.path(), "2\n");
    let ratings = eventually("the press after replug", || async {
        let r = app.all_ratings().await;
        (r.len() >= 3).then_some(r)
    })
    .await;
    assert_eq!(ratings[2]["score"], 2);

    // The panel is refused at a desk whose ratings come from a box.
    let (s, b) = app
        .post_as(
            None,
            &format!("/api/v1/desks/{desk}/tap"),
            json!({"score": 3}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .contains("not from a patient panel"),
        "{b}"
    );

    // A second desk cannot take the same port.
    let other = app.desk("Окно 2").await;
    let (s, b) = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/desks/{other}/input")))
                .bearer_auth(&app.token)
                .json(&json!({"kind": "serial", "path": host})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
}

#[tokio::test]
async fn a_bouncing_box_counts_once_per_debounce_interval() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let ports = tempfile::tempdir().unwrap();
    let _socat = plug(ports.path());
    let host = ports.path().join("host").display().to_string();
    let (s, _) = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/desks/{desk}/input")))
                .bearer_auth(&app.token)
                .json(&json!({"kind": "serial", "path": host, "debounce_ms": 60000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    eventually("connected", || async {
        (input_state(&app.http, &app.base, desk).await["state"] == "connected").then_some(())
    })
    .await;
    press(ports.path(), "2\n2\n2\n1\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ratings = app.all_ratings().await;
    assert_eq!(
        ratings.len(),
        1,
        "one counted press within the interval: {ratings:?}"
    );
    assert_eq!(ratings[0]["score"], 2);
}

/// The box's serve button (`S`) opens and closes the armed desk's rating window.
#[tokio::test]
async fn the_serve_button_of_a_serial_box_opens_the_rating_window() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    app.patch(
        "/api/v1/settings",
        json!({"serving_grace_secs": 0, "suspicion_burst_count": 0}),
    )
    .await;
    app.patch(&format!("/api/v1/desks/{desk}"), json!({"armed": true}))
        .await;
    let ports = tempfile::tempdir().unwrap();
    let _socat = plug(ports.path());
    let host = ports.path().join("host").display().to_string();
    let (s, b) = app
        .put(
            &format!("/api/v1/desks/{desk}/input"),
            json!({"kind": "serial", "path": host, "debounce_ms": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    eventually("connected", || async {
        (input_state(&app.http, &app.base, desk).await["state"] == "connected").then_some(())
    })
    .await;
    let serving = || async {
        let (_, d) = app.get(&format!("/api/v1/desks/{desk}")).await;
        d["serving"].clone()
    };
    let nth = |n: usize| {
        let app = &app;
        async move {
            eventually("the press stored", || async {
                let r = app.all_ratings().await;
                r.get(n).cloned()
            })
            .await
        }
    };
    press(ports.path(), "3\n");
    assert_eq!(nth(0).await["flag"], "outside_serving");
    press(ports.path(), "S\n");
    let now = eventually("serving", || async {
        let v = serving().await;
        (!v.is_null()).then_some(v)
    })
    .await;
    assert_eq!(now["source"], "key", "{now}");
    press(ports.path(), "2\n");
    assert_eq!(nth(1).await["flag"], Value::Null);
    press(ports.path(), "s\n");
    eventually("done", || async { serving().await.is_null().then_some(()) }).await;
    press(ports.path(), "1\n");
    assert_eq!(nth(2).await["flag"], "outside_serving");
    assert_eq!(
        app.all_ratings().await.len(),
        3,
        "the serve presses are no ratings"
    );
}

#[tokio::test]
async fn suspicious_top_ratings_are_flagged_kept_and_counted_apart() {
    let app = App::start().await;
    let (d1, d2, d3) = (
        app.desk("1").await,
        app.desk("2").await,
        app.desk("3").await,
    );
    let (anna, boris) = (app.registrar("Анна").await, app.registrar("Борис").await);
    app.start_session(d1, anna).await;
    app.start_session(d2, boris).await;
    let (s, _) = app
        .patch(
            "/api/v1/settings",
            json!({"suspicion_burst_count": 3, "suspicion_burst_secs": 20, "min_ratings": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Ahead of now (up to 5 min is accepted), so the sessions just opened cover every rating.
    let t0 = chrono::Utc::now() + chrono::Duration::seconds(1);
    let at = |ms: i64| (t0 + chrono::Duration::milliseconds(ms)).to_rfc3339();
    let rate = |desk: i64, score: i64, ms: i64| {
        let body = json!({"desk_id": desk, "score": score, "at": at(ms)});
        let app = &app;
        async move {
            let (s, b) = app.post("/api/v1/ratings", body).await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
            b
        }
    };
    // Three top ratings within 20 s at desk 1: the third is a burst (19.999 s after the first).
    assert_eq!(rate(d1, 3, 0).await["flag"], Value::Null);
    assert_eq!(rate(d1, 3, 10_000).await["flag"], Value::Null);
    assert_eq!(rate(d1, 3, 19_999).await["flag"], "burst");
    // At desk 2 the third comes exactly 20 s after the first: the window has moved on.
    rate(d2, 3, 0).await;
    rate(d2, 3, 10_000).await;
    assert_eq!(rate(d2, 3, 20_000).await["flag"], Value::Null);
    // Lower scores never make a burst.
    assert_eq!(rate(d2, 2, 20_001).await["flag"], Value::Null);
    // A top rating with nobody at the desk is suspicious; a low one is not.
    assert_eq!(rate(d3, 3, 30_000).await["flag"], "no_session");
    assert_eq!(rate(d3, 1, 30_001).await["flag"], Value::Null);

    // Kept, listed with their flag, and counted apart from the ranking.
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 9);
    assert_eq!(all.iter().filter(|r| !r["flag"].is_null()).count(), 2);
    let (_, flagged) = app.get("/api/v1/ratings?flagged=true").await;
    let reasons: Vec<_> = flagged["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["flag"].clone())
        .collect();
    assert_eq!(reasons, vec![json!("burst"), json!("no_session")]);
    let (_, board) = app.get("/api/v1/leaderboard").await;
    let a = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["registrar_id"] == anna)
        .unwrap();
    assert_eq!(
        (a["count"].as_i64(), a["flagged"].as_i64()),
        (Some(2), Some(1)),
        "{board}"
    );
    assert_eq!(board["totals"]["flagged"], 2, "{board}");
    assert_eq!(board["totals"]["count"], 7);
}
