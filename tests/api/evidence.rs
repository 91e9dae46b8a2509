//! Evidence around ratings: photos from an IP camera served on loopback (normal, slow, failing),
//! clips from a microphone behind the same interface the real one uses, shared clips for ratings
//! close together, the missing-evidence path, the retention purge, and that none of it delays
//! the answer to a rating.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_devices::evidence::{Clip, DeviceState, Microphone};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::common::App;

pub(crate) fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// An IP camera on loopback: `/ok.jpg` answers at once, `/slow.jpg` only when the test says so,
/// `/broken.jpg` with a 500.
pub(crate) async fn camera_server(release: Arc<Notify>) -> String {
    let frame = jpeg(1280, 720);
    let app = Router::new()
        .route(
            "/ok.jpg",
            get({
                let frame = frame.clone();
                move || async move { ([("content-type", "image/jpeg")], frame) }
            }),
        )
        .route(
            "/slow.jpg",
            get(move || async move {
                release.notified().await;
                ([("content-type", "image/jpeg")], frame)
            }),
        )
        .route(
            "/broken.jpg",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "sensor failure") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

pub(crate) async fn evidence_of(app: &App, rating: &Value, want: usize) -> Vec<Value> {
    for _ in 0..100 {
        let (s, media) = app
            .get(&format!("/api/v1/ratings/{}/evidence", rating["id"]))
            .await;
        assert_eq!(s, StatusCode::OK, "{media}");
        let media = media.as_array().unwrap().clone();
        if media.len() >= want {
            return media;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no evidence for rating {}", rating["id"]);
}

#[tokio::test]
async fn a_photo_from_an_ip_camera_is_kept_with_the_rating_and_served_to_token_holders() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let cams = camera_server(Arc::new(Notify::new())).await;
    // Off by default.
    let (_, ev) = app.get(&format!("/api/v1/desks/{desk}/evidence")).await;
    assert_eq!(
        (ev["photo"].as_bool(), ev["audio"].as_bool()),
        (Some(false), Some(false))
    );
    let r = app.rate(desk, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(evidence_of(&app, &r, 0).await, Vec::<Value>::new());

    let (s, ev) = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/desks/{desk}/evidence")))
                .bearer_auth(&app.token)
                .json(&json!({"photo": true, "camera": {"kind": "ip", "url": format!("{cams}/ok.jpg"), "user": "admin", "password": "s3cret"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["camera"]["has_password"], true);
    assert!(
        !ev.to_string().contains("s3cret"),
        "the password is never shown: {ev}"
    );

    let r = app.rate(desk, 1).await;
    let media = evidence_of(&app, &r, 1).await;
    assert_eq!(media[0]["kind"], "photo");
    assert_eq!(media[0]["state"], "saved", "{media:?}");
    let url = media[0]["url"].as_str().unwrap();
    // Token holders only.
    let anon = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .http
        .get(app.url(url))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let bytes = resp.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!(img.width(), 640, "scaled to the photo_max_width setting");
    assert!(bytes.len() < 100_000, "{} bytes", bytes.len());
    // Stored under a random name in the data directory, nothing else there.
    let files: Vec<_> = std::fs::read_dir(app.dir.path().join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].len() == 36 && files[0].ends_with(".jpg"),
        "{files:?}"
    );

    // The health of the camera shows.
    let (_, health) = app.get("/healthz").await;
    let cam = &health["devices"][0];
    assert_eq!(
        (cam["kind"].as_str(), cam["state"].as_str()),
        (Some("camera"), Some("connected")),
        "{health}"
    );
    assert!(!health.to_string().contains("s3cret"));
}

#[tokio::test]
async fn a_slow_or_broken_camera_never_delays_the_rating_and_its_photo_is_marked_missing() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let release = Arc::new(Notify::new());
    let cams = camera_server(release.clone()).await;
    let put = |url: String| {
        app.http
            .put(app.url(&format!("/api/v1/desks/{desk}/evidence")))
            .bearer_auth(&app.token)
            .json(&json!({"photo": true, "camera": {"kind": "ip", "url": url}}))
            .send()
    };
    assert_eq!(
        put(format!("{cams}/slow.jpg")).await.unwrap().status(),
        StatusCode::OK
    );
    // The camera is still holding its answer back while the rating is answered: capture runs
    // after the commit, beside the request.
    let r = app.rate(desk, 1).await;
    assert!(r["id"].is_i64());
    let (_, media) = app
        .get(&format!("/api/v1/ratings/{}/evidence", r["id"]))
        .await;
    assert_eq!(media, json!([]), "nothing yet: the camera has not answered");
    // It times out: the photo is recorded as missing, with the reason.
    let media = evidence_of(&app, &r, 1).await;
    release.notify_waiters();
    assert_eq!(media[0]["state"], "missing", "{media:?}");
    assert!(
        media[0]["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("time"),
        "{media:?}"
    );

    assert_eq!(
        put(format!("{cams}/broken.jpg")).await.unwrap().status(),
        StatusCode::OK
    );
    let r = app.rate(desk, 2).await;
    let media = evidence_of(&app, &r, 1).await;
    assert_eq!(media[0]["state"], "missing");
    assert!(
        media[0]["reason"].as_str().unwrap().contains("500"),
        "{media:?}"
    );
    let (_, health) = app.get("/healthz").await;
    assert_eq!(health["status"], "degraded", "{health}");

    // Nothing listening at all.
    assert_eq!(
        put("http://127.0.0.1:9/none.jpg".into())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = app.rate(desk, 3).await;
    assert_eq!(evidence_of(&app, &r, 1).await[0]["state"], "missing");
    // And back: the next rating has its photo again, no restart.
    assert_eq!(
        put(format!("{cams}/ok.jpg")).await.unwrap().status(),
        StatusCode::OK
    );
    let r = app.rate(desk, 3).await;
    assert_eq!(evidence_of(&app, &r, 1).await[0]["state"], "saved");
}

/// A microphone behind the real interface, producing a tone whose loudness encodes the second,
/// so a clip's span can be checked from its samples.
pub(crate) struct ToneMic;

impl Microphone for ToneMic {
    fn clip(&self, from: i64, to: i64) -> Result<Clip, String> {
        let rate = 16_000;
        let n = ((to - from) * rate / 1000) as usize;
        let samples = (0..n)
            .map(|i| {
                ((i as f64 * 440.0 * 2.0 * std::f64::consts::PI / rate as f64).sin() * 8000.0)
                    as i16
            })
            .collect();
        Ok(Clip {
            rate: rate as u32,
            samples,
            from,
        })
    }
    fn state(&self) -> DeviceState {
        DeviceState::new("connected", "tone", None)
    }
}

struct DeadMic;

impl Microphone for DeadMic {
    fn clip(&self, _: i64, _: i64) -> Result<Clip, String> {
        Err("the microphone is busy (another program holds it)".into())
    }
    fn state(&self) -> DeviceState {
        DeviceState::new("waiting", "default", Some("busy".into()))
    }
}

#[tokio::test]
async fn ratings_close_together_share_one_clip_and_a_dead_microphone_is_noted() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let quiet = app.desk("Окно 2").await;
    let (s, _) = app
        .patch(
            "/api/v1/settings",
            json!({"audio_before_secs": 1, "audio_after_secs": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let engine = app.server.as_ref().unwrap().engine.clone();
    engine.evidence.set_devices(
        desk,
        Some(DeskDevices {
            camera: None,
            microphone: Some(Ok(Arc::new(ToneMic))),
        }),
    );
    engine.evidence.set_devices(
        quiet,
        Some(DeskDevices {
            camera: None,
            microphone: Some(Ok(Arc::new(DeadMic))),
        }),
    );

    let r1 = app.rate(desk, 1).await;
    // Answered while the clip's "after" second is still being recorded: audio never delays it.
    let (_, none_yet) = app
        .get(&format!("/api/v1/ratings/{}/evidence", r1["id"]))
        .await;
    assert_eq!(none_yet, json!([]));
    let r2 = app.rate(desk, 1).await;
    let m1 = evidence_of(&app, &r1, 1).await;
    let m2 = evidence_of(&app, &r2, 1).await;
    assert_eq!(m1[0]["id"], m2[0]["id"], "one clip for both ratings");
    assert_eq!(m1[0]["kind"], "audio");
    assert_eq!(m1[0]["state"], "saved", "{m1:?}");
    // The clip spans from 1 s before the first press to 1 s after the second.
    let from = chrono::DateTime::parse_from_rfc3339(m1[0]["from"].as_str().unwrap()).unwrap();
    let to = chrono::DateTime::parse_from_rfc3339(m1[0]["to"].as_str().unwrap()).unwrap();
    let at1 = chrono::DateTime::parse_from_rfc3339(r1["at"].as_str().unwrap()).unwrap();
    let at2 = chrono::DateTime::parse_from_rfc3339(r2["at"].as_str().unwrap()).unwrap();
    assert_eq!((at1 - from).num_milliseconds(), 1000);
    assert_eq!((to - at2).num_milliseconds(), 1000);
    let resp = app
        .http
        .get(app.url(m1[0]["url"].as_str().unwrap()))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "audio/ogg");
    let ogg = resp.bytes().await.unwrap();
    assert_eq!(&ogg[..4], b"OggS");
    assert!(
        ogg.windows(8).any(|w| w == b"OpusHead"),
        "an Ogg/Opus stream"
    );

    let r3 = app.rate(quiet, 1).await;
    let m3 = evidence_of(&app, &r3, 1).await;
    assert_eq!(m3[0]["state"], "missing");
    assert!(m3[0]["reason"].as_str().unwrap().contains("busy"), "{m3:?}");
}

#[tokio::test]
async fn old_media_are_purged_and_the_ratings_stay() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let cams = camera_server(Arc::new(Notify::new())).await;
    app.send(
        app.http
            .put(app.url(&format!("/api/v1/desks/{desk}/evidence")))
            .bearer_auth(&app.token)
            .json(
                &json!({"photo": true, "camera": {"kind": "ip", "url": format!("{cams}/ok.jpg")}}),
            ),
    )
    .await;
    let r = app.rate(desk, 1).await;
    let media = evidence_of(&app, &r, 1).await;
    assert_eq!(media[0]["state"], "saved");
    let (s, _) = app
        .patch("/api/v1/settings", json!({"photo_retention_days": 7}))
        .await;
    assert_eq!(s, StatusCode::OK);

    // Nothing is old enough yet.
    let (s, purged) = app.post("/api/v1/media/purge", json!({})).await;
    assert_eq!((s, purged["photos"].as_i64()), (StatusCode::OK, Some(0)));
    // Eight days on, the photo goes; the rating stays.
    let engine = app.server.as_ref().unwrap().engine.clone();
    let later = otklik_domain::time::now_ms() + 8 * 24 * 3600 * 1000;
    let purged = engine.purge_media(later).await.unwrap();
    assert_eq!(purged.photos, 1);
    let media = evidence_of(&app, &r, 1).await;
    assert_eq!(media[0]["state"], "purged");
    assert_eq!(media[0]["url"], Value::Null);
    assert_eq!(
        std::fs::read_dir(app.dir.path().join("media"))
            .unwrap()
            .count(),
        0
    );
    let (s, _) = app.get(&format!("/api/v1/ratings/{}", r["id"])).await;
    assert_eq!(s, StatusCode::OK);
    let (_, audit) = app.get("/api/v1/audit").await;
    assert_eq!(audit[0]["action"], "media.purge", "{audit}");
    assert_eq!(audit[0]["details"]["photos"], 1, "{audit}");
}
