//! The leaderboard over a period: counts, satisfaction, smoothed rank, minimum, annulments.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;

async fn rate_many(app: &App, desk: i64, scores: &[(i64, usize)]) -> Vec<i64> {
    let mut ids = Vec::new();
    for &(score, n) in scores {
        for _ in 0..n {
            ids.push(app.rate(desk, score).await["id"].as_i64().unwrap());
        }
    }
    ids
}

fn entry(board: &Value, id: i64) -> Value {
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["registrar_id"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn ranking_rewards_evidence_and_lists_the_few_after() {
    let app = App::start().await;
    let (d1, d2, d3, d4) = (
        app.desk("1").await,
        app.desk("2").await,
        app.desk("3").await,
        app.desk("4").await,
    );
    let few = app.registrar("Два из двух").await;
    let many = app.registrar("95 из 100").await;
    let mid = app.registrar("Середина").await;
    let newbie = app.registrar("Новенькая").await;
    app.start_session(d1, few).await;
    app.start_session(d2, many).await;
    app.start_session(d3, mid).await;
    app.start_session(d4, newbie).await;
    let (s, _) = app
        // Ratings arrive faster than patients could give them: the burst rule has its own test.
        .patch(
            "/api/v1/settings",
            json!({ "min_ratings": 3, "suspicion_burst_count": 0 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    rate_many(&app, d1, &[(3, 2)]).await;
    let many_ids = rate_many(&app, d2, &[(1, 3), (2, 2), (3, 95)]).await;
    rate_many(&app, d3, &[(1, 2), (2, 2), (3, 6)]).await;
    rate_many(&app, d4, &[(3, 3)]).await;

    let (s, board) = app.get("/api/v1/leaderboard?period=today").await;
    assert_eq!(s, StatusCode::OK, "{board}");
    let order: Vec<_> = board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["registrar_id"].as_i64().unwrap(), e["rank"].as_i64()))
        .collect();
    // 95 of 100 beats 3 of 3 beats 6 of 10; 2 of 2 is under the minimum of 3: listed last, unranked.
    assert_eq!(
        order,
        [
            (many, Some(1)),
            (newbie, Some(2)),
            (mid, Some(3)),
            (few, None)
        ],
        "{board}"
    );
    let m = entry(&board, many);
    assert_eq!(m["name"], "95 из 100");
    assert_eq!(m["count"], 100);
    assert_eq!(m["levels"], json!([3, 2, 95]));
    assert_eq!(m["satisfaction"], 0.95);
    assert_eq!(entry(&board, few)["satisfaction"], 1.0);
    assert_eq!(board["totals"]["count"], 115);
    assert_eq!(board["totals"]["levels"], json!([5, 4, 106]));
    assert_eq!(board["totals"]["unassigned"], 0);
    assert_eq!(board["period"], "today");
    assert_eq!(board["min_ratings"], 3);

    // An annulled rating stays stored but leaves the ranking.
    let (s, c) = app
        .post(
            &format!("/api/v1/ratings/{}/annul", many_ids[0]),
            json!({ "reason": "ребёнок нажал кнопку" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (_, board) = app.get("/api/v1/leaderboard").await;
    assert_eq!(entry(&board, many)["levels"], json!([2, 2, 95]));
    let (_, r) = app.get(&format!("/api/v1/ratings/{}", many_ids[0])).await;
    assert_eq!(r["annulled"], true);
    let (s, _) = app
        .post(
            &format!("/api/v1/ratings/{}/annul", many_ids[0]),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .post(
            &format!("/api/v1/ratings/{}/restore", many_ids[0]),
            json!({ "reason": "ошибка" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, board) = app.get("/api/v1/leaderboard?period=month").await;
    assert_eq!(entry(&board, many)["levels"], json!([3, 2, 95]));
    assert_eq!(board["period"], "month");
    app.stop().await;
}

#[tokio::test]
async fn a_custom_period_and_a_new_scale() {
    let app = App::start().await;
    let desk = app.desk("1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    rate_many(&app, desk, &[(1, 1), (2, 1), (3, 2)]).await;
    app.post(
        "/api/v1/ratings",
        json!({ "desk_id": desk, "score": 2, "at": "2024-01-10T10:00:00+03:00" }),
    )
    .await;

    let (_, board) = app
        .get("/api/v1/leaderboard?from=2024-01-10T00:00:00%2B03:00&to=2024-01-11T00:00:00%2B03:00")
        .await;
    assert_eq!(board["period"], Value::Null);
    assert_eq!(board["totals"]["count"], 1);
    assert_eq!(
        board["totals"]["unassigned"], 1,
        "nobody had a session in 2024: {board}"
    );
    assert!(board["entries"].as_array().unwrap().is_empty());

    // Five levels from now on: the earlier 3-level ratings map onto the ends and the middle.
    let (s, settings) = app
        .patch(
            "/api/v1/settings",
            json!({ "scale": 5, "min_ratings": 0, "suspicion_burst_count": 0 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    app.rate(desk, 5).await;
    app.rate(desk, 4).await;
    let (s, body) = app
        .post("/api/v1/ratings", json!({ "desk_id": desk, "score": 6 }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, board) = app.get("/api/v1/leaderboard").await;
    let a = entry(&board, anna);
    assert_eq!(a["levels"], json!([1, 0, 1, 1, 3]), "{board}");
    assert_eq!(a["count"], 6);
    assert_eq!(a["satisfaction"], 0.5);
    assert_eq!(a["rank"], 1);
    app.stop().await;
}
