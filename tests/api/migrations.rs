//! Migrations on an empty and on an existing database; a newer schema is refused.

use otklik_store::db;
use rusqlite::Connection;

use crate::common::{App, otklik_bin};

fn applied(path: &std::path::Path) -> Vec<(i64, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn an_empty_database_gets_the_whole_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otklik.db");
    // A file at schema version 0, as a crash during the very first start could leave it.
    drop(db::open_writer_upto(&path, 0).unwrap());
    assert!(applied(&path).is_empty());
    let app = App::start_in(dir).await;
    let expected: Vec<_> = db::MIGRATIONS
        .iter()
        .map(|m| (m.0, m.1.to_string()))
        .collect();
    assert_eq!(applied(&app.db_path()), expected);
    app.desk("Окно 1").await;
    app.stop().await;
}

#[tokio::test]
async fn an_existing_database_keeps_its_data_and_is_not_migrated_twice() {
    let app = App::start().await;
    let desk = app.desk("Окно 1").await;
    let anna = app.registrar("Анна").await;
    app.start_session(desk, anna).await;
    let rating = app.rate(desk, 2).await;
    let before = applied(&app.db_path());
    let dir = app.stop().await;

    let app = App::start_in(dir).await;
    assert_eq!(applied(&app.db_path()), before);
    let all = app.all_ratings().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], rating["id"]);
    assert_eq!(all[0]["registrar_id"], anna);
    // The chain continues across the restart.
    let next = app.rate(desk, 3).await;
    assert_eq!(next["id"], rating["id"].as_i64().unwrap() + 1);
    let (_, desks) = app.get("/api/v1/desks").await;
    assert_eq!(
        desks[0]["session"]["registrar_id"], anna,
        "the open session survives a restart"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otklik.db");
    let conn = db::open_writer(&path).unwrap();
    conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)", [])
        .unwrap();
    drop(conn);
    let out = std::process::Command::new(otklik_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("schema version 99, newer than this Otklik"),
        "{stderr}"
    );
    // Nothing was touched.
    assert_eq!(applied(&path).last().unwrap().0, 99);
}
