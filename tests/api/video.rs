//! Video surveillance targets end to end: ratings through the real API reach loopback listeners
//! as a Milestone generic event (a CRLF line over TCP), an Axxon macro GET and a plain GET with
//! its placeholders filled, and a recorder that is down gets them once it is back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::App;

/// Everything each TCP connection sent, one entry per connection (read until the peer closes).
fn tcp_sink(listener: TcpListener) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf).await;
            g.lock().unwrap().push(buf);
        }
    });
    got
}

/// The request line of every HTTP request, each answered 200.
fn http_sink(listener: TcpListener) -> Arc<Mutex<Vec<String>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                g.lock()
                    .unwrap()
                    .push(head.lines().next().unwrap_or("").to_string());
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    got
}

async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ratings_reach_milestone_axxon_and_a_get_template_with_the_right_bytes() {
    let app = App::start().await;
    let desk = app.desk("Окно 5").await;
    let milestone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (m_port, h_port) = (
        milestone.local_addr().unwrap().port(),
        http.local_addr().unwrap().port(),
    );
    let lines = tcp_sink(milestone);
    let gets = http_sink(http);
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["retry_max_secs"] = json!(1);
    cfg["video"] = json!([
        { "kind": "milestone", "address": format!("127.0.0.1:{m_port}"),
          "text": "Otklik {desk} score={score} at={utc}" },
        { "kind": "axxon", "address": format!("http://127.0.0.1:{h_port}/asip-api"), "text": "12",
          "scores": [1] },
        { "kind": "get", "address": format!("http://127.0.0.1:{h_port}/mark?desk={{desk}}&ms={{unix_ms}}&t={{unix}}&s={{score}}") },
    ]);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let low = app.rate(desk, 1).await;
    let at = chrono::DateTime::parse_from_rfc3339(low["at"].as_str().unwrap()).unwrap();
    let ms = at.timestamp_millis();
    let utc = at
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let got = until("the generic event", || {
        lines.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(
        got,
        format!("Otklik Окно 5 score=1 at={utc}\r\n").into_bytes()
    );
    let reqs = until("both GETs", || {
        let g = gets.lock().unwrap().clone();
        (g.len() >= 2).then_some(g)
    })
    .await;
    let mut reqs = reqs;
    reqs.sort();
    assert_eq!(
        reqs,
        vec![
            "GET /asip-api/macro/execute/12 HTTP/1.1".to_string(),
            format!(
                "GET /mark?desk=%D0%9E%D0%BA%D0%BD%D0%BE%205&ms={ms}&t={}&s=1 HTTP/1.1",
                ms / 1000
            ),
        ]
    );
    // A top rating: the Axxon macro is only for low ones.
    app.rate(desk, 3).await;
    until("the second GET", || {
        (gets.lock().unwrap().len() >= 3).then_some(())
    })
    .await;
    until("the second event", || {
        (lines.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(gets.lock().unwrap().len(), 3);
    assert!(
        !gets.lock().unwrap()[2].contains("macro"),
        "{:?}",
        gets.lock().unwrap()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorder_that_is_down_gets_the_events_when_it_is_back_in_order() {
    let app = App::start().await;
    let desk = app.desk("Окно 6").await;
    // A port nobody listens on yet.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (_, state) = app.get("/api/v1/notify").await;
    let mut cfg = state["config"].clone();
    cfg["retry_max_secs"] = json!(1);
    cfg["video"] = json!([{ "kind": "milestone", "address": format!("127.0.0.1:{port}"),
                            "text": "rating {rating_id} score {score}" }]);
    let (s, b) = app.put("/api/v1/notify", cfg).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let a = app.rate(desk, 1).await;
    let b2 = app.rate(desk, 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let lines = tcp_sink(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let got = until("both events after the outage", || {
        let g = lines.lock().unwrap().clone();
        (g.len() >= 2).then_some(g)
    })
    .await;
    assert_eq!(
        got,
        vec![
            format!("rating {} score 1\r\n", a["id"]).into_bytes(),
            format!("rating {} score 2\r\n", b2["id"]).into_bytes(),
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_video_target_is_refused_by_name_and_changes_nothing() {
    let app = App::start().await;
    let (_, before) = app.get("/api/v1/notify").await;
    for (t, field) in [
        (
            json!({ "kind": "milestone", "address": "nvr" }),
            "video[0].address",
        ),
        (
            json!({ "kind": "get", "address": "http://nvr/?t={when}" }),
            "video[0].address",
        ),
        (
            json!({ "kind": "axxon", "address": "http://nvr:8000" }),
            "video[0].text",
        ),
        (
            json!({ "kind": "hikvision", "address": "http://nvr" }),
            "video[0].kind",
        ),
    ] {
        let mut cfg = before["config"].clone();
        cfg["video"] = json!([t]);
        let (s, b) = app.put("/api/v1/notify", cfg).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{t}: {b}");
        assert_eq!(b["field"], field, "{b}");
    }
    let (_, after) = app.get("/api/v1/notify").await;
    assert_eq!(after["config"], before["config"]);
    app.stop().await;
}
