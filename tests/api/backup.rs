//! Backups taken while ratings arrive, the number kept, restores (a good one after a restart, bad
//! ones refused with nothing changed), and logs and the diagnostics zip holding no secret.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{App, all_ratings, engine_path, otklik_bin};

fn ids_in(db: &Path) -> BTreeSet<i64> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM ratings").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn upload(app: &App, bytes: Vec<u8>, name: &str) -> (StatusCode, Value) {
    app.send(
        app.http
            .post(app.url(&format!("/api/v1/backups/restore?name={name}")))
            .bearer_auth(&app.token)
            .header("content-type", "application/octet-stream")
            .body(bytes),
    )
    .await
}

async fn backup(app: &App) -> Value {
    let (s, b) = app.post("/api/v1/backups", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_ratings_arrive_holds_every_acknowledged_one() {
    // A database of some size, so the copy takes many steps while the ratings go on.
    let dir = tempfile::tempdir().unwrap();
    let filled = otklik_engine::demo::fill(
        dir.path(),
        &otklik_engine::demo::DemoOptions {
            ratings: 60_000,
            days: 30,
            seed: 7,
            now: None,
        },
    )
    .unwrap();
    let app = App::start_in(dir).await;
    let (_, desks) = app.get("/api/v1/desks").await;
    let desks: Vec<i64> = desks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();

    let acked: Arc<Mutex<Vec<(i64, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (http, url, token) = (
            app.http.clone(),
            app.url("/api/v1/ratings"),
            app.token.clone(),
        );
        let (acked, stop, desk) = (acked.clone(), stop.clone(), desks[w % desks.len()]);
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "desk_id": desk, "score": 1 + n % 3 }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                acked.lock().unwrap().push((id, Instant::now()));
                n += 1;
            }
        }));
    }
    app.until("ratings flowing", 30, || async {
        (acked.lock().unwrap().len() >= 200).then_some(())
    })
    .await;

    // Every rating acknowledged before the backup was asked for must be in it.
    let before: BTreeSet<i64> = acked.lock().unwrap().iter().map(|(id, _)| *id).collect();
    let asked = Instant::now();
    let info = backup(&app).await;
    let answered = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let during = acked
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at > asked && *at < answered)
        .count();

    let file = app
        .dir
        .path()
        .join("backups")
        .join(info["file"].as_str().unwrap());
    assert_eq!(integrity(&file), "ok");
    let in_backup = ids_in(&file);
    let missing: Vec<_> = before.difference(&in_backup).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not in the backup: {missing:?}"
    );
    assert_eq!(info["ratings"].as_i64().unwrap() as usize, in_backup.len());
    assert!(in_backup.len() as u64 >= filled.ratings + before.len() as u64);
    let header = std::fs::read(&file).unwrap();
    assert_eq!(
        (header[18], header[19]),
        (1, 1),
        "the backup stands alone, without a WAL"
    );
    println!(
        "backup of {} ratings ({:.1} MB) in {} ms; {} acknowledged before it, {} acknowledged while it ran, {} in all",
        in_backup.len(),
        info["bytes"].as_f64().unwrap() / 1e6,
        (answered - asked).as_millis(),
        before.len(),
        during,
        acked.lock().unwrap().len()
    );
    assert!(
        during > 0,
        "ratings were acknowledged while the backup ran (the writer was not held up)"
    );
    // The live database is intact too, and the ledger holds.
    let dir = app.stop().await;
    let report = otklik_store::ledger::verify(&dir.path().join("otklik.db")).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn the_newest_backups_are_kept_listed_and_downloadable() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    app.rate(desk, 3).await;
    let (s, b) = app
        .patch("/api/v1/settings", json!({ "backup_keep": 2 }))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(backup(&app).await["file"].as_str().unwrap().to_string());
    }
    let dir = app.dir.path().join("backups");
    assert_eq!(files_in(&dir), {
        let mut kept = made[1..].to_vec();
        kept.sort();
        kept
    });
    let (s, list) = app.get("/api/v1/backups").await;
    assert_eq!(s, StatusCode::OK);
    let listed: Vec<&str> = list["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![made[2].as_str(), made[1].as_str()],
        "newest first"
    );
    assert_eq!(list["keep"], 2);
    assert_eq!(list["last"]["file"], made[2].as_str());
    assert_eq!(list["last"]["error"], Value::Null);
    assert!(list["files"][0]["bytes"].as_u64().unwrap() > 0);

    let resp = app
        .http
        .get(app.url(&format!("/api/v1/backups/{}", made[2])))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), std::fs::read(dir.join(&made[2])).unwrap());
    let no_token = app
        .http
        .get(app.url(&format!("/api/v1/backups/{}", made[2])))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    for bad in [
        "otklik.db",
        "..%2Fotklik.db",
        "api-token",
        "otklik-20250101-000000.db.partial",
    ] {
        let (s, b) = app.get(&format!("/api/v1/backups/{bad}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {b}");
    }
    let (s, _) = app.get("/api/v1/backups/otklik-20000101-000000.db").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A chosen folder that is not there: a clear error, recorded, shown, nothing made.
    let gone = app.dir.path().join("unplugged-drive");
    let (s, b) = app
        .patch(
            "/api/v1/settings",
            json!({ "backup_dir": engine_path(&gone) }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = app.post("/api/v1/backups", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["code"], "backup_failed");
    assert!(
        b["error"].as_str().unwrap().contains("does not exist"),
        "{b}"
    );
    assert!(!gone.exists(), "a chosen folder is never created");
    let (_, list) = app.get("/api/v1/backups").await;
    assert!(
        list["last"]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    assert!(
        list["folder_error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    assert_eq!(
        list["last"]["file"],
        made[2].as_str(),
        "the last good one is still known"
    );
    let (_, audit) = app.get("/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"backup.failed") && actions.contains(&"backup.create"));
}

#[tokio::test]
async fn the_schedule_backs_up_when_due_and_not_before() {
    let app = App::start().await;
    let engine = app.server.as_ref().unwrap().engine.clone();
    let (s, _) = app
        .patch("/api/v1/settings", json!({ "backup_every_hours": 6 }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let start = engine.started_at;
    let min = 60_000;
    assert!(
        engine.scheduled_backup_due(start + min).await.is_none(),
        "not right after a start"
    );
    let first = engine.scheduled_backup_due(start + 5 * min).await;
    let first = first.expect("due: there is no backup yet").unwrap();
    // The next is counted from the newest backup (its name's time, which is now).
    let made = otklik_domain::time::parse_rfc3339("at", &first.at).unwrap();
    assert!(
        engine
            .scheduled_backup_due(made + 5 * 60 * min)
            .await
            .is_none()
    );
    assert!(
        engine
            .scheduled_backup_due(made + 6 * 60 * min + 1000)
            .await
            .is_some()
    );
    let (s, _) = app
        .patch("/api/v1/settings", json!({ "backup_every_hours": 0 }))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        engine
            .scheduled_backup_due(made + 100 * 60 * min)
            .await
            .is_none(),
        "0 = off"
    );
}

/// Through `otklik serve` itself, stopped and started again as a clinic would restart it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_backup_is_restored_at_the_next_start_and_the_old_database_kept() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let token = "api-token-for-the-restore-test-0123";
    let (mut child, addr) = serve(dir.path(), token, "info").await;
    let mut api = Remote::new(addr, token);
    let (_, desk) = api
        .call(
            Method::POST,
            "/api/v1/desks",
            Some(json!({ "name": "Окно 1" })),
        )
        .await;
    let desk = desk["id"].as_i64().unwrap();
    for s in [3, 2, 1] {
        api.rate(desk, s).await;
    }
    let (s, info) = api.call(Method::POST, "/api/v1/backups", None).await;
    assert_eq!(s, StatusCode::CREATED, "{info}");
    let file = info["file"].as_str().unwrap().to_string();
    let backed_up = ids_in(&dir.path().join("backups").join(&file));
    assert_eq!(backed_up.len(), 3);
    for s in [1, 3] {
        api.rate(desk, s).await;
    }

    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/backups/restore",
            Some(json!({ "file": file })),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("Restart Otklik"),
        "{b}"
    );
    assert_eq!(b["pending_restore"]["ratings"], 3);
    assert_eq!(b["pending_restore"]["source"], file.as_str());
    let (_, list) = api.call(Method::GET, "/api/v1/backups", None).await;
    assert_eq!(list["pending_restore"]["source"], file.as_str());
    // Nothing changes until the restart: ratings go on being stored.
    api.rate(desk, 3).await;
    assert_eq!(api.ratings().await.len(), 6);

    // Killed outright (its WAL not checkpointed), then started again.
    child.kill().await.unwrap();
    let (mut child, addr) = serve(dir.path(), token, "info").await;
    api = Remote::new(addr, token);
    assert_eq!(api.ratings().await, backed_up, "the data is the backup's");
    let names = files_in(dir.path());
    assert!(
        !names.iter().any(|n| n.starts_with("restore-")),
        "{names:?}"
    );
    let aside: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("otklik-before-restore-") && n.ends_with(".db"))
        .collect();
    assert_eq!(aside.len(), 1, "{names:?}");
    let aside = dir.path().join(aside[0]);
    assert_eq!(integrity(&aside), "ok");
    assert_eq!(
        ids_in(&aside).len(),
        6,
        "the replaced database is kept whole, its WAL folded in"
    );
    let (_, audit) = api.call(Method::GET, "/api/v1/audit", None).await;
    assert_eq!(audit[0]["action"], "backup.restored", "{audit}");
    assert_eq!(audit[0]["details"]["from"], file.as_str());
    let (_, list) = api.call(Method::GET, "/api/v1/backups", None).await;
    assert_eq!(list["pending_restore"], Value::Null);
    // It goes on from there: new ratings chain on.
    let id = api.rate(desk, 2).await;
    assert!(id > *backed_up.iter().max().unwrap());

    // A staged file that passes the checks but that this Otklik cannot bring up to date (a table
    // of a later migration already there at an older version): the database it had comes back.
    let odd = dir.path().join("odd.db");
    std::fs::copy(dir.path().join("backups").join(&file), &odd).unwrap();
    {
        let c = rusqlite::Connection::open(&odd).unwrap();
        c.execute("DELETE FROM schema_migrations WHERE version > 3", [])
            .unwrap();
    }
    let resp = api
        .http
        .post(format!("{}/api/v1/backups/restore?name=odd.db", api.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(&odd).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    child.kill().await.unwrap();
    let (mut child, addr) = serve(dir.path(), token, "info").await;
    api = Remote::new(addr, token);
    let mut expected = backed_up.clone();
    expected.insert(id);
    assert_eq!(api.ratings().await, expected, "the database it had is back");
    let names = files_in(dir.path());
    assert!(
        names.iter().any(|n| n.starts_with("restore-failed-")),
        "the file that failed is kept for a look: {names:?}"
    );
    assert!(!names.iter().any(|n| n == "restore-pending.db"));
    let (_, audit) = api.call(Method::GET, "/api/v1/audit", None).await;
    assert_eq!(audit[0]["action"], "backup.restore_failed", "{audit}");
    assert!(
        audit[0]["details"]["error"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{audit}"
    );
    child.kill().await.unwrap();
    let report = otklik_store::ledger::verify(&dir.path().join("otklik.db")).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn bad_files_are_refused_and_nothing_changes() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    for s in [3, 2, 1, 2] {
        app.rate(desk, s).await;
    }
    let file = backup(&app).await["file"].as_str().unwrap().to_string();
    let good = std::fs::read(app.dir.path().join("backups").join(&file)).unwrap();
    let scratch = tempfile::tempdir().unwrap();

    // Not Otklik's: a SQLite file of something else.
    let other = scratch.path().join("other.db");
    {
        let c = rusqlite::Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE patients (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO patients (name) VALUES ('x');")
            .unwrap();
    }
    // Written by a newer Otklik.
    let newer = scratch.path().join("newer.db");
    std::fs::write(&newer, &good).unwrap();
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
    }
    let random: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut garbage_header = good.clone();
    garbage_header[..16].copy_from_slice(b"NotSQLite!000000");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("random.bin", random, "is not a SQLite database"),
        ("renamed.db", garbage_header, "is not a SQLite database"),
        (
            "other.db",
            std::fs::read(&other).unwrap(),
            "is not an Otklik database",
        ),
        ("half.db", good[..good.len() / 2].to_vec(), "is truncated"),
        (
            "newer.db",
            std::fs::read(&newer).unwrap(),
            "newer than this Otklik knows (up to",
        ),
        ("empty.db", Vec::new(), "is not a SQLite database"),
    ];
    for (name, bytes, words) in cases {
        let (s, b) = upload(&app, bytes, name).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {b}");
        assert_eq!(b["code"], "bad_backup", "{name}: {b}");
        let msg = b["error"].as_str().unwrap();
        assert!(msg.contains(words) && msg.contains(name), "{name}: {msg}");
        println!("{name}: 422 {msg}");
        let names = files_in(app.dir.path());
        assert!(
            !names.iter().any(|n| n.starts_with("restore-")),
            "nothing staged or left behind: {names:?}"
        );
    }
    // A damaged page in the middle (the header intact): the integrity check catches it.
    let mut damaged = good.clone();
    let page = 4096;
    for b in &mut damaged[page * 2..page * 2 + 200] {
        *b = 0xA5;
    }
    let (s, b) = upload(&app, damaged, "damaged.db").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["error"].as_str().unwrap().contains("damaged"), "{b}");
    println!("damaged.db: 422 {}", b["error"]);

    for (body, status) in [
        (
            json!({ "file": "../otklik.db" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "file": "otklik-20000101-000000.db" }),
            StatusCode::NOT_FOUND,
        ),
        (json!({ "name": "x" }), StatusCode::BAD_REQUEST),
    ] {
        let (s, b) = app.post("/api/v1/backups/restore", body.clone()).await;
        assert_eq!(s, status, "{body}: {b}");
    }
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/v1/backups/restore"))
                .bearer_auth(&app.token)
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A good upload staged, then cancelled: also nothing changes.
    let (s, b) = upload(&app, good, "otklik-copy.db").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (s, _) = app.delete("/api/v1/backups/restore").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.delete("/api/v1/backups/restore").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    app.rate(desk, 1).await;
    let dir = app.stop().await;
    let app = App::start_in(dir).await;
    assert_eq!(app.all_ratings().await.len(), 5, "the data is unchanged");
    let names = files_in(app.dir.path());
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("restore-") || n.starts_with("otklik-before-restore")),
        "{names:?}"
    );
    let (_, audit) = app.get("/api/v1/audit?limit=50").await;
    let refused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "backup.restore_refused")
        .count();
    assert_eq!(refused, 7);
}

/// A client of a separate `otklik serve`.
struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Remote {
    fn new(addr: std::net::SocketAddr, token: &str) -> Remote {
        Remote {
            base: format!("http://{addr}"),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn rate(&self, desk: i64, score: i64) -> i64 {
        let (s, b) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/ratings",
                Some(json!({ "desk_id": desk, "score": score })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        b["id"].as_i64().unwrap()
    }

    async fn ratings(&self) -> BTreeSet<i64> {
        all_ratings(&self.http, &self.base, &self.token)
            .await
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
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
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// `otklik serve` on a free port with this log filter; its stderr (the log's copy) is dropped,
/// the files in `logs/` are what the tests read.
async fn serve(
    data_dir: &Path,
    token: &str,
    log: &str,
) -> (tokio::process::Child, std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(otklik_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("OTKLIK_API_TOKEN", token)
        .env("OTKLIK_LOG", log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("otklik serve starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
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
        .unwrap();
    (child, addr)
}

async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

fn log_text(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir.join("logs")).unwrap() {
        all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    all
}

/// `unzip` with `args`, then the zip, then `names` (Info-ZIP's own reader, not the zip crate
/// that wrote it).
fn unzip(zip: &Path, args: &[&str]) -> Vec<u8> {
    let (opts, names) = args.split_at(1);
    let out = std::process::Command::new("unzip")
        .args(opts)
        .arg(zip)
        .args(names)
        .output()
        .expect("unzip runs");
    assert!(
        out.status.success(),
        "unzip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_or_the_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let token = "api-token-for-the-log-test-0123456789";
    let (mut child, addr) = serve(dir.path(), token, "info,otklik=debug").await;
    let api = Remote::new(addr, token);
    let bot_token = "7012345678:AAHsecretBotTokenForLogs_abcdefghij";
    let smtp_password = "smtp-Pass-w0rd-for-logs!";
    let camera_password = "cam-Secret-77-for-logs";
    let console_password = "console-Password-42";
    let (telegram_port, smtp_port, camera_port) = (
        closed_port().await,
        closed_port().await,
        closed_port().await,
    );

    use reqwest::Method;
    let (s, b) = api
        .call(
            Method::PUT,
            "/api/v1/notify",
            Some(json!({
                "telegram": { "enabled": true, "api_url": format!("http://127.0.0.1:{telegram_port}"), "min_interval_ms": 0 },
                "email": { "enabled": true, "host": "127.0.0.1", "port": smtp_port, "security": "none",
                           "user": "otklik", "from": "Otklik <otklik@clinic.example>", "to": ["boss@clinic.example"] },
                "alerts": [{ "scores": [1], "channels": ["telegram", "email"], "escalate_after_mins": 0 }],
                "reports": [],
                "retry_max_secs": 2
            })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .call(
            Method::PUT,
            "/api/v1/notify/secrets",
            Some(json!({ "telegram_token": bot_token, "smtp_password": smtp_password })),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, desk) = api
        .call(
            Method::POST,
            "/api/v1/desks",
            Some(json!({ "name": "Окно 1" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{desk}");
    let desk = desk["id"].as_i64().unwrap();
    let (s, b) = api
        .call(
            Method::PUT,
            &format!("/api/v1/desks/{desk}/evidence"),
            Some(json!({ "photo": true, "camera": { "kind": "ip",
                "url": format!("http://127.0.0.1:{camera_port}/snapshot.jpg"),
                "user": "admin", "password": camera_password } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/console/password",
            Some(json!({ "password": console_password })),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, login) = api
        .call(
            Method::POST,
            "/api/v1/console/login",
            Some(json!({ "name": "Руководитель", "password": console_password })),
        )
        .await;
    assert!(s.is_success(), "{login}");
    // A subscribed Telegram chat, so that alerts are delivered (and fail) there too.
    {
        let c = rusqlite::Connection::open(dir.path().join("otklik.db")).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c.execute(
            "INSERT INTO telegram_chats (chat_id, title, paired_at) VALUES (-100123, 'Руководители', 0)",
            [],
        )
        .unwrap();
    }
    for score in [1, 3, 1] {
        let (s, b) = api
            .call(
                Method::POST,
                "/api/v1/ratings",
                Some(json!({ "desk_id": desk, "score": score })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = api
        .call(
            Method::POST,
            "/api/v1/notify/test",
            Some(json!({ "channel": "email" })),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");

    // Wait until the failures are in the log: both channels down, the camera, the bot's polls.
    let end = Instant::now() + Duration::from_secs(60);
    let wanted = [
        "channel=\"email\"",
        "channel=\"telegram\"",
        "camera waiting",
        "Telegram updates unavailable",
    ];
    loop {
        let text = log_text(dir.path());
        let missing: Vec<_> = wanted.iter().filter(|w| !text.contains(**w)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < end, "not logged: {missing:?}\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let console_hash: String = {
        let c = rusqlite::Connection::open(dir.path().join("otklik.db")).unwrap();
        c.query_row("SELECT password_hash FROM supervisors", [], |r| r.get(0))
            .unwrap()
    };
    let session = login["token"].as_str().unwrap().to_string();
    let secrets: Vec<(&str, &str)> = vec![
        ("API token", token),
        ("bot token", bot_token),
        (
            "bot token's secret part",
            bot_token.split_once(':').unwrap().1,
        ),
        ("SMTP password", smtp_password),
        ("camera password", camera_password),
        ("console password", console_password),
        ("console password hash", &console_hash),
        ("console session", &session),
    ];
    let logs = log_text(dir.path());
    for (what, value) in &secrets {
        assert!(!logs.contains(value), "the {what} is in the log");
    }

    // The diagnostics zip: what it holds, and no secret in any of it.
    let resp = api
        .http
        .post(format!("{}/api/v1/diagnostics", api.base))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("otklik-diagnostics-") && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    let zip_bytes = resp.bytes().await.unwrap();
    let zip = dir.path().join("diagnostics.zip");
    std::fs::write(&zip, &zip_bytes).unwrap();
    let listing = String::from_utf8(unzip(&zip, &["-Z1"])).unwrap();
    let entries: Vec<&str> = listing.lines().collect();
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    for name in [
        "health.json",
        "settings.json",
        "versions.txt",
        "outbox-failed.json",
        "audit-recent.json",
        &format!("logs/otklik-{today}.log"),
    ] {
        assert!(entries.contains(&name), "{name} in {entries:?}");
    }
    let read = |name: &str| String::from_utf8(unzip(&zip, &["-p", name])).unwrap();
    for entry in &entries {
        let data = read(entry);
        for (what, value) in &secrets {
            assert!(!data.contains(value), "the {what} is in {entry}");
        }
    }
    let settings: Value = serde_json::from_str(&read("settings.json")).unwrap();
    assert_eq!(settings["secrets"]["telegram_token_set"], true);
    assert_eq!(settings["secrets"]["smtp_password_set"], true);
    assert_eq!(
        settings["secrets"]["camera_passwords_for_desks"],
        json!([desk])
    );
    assert_eq!(settings["evidence"][0]["camera"]["user"], "admin");
    assert_eq!(settings["notify"]["email"]["host"], "127.0.0.1");
    let outbox: Value = serde_json::from_str(&read("outbox-failed.json")).unwrap();
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["channel"] == "email" && i["last_error"].is_string()),
        "{outbox}"
    );
    let health: Value = serde_json::from_str(&read("health.json")).unwrap();
    assert!(health["database"]["schema_version"].is_i64(), "{health}");
    assert!(read("versions.txt").contains("schema version"));
    assert!(read(&format!("logs/otklik-{today}.log")).contains("camera waiting"));

    // Defence in depth: a secret that slipped into a log stops the zip, naming it, not showing it.
    let log = dir.path().join("logs").join(format!("otklik-{today}.log"));
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&format!("a careless line with {smtp_password} in it\n"));
    std::fs::write(&log, text).unwrap();
    let (s, b) = api.call(Method::POST, "/api/v1/diagnostics", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["code"], "secret_found");
    let msg = b["error"].as_str().unwrap();
    assert!(
        msg.contains("the SMTP password") && msg.contains(&format!("logs/otklik-{today}.log")),
        "{msg}"
    );
    assert!(!msg.contains(smtp_password));
    println!("refused: {msg}");

    child.kill().await.unwrap();
}
