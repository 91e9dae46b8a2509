//! Press-to-photo benchmark: `cargo bench -p otklik-api --bench photo`.
//!
//! A desk with a streaming camera (the stand-in frame source behind the same `StreamCamera` a
//! USB webcam uses, 640x480 at 30 fps); ratings one after another; prints the time from the
//! rating call to its photo's record on disk (file written, row committed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use otklik_api::Server;
use otklik_devices::evidence::camera::{StandInSource, StreamCamera};
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_engine::Engine;
use otklik_store::ratings::NewRating;

const RATINGS: usize = 40;

fn main() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::open(dir.path()).unwrap();
        let server = Server::start(engine.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let desk = engine
            .store.writer
            .write(|ctx| otklik_store::roster::create_desk(ctx, "Окно 1", "bench"))
            .await
            .unwrap()
            .id;
        let camera = StreamCamera::start(StandInSource::new(640, 480, 30));
        engine.evidence.set_devices(desk, Some(DeskDevices { camera: Some(Ok(Arc::new(camera))), microphone: None }));
        tokio::time::sleep(Duration::from_secs(1)).await; // the stream's first frames

        let mut events = engine.store.events.subscribe(None, false).rx;
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..RATINGS {
            let start = Instant::now();
            engine
                .add_rating(NewRating { desk_id: desk, score: 1, source: None, at: None })
                .await
                .unwrap();
            loop {
                let e = events.recv().await.unwrap();
                if e.name == "media" {
                    let v: serde_json::Value = serde_json::from_str(&e.data).unwrap();
                    assert_eq!(v["media"]["state"], "saved", "{v}");
                    bytes += v["media"]["bytes"].as_i64().unwrap();
                    break;
                }
            }
            times.push(start.elapsed());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "press -> photo on disk ({RATINGS} ratings, 640x480 stream at 30 fps): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms; {:.1} KB per photo",
            ms(times[RATINGS / 2]),
            ms(times[RATINGS * 9 / 10]),
            ms(times[RATINGS - 1]),
            bytes as f64 / RATINGS as f64 / 1024.0
        );
        server.stop().await;
    });
}
