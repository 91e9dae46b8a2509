//! Network hub benchmark: `cargo bench --profile dev -p otklik-hub --bench network`.
//!
//! One throwaway PostgreSQL (tests/support/pg.rs) for three measurements:
//! 1. ingest: 500 simulated sites post their batches over HTTP to an in-process hub on loopback
//!    (64 requests in flight), against a raw baseline: the same rows `COPY`d into `ratings` over
//!    as many connections as the hub has, without the roll-up, the site check or HTTP;
//! 2. catch-up: a real site engine (`otklik serve`, the built binary) holding a busy day of
//!    ratings made while unlinked is linked to the hub; the time until its backlog is empty, with
//!    the hub's totals for the site checked against the site's own;
//! 3. a network month report: `ratings` and the `daily` roll-up filled with SQL (50 million
//!    ratings by default), then the leaderboard and per-site totals timed.
//!
//! Knobs: OTKLIK_BENCH_BATCHES (batches of 100 ratings per site, default 10),
//! OTKLIK_BENCH_DAY_RATINGS (the offline day, default 5000), OTKLIK_BENCH_RATINGS (the month,
//! default 50000000), OTKLIK_BIN (the site engine, default target/debug/otklik).

#[path = "../../../tests/support/pg.rs"]
mod pg;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use deadpool_postgres::Pool;
use tokio::sync::Semaphore;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use otklik_domain::link::{Ack, Batch, Change, Event, PROTOCOL};
use otklik_domain::time::{Span, now_ms};
use otklik_hub::board::{self, Scope};
use otklik_hub::{Hub, HubConfig, db, sites};

const SITES: i32 = 500;
const PER_BATCH: i64 = 100;
const IN_FLIGHT: usize = 64;
/// The hub's pool size (`Hub::open`), so the baseline writes over as many connections.
const CONNECTIONS: usize = 16;
const DESKS: i64 = 3;
const REGISTRARS: i64 = 4;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

fn ms(d: NaiveDate) -> i64 {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .timestamp_millis()
}

fn config(database: String, tz: &str, scale: u8) -> HubConfig {
    HubConfig {
        database,
        listen: "127.0.0.1:0".parse().unwrap(),
        time_zone: tz.parse().unwrap(),
        scale,
        min_ratings: 10,
        stale_after_ms: 600_000,
    }
}

/// An in-process hub serving on a free loopback port; its address.
async fn start_hub(hub: Arc<Hub>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(otklik_hub::serve(hub, listener, std::future::pending()));
    format!("http://{addr}")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let pg = pg::Postgres::start();
    println!(
        "Otklik network hub benchmark: PostgreSQL {} on 127.0.0.1:{} ({} CPUs)",
        pg.psql("postgres", "SHOW server_version"),
        pg.port,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    ingest(&pg).await;
    catch_up(&pg).await;
    month(&pg).await;
}

/// A rating of site `site`, number `k` (from 1), in November 2026.
struct Row {
    site: i32,
    id: i64,
    at: i64,
    desk: i64,
    registrar: i64,
    score: i16,
    seq: i64,
}

fn site_rows(site: i32, batches: u64) -> Vec<Row> {
    let start = ms(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap()) + 8 * 3_600_000;
    let first_seq = DESKS + REGISTRARS + 1;
    (1..=batches as i64 * PER_BATCH)
        .map(|k| Row {
            site,
            id: k,
            at: start + k * 20_000,
            desk: 1 + k % DESKS,
            registrar: 1 + (k / 25) % REGISTRARS,
            score: (1 + (k * 7 + i64::from(site)) % 5) as i16,
            seq: first_seq + k - 1,
        })
        .collect()
}

/// The site's batches as it would send them: its desks and registrars, then its ratings.
fn site_batches(rows: &[Row]) -> Vec<(i64, Vec<u8>)> {
    let mut events: Vec<Event> = Vec::new();
    let mut seq = 0;
    let mut push = |change| {
        seq += 1;
        events.push(Event { seq, change });
    };
    for id in 1..=DESKS {
        push(Change::Desk {
            id,
            name: format!("Desk {id}"),
            active: true,
        });
    }
    for id in 1..=REGISTRARS {
        push(Change::Registrar {
            id,
            name: format!("Registrar {} of site {}", id, rows[0].site),
            active: true,
            person_id: None,
        });
    }
    for r in rows {
        push(Change::Rating {
            id: r.id,
            desk_id: r.desk,
            score: r.score as u8,
            scale: 5,
            source: "button".into(),
            at: r.at,
            received_at: r.at + 40,
            registrar_id: Some(r.registrar),
            session_id: None,
        });
    }
    let head = (DESKS + REGISTRARS) as usize;
    let mut batches = Vec::new();
    let mut from = 0;
    while from < events.len() {
        // The first batch carries the desks and registrars ahead of its 100 ratings.
        let to = (from + PER_BATCH as usize + if from == 0 { head } else { 0 }).min(events.len());
        let batch = Batch {
            protocol: PROTOCOL,
            schema: 13,
            sent_at: now_ms(),
            time_zone: "Europe/Moscow".into(),
            events: events[from..to].to_vec(),
        };
        batches.push((
            events[to - 1].seq,
            serde_json::to_vec(&batch).expect("a batch serializes"),
        ));
        from = to;
    }
    batches
}

async fn ingest(pg: &pg::Postgres) {
    let batches = env_u64("OTKLIK_BENCH_BATCHES", 10);
    let total = SITES as u64 * batches * PER_BATCH as u64;
    let hub = Hub::open(config(pg.database("ingest"), "Europe/Moscow", 5))
        .await
        .expect("the hub opens");
    let mut loads = Vec::new();
    {
        let client = hub.pool.get().await.unwrap();
        for s in 1..=SITES {
            let (id, key) = sites::add(&client, &format!("Site {s}")).await.unwrap();
            loads.push((id, key));
        }
    }
    let rows: Vec<Vec<Row>> = loads
        .iter()
        .map(|(id, _)| site_rows(*id, batches))
        .collect();
    let bodies: Vec<Vec<(i64, Vec<u8>)>> = rows.iter().map(|r| site_batches(r)).collect();
    let bytes: usize = bodies.iter().flatten().map(|b| b.1.len()).sum();
    let url = format!("{}/hub/v1/ingest", start_hub(hub.clone()).await);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let gate = Arc::new(Semaphore::new(IN_FLIGHT));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for ((_, key), site) in loads.into_iter().zip(bodies) {
        let (http, url, gate) = (http.clone(), url.clone(), gate.clone());
        // A site sends its batches one after another; the sites all at once, 64 requests in flight.
        tasks.push(tokio::spawn(async move {
            for (last, body) in site {
                let _permit = gate.acquire().await.unwrap();
                let answer = http
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("the hub answers");
                let status = answer.status();
                let text = answer.text().await.unwrap();
                assert!(
                    status.is_success(),
                    "the hub refused a batch: {status} {text}"
                );
                let ack: Ack = serde_json::from_str(&text).unwrap();
                assert_eq!(ack.acked, last, "the hub acked another seq");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let hub_time = started.elapsed();
    let client = hub.pool.get().await.unwrap();
    let stored: i64 = client
        .query_one("SELECT COUNT(*) FROM ratings", &[])
        .await
        .unwrap()
        .get(0);
    let rolled: i64 = client
        .query_one("SELECT SUM(n)::bigint FROM daily", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (stored, rolled),
        (total as i64, total as i64),
        "every rating once in ratings and in the roll-up"
    );
    drop(client);
    let hub_rate = total as f64 / hub_time.as_secs_f64();
    println!(
        "hub ingest: {total} ratings from {SITES} sites in batches of {PER_BATCH} \
         ({:.1} MB of JSON, {IN_FLIGHT} requests in flight over HTTP): {:.2} s, {:.0} ratings/s",
        bytes as f64 / 1e6,
        hub_time.as_secs_f64(),
        hub_rate
    );

    // The baseline: the same rows, batch by batch, straight into `ratings` with COPY.
    let raw_url = pg.database("raw");
    let pool = db::pool(&raw_url, CONNECTIONS).unwrap();
    db::migrate(&pool).await.unwrap();
    pool.get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "CREATE TABLE ratings_2026_11 PARTITION OF ratings FOR VALUES FROM ({}) TO ({})",
            ms(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()),
            ms(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
        ))
        .await
        .unwrap();
    let pool = Arc::new(pool);
    let chunks: Vec<Vec<Row>> = rows
        .into_iter()
        .flat_map(|site| {
            let mut site = site.into_iter().peekable();
            let mut out = Vec::new();
            while site.peek().is_some() {
                out.push(site.by_ref().take(PER_BATCH as usize).collect::<Vec<_>>());
            }
            out
        })
        .collect();
    let gate = Arc::new(Semaphore::new(CONNECTIONS));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (pool, gate) = (pool.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            copy(&pool, &chunk).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let raw_time = started.elapsed();
    let raw_rate = total as f64 / raw_time.as_secs_f64();
    println!(
        "raw COPY into ratings (no roll-up, no HTTP; the same {total} rows, {PER_BATCH} a \
         transaction, {CONNECTIONS} connections): {:.2} s, {:.0} ratings/s",
        raw_time.as_secs_f64(),
        raw_rate
    );
    println!(
        "  hub ingest = {:.2}x the raw COPY rate",
        hub_rate / raw_rate
    );
}

async fn copy(pool: &Pool, rows: &[Row]) {
    let client = pool.get().await.unwrap();
    let sink = client
        .copy_in(
            "COPY ratings (site_id, id, at, desk_id, registrar_id, session_id, score, scale, \
             source, received_at, seq) FROM STDIN BINARY",
        )
        .await
        .unwrap();
    let writer = BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT4,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT2,
            Type::INT2,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
        ],
    );
    let mut writer = std::pin::pin!(writer);
    for r in rows {
        writer
            .as_mut()
            .write(&[
                &r.site,
                &r.id,
                &r.at,
                &r.desk,
                &Some(r.registrar),
                &None::<i64>,
                &r.score,
                &5i16,
                &"button",
                &(r.at + 40),
                &r.seq,
            ])
            .await
            .unwrap();
    }
    writer.finish().await.unwrap();
}

/// The site engine's binary: OTKLIK_BIN, or the workspace's debug build.
fn engine_bin() -> PathBuf {
    let bin = std::env::var_os("OTKLIK_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/otklik"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "no site engine at {}: `cargo build -p otklik` first, or set OTKLIK_BIN",
        bin.display()
    );
    bin
}

fn run(bin: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "otklik {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Kills the site engine however the bench ends.
struct Site(Child);

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn catch_up(pg: &pg::Postgres) {
    let ratings = env_u64("OTKLIK_BENCH_DAY_RATINGS", 5000);
    let bin = engine_bin();
    let parent = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&parent).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("network-catch-up")
        .tempdir_in(parent)
        .unwrap();
    let data = dir.path().to_str().unwrap();
    // Yesterday's working day (today's hours may not have begun): the day the site was offline.
    run(
        &bin,
        &[
            "demo",
            "--data-dir",
            data,
            "--ratings",
            &ratings.to_string(),
            "--days",
            "2",
        ],
    );
    let token = run(&bin, &["token", "--data-dir", data]).trim().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let site_url = format!("http://127.0.0.1:{port}");
    let _site = Site(
        Command::new(&bin)
            .args(["serve", "--data-dir", data, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let up = Instant::now();
    while http
        .get(format!("{site_url}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            up.elapsed() < Duration::from_secs(60),
            "the site engine did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let get = |path: String, token: String| {
        let http = http.clone();
        async move {
            let answer = http.get(&path).bearer_auth(token).send().await.unwrap();
            assert!(
                answer.status().is_success(),
                "GET {path}: {}",
                answer.status()
            );
            answer.json::<serde_json::Value>().await.unwrap()
        }
    };
    let today = Utc::now().date_naive();
    let (from, to) = (today - chrono::Days::new(2), today + chrono::Days::new(1));
    let bounds = format!(
        "from={}T00:00:00Z&to={}T00:00:00Z",
        from.format("%Y-%m-%d"),
        to.format("%Y-%m-%d")
    );
    let site_board = get(
        format!("{site_url}/api/v1/leaderboard?{bounds}"),
        token.clone(),
    )
    .await;
    let scale = site_board["scale"].as_u64().unwrap() as u8;

    // The demo's days are UTC ones; the hub counts its days in the same zone.
    let hub = Hub::open(config(pg.database("catch_up"), "Etc/UTC", scale))
        .await
        .unwrap();
    let (site_id, key) = sites::add(&hub.pool.get().await.unwrap(), "Offline site")
        .await
        .unwrap();
    let hub_token = otklik_hub::token(&hub.pool).await.unwrap();
    let hub_url = start_hub(hub.clone()).await;

    let started = Instant::now();
    let answer = http
        .put(format!("{site_url}/api/v1/uplink"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "hub_url": hub_url, "site_key": key }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "linking: {}", answer.status());
    let journaled = answer.json::<serde_json::Value>().await.unwrap()["link"]["backlog"]
        .as_u64()
        .unwrap();
    let uplink = loop {
        let u = get(format!("{site_url}/api/v1/uplink"), token.clone()).await;
        if u["link"]["backlog"].as_u64() == Some(0) {
            break u;
        }
        // A refusal will not pass by waiting (another protocol, a wrong key): say it now.
        if let Some(e) = u["state"]["last_error"].as_str()
            && e.starts_with("the hub refused")
        {
            panic!("the site's uplink: {e}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the site did not catch up in 10 minutes: {u}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = started.elapsed();
    let network = get(
        format!("{hub_url}/api/v1/network/sites?{bounds}"),
        hub_token,
    )
    .await;
    let at_hub = network
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site_id"].as_i64() == Some(i64::from(site_id)))
        .expect("the site in the hub's list")["totals"]
        .clone();
    assert_eq!(
        at_hub, site_board["totals"],
        "the hub's totals for the site differ from the site's own"
    );
    println!(
        "catch-up after a day offline: {} changes ({} ratings, {} counted) sent in {:.2} s \
         from link to an empty backlog; the hub's totals equal the site's",
        uplink["state"]["acked"],
        ratings,
        site_board["totals"]["count"],
        took.as_secs_f64()
    );
    assert_eq!(uplink["state"]["acked"].as_u64(), Some(journaled));
}

async fn month(pg: &pg::Postgres) {
    let total = env_u64("OTKLIK_BENCH_RATINGS", 50_000_000);
    let per_site = total.div_ceil(SITES as u64) as i64;
    let per_day = (per_site + 29) / 30;
    let url = pg.database("month");
    // A fill this size writes WAL many times over the default checkpoint distance.
    pg.psql(
        "month",
        "ALTER SYSTEM SET max_wal_size = '2GB'; ALTER SYSTEM SET checkpoint_timeout = '30min';
         SELECT pg_reload_conf();",
    );
    let pool = db::pool(&url, 2).unwrap();
    db::migrate(&pool).await.unwrap();
    let (first, next) = (
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    );
    let start = ms(first);
    let client = pool.get().await.unwrap();
    // 500 sites with 12 registrars each; 6000 registrars are 5000 people, so 1000 of them
    // work at two sites and rank once.
    client
        .batch_execute(&format!(
            "INSERT INTO sites (name, key_hash, created_at, time_zone)
             SELECT 'Site ' || s, sha256(s::text::bytea), 0, 'Etc/UTC'
             FROM generate_series(1, {SITES}) s;
             INSERT INTO people (name, created_at)
             SELECT 'Person ' || p, 0 FROM generate_series(1, 5000) p;
             INSERT INTO registrars (site_id, id, name, active, person_id)
             SELECT s, r, 'Registrar ' || r, true, ((s - 1) * 12 + r - 1) % 5000 + 1
             FROM generate_series(1, {SITES}) s, generate_series(1, 12) r;
             INSERT INTO desks (site_id, id, name, active)
             SELECT s, d, 'Desk ' || d, true FROM generate_series(1, {SITES}) s,
                                                  generate_series(1, 6) d;
             CREATE TABLE ratings_2026_11 PARTITION OF ratings
                 FOR VALUES FROM ({start}) TO ({});",
            ms(next)
        ))
        .await
        .unwrap();
    drop(client);
    let filled = Instant::now();
    // Sites in chunks, two statements at a time (two cores). Each site's day: its share of
    // the ratings over 08:00 to 20:00, registrars in runs of 50, mostly good scores, some
    // flagged and annulled.
    let chunk = 25;
    let statements: Vec<String> = (0..SITES / chunk)
        .map(|c| {
            let (s0, s1) = (c * chunk + 1, (c + 1) * chunk);
            format!(
                "INSERT INTO ratings (site_id, id, at, desk_id, registrar_id, session_id, score,
                                      scale, source, received_at, seq, flag, annulled)
                 SELECT s, k, at, 1 + r % 6, r, NULL, sc, 5, 'button', at + 40, k,
                        CASE WHEN k % 97 = 0 THEN 'burst' END, k % 331 = 0
                 FROM generate_series({s0}, {s1}) s, generate_series(1::bigint, {per_site}) k,
                      LATERAL (SELECT {start} + ((k - 1) / {per_day}) * 86400000 + 28800000
                                      + ((k - 1) % {per_day}) * (43200000 / {per_day}) AS at,
                                      1 + ((k / 50) + s) % 12 AS r,
                                      (k * 2654435761 + s * 40503) % 1000 AS h) x,
                      LATERAL (SELECT CASE WHEN h < 600 THEN 5 WHEN h < 800 THEN 4
                                           WHEN h < 900 THEN 3 WHEN h < 950 THEN 2
                                           ELSE 1 END::smallint AS sc) y;
                 INSERT INTO daily (site_id, day, registrar_id, desk_id, score, scale, state, n)
                 SELECT site_id, (to_timestamp(at / 1000.0) AT TIME ZONE 'Etc/UTC')::date,
                        COALESCE(registrar_id, 0), desk_id, score, scale,
                        CASE WHEN annulled THEN 'annulled' WHEN flag IS NOT NULL THEN 'flagged'
                             ELSE 'ok' END, COUNT(*)
                 FROM ratings_2026_11 WHERE site_id BETWEEN {s0} AND {s1}
                 GROUP BY 1, 2, 3, 4, 5, 6, 7;"
            )
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(statements.into_iter()));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (pool, queue) = (pool.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let client = pool.get().await.unwrap();
            loop {
                let next = queue.lock().unwrap().next();
                let Some(sql) = next else { break };
                client.batch_execute(&sql).await.unwrap();
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let client = pool.get().await.unwrap();
    client
        .batch_execute("ANALYZE ratings_2026_11; ANALYZE daily; CHECKPOINT")
        .await
        .unwrap();
    let fill = filled.elapsed();
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let ratings = count("SELECT COUNT(*) FROM ratings").await;
    let daily = count("SELECT COUNT(*) FROM daily").await;
    let rolled = count("SELECT SUM(n)::bigint FROM daily").await;
    assert_eq!(rolled, ratings, "the roll-up counts every rating once");
    let size = count("SELECT pg_database_size(current_database())").await;
    println!(
        "month report: filled {ratings} ratings ({SITES} sites x 12 registrars, November 2026) \
         and {daily} daily rows with SQL in {:.0} s; database {:.1} GB",
        fill.as_secs_f64(),
        size as f64 / 1e9
    );
    let scope = Scope {
        span: Span {
            from: start,
            to: ms(next),
        },
        period: None,
        site: None,
    };
    let tz: chrono_tz::Tz = "Etc/UTC".parse().unwrap();
    let mut times = Vec::new();
    let mut board = None;
    for _ in 0..5 {
        let t = Instant::now();
        board = Some(board::leaderboard(&client, scope, tz, 5, 10).await.unwrap());
        times.push(t.elapsed());
    }
    let board = board.unwrap();
    let first_run = times[0];
    println!(
        "network leaderboard, month: {} people, {} ratings counted: first {:.0} ms, median of 5 \
         {:.0} ms",
        board.entries.len(),
        board.totals.count,
        first_run.as_secs_f64() * 1e3,
        median(times).as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        totals = board::by_site(&client, scope, tz, 5).await.unwrap();
        times.push(t.elapsed());
    }
    let counted: u64 = totals.iter().map(|s| s.totals.count).sum();
    assert_eq!(
        counted, board.totals.count,
        "the sites' totals add up to the network's"
    );
    println!(
        "per-site totals, month: {} sites: first {:.0} ms, median of 5 {:.0} ms",
        totals.len(),
        times[0].as_secs_f64() * 1e3,
        median(times).as_secs_f64() * 1e3
    );
}
