//! A rating the API acknowledged is on disk: kill -9 the server mid-stream, start it again, and
//! every acknowledged rating is there, with an intact hash chain.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{all_ratings, otklik_bin, spawn_serve};

const TOKEN: &str = "test-token-0123456789abcdef";

#[tokio::test]
async fn acknowledged_ratings_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (mut child, addr) = spawn_serve(dir.path(), TOKEN).await;
    let base = format!("http://{addr}");
    let post = |path: &str, body: Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let desk: Value = post("/api/v1/desks", json!({ "name": "Окно 1" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anna: Value = post("/api/v1/registrars", json!({ "name": "Анна" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    post(
        "/api/v1/desks/1/session",
        json!({ "registrar_id": anna["id"] }),
    )
    .await
    .unwrap();
    assert_eq!(desk["id"], 1);

    // Kill while ratings are in flight, once a good number were acknowledged.
    let acked = rate_until_killed(&http, &base, TOKEN, &mut child, 300).await;

    let (mut child, addr) = spawn_serve(dir.path(), TOKEN).await;
    let stored = all_ratings(&http, &format!("http://{addr}"), TOKEN).await;
    let stored: BTreeMap<i64, &Value> = stored
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r))
        .collect();
    for (id, score) in &acked {
        let r = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged rating {id} was lost"));
        assert_eq!(r["score"], *score);
        assert_eq!(r["registrar_id"], anna["id"]);
    }
    assert!(stored.len() >= acked.len());
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let out = std::process::Command::new(otklik_bin())
        .arg("verify")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{} ratings checked, none changed or removed",
            stored.len()
        )),
        "{stdout}"
    );
}

/// 16 clients post ratings to desk 1 until the server is killed, which happens once `at_least`
/// were acknowledged; returns every acknowledged rating's id and score.
pub(crate) async fn rate_until_killed(
    http: &reqwest::Client,
    base: &str,
    token: &'static str,
    child: &mut tokio::process::Child,
    at_least: usize,
) -> BTreeMap<i64, i64> {
    let acked: Arc<Mutex<BTreeMap<i64, i64>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..16i64 {
        let (http, base, acked) = (http.clone(), base.to_string(), acked.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let score = 1 + (w + i) % 3;
                let resp = http
                    .post(format!("{base}/api/v1/ratings"))
                    .bearer_auth(token)
                    .json(&json!({ "desk_id": 1, "score": score }))
                    .send()
                    .await;
                let Ok(resp) = resp else { return };
                if resp.status() != 201 {
                    return;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .insert(body["id"].as_i64().unwrap(), score);
            }
        }));
    }
    while acked.lock().unwrap().len() < at_least {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for w in writers {
        w.await.unwrap();
    }
    acked.lock().unwrap().clone()
}
