//! The brake on guessing: how many wrong guesses it lets through.
//! Run: `cargo bench -p otklik-api --bench brake` (`OTKLIK_BRAKE_SECS` sets the HTTP window,
//! 60 s by default).
//!
//! Per address: one device hammers the console login with wrong passwords through the real HTTP
//! server (from this machine's LAN address, so the engine sees a LAN peer; loopback if there is
//! none), as fast as it can, for the window. Counted: guesses checked (403) and refused (429).
//! The figures beyond the window (the first hour, the steady rate) come from the engine's own
//! `Guard` driven with a simulated clock, as do those for a target guessed at from 1000 addresses.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use otklik_api::Server;
use otklik_domain::time::Millis;
use otklik_engine::Engine;
use otklik_store::access::{Guard, PER_ADDRESS, PER_TARGET};
use serde_json::json;

const ADDRESSES: u32 = 1000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;

fn main() {
    let secs: u64 = std::env::var("OTKLIK_BRAKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    println!(
        "policy: per address {} free, then waits from {} s doubling to {} min; per target {} free, then the same; the reception PC is never refused per target",
        PER_ADDRESS.free,
        PER_ADDRESS.first_wait_ms / 1000,
        PER_ADDRESS.max_wait_ms / MINUTE,
        PER_TARGET.free
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (from, checked, refused) = rt.block_on(over_http(Duration::from_secs(secs)));
    let after_free = checked.saturating_sub(PER_ADDRESS.free as usize);
    println!(
        "per address: {} attempts/min held after the first {} (HTTP from {from}, {secs} s: {checked} checked, {refused} refused with 429)",
        after_free as f64 * 60.0 / secs as f64,
        PER_ADDRESS.free
    );

    let one = |n| vec![lan(n)];
    let (first_min, first_hour, steady) = simulate(&one(1), 25 * HOUR);
    println!(
        "per address (simulated): {} in the first minute, {first_hour} in the first hour, then {steady}/hour",
        first_min
    );
    let many: Vec<IpAddr> = (0..ADDRESSES).map(lan).collect();
    let (first_min, first_hour, steady) = simulate(&many, 25 * HOUR);
    println!(
        "per target: {} attempts/min from {ADDRESSES} addresses after the first {} ({first_min} in the first minute, {first_hour} in the first hour, then {steady}/hour)",
        first_min.saturating_sub(PER_TARGET.free as usize),
        PER_TARGET.free
    );
}

fn lan(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
}

/// Every address guesses wrong at one target as often as it is let (each 100 ms): how many were
/// checked in the first minute, the first hour, and in the last hour of `span`.
fn simulate(addresses: &[IpAddr], span: Millis) -> (usize, usize, usize) {
    let g = Guard::default();
    let (mut first_min, mut first_hour, mut last_hour) = (0, 0, 0);
    // Refused addresses are only asked again when the brake can have changed its mind: at the
    // next step where something passed, or each second.
    let mut now: Millis = 0;
    while now < span {
        let mut passed = 0;
        for &ip in addresses {
            if let Ok(a) = g.reserve("console:руководитель", ip, now) {
                g.settle(a, false);
                passed += 1;
            }
        }
        if now < MINUTE {
            first_min += passed;
        }
        if now < HOUR {
            first_hour += passed;
        }
        if now >= span - HOUR {
            last_hour += passed;
        }
        now += if now < MINUTE || addresses.len() == 1 {
            100
        } else {
            1000
        };
    }
    (first_min, first_hour, last_hour)
}

/// One device's wrong console logins through the real server for `window`.
async fn over_http(window: Duration) -> (IpAddr, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let from = lan_ip();
    let listen: SocketAddr = if from.is_loopback() {
        "127.0.0.1:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .unwrap();
    let server = Server::start(engine, listen).await.unwrap();
    let base = format!("http://{}", SocketAddr::new(from, server.addr.port()));
    let token = otklik_store::token::load_or_create(dir.path()).unwrap();
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/console/password"))
        .bearer_auth(&token)
        .json(&json!({ "password": "верный-пароль" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (mut checked, mut refused) = (0, 0);
    let end = Instant::now() + window;
    while Instant::now() < end {
        let r = http
            .post(format!("{base}/api/v1/console/login"))
            .json(&json!({ "name": "Руководитель", "password": "угадаю" }))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            403 => checked += 1,
            429 => refused += 1,
            s => panic!("unexpected {s}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
    (from, checked, refused)
}

/// This machine's first non-loopback IPv4 address, to play a LAN device; loopback without one.
fn lan_ip() -> IpAddr {
    std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .skip_while(|w| *w != "inet")
                .nth(1)
                .and_then(|cidr| cidr.split('/').next())
                .and_then(|ip| ip.parse().ok())
        })
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}
