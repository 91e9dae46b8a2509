//! What the public event stream carries: `cargo bench -p otklik-api --bench streams`.
//!
//! Starts an engine over a fresh data directory with 6 desks and 12 registrars at work, follows
//! the public stream (`/api/v1/events`, what any LAN device may open) and the full one
//! (`/api/v1/events/all`, with the token) side by side while 200 ratings, a contest, an alert
//! taken and a settings change are made, and prints per event name how many events and bytes
//! each stream carried, and the fields of every public event.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use otklik_api::Server;
use otklik_engine::Engine;
use serde_json::{Value, json};

const RATINGS: usize = 200;

#[derive(Default)]
struct Tally {
    events: BTreeMap<String, (usize, usize)>,
    fields: BTreeMap<String, BTreeSet<String>>,
}

async fn follow(req: reqwest::RequestBuilder, quiet: Duration) -> Tally {
    let mut stream = req.send().await.unwrap().bytes_stream();
    let mut buf = String::new();
    let mut tally = Tally::default();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(quiet, stream.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let name = block
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("")
                .to_string();
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("");
            let e = tally.events.entry(name.clone()).or_default();
            e.0 += 1;
            e.1 += block.len();
            if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(data) {
                tally
                    .fields
                    .entry(name)
                    .or_default()
                    .extend(map.keys().cloned());
            }
        }
    }
    tally
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let engine = Engine::open(dir.path()).unwrap();
        let server = Server::start(engine, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", server.addr);
        let token = otklik_store::token::load_or_create(dir.path()).unwrap();
        let http = reqwest::Client::new();
        let call = |method: reqwest::Method, path: &str, body: Value| {
            http.request(method, format!("{base}{path}")).bearer_auth(&token).json(&body).send()
        };
        let quiet = Duration::from_millis(1500);
        let public = tokio::spawn(follow(http.get(format!("{base}/api/v1/events")), quiet));
        let full = tokio::spawn(follow(http.get(format!("{base}/api/v1/events/all")).bearer_auth(&token), quiet));
        tokio::time::sleep(Duration::from_millis(200)).await;

        call(reqwest::Method::PUT, "/api/v1/notify", json!({"alerts": [{"scores": [1], "channels": ["telegram"], "escalate_after_mins": 0}]})).await.unwrap();
        for d in 1..=6 {
            call(reqwest::Method::POST, "/api/v1/desks", json!({"name": format!("Окно {d}")})).await.unwrap();
        }
        for r in 1..=12 {
            call(reqwest::Method::POST, "/api/v1/registrars", json!({"name": format!("Регистратор {r}")})).await.unwrap();
        }
        for d in 1..=6 {
            call(reqwest::Method::POST, &format!("/api/v1/desks/{d}/session"), json!({"registrar_id": d})).await.unwrap();
        }
        for i in 0..RATINGS {
            let score = [3, 3, 3, 2, 1][i % 5];
            call(reqwest::Method::POST, "/api/v1/ratings", json!({"desk_id": 1 + i % 6, "score": score})).await.unwrap();
        }
        call(reqwest::Method::POST, "/api/v1/ratings/5/contest", json!({"comment": "пациент ошибся окном"})).await.unwrap();
        call(reqwest::Method::POST, "/api/v1/alerts/1/take", json!({"by": "Старшая"})).await.unwrap();
        call(reqwest::Method::PATCH, "/api/v1/settings", json!({"clinic_name": "Поликлиника № 1"})).await.unwrap();

        let (public, full) = (public.await.unwrap(), full.await.unwrap());
        println!("Otklik event streams: 6 desks, 12 registrars, {RATINGS} ratings, a contest, an alert taken, a settings change");
        println!("{:<14} {:>16} {:>16}", "event", "public: n/bytes", "full: n/bytes");
        let names: BTreeSet<&String> = public.events.keys().chain(full.events.keys()).collect();
        let (mut pb, mut fb) = (0, 0);
        for name in names {
            let p = public.events.get(name).copied().unwrap_or_default();
            let f = full.events.get(name).copied().unwrap_or_default();
            pb += p.1;
            fb += f.1;
            println!("{name:<14} {:>16} {:>16}", format!("{}/{}", p.0, p.1), format!("{}/{}", f.0, f.1));
        }
        println!("total bytes: public {pb}, full {fb} ({:.0} % of the full stream)", 100.0 * pb as f64 / fb as f64);
        let per = |t: &Tally, n: &str| t.events.get(n).map_or(0, |e| e.1 / e.0.max(1));
        println!("bytes per rating event: public {}, full {}", per(&public, "rating"), per(&full, "rating"));
        println!("fields of each public event:");
        for (name, fields) in &public.fields {
            println!("  {name}: {}", fields.iter().cloned().collect::<Vec<_>>().join(", "));
        }
        server.stop().await;
    });
}
