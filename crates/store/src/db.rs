//! The SQLite file: connection settings, migrations, and a pool of read connections.
//!
//! One writer connection (owned by [`crate::writer`]) and any number of readers; WAL lets them
//! work side by side. `synchronous=FULL` makes every commit durable before it returns.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use otklik_domain::error::{Error, Result};
use otklik_domain::time::now_ms;

/// Migrations, applied in order; the number is the schema version each one brings.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "core", include_str!("../../../migrations/0001_core.sql")),
    (
        2,
        "screens",
        include_str!("../../../migrations/0002_screens.sql"),
    ),
    (
        3,
        "inputs",
        include_str!("../../../migrations/0003_inputs.sql"),
    ),
    (
        4,
        "evidence",
        include_str!("../../../migrations/0004_evidence.sql"),
    ),
    (
        5,
        "reports",
        include_str!("../../../migrations/0005_reports.sql"),
    ),
    (
        6,
        "notify",
        include_str!("../../../migrations/0006_notify.sql"),
    ),
    (
        7,
        "health",
        include_str!("../../../migrations/0007_health.sql"),
    ),
    (
        8,
        "supervisors",
        include_str!("../../../migrations/0008_supervisors.sql"),
    ),
    (
        9,
        "panels",
        include_str!("../../../migrations/0009_panels.sql"),
    ),
    (
        10,
        "serving",
        include_str!("../../../migrations/0010_serving.sql"),
    ),
    (
        11,
        "reasons",
        include_str!("../../../migrations/0011_reasons.sql"),
    ),
    (
        12,
        "alert_rules",
        include_str!("../../../migrations/0012_alert_rules.sql"),
    ),
    (
        13,
        "uplink",
        include_str!("../../../migrations/0013_uplink.sql"),
    ),
    (
        14,
        "desk_pc",
        include_str!("../../../migrations/0014_desk_pc.sql"),
    ),
];

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Opens the database for writing, creating it if needed, and brings its schema up to date.
pub fn open_writer(path: &Path) -> Result<Connection> {
    open_writer_upto(path, latest_version())
}

/// As [`open_writer`], but applies migrations only up to `target` (tests of upgrades use it).
pub fn open_writer_upto(path: &Path, target: i64) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite refused WAL mode; commits stay durable but slower");
    }
    configure(&conn)?;
    migrate(&mut conn, path, target)?;
    Ok(conn)
}

/// The schema version recorded in the database (0 for a new file).
pub fn schema_version(conn: &Connection) -> Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

fn migrate(conn: &mut Connection, path: &Path, target: i64) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )?;
    let current = schema_version(&tx)?;
    if current > latest_version() {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found: current,
            known: latest_version(),
        });
    }
    for (version, name, sql) in MIGRATIONS {
        if *version <= current || *version > target {
            continue;
        }
        tracing::info!(version, name, "applying migration");
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (version, name, now_ms()),
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Opens an existing database read-only, refusing one whose schema this binary does not know.
pub fn open_reader(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(Error::io(
            format!("cannot open {}", path.display()),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    let found = schema_version(&conn)?;
    if found > latest_version() {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: latest_version(),
        });
    }
    Ok(conn)
}

/// Read connections, reused across requests; queries run on tokio's blocking threads.
/// Reads running at once at most: more would only queue on two cores and the disk, each holding
/// a blocking thread and a connection; beyond it callers wait their turn without a thread.
const MAX_READERS: usize = 8;

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    running: std::sync::Arc<tokio::sync::Semaphore>,
}

impl ReadPool {
    pub fn new(path: PathBuf) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_READERS)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn checkout(&self) -> Result<Connection> {
        if let Some(c) = self.idle.lock().expect("pool lock").pop() {
            return Ok(c);
        }
        open_reader(&self.path)
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < MAX_READERS {
            idle.push(conn);
        }
    }

    /// Runs `f` with a read connection off the async threads.
    pub async fn read<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // Held by the blocking task itself, so a caller that gives up frees no slot early.
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::ShuttingDown)?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.checkout()?;
            let out = f(&conn);
            pool.checkin(conn);
            drop(permit);
            out
        })
        .await
        .map_err(|_| Error::ShuttingDown)?
    }
}

/// Reads one settings value (JSON) by key.
pub fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_eight_reads_run_at_once_and_the_rest_wait() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        open_writer(&path).unwrap();
        let pool = Arc::new(ReadPool::new(path));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let reads: Vec<_> = (0..40)
            .map(|_| {
                let (pool, running, most, gate) =
                    (pool.clone(), running.clone(), most.clone(), gate.clone());
                tokio::spawn(async move {
                    pool.read(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        let _ = gate.lock().unwrap().recv();
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        // A flood of 40: the first eight run, the rest wait without a thread each.
        while running.load(Ordering::SeqCst) < MAX_READERS {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(running.load(Ordering::SeqCst), MAX_READERS);
        for _ in 0..40 {
            release.send(()).unwrap();
        }
        for r in reads {
            r.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), MAX_READERS);
    }

    #[test]
    fn a_new_file_gets_every_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otklik.db");
        let conn = open_writer(&path).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), latest_version());
        drop(conn);
        let conn = open_writer(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, MIGRATIONS.len() as i64);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("otklik.db");
        let conn = open_writer(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
            [],
        )
        .unwrap();
        drop(conn);
        let err = open_writer(&path).unwrap_err();
        assert!(
            matches!(err, Error::SchemaTooNew { found: 999, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer than this Otklik"), "{err}");
        assert!(matches!(
            open_reader(&path),
            Err(Error::SchemaTooNew { .. })
        ));
    }
}
