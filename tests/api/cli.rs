//! The command line: `otklik token` and `otklik verify` against tampering.

use std::process::Command;

use rusqlite::Connection;

use crate::common::{App, otklik_bin};

fn otklik(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(otklik_bin())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("OTKLIK_API_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn token_prints_the_token_the_api_requires() {
    let app = App::start().await;
    let (code, out, _) = otklik(&["token"], app.dir.path());
    assert_eq!(code, 0);
    assert_eq!(out.trim(), app.token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("api-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's only");
    }
    let resp = app
        .http
        .post(app.url("/api/v1/desks"))
        .bearer_auth(out.trim())
        .json(&serde_json::json!({"name": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn verify_finds_ratings_changed_or_removed_outside_the_app() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    for score in [1, 2, 3, 3, 2, 1] {
        app.rate(desk, score).await;
    }
    let (s, _) = app
        .post(
            "/api/v1/ratings/2/annul",
            serde_json::json!({"reason": "ошибка"}),
        )
        .await;
    assert_eq!(s, 201);
    let dir = app.stop().await;
    let db = dir.path().join("otklik.db");

    let (code, out, _) = otklik(&["verify"], dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("6 ratings checked, none changed or removed"),
        "{out}"
    );

    // The app itself refuses to change history...
    let conn = Connection::open(&db).unwrap();
    let err = conn
        .execute("UPDATE ratings SET score = 3 WHERE id = 1", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    // ...so someone with a SQLite editor drops the guard and edits, deletes, truncates.
    conn.execute_batch(
        "DROP TRIGGER ratings_no_update; DROP TRIGGER ratings_no_delete;
         UPDATE ratings SET score = 3 WHERE id = 1;
         DELETE FROM rating_flags WHERE rating_id IN (4, 6);
         DELETE FROM alerts WHERE rating_id IN (4, 6);
         DELETE FROM ratings WHERE id = 4;
         DELETE FROM ratings WHERE id = 6;",
    )
    .unwrap();
    drop(conn);
    let (code, out, _) = otklik(&["verify"], dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("4 ratings checked, 3 problems"), "{out}");
    assert!(out.contains("rating 1 does not match its hash"), "{out}");
    assert!(out.contains("ratings 4..=4 are missing"), "{out}");
    assert!(
        out.contains("the newest rating should be 6, but the last one present is 5"),
        "{out}"
    );

    let (code, _, err) = otklik(&["verify"], &dir.path().join("nowhere"));
    assert_eq!(code, 2);
    assert!(err.contains("cannot open"), "{err}");
}
