//! Live events reach a connected screen as soon as the change is stored, and a screen that
//! reconnects catches up.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::common::App;

#[derive(Debug, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

pub struct SseReader {
    stream: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        SseReader::open(req).await
    }

    /// A stream from a request built by the caller (a token, a ticket, a Last-Event-ID).
    pub async fn open(req: reqwest::RequestBuilder) -> SseReader {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        SseReader {
            stream: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next whole event already received, if any (keep-alive comments skipped).
    fn buffered(&mut self) -> Option<SseEvent> {
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let mut ev = SseEvent::default();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    ev.id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("event:") {
                    ev.event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    ev.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if !(ev.event.is_empty() && ev.data.is_empty()) {
                return Some(ev);
            }
        }
        None
    }

    pub async fn next(&mut self) -> SseEvent {
        loop {
            if let Some(ev) = self.buffered() {
                return ev;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("an event within 10 s")
                .expect("the stream stays open")
                .unwrap();
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event within `ms`, or `None` if none came or the stream ended.
    pub async fn within(&mut self, ms: u64) -> Option<SseEvent> {
        loop {
            if let Some(ev) = self.buffered() {
                return Some(ev);
            }
            let chunk = tokio::time::timeout(Duration::from_millis(ms), self.stream.next())
                .await
                .ok()??
                .ok()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    pub async fn next_named(&mut self, name: &str) -> SseEvent {
        loop {
            let ev = self.next().await;
            if ev.event == name {
                return ev;
            }
        }
    }
}

/// The full stream, as the console and the clinic's systems follow it.
async fn full(app: &App, last_event_id: Option<&str>) -> SseReader {
    let mut req = app
        .http
        .get(app.url("/api/v1/events/all"))
        .bearer_auth(&app.token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    SseReader::open(req).await
}

#[tokio::test]
async fn a_new_rating_reaches_a_connected_screen() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    let mut screen = full(&app, None).await;
    assert_eq!(screen.next().await.event, "hello");

    app.start_session(desk, anna).await;
    let ev = screen.next_named("session").await;
    let session: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(
        (session["change"].as_str(), session["registrar_id"].as_i64()),
        (Some("started"), Some(anna))
    );

    let posted = app.rate(desk, 1).await;
    let ev = screen.next_named("rating").await;
    let rating: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(rating["id"], posted["id"]);
    assert_eq!(rating["registrar_id"], anna);
    assert_eq!(rating["score"], 1);
    assert!(ev.id.is_some());

    // The leaderboard follows, already counting it.
    let ev = screen.next_named("leaderboard").await;
    let board: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(board["entries"][0]["registrar_id"], anna);
    assert_eq!(board["entries"][0]["levels"], json!([1, 0, 0]));
    app.stop().await;
}

#[tokio::test]
async fn a_screen_that_reconnects_gets_what_it_missed() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let mut screen = full(&app, None).await;
    app.rate(desk, 3).await;
    let first = screen.next_named("rating").await;
    drop(screen);

    let missed = [app.rate(desk, 1).await, app.rate(desk, 2).await];
    let mut screen = full(&app, first.id.as_deref()).await;
    assert_eq!(screen.next().await.event, "hello");
    for want in missed {
        let ev = screen.next_named("rating").await;
        let got: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(got["id"], want["id"]);
    }

    // An id from before a restart cannot be trusted: the screen is told to reload.
    let mut screen = SseReader::connect(&app.url("/api/v1/events"), Some("0badc0de-5")).await;
    assert_eq!(screen.next().await.event, "hello");
    assert_eq!(screen.next().await.event, "resync");
    app.stop().await;
}
