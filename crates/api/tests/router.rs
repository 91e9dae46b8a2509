//! The router without a port: each request goes straight into it (tower's `oneshot`), with the
//! client's address set by `MockConnectInfo`, so what a LAN device may do is tested on any
//! machine, whatever its network (tests/api/lan.rs does the same over a real socket where the
//! machine has a LAN address).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, StatusCode, header};
use otklik_engine::Engine;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A patient's phone on the clinic's Wi-Fi.
const LAN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 50)), 51000);
/// The reception PC itself.
const HERE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 51000);
const HOST: &str = "127.0.0.1:8787";

struct Rig {
    engine: Arc<Engine>,
    token: String,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let token = otklik_store::token::load_or_create(dir.path()).unwrap();
    Rig {
        engine,
        token,
        _dir: dir,
    }
}

impl Rig {
    async fn call(&self, from: SocketAddr, req: Request<Body>) -> (StatusCode, Value) {
        // Listening on every interface, as a reception PC serving wall displays does.
        let app = otklik_api::router(self.engine.clone(), IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            .layer(MockConnectInfo(from));
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn get(&self, path: &str, token: bool) -> Request<Body> {
        let mut req = Request::get(path).header(header::HOST, HOST);
        if token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        req.body(Body::empty()).unwrap()
    }

    fn post(&self, path: &str, body: Value, token: bool) -> Request<Body> {
        let mut req = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/json");
        if token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        req.body(Body::from(body.to_string())).unwrap()
    }

    async fn desk(&self, name: &str) -> i64 {
        let (s, b) = self
            .call(
                HERE,
                self.post("/api/v1/desks", json!({ "name": name }), true),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_from_the_lan_needs_the_token_and_from_the_pc_does_not() {
    let rig = rig();
    let (s, b) = rig.call(LAN, rig.get("/healthz", false)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b.get("components").is_none(), "{b}");
    let (s, b) = rig.call(LAN, rig.get("/healthz", true)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["database"]["state"], "ok", "{b}");
    let (s, b) = rig.call(HERE, rig.get("/healthz", false)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_host_name_is_refused_from_anywhere() {
    let rig = rig();
    for from in [LAN, HERE] {
        let req = Request::get("/api/v1/settings/public")
            .header(header::HOST, "rebound.attacker.example")
            .body(Body::empty())
            .unwrap();
        let (s, b) = rig.call(from, req).await;
        assert_eq!(s, StatusCode::MISDIRECTED_REQUEST, "{from}: {b}");
    }
    let (s, _) = rig
        .call(LAN, rig.get("/api/v1/settings/public", false))
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tap_from_the_lan_needs_a_paired_panel_and_stores_nothing() {
    let rig = rig();
    let desk = rig.desk("Окно 1").await;
    let tap = format!("/api/v1/desks/{desk}/tap");
    let (s, b) = rig
        .call(LAN, rig.post(&tap, json!({ "score": 1 }), false))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert!(b["error"].as_str().unwrap().contains("not paired"), "{b}");
    let (_, ratings) = rig.call(HERE, rig.get("/api/v1/ratings", true)).await;
    assert_eq!(
        ratings["items"].as_array().map(Vec::len),
        Some(0),
        "{ratings}"
    );
    // The reception PC's own patient panel (loopback) needs no pairing.
    let (s, b) = rig
        .call(HERE, rig.post(&tap, json!({ "score": 3 }), false))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_from_another_origin_is_refused_even_with_the_token() {
    let rig = rig();
    let mut req = rig.post("/api/v1/desks", json!({ "name": "Окно 9" }), true);
    req.headers_mut().insert(
        header::ORIGIN,
        "http://rebound.attacker.example".parse().unwrap(),
    );
    let (s, b) = rig.call(HERE, req).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (_, desks) = rig.call(HERE, rig.get("/api/v1/desks", true)).await;
    assert_eq!(desks.as_array().map(Vec::len), Some(0), "{desks}");
}
