//! Shared helpers: an engine on a real port over a real file, and a small JSON client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use otklik_api::Server;
use otklik_engine::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

pub struct App {
    pub server: Option<Server>,
    /// With `OTKLIK_TEST_BIN` set, the engine is `otklik serve` in this child process instead.
    pub child: Option<tokio::process::Child>,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    pub dir: TempDir,
}

impl App {
    pub async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        App::start_in(dir).await
    }

    pub async fn start_in(dir: TempDir) -> App {
        App::start_at(dir, "127.0.0.1:0".parse().unwrap(), None).await
    }

    /// An engine in this process on a given loopback address: one started again where another
    /// engine's link points (a desk PC's reception). Retries while the port is still held.
    pub async fn start_on(dir: TempDir, addr: SocketAddr) -> App {
        for _ in 0..50 {
            if std::net::TcpListener::bind(addr).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        App::start_at(dir, addr, None).await
    }

    /// An engine open to the LAN (`0.0.0.0`), reached through this machine's own non-loopback
    /// address, so the engine sees a LAN peer (the packets still never leave the machine).
    /// `None` when the machine has no such address.
    pub async fn start_lan() -> Option<App> {
        let ip = lan_ip()?;
        let dir = tempfile::tempdir().unwrap();
        Some(App::start_at(dir, "0.0.0.0:0".parse().unwrap(), Some(ip)).await)
    }

    async fn start_at(dir: TempDir, listen: SocketAddr, via: Option<std::net::IpAddr>) -> App {
        if std::env::var_os(TEST_BIN).is_some() && via.is_none() && listen.port() == 0 {
            let token = otklik_store::token::load_or_create(dir.path()).unwrap();
            let (child, addr) = spawn_serve(dir.path(), &token).await;
            return App {
                base: format!("http://{addr}"),
                server: None,
                child: Some(child),
                token,
                http: reqwest::Client::new(),
                dir,
            };
        }
        let engine = Engine::open(dir.path()).expect("engine opens");
        let server = Server::start(engine, listen).await.expect("server starts");
        let token = otklik_store::token::load_or_create(dir.path()).unwrap();
        let addr = match via {
            Some(ip) => SocketAddr::new(ip, server.addr.port()),
            None => server.addr,
        };
        App {
            base: format!("http://{addr}"),
            server: Some(server),
            child: None,
            token,
            http: reqwest::Client::new(),
            dir,
        }
    }

    /// Stops the server and returns the data directory, to start again over the same file.
    pub async fn stop(mut self) -> TempDir {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        // Killed, not asked to stop: what the API acknowledged must be on disk anyway.
        if let Some(mut c) = self.child.take() {
            c.kill().await.expect("otklik serve is killed");
        }
        self.dir
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("otklik.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    /// A request as a screen without the API token makes it (a panel, a LAN browser).
    pub async fn post_as(
        &self,
        bearer: Option<&str>,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .put(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    /// Polls `f` until it gives `Some`, or fails the test naming `what` after `secs` seconds.
    pub async fn until<T, F, Fut>(&self, what: &str, secs: u64, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            assert!(
                std::time::Instant::now() < end,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn registrar(&self, name: &str) -> i64 {
        let (s, b) = self
            .post("/api/v1/registrars", json!({ "name": name }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().unwrap()
    }

    pub async fn desk(&self, name: &str) -> i64 {
        let (s, b) = self.post("/api/v1/desks", json!({ "name": name })).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().unwrap()
    }

    /// Pairs a panel at `desk` in `role` as a LAN device would (a code from the console, then
    /// the pairing call with no token); its bearer token.
    pub async fn pair_panel(&self, desk: i64, role: &str) -> String {
        let (_, code) = self
            .post(
                &format!("/api/v1/desks/{desk}/pairing"),
                json!({ "role": role }),
            )
            .await;
        let (s, paired) = self
            .post_as(None, "/api/v1/panels/pair", json!({ "code": code["code"] }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{paired}");
        paired["token"].as_str().unwrap().to_string()
    }

    pub async fn start_session(&self, desk: i64, registrar: i64) -> Value {
        let (s, b) = self
            .post(
                &format!("/api/v1/desks/{desk}/session"),
                json!({ "registrar_id": registrar }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    pub async fn rate(&self, desk: i64, score: i64) -> Value {
        let (s, b) = self
            .post(
                "/api/v1/ratings",
                json!({ "desk_id": desk, "score": score }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b
    }

    /// Every stored rating, following the pages.
    pub async fn all_ratings(&self) -> Vec<Value> {
        all_ratings(&self.http, &self.base, &self.token).await
    }
}

pub async fn all_ratings(http: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page: Value = http
            .get(format!("{base}/api/v1/ratings?limit=1000&after_id={after}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after_id"].as_i64() {
            Some(next) => after = next,
            None => return out,
        }
    }
}

/// Names another program to test instead of the `otklik` Cargo built: tests/windows/run.sh sets
/// it to otklik.exe under Wine. Then `App` runs `otklik serve` as a child process too.
const TEST_BIN: &str = "OTKLIK_TEST_BIN";

/// The `otklik` binary, built by Cargo for these tests, or the one `OTKLIK_TEST_BIN` names.
pub fn otklik_bin() -> String {
    std::env::var(TEST_BIN).unwrap_or_else(|_| env!("CARGO_BIN_EXE_otklik").to_string())
}

/// A path of this machine as a setting the engine under test takes: under Wine
/// (`OTKLIK_TEST_DRIVE=Z:`, the drive Wine maps to `/`) a full Windows path, which is what the
/// engine asks of a folder setting there.
pub fn engine_path(path: &Path) -> String {
    match std::env::var("OTKLIK_TEST_DRIVE") {
        Ok(drive) => format!("{drive}{}", path.display()).replace('/', "\\"),
        Err(_) => path.display().to_string(),
    }
}

/// Starts `otklik serve` as a child process on a free port and returns it with its address.
pub async fn spawn_serve(data_dir: &Path, token: &str) -> (tokio::process::Child, SocketAddr) {
    spawn_serve_with(data_dir, token, &[]).await
}

/// As `spawn_serve`, with extra environment (an X display, say).
pub async fn spawn_serve_with(
    data_dir: &Path,
    token: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(otklik_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("OTKLIK_API_TOKEN", token)
        .env("OTKLIK_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("otklik serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("otklik serve prints its address")
        .unwrap()
        .expect("a line");
    let addr = line
        .rsplit("http://")
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("an address");
    (child, addr)
}

/// This machine's first non-loopback IPv4 address (`ip -4 -o addr`), to play a LAN device.
pub fn lan_ip() -> Option<std::net::IpAddr> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|ip| ip.parse().ok())
}
