//! Ingest benchmark: `cargo bench -p otklik-api --bench ingest`.
//!
//! Prints, in one run on the same disk:
//! 1. the physical limit: single-row SQLite commits per second with the engine's durability
//!    (WAL, synchronous=FULL);
//! 2. sustained ratings per second through the HTTP API into SQLite (concurrent clients, group
//!    commit), and its ratio to (1);
//! 3. p50/p99/max latency from `POST /api/v1/ratings` to the SSE event arriving, at 50 clients.
//!
//! The load generator runs in the same process on the same two cores, so (2) is conservative.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use otklik_api::Server;
use otklik_engine::Engine;
use serde_json::{Value, json};
use tokio::sync::Mutex;

const CLIENTS: usize = 64;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(8);
const SSE_CLIENTS: usize = 50;
const SSE_RATINGS: usize = 400;

fn main() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    println!(
        "Otklik ingest benchmark; data in {} ({} CPUs)",
        dir.path().display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let raw = raw_commits(&dir.path().join("raw.db"));
    println!("raw single-row commits (WAL, synchronous=FULL): {raw:.0} commits/s");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::open(&dir.path().join("engine")).unwrap();
        let server = Server::start(engine, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", server.addr);
        let token = otklik_store::token::load_or_create(&dir.path().join("engine")).unwrap();
        let http = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS * 2).build().unwrap();
        let post = |path: &str, body: Value| http.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
        post("/api/v1/desks", json!({"name": "Окно 1"})).await.unwrap();
        post("/api/v1/registrars", json!({"name": "Анна"})).await.unwrap();
        post("/api/v1/desks/1/session", json!({"registrar_id": 1})).await.unwrap();
        // OTKLIK_BENCH_WINDOWS=0 or 1: no flood flags (a flagged rating skips the window rules,
        // and this load floods), and with 1 the four window rules on: their cost per rating.
        let windows_on = std::env::var("OTKLIK_BENCH_WINDOWS").ok();
        if windows_on.is_some() {
            let r = http.patch(format!("{base}/api/v1/settings")).bearer_auth(&token).json(&json!({"suspicion_burst_count": 0})).send().await.unwrap();
            assert!(r.status().is_success());
        }
        if windows_on.as_deref() == Some("1") {
            let windows = json!([{"kind": "low_share"}, {"kind": "low_run"}, {"kind": "top_share", "channels": []}, {"kind": "top_run", "channels": []}]);
            let r = http.put(format!("{base}/api/v1/notify")).bearer_auth(&token).json(&json!({"windows": windows, "alerts": []})).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            println!("window rules on: low_share, low_run, top_share, top_run");
        }

        let rate = throughput(&http, &base, &token).await;
        println!("sustained ratings through the HTTP API: {rate:.0} ratings/s ({CLIENTS} concurrent clients, {}s)", MEASURE.as_secs());
        println!("  = {:.1}x the raw single-row commit rate", rate / raw);

        let (p50, p99, max) = sse_latency(&http, &base, &token).await;
        println!("POST -> SSE event latency at {SSE_CLIENTS} clients ({SSE_RATINGS} ratings): p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms");
        server.stop().await;
    });
}

fn raw_commits(path: &std::path::Path) -> f64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, desk INTEGER, score INTEGER, at INTEGER)",
    )
    .unwrap();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        conn.execute(
            "INSERT INTO t (desk, score, at) VALUES (1, 3, ?1)",
            [n as i64],
        )
        .unwrap();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn throughput(http: &reqwest::Client, base: &str, token: &str) -> f64 {
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (http, url, token) = (
            http.clone(),
            format!("{base}/api/v1/ratings"),
            token.to_string(),
        );
        let (counting, stop, done) = (counting.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let score = 1 + i % 3;
                i += 1;
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"desk_id": 1, "score": score}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
                resp.bytes().await.unwrap();
                if counting.load(Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(WARMUP).await;
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let n = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / elapsed.as_secs_f64()
}

async fn sse_latency(http: &reqwest::Client, base: &str, token: &str) -> (f64, f64, f64) {
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let mut listeners = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(SSE_CLIENTS);
    for _ in 0..SSE_CLIENTS {
        // The full stream: its rating events carry the id the latency is matched by.
        let resp = reqwest::Client::new()
            .get(format!("{base}/api/v1/events/all"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let ready = ready_tx.clone();
        listeners.push(tokio::spawn(async move {
            let mut stream = resp.bytes_stream();
            let mut buf = String::new();
            let mut arrivals = Vec::with_capacity(SSE_RATINGS);
            let mut ready = Some(ready);
            while arrivals.len() < SSE_RATINGS {
                let chunk = stream.next().await.unwrap().unwrap();
                let now = Instant::now();
                buf.push_str(std::str::from_utf8(&chunk).unwrap());
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if block.contains("event: hello")
                        && let Some(r) = ready.take()
                    {
                        r.send(()).await.unwrap();
                    }
                    if !block.contains("event: rating") {
                        continue;
                    }
                    let data = block
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    let v: Value = serde_json::from_str(data).unwrap();
                    arrivals.push((v["id"].as_i64().unwrap(), now));
                }
            }
            arrivals
        }));
    }
    for _ in 0..SSE_CLIENTS {
        ready_rx.recv().await.unwrap();
    }
    for i in 0..SSE_RATINGS {
        let t0 = Instant::now();
        let resp = http
            .post(format!("{base}/api/v1/ratings"))
            .bearer_auth(token)
            .json(&json!({"desk_id": 1, "score": 1 + i % 3}))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        sent.lock().await.insert(body["id"].as_i64().unwrap(), t0);
        // Ratings at a busy desk arrive seconds apart; a few ms apart is already a crowd.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sent = sent.lock().await.clone();
    let mut lat: Vec<f64> = Vec::new();
    for l in listeners {
        for (id, at) in l.await.unwrap() {
            lat.push(at.duration_since(sent[&id]).as_secs_f64() * 1000.0);
        }
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    (pct(0.50), pct(0.99), *lat.last().unwrap())
}
