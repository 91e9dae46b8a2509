//! The network hub end to end, every part a real process: PostgreSQL from Debian's packages, the
//! hub (`otklik hub serve`), three sites (`otklik serve`) linked to it through a loopback proxy
//! that can refuse or slow the traffic, and a desk PC forwarding to the first site. The hub is stopped, refused, slowed and killed; a
//! site is killed mid-stream. Every rating a site acknowledged must reach the hub exactly once,
//! in the site's order, and the network's figures must equal the sum of the sites'.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::common::{otklik_bin, spawn_serve};
use crate::pg::Postgres;

const ZONE: &str = "Europe/Moscow";

/// What the proxy between the sites and the hub does with traffic.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    Pass = 0,
    /// Every connection is closed at once, open ones included: a firewall cutting the link.
    Refuse = 1,
    /// Every chunk waits before it is passed on: a congested line.
    Slow = 2,
}

struct Proxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    /// Bumped on every change of mode: open connections end and reconnect under the new one.
    changed: watch::Sender<u64>,
}

impl Proxy {
    async fn start(to: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let (changed, _) = watch::channel(0u64);
        let (m, c) = (mode.clone(), changed.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let mode = m.load(Ordering::SeqCst);
                if mode == Mode::Refuse as u8 {
                    drop(client);
                    continue;
                }
                let slow = mode == Mode::Slow as u8;
                let mut cut = c.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(to).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        _ = pipe(cr, sw, slow) => {}
                        _ = pipe(sr, cw, slow) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            mode,
            changed,
        }
    }

    fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        self.changed.send_modify(|g| *g += 1);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    slow: bool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if slow {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Runs `otklik hub …` to the end; its stdout.
async fn hub_cli(database: &str, args: &[&str]) -> String {
    let out = Command::new(otklik_bin())
        .arg("hub")
        .args(args)
        .args(["--database", database])
        .env("OTKLIK_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "otklik hub {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `otklik hub serve` on `listen`, once it says it listens.
async fn start_hub(database: &str, listen: SocketAddr) -> Child {
    let mut child = Command::new(otklik_bin())
        .args(["hub", "serve", "--database", database, "--time-zone", ZONE])
        .arg("--listen")
        .arg(listen.to_string())
        .env("OTKLIK_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the hub says where it listens")
        .unwrap()
        .expect("a line");
    assert!(line.contains(&listen.to_string()), "{line}");
    child
}

/// A site engine as a process, with its API token.
struct Site {
    name: &'static str,
    dir: tempfile::TempDir,
    token: String,
    child: Option<Child>,
    base: String,
    http: reqwest::Client,
    desks: Vec<i64>,
    /// Ids of the ratings this site answered 201 for.
    acknowledged: Vec<i64>,
}

impl Site {
    async fn start(name: &'static str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let token = otklik_store::token::load_or_create(dir.path()).unwrap();
        let mut site = Site {
            name,
            dir,
            token,
            child: None,
            base: String::new(),
            http: reqwest::Client::new(),
            desks: Vec::new(),
            acknowledged: Vec::new(),
        };
        site.spawn().await;
        site
    }

    async fn spawn(&mut self) {
        let (child, addr) = spawn_serve(self.dir.path(), &self.token).await;
        self.child = Some(child);
        self.base = format!("http://{addr}");
    }

    /// kill -9, mid-whatever it was doing.
    async fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the site answers");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, b) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(s.is_success(), "{} POST {path}: {s} {b}", self.name);
        b
    }

    /// Two desks with registrars on shift, and a third desk nobody works at.
    async fn staff(&mut self) {
        let (s, b) = self
            .call(
                reqwest::Method::PATCH,
                "/api/v1/settings",
                Some(json!({ "timezone": ZONE })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        for i in 1..=3 {
            let desk = self
                .post("/api/v1/desks", json!({ "name": format!("Окно {i}") }))
                .await["id"]
                .as_i64()
                .unwrap();
            self.desks.push(desk);
            if i < 3 {
                let r = self
                    .post(
                        "/api/v1/registrars",
                        json!({ "name": format!("{} регистратор {i}", self.name) }),
                    )
                    .await["id"]
                    .as_i64()
                    .unwrap();
                self.post(
                    &format!("/api/v1/desks/{desk}/session"),
                    json!({ "registrar_id": r }),
                )
                .await;
            }
        }
    }

    /// `n` ratings spread over the desks and scores.
    async fn rate(&mut self, n: usize) {
        for i in 0..n {
            let desk = self.desks[(self.acknowledged.len() + i) % self.desks.len()];
            let score = 1 + ((self.acknowledged.len() * 7 + i * 3) % 3) as i64;
            let b = self
                .post(
                    "/api/v1/ratings",
                    json!({ "desk_id": desk, "score": score, "source": "button" }),
                )
                .await;
            self.acknowledged.push(b["id"].as_i64().unwrap());
        }
    }

    async fn link(&self, hub_url: &str, key: &str) {
        let (s, b) = self
            .call(
                reqwest::Method::PUT,
                "/api/v1/uplink",
                Some(json!({ "hub_url": hub_url, "site_key": key })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    async fn backlog(&self) -> (u64, Value) {
        let (s, b) = self
            .call(reqwest::Method::GET, "/api/v1/uplink", None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        (b["link"]["backlog"].as_u64().unwrap(), b)
    }

    async fn totals(&self, from: &str, to: &str) -> Value {
        let (s, b) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/leaderboard?from={from}&to={to}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b["totals"].clone()
    }
}

/// Waits until every site has sent everything (or fails naming the site and its link state).
async fn drained(sites: &[Site], secs: u64) {
    let end = std::time::Instant::now() + Duration::from_secs(secs);
    for site in sites {
        loop {
            let (backlog, state) = site.backlog().await;
            if backlog == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < end,
                "{}: {backlog} changes still unsent: {state}",
                site.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn db_ids(path: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM ratings ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_rating_reaches_the_hub_once_in_order_through_outages() {
    let pg = Postgres::start();
    let database = pg.database("network");
    let mut keys = Vec::new();
    for name in ["Поликлиника 1", "Поликлиника 2", "Филиал 3"] {
        let out = hub_cli(&database, &["add-site", name]).await;
        keys.push(out.lines().last().unwrap().trim().to_string());
    }
    // Registered, never heard from: the hub lists it as silent.
    hub_cli(&database, &["add-site", "Новый филиал"]).await;
    let hub_addr = free_addr();
    let mut hub = start_hub(&database, hub_addr).await;
    let proxy = Proxy::start(hub_addr).await;
    let hub_url = format!("http://{}", proxy.addr);

    let mut sites = Vec::new();
    for name in ["P1", "P2", "F3"] {
        let mut site = Site::start(name).await;
        site.staff().await;
        sites.push(site);
    }
    // A desk PC at the first site's first desk, paired with a code from that site's console.
    let mut desk_pc = Site::start("D1").await;
    let local = desk_pc
        .post("/api/v1/desks", json!({ "name": "Окно" }))
        .await["id"]
        .as_i64()
        .unwrap();
    desk_pc.desks.push(local);
    let code = sites[0]
        .post(
            &format!("/api/v1/desks/{}/pairing", sites[0].desks[0]),
            json!({ "role": "desk_pc" }),
        )
        .await;
    desk_pc
        .post(
            "/api/v1/desk-pc/pair",
            json!({ "reception_url": sites[0].base, "code": code["code"] }),
        )
        .await;
    desk_pc.rate(10).await;
    // Ratings before the link travel too: the first link sends the history.
    sites[0].rate(20).await;
    for (site, key) in sites.iter().zip(&keys) {
        site.link(&hub_url, key).await;
    }
    for site in sites.iter_mut() {
        site.rate(20).await;
    }
    drained(&sites, 60).await;

    // The hub stopped: the sites keep taking ratings, and send them when it is back.
    hub.start_kill().unwrap();
    hub.wait().await.unwrap();
    for site in sites.iter_mut() {
        site.rate(30).await;
    }
    assert!(
        sites[1].backlog().await.0 > 0,
        "nothing can be sent while the hub is down"
    );
    hub = start_hub(&database, hub_addr).await;
    drained(&sites, 90).await;

    // Refused like a firewall would: then let through again.
    proxy.set(Mode::Refuse);
    for site in sites.iter_mut() {
        site.rate(25).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (backlog, state) = sites[2].backlog().await;
    assert!(backlog > 0, "{state}");
    assert!(
        state["state"]["last_error"].is_string(),
        "the console says why nothing goes: {state}"
    );
    let link_health = |site: &Site| {
        let site = (site.http.clone(), site.base.clone(), site.token.clone());
        async move {
            let health: Value = site
                .0
                .get(format!("{}/healthz", site.1))
                .bearer_auth(site.2)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            health["components"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == "link:hub")
                .cloned()
                .unwrap_or_else(|| panic!("no link:hub in {health}"))
        }
    };
    let down = link_health(&sites[2]).await;
    assert_eq!(down["state"], "down", "{down}");
    proxy.set(Mode::Pass);
    drained(&sites, 90).await;
    let up = link_health(&sites[2]).await;
    assert_eq!(up["state"], "ok", "{up}");

    // A congested line: slow, but everything arrives, once.
    proxy.set(Mode::Slow);
    for site in sites.iter_mut() {
        site.rate(25).await;
    }
    drained(&sites, 120).await;
    proxy.set(Mode::Pass);

    // A site killed mid-stream: a backlog built up behind a stopped hub, the hub back on a slow
    // line so the batch is still in flight, the site killed, then restarted on its file.
    hub.start_kill().unwrap();
    hub.wait().await.unwrap();
    sites[1].rate(400).await;
    proxy.set(Mode::Slow);
    hub = start_hub(&database, hub_addr).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sites[1].backlog().await.0 > 0,
        "the batch is still on its way"
    );
    sites[1].kill().await;
    sites[1].spawn().await;
    sites[1].rate(10).await;

    // The hub killed mid-stream, while a site's batch is on its way to it.
    sites[2].rate(400).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        sites[2].backlog().await.0 > 0,
        "the batch is still on its way"
    );
    hub.start_kill().unwrap();
    hub.wait().await.unwrap();
    hub = start_hub(&database, hub_addr).await;
    proxy.set(Mode::Pass);
    desk_pc.rate(10).await;
    // An annulment travels like any change: the hub leaves the rating out of its figures.
    let annulled = sites[0].acknowledged[3];
    sites[0]
        .post(
            &format!("/api/v1/ratings/{annulled}/annul"),
            json!({ "reason": "сотрудник нажал сам" }),
        )
        .await;
    // The desk PC's presses went to its site first, then on with the site's own.
    drained(std::slice::from_ref(&desk_pc), 60).await;
    drained(&sites, 120).await;
    let forwarded: i64 = rusqlite::Connection::open(sites[0].dir.path().join("otklik.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM desk_pc_ratings", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        forwarded as usize,
        desk_pc.acknowledged.len(),
        "each desk PC press once"
    );

    let hub_token = hub_cli(&database, &["token"]).await.trim().to_string();
    let http = reqwest::Client::new();
    let hub_get = |path: String| {
        let (http, token) = (http.clone(), hub_token.clone());
        async move {
            let resp = http
                .get(format!("http://{hub_addr}{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.json::<Value>().await.unwrap()
        }
    };
    let sites_list = hub_get("/hub/v1/sites".into()).await;
    let stale: Vec<&Value> = sites_list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stale"] == true)
        .map(|s| &s["name"])
        .collect();
    assert_eq!(stale, ["Новый филиал"], "{sites_list}");
    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let to = (now + chrono::Duration::days(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut sum = [0u64; 3];
    for (i, site) in sites.iter().enumerate() {
        // Exactly the site's ratings, each once, in the order the site made them.
        let hub_id = sites_list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == ["Поликлиника 1", "Поликлиника 2", "Филиал 3"][i])
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let at_hub: Vec<i64> = pg
            .psql(
                "network",
                &format!("SELECT id FROM ratings WHERE site_id = {hub_id} ORDER BY seq"),
            )
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        let at_site = db_ids(&site.dir.path().join("otklik.db"));
        assert_eq!(
            at_hub, at_site,
            "{}: the hub has what the site has, in its order",
            site.name
        );
        for id in &site.acknowledged {
            assert!(
                at_site.contains(id),
                "{}: acknowledged rating {id} was lost",
                site.name
            );
        }
        let site_totals = site.totals(&from, &to).await;
        let hub_totals = &hub_get(format!(
            "/api/v1/network/sites?site={hub_id}&from={from}&to={to}"
        ))
        .await[0]["totals"];
        for (k, field) in ["count", "unassigned", "flagged"].iter().enumerate() {
            assert_eq!(
                hub_totals[field], site_totals[field],
                "{}: {field} at the hub {hub_totals} and at the site {site_totals}",
                site.name
            );
            sum[k] += site_totals[field].as_u64().unwrap();
        }
        assert_eq!(hub_totals["levels"], site_totals["levels"], "{}", site.name);
    }
    let network = hub_get(format!("/api/v1/leaderboard?from={from}&to={to}")).await;
    assert_eq!(
        [
            network["totals"]["count"].as_u64().unwrap(),
            network["totals"]["unassigned"].as_u64().unwrap(),
            network["totals"]["flagged"].as_u64().unwrap(),
        ],
        [sum[0], sum[1], sum[2]],
        "the network's figures are the sum of the sites': {network}"
    );
    // Six registrars over three sites, each their own person.
    assert_eq!(network["entries"].as_array().unwrap().len(), 6, "{network}");
    drop(hub);
}

#[tokio::test]
async fn the_hub_refuses_what_it_cannot_trust() {
    let pg = Postgres::start();
    let database = pg.database("refusals");
    let key = hub_cli(&database, &["add-site", "Поликлиника"]).await;
    let key = key.lines().last().unwrap().trim().to_string();
    let addr = free_addr();
    let _hub = start_hub(&database, addr).await;
    let http = reqwest::Client::new();
    let ingest = |bearer: Option<String>, body: String| {
        let http = http.clone();
        async move {
            let mut req = http
                .post(format!("http://{addr}/hub/v1/ingest"))
                .header("content-type", "application/json")
                .body(body);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let batch = |first: i64, n: i64| {
        json!({
            "protocol": 1, "schema": 13, "sent_at": chrono::Utc::now().timestamp_millis(),
            "time_zone": ZONE,
            "events": (first..first + n).map(|seq| json!({
                "seq": seq,
                "change": { "kind": "desk", "id": seq, "name": format!("Окно {seq}"), "active": true }
            })).collect::<Vec<_>>(),
        })
        .to_string()
    };
    // No key, a made-up key, the hub token in place of a site key: refused, nothing stored.
    let (s, b) = ingest(None, batch(1, 2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let (s, b) = ingest(Some("otk_site_00".into()), batch(1, 2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    let hub_token = hub_cli(&database, &["token"]).await.trim().to_string();
    let (s, b) = ingest(Some(hub_token.clone()), batch(1, 2)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    assert_eq!(pg.psql("refusals", "SELECT count(*) FROM desks"), "0");

    // A good batch, then the same again (a lost answer): applied once.
    let (s, b) = ingest(Some(key.clone()), batch(1, 3)).await;
    assert_eq!((s, b["acked"].as_i64()), (StatusCode::OK, Some(3)), "{b}");
    let (s, b) = ingest(Some(key.clone()), batch(2, 3)).await;
    assert_eq!((s, b["acked"].as_i64()), (StatusCode::OK, Some(4)), "{b}");
    assert_eq!(pg.psql("refusals", "SELECT count(*) FROM desks"), "4");
    // A hole: refused with the seq the hub expects.
    let (s, b) = ingest(Some(key.clone()), batch(7, 1)).await;
    assert_eq!(
        (s, b["expected"].as_i64()),
        (StatusCode::CONFLICT, Some(5)),
        "{b}"
    );

    // Bodies the hub cannot apply: named, nothing changed.
    let bad = [
        (batch(5, 1).replace("\"protocol\":1", "\"protocol\":9"), "protocol"),
        (batch(5, 1).replace(ZONE, "Mars/Olympus"), "time_zone"),
        (batch(5, 1).replace("\"desk\"", "\"spaceship\""), "events[0].change"),
        (
            json!({"protocol":1,"schema":13,"sent_at":0,"time_zone":ZONE,"events":[
                {"seq":5,"change":{"kind":"rating","id":1,"desk_id":1,"score":4,"scale":3,"source":"button",
                 "at":0,"received_at":0,"registrar_id":null,"session_id":null}}]})
            .to_string(),
            "score",
        ),
        ("{\"protocol\": 1".into(), "EOF"),
    ];
    for (body, names) in bad {
        let (s, b) = ingest(Some(key.clone()), body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {b}");
        assert!(b["error"].as_str().unwrap().contains(names), "{names}: {b}");
    }
    assert_eq!(pg.psql("refusals", "SELECT last_seq FROM sites"), "4");

    // The figures are the hub token's only: a site key does not read them.
    for bearer in [None, Some(key.as_str())] {
        let mut req = http.get(format!("http://{addr}/api/v1/leaderboard"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        assert_eq!(req.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let resp = http
        .get(format!("http://{addr}/api/v1/leaderboard?period=week"))
        .bearer_auth(&hub_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registrar_at_two_sites_is_one_person_and_a_template_goes_to_every_site() {
    let pg = Postgres::start();
    let database = pg.database("roster");
    let mut keys = Vec::new();
    for name in ["Центральная", "Филиал"] {
        let out = hub_cli(&database, &["add-site", name]).await;
        keys.push(out.lines().last().unwrap().trim().to_string());
    }
    let hub_addr = free_addr();
    let _hub = start_hub(&database, hub_addr).await;
    let hub_url = format!("http://{hub_addr}");
    let hub_token = hub_cli(&database, &["token"]).await.trim().to_string();
    let http = reqwest::Client::new();
    let hub = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{hub_url}{path}"))
            .bearer_auth(&hub_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };

    // Анна works at both sites; each site knows her as its own registrar.
    let mut sites = Vec::new();
    let mut anna = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let mut site = Site::start(["A", "B"][i]).await;
        site.staff().await;
        let id = site
            .post("/api/v1/registrars", json!({ "name": "Анна Смирнова" }))
            .await["id"]
            .as_i64()
            .unwrap();
        site.post(
            &format!("/api/v1/desks/{}/session", site.desks[2]),
            json!({ "registrar_id": id }),
        )
        .await;
        anna.push(id);
        site.link(&hub_url, key).await;
        site.rate(12).await;
        sites.push(site);
    }
    drained(&sites, 60).await;
    let (_, people) = hub(reqwest::Method::GET, "/hub/v1/people", None).await;
    let annas: Vec<&Value> = people
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "Анна Смирнова")
        .collect();
    assert_eq!(
        annas.len(),
        2,
        "two people until someone says otherwise: {people}"
    );
    let central = annas
        .iter()
        .find(|p| p["sites"] == json!(["Центральная"]))
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // The roster comes down to the sites; the branch says its Анна is the central one's.
    let b = &sites[1];
    let uplink = loop {
        let (_, u) = b.call(reqwest::Method::GET, "/api/v1/uplink", None).await;
        if u["people"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == central))
        {
            break u;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(uplink["people"].as_array().unwrap().len() >= 6, "{uplink}");
    let (s, body) = b
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/registrars/{}/person", anna[1]),
            Some(json!({ "person_id": 999_999 })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("person_id"),
        "{body}"
    );
    let (s, body) = b
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/registrars/{}/person", anna[1]),
            Some(json!({ "person_id": central })),
        )
        .await;
    assert_eq!(
        (s, body["person_id"].as_i64()),
        (StatusCode::OK, Some(central)),
        "{body}"
    );
    drained(&sites, 60).await;

    let week = "/api/v1/leaderboard?period=week";
    let (_, board) = hub(reqwest::Method::GET, week, None).await;
    let entries: Vec<&Value> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "Анна Смирнова")
        .collect();
    assert_eq!(entries.len(), 1, "one Анна in the network's board: {board}");
    let mut at_sites = 0;
    for (site, id) in sites.iter().zip(&anna) {
        let (_, own) = site.call(reqwest::Method::GET, week, None).await;
        at_sites += own["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["registrar_id"] == *id)
            .map_or(0, |e| e["count"].as_u64().unwrap());
    }
    assert!(at_sites > 0);
    assert_eq!(entries[0]["count"].as_u64(), Some(at_sites), "{board}");

    // Two people merged at the hub: the branch's registrar 1 is the central registrar 1.
    let (_, people) = hub(reqwest::Method::GET, "/hub/v1/people", None).await;
    let person = |name: &str| {
        people
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (into, from) = (person("A регистратор 1"), person("B регистратор 1"));
    let (s, merged) = hub(
        reqwest::Method::POST,
        &format!("/hub/v1/people/{into}/merge"),
        Some(json!({ "from": from })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    let one = merged
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == into)
        .unwrap();
    assert_eq!(one["sites"], json!(["Филиал", "Центральная"]), "{merged}");
    let (s, b) = hub(
        reqwest::Method::POST,
        &format!("/hub/v1/people/{into}/merge"),
        Some(json!({ "from": from })),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");

    // A settings template reaches every site; one a site cannot take changes nothing there and
    // says why on its console.
    let (s, b) = hub(
        reqwest::Method::PUT,
        "/hub/v1/template",
        Some(json!({ "min_ratings": 7 })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for site in sites.iter_mut() {
        site.rate(1).await;
    }
    for site in &sites {
        let end = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, settings) = site
                .call(reqwest::Method::GET, "/api/v1/settings", None)
                .await;
            if settings["min_ratings"] == 7 {
                break;
            }
            assert!(std::time::Instant::now() < end, "{}: {settings}", site.name);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (s, b) = hub(
        reqwest::Method::PUT,
        "/hub/v1/template",
        Some(json!({ "min_ratings": "many" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    for site in sites.iter_mut() {
        site.rate(1).await;
    }
    for site in &sites {
        let end = std::time::Instant::now() + Duration::from_secs(60);
        let uplink = loop {
            let (_, u) = site
                .call(reqwest::Method::GET, "/api/v1/uplink", None)
                .await;
            if u["state"]["template_error"].is_string() {
                break u;
            }
            assert!(std::time::Instant::now() < end, "{}: {u}", site.name);
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(
            uplink["state"]["template_error"]
                .as_str()
                .unwrap()
                .contains("min_ratings"),
            "{uplink}"
        );
        let (_, settings) = site
            .call(reqwest::Method::GET, "/api/v1/settings", None)
            .await;
        assert_eq!(settings["min_ratings"], 7, "{}", site.name);
    }
    let (s, b) = hub(
        reqwest::Method::PUT,
        "/hub/v1/template",
        Some(json!([1, 2])),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
}
