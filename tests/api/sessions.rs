//! Every rating is bound to the registrar whose session was open at that desk at that moment.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::App;

#[tokio::test]
async fn a_rating_goes_to_the_registrar_at_the_desk() {
    let app = App::start().await;
    let (d1, d2) = (app.desk("Окно 1").await, app.desk("Окно 2").await);
    let (anna, boris) = (
        app.registrar("Анна Иванова").await,
        app.registrar("Борис Петров").await,
    );

    let s1 = app.start_session(d1, anna).await;
    let r = app.rate(d1, 3).await;
    assert_eq!(r["registrar_id"], anna);
    assert_eq!(r["session_id"], s1["session_id"]);
    assert_eq!(r["desk_id"], d1);
    assert!(r["at"].as_str().unwrap().ends_with('Z'), "{r}");

    // No session at desk 2: the rating is kept, with nobody to credit.
    let r = app.rate(d2, 1).await;
    assert_eq!(r["registrar_id"], Value::Null);
    assert_eq!(r["session_id"], Value::Null);

    // Anna moves to desk 2: her session at desk 1 ends.
    let s2 = app.start_session(d2, anna).await;
    let closed = s2["closed"].as_array().unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["session_id"], s1["session_id"]);
    assert_eq!(closed[0]["change"], "ended");
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(desks[0]["session"], Value::Null, "{desks}");
    assert_eq!(desks[1]["session"]["registrar_id"], anna);
    assert_eq!(desks[1]["session"]["registrar_name"], "Анна Иванова");
    assert_eq!(app.rate(d1, 3).await["registrar_id"], Value::Null);
    assert_eq!(app.rate(d2, 2).await["registrar_id"], anna);

    // Boris takes desk 2 over: Anna's session there ends, ratings are his.
    let s3 = app.start_session(d2, boris).await;
    assert_eq!(s3["closed"][0]["registrar_id"], anna);
    assert_eq!(app.rate(d2, 3).await["registrar_id"], boris);
    let (_, regs) = app.get("/api/v1/registrars").await;
    let desk_of = |id: i64| {
        regs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["desk_id"]
            .clone()
    };
    assert_eq!(desk_of(boris), d2);
    assert_eq!(desk_of(anna), Value::Null);

    // Ending the session: 200 with its end; a second end finds nothing open.
    let (s, ended) = app.delete(&format!("/api/v1/desks/{d2}/session")).await;
    assert_eq!(s, StatusCode::OK, "{ended}");
    assert_eq!(ended["session_id"], s3["session_id"]);
    assert!(ended["ended_at"].is_string());
    let (s, body) = app.delete(&format!("/api/v1/desks/{d2}/session")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.rate(d2, 3).await["registrar_id"], Value::Null);

    // Every one of them is stored.
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 6);
    let credited: Vec<_> = all.iter().map(|r| r["registrar_id"].as_i64()).collect();
    assert_eq!(
        credited,
        [Some(anna), None, None, Some(anna), Some(boris), None]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_late_rating_goes_to_whoever_was_at_the_desk_when_it_was_given() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let (anna, boris) = (app.registrar("Анна").await, app.registrar("Борис").await);
    let s_anna = app.start_session(desk, anna).await;
    let during_anna = chrono_now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.start_session(desk, boris).await;
    let (s, r) = app
        .post(
            "/api/v1/ratings",
            json!({ "desk_id": desk, "score": 1, "source": "mis", "at": during_anna }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["registrar_id"], anna);
    assert_eq!(r["session_id"], s_anna["session_id"]);
    assert_eq!(r["source"], "mis");
    assert_eq!(app.rate(desk, 3).await["registrar_id"], boris);
    app.stop().await;
}

#[tokio::test]
async fn deactivating_a_registrar_ends_their_session_and_bars_new_ones() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let (s, r) = app
        .patch(
            &format!("/api/v1/registrars/{anna}"),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["active"], false);
    assert_eq!(r["desk_id"], Value::Null);
    let (s, body) = app
        .post(
            &format!("/api/v1/desks/{desk}/session"),
            json!({ "registrar_id": anna }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "registrar_id");
    // The audit log tells who changed what.
    let (_, audit) = app.get("/api/v1/audit").await;
    let actions: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        actions[..3],
        ["registrar.update", "session.end", "session.start"],
        "{audit}"
    );
    app.stop().await;
}

fn chrono_now() -> String {
    // A numeric offset rather than Z: the API must take either.
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}
