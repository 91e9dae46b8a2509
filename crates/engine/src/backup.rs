//! Backups of the database and restoring one.
//!
//! A backup is made with SQLite's online backup API from a read connection that holds one read
//! transaction for the whole copy: in WAL mode that is a snapshot of everything committed before
//! it began, and the writer goes on committing beside it (readers never block it). The copy is
//! paced in steps of pages with short pauses so it does not hog the disk, written under a
//! `.partial` name, checked (`PRAGMA integrity_check`, the schema version) and only then renamed
//! to `otklik-YYYYMMDD-HHMMSS.db` (UTC, so names sort the same all year); the oldest beyond
//! `backup_keep` are deleted.
//!
//! A restore is staged, never done under a running engine: the file is copied into the data
//! directory, checked (a SQLite file, intact, an Otklik database of a schema this build knows)
//! and kept as `restore-pending.db`. The next [`Engine::open`] sets the current database aside
//! as `otklik-before-restore-<time>.db` and moves the staged one in
//! ([`apply_staged_restore`]). The writer's hash chain, the settings and every cache are then
//! loaded from the restored file as at any start.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::engine::{DB_FILE, Engine};
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, now_ms, to_rfc3339};
use otklik_store::db;

/// The staged restore, applied at the next start.
pub const PENDING_RESTORE: &str = "restore-pending.db";
/// What the staged restore is (its source, counts), for the console.
const PENDING_INFO: &str = "restore-pending.json";
/// Uploads and copies being checked before they are staged.
const UPLOAD_PREFIX: &str = "restore-upload-";
/// The folder used when the `backup_dir` setting is empty.
pub const DEFAULT_DIR: &str = "backups";
/// Largest file accepted for a restore.
pub const MAX_RESTORE_BYTES: u64 = 2 << 30;
/// No scheduled backup in the first minutes after a start: starting stays quick, and an
/// Otklik that keeps restarting does not fill the folder.
const FIRST_DELAY_MS: Millis = 3 * 60_000;
/// After a failed scheduled backup, the next try waits this long (or the period, if shorter).
const RETRY_MS: Millis = 30 * 60_000;

/// How a copy is paced: pages per step, and the pause between steps.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub pages: i32,
    pub pause: Duration,
}

impl Default for Pace {
    /// 1024 pages (4 MiB with SQLite's default page size) a step, 2 ms apart.
    fn default() -> Self {
        Pace {
            pages: 1024,
            pause: Duration::from_millis(2),
        }
    }
}

/// A backup just made.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct BackupInfo {
    /// The file's name in the backup folder, e.g. `otklik-20250301-170000.db`.
    pub file: String,
    /// The backup folder.
    pub dir: String,
    /// When the snapshot was taken (RFC 3339).
    pub at: String,
    pub bytes: u64,
    pub schema_version: i64,
    /// Ratings in it.
    pub ratings: i64,
}

/// A backup in the folder.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct BackupFile {
    pub file: String,
    /// When it was made, from its name (RFC 3339).
    pub at: String,
    pub bytes: u64,
}

/// The newest good backup this engine knows of, and the last failure since.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct LastBackup {
    /// When the newest good backup was made (RFC 3339); null if none is known.
    pub at: Option<String>,
    pub file: Option<String>,
    pub bytes: Option<u64>,
    /// Why the last attempt failed, in words; null once a backup succeeds again.
    pub error: Option<String>,
    pub error_at: Option<String>,
}

/// A restore waiting for the next start.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PendingRestore {
    /// The backup's name, or the uploaded file's.
    pub source: String,
    pub staged_at: String,
    pub bytes: u64,
    pub schema_version: i64,
    pub ratings: i64,
    /// The newest rating in it (RFC 3339).
    pub last_rating_at: Option<String>,
}

/// What a check of a database file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub schema_version: i64,
    pub ratings: i64,
    pub last_rating_at: Option<Millis>,
}

/// What an engine knows of its backups since it started: the newest good one and the last
/// failure (for `/healthz` and the console), and when the schedule may try again. Owned by the
/// [`Engine`]; [`run_schedule`] fills in the newest backup in the folder at start.
#[derive(Debug, Default)]
pub struct Backups(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    last: LastBackup,
    failed_at: Option<Millis>,
}

impl Backups {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// One backup or staging at a time in the process, whichever engine or command asks (the CLI's
/// `backup` and `restore` have no engine): what it guards is the disk the copies are paced
/// for, and the folder's names (two copies in one second would pick the same one).
static BUSY: Mutex<()> = Mutex::new(());

fn busy() -> std::sync::MutexGuard<'static, ()> {
    BUSY.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The backup folder for a `backup_dir` setting: itself, or `backups` in the data directory.
pub fn dir_for(data_dir: &Path, setting: &str) -> PathBuf {
    if setting.trim().is_empty() {
        data_dir.join(DEFAULT_DIR)
    } else {
        PathBuf::from(setting.trim())
    }
}

/// `otklik-YYYYMMDD-HHMMSS.db` or `otklik-YYYYMMDD-HHMMSS-N.db`: the time (as `YYYYMMDDHHMMSS`)
/// and N (1 without a suffix), to sort by. Anything else is not one of our backups.
pub fn parse_name(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_prefix("otklik-")?.strip_suffix(".db")?;
    let (date, rest) = stem.split_once('-')?;
    let (time, n) = match rest.split_once('-') {
        Some((t, n)) => {
            let n: u32 = n.parse().ok().filter(|n| *n >= 2)?;
            (t, n)
        }
        None => (rest, 1),
    };
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(date, 8) || !digits(time, 6) {
        return None;
    }
    let ts = format!("{date}{time}");
    chrono::NaiveDateTime::parse_from_str(&ts, "%Y%m%d%H%M%S").ok()?;
    Some((ts, n))
}

fn name_time(name: &str) -> Option<Millis> {
    let (ts, _) = parse_name(name)?;
    let t = chrono::NaiveDateTime::parse_from_str(&ts, "%Y%m%d%H%M%S").ok()?;
    Some(t.and_utc().timestamp_millis())
}

/// Our backups in `dir`, newest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<BackupFile>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(key) = parse_name(&name) else {
            continue;
        };
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        found.push((key, name, meta.len()));
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(found
        .into_iter()
        .map(|(_, file, bytes)| BackupFile {
            at: to_rfc3339(name_time(&file).unwrap_or_default()),
            file,
            bytes,
        })
        .collect())
}

/// A problem with the backup folder, in words an IT person can act on.
fn folder_problem(dir: &Path, e: &std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    let d = dir.display();
    Error::Conflict(match e.kind() {
        K::NotFound => format!("the backup folder {d} does not exist (is its drive connected?)"),
        K::PermissionDenied => {
            format!("Otklik may not write to the backup folder {d}: permission denied")
        }
        K::StorageFull => format!("the disk of the backup folder {d} is full"),
        K::ReadOnlyFilesystem => format!("the backup folder {d} is on a read-only disk"),
        _ => format!("cannot write to the backup folder {d}: {e}"),
    })
}

fn sqlite_problem(dir: &Path, what: &str, e: &rusqlite::Error) -> Error {
    let d = dir.display();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => {
            Error::Conflict(format!("the disk of the backup folder {d} is full"))
        }
        Some(rusqlite::ErrorCode::CannotOpen) | Some(rusqlite::ErrorCode::ReadOnly) => {
            Error::Conflict(format!("cannot write to the backup folder {d}: {e}"))
        }
        _ => Error::Conflict(format!("the backup failed while {what}: {e}")),
    }
}

/// Removes a file, ignoring one that is not there.
fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %e, "cannot remove a leftover file");
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) {}

/// Flushes a file to disk. Opened for writing: Windows refuses to flush a read-only handle
/// (access denied).
fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .sync_all()
}

/// Backs the database up into `dir` (which must exist) and keeps the newest `keep` backups.
pub fn backup_now(db_path: &Path, dir: &Path, keep: u32) -> Result<BackupInfo> {
    backup_paced(db_path, dir, keep, Pace::default())
}

/// As [`backup_now`], paced as given.
pub fn backup_paced(db_path: &Path, dir: &Path, keep: u32, pace: Pace) -> Result<BackupInfo> {
    let _one = busy();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::Conflict(format!(
                "the backup folder {} is a file, not a folder",
                dir.display()
            )));
        }
        Err(e) => return Err(folder_problem(dir, &e)),
    }
    // Leftovers of a copy cut short (a crash, a full disk).
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name
                .strip_suffix(".partial")
                .is_some_and(|n| parse_name(n).is_some())
            {
                remove_quietly(&entry.path());
            }
        }
    }
    let started = now_ms();
    let stamp = otklik_domain::time::to_datetime(started)
        .format("%Y%m%d-%H%M%S")
        .to_string();
    let mut name = format!("otklik-{stamp}.db");
    let mut n = 2;
    while dir.join(&name).exists() {
        name = format!("otklik-{stamp}-{n}.db");
        n += 1;
    }
    let target = dir.join(&name);
    let partial = dir.join(format!("{name}.partial"));
    let result = copy_and_check(db_path, dir, &partial, pace);
    let (schema_version, ratings) = match result {
        Ok(v) => v,
        Err(e) => {
            remove_quietly(&partial);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&partial, &target) {
        remove_quietly(&partial);
        return Err(folder_problem(dir, &e));
    }
    sync_dir(dir);
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    prune(dir, keep);
    Ok(BackupInfo {
        file: name,
        dir: dir.display().to_string(),
        at: to_rfc3339(started),
        bytes,
        schema_version,
        ratings,
    })
}

/// Copies a snapshot of `db_path` into `partial` and checks the copy.
fn copy_and_check(db_path: &Path, dir: &Path, partial: &Path, pace: Pace) -> Result<(i64, i64)> {
    // The file first, by hand, so that a folder problem reads as one.
    std::fs::File::create(partial).map_err(|e| folder_problem(dir, &e))?;
    let src = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Error::Conflict(format!("cannot open the database to back it up: {e}")))?;
    src.busy_timeout(Duration::from_secs(10))?;
    // One read transaction for the whole copy: a snapshot that commits made meanwhile do not
    // disturb (without it, each commit would restart the copy from its first page).
    src.execute_batch("BEGIN DEFERRED")?;
    let cannot_read =
        |e: String| Error::Conflict(format!("cannot read the database to back it up: {e}"));
    let version = db::schema_version(&src).map_err(|e| cannot_read(e.to_string()))?;
    let ratings: i64 = src
        .query_row("SELECT COUNT(*) FROM ratings", [], |r| r.get(0))
        .map_err(|e| cannot_read(e.to_string()))?;
    {
        let mut dst =
            Connection::open(partial).map_err(|e| sqlite_problem(dir, "creating the copy", &e))?;
        {
            let backup = Backup::new(&src, &mut dst)
                .map_err(|e| sqlite_problem(dir, "starting the copy", &e))?;
            loop {
                match backup.step(pace.pages) {
                    Ok(StepResult::Done) => break,
                    Ok(StepResult::More) => std::thread::sleep(pace.pause),
                    Ok(StepResult::Busy | StepResult::Locked) => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Ok(_) => std::thread::sleep(pace.pause),
                    Err(e) => return Err(sqlite_problem(dir, "copying", &e)),
                }
            }
        }
        // The pages came from a WAL database: mark the copy as a plain file that stands alone.
        let _: String = dst
            .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
            .map_err(|e| sqlite_problem(dir, "finishing the copy", &e))?;
        let problems = integrity(&dst).map_err(|e| sqlite_problem(dir, "checking the copy", &e))?;
        if !problems.is_empty() {
            return Err(Error::Conflict(format!(
                "the copy failed SQLite's integrity check ({}); the database itself may be damaged: run `otklik verify`",
                problems.join("; ")
            )));
        }
        let copied = db::schema_version(&dst)?;
        if copied != version {
            return Err(Error::Conflict(format!(
                "the copy has schema version {copied}, the database {version}"
            )));
        }
        dst.close()
            .map_err(|(_, e)| sqlite_problem(dir, "closing the copy", &e))?;
    }
    let _ = src.execute_batch("COMMIT");
    sync_file(partial).map_err(|e| folder_problem(dir, &e))?;
    Ok((version, ratings))
}

/// `PRAGMA integrity_check`'s complaints (empty when it says `ok`), at most 5.
fn integrity(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA integrity_check(5)")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let all: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(if all.len() == 1 && all[0] == "ok" {
        Vec::new()
    } else {
        all
    })
}

/// Deletes the oldest backups beyond `keep` (at least one is always kept).
pub fn prune(dir: &Path, keep: u32) -> Vec<String> {
    let Ok(all) = list(dir) else {
        return Vec::new();
    };
    let mut gone = Vec::new();
    for old in all.into_iter().skip(keep.max(1) as usize) {
        match std::fs::remove_file(dir.join(&old.file)) {
            Ok(()) => gone.push(old.file),
            Err(e) => tracing::warn!(file = %old.file, %e, "cannot delete an old backup"),
        }
    }
    gone
}

/// Checks that `path` is an intact Otklik database this build can open. `label` names it in
/// the refusal, which is the `Err` text. Opens the file read-write: only ever call it on a
/// copy that is Otklik's own (an upload, a staged file). Leaves it standing alone (no WAL).
pub fn check_database(path: &Path, label: &str) -> std::result::Result<Checked, String> {
    let mut head = [0u8; 100];
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {label}: {e}"))?
        .len();
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    if read.is_err() || !head.starts_with(b"SQLite format 3\0") {
        return Err(format!("{label} is not a SQLite database"));
    }
    // The header's page size and page count (valid when its two change counters agree).
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    if head[24..28] == head[92..96] && pages > 0 && len < page_size * pages {
        return Err(format!(
            "{label} is truncated: it has {len} bytes of the {} its header promises",
            page_size * pages
        ));
    }
    let damaged = |e: rusqlite::Error| format!("{label} is damaged: {e}");
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(damaged)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(damaged)?;
    // Nothing in the file runs our functions: its views and triggers are not to be trusted yet.
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(damaged)?;
    let problems = integrity(&conn).map_err(damaged)?;
    if !problems.is_empty() {
        return Err(format!(
            "{label} is damaged: SQLite's integrity check says: {}",
            problems.join("; ")
        ));
    }
    for table in [
        "schema_migrations",
        "settings",
        "registrars",
        "desks",
        "ratings",
        "audit_log",
    ] {
        let has: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                [table],
                |r| r.get(0),
            )
            .map_err(damaged)?;
        if !has {
            return Err(format!(
                "{label} is not an Otklik database (it has no {table} table)"
            ));
        }
    }
    let version = db::schema_version(&conn).map_err(|e| format!("{label}: {e}"))?;
    if version < 1 {
        return Err(format!(
            "{label} is not an Otklik database (no schema version)"
        ));
    }
    if version > db::latest_version() {
        return Err(Error::SchemaTooNew {
            path: PathBuf::from(label),
            found: version,
            known: db::latest_version(),
        }
        .to_string());
    }
    let (ratings, last): (i64, Option<Millis>) = conn
        .query_row("SELECT COUNT(*), MAX(at) FROM ratings", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(damaged)?;
    let _: String = conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .map_err(damaged)?;
    conn.close().map_err(|(_, e)| damaged(e))?;
    Ok(Checked {
        schema_version: version,
        ratings,
        last_rating_at: last,
    })
}

/// The staged restore, if there is one.
pub fn pending(data_dir: &Path) -> Option<PendingRestore> {
    if !data_dir.join(PENDING_RESTORE).is_file() {
        return None;
    }
    let info = std::fs::read(data_dir.join(PENDING_INFO)).ok()?;
    serde_json::from_slice(&info).ok()
}

/// Forgets the staged restore; `true` if there was one.
pub fn cancel_pending(data_dir: &Path) -> Result<bool> {
    let _one = busy();
    let path = data_dir.join(PENDING_RESTORE);
    let was = path.exists();
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot remove {}", path.display()), e)),
    }
    remove_quietly(&data_dir.join(PENDING_INFO));
    Ok(was)
}

/// A new name for a file being uploaded or copied for a restore.
pub fn upload_path(data_dir: &Path) -> PathBuf {
    data_dir.join(format!(
        "{UPLOAD_PREFIX}{}.tmp",
        hex::encode(rand::random::<[u8; 8]>())
    ))
}

/// Checks `upload` (a file in the data directory, which this takes over: it is moved or
/// deleted) and stages it. `Ok(Err(why))` is a refusal: nothing was staged or changed.
pub fn stage(
    data_dir: &Path,
    upload: &Path,
    source: &str,
) -> Result<std::result::Result<PendingRestore, String>> {
    let _one = busy();
    let checked = match check_database(upload, source) {
        Ok(c) => c,
        Err(why) => {
            remove_quietly(upload);
            return Ok(Err(why));
        }
    };
    let bytes = std::fs::metadata(upload).map(|m| m.len()).unwrap_or(0);
    let info = PendingRestore {
        source: source.to_string(),
        staged_at: to_rfc3339(now_ms()),
        bytes,
        schema_version: checked.schema_version,
        ratings: checked.ratings,
        last_rating_at: checked.last_rating_at.map(to_rfc3339),
    };
    let staged = data_dir.join(PENDING_RESTORE);
    let write = sync_file(upload)
        .and_then(|()| {
            std::fs::write(
                data_dir.join(PENDING_INFO),
                serde_json::to_vec_pretty(&info).expect("serializes"),
            )
        })
        .and_then(|()| std::fs::rename(upload, &staged));
    if let Err(e) = write {
        remove_quietly(upload);
        remove_quietly(&data_dir.join(PENDING_INFO));
        return Err(Error::io(
            format!("cannot stage the restore in {}", data_dir.display()),
            e,
        ));
    }
    sync_dir(data_dir);
    Ok(Ok(info))
}

/// What [`apply_staged_restore`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub source: String,
    /// Where the database that was replaced is kept.
    pub kept_aside: Option<PathBuf>,
}

/// At start, before the database is opened: moves a staged restore in, keeping the current
/// database aside as `otklik-before-restore-<time>.db`. A staged file that no longer passes
/// the checks is renamed `restore-rejected-<time>.db` and the current database stays; so it
/// does (put back) if the restored one cannot be opened and brought up to date.
pub fn apply_staged_restore(data_dir: &Path) -> Result<Option<Applied>> {
    // Uploads cut short by a stop.
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(UPLOAD_PREFIX) && name.ends_with(".tmp") {
                remove_quietly(&entry.path());
            }
        }
    }
    let staged = data_dir.join(PENDING_RESTORE);
    if !staged.is_file() {
        return Ok(None);
    }
    let source = pending(data_dir).map_or_else(|| PENDING_RESTORE.to_string(), |p| p.source);
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
    if let Err(why) = check_database(&staged, &source) {
        let rejected = data_dir.join(format!("restore-rejected-{stamp}.db"));
        tracing::error!(%why, kept = %rejected.display(), "the staged restore is refused; the current database stays");
        std::fs::rename(&staged, &rejected)
            .map_err(|e| Error::io(format!("cannot move {} aside", staged.display()), e))?;
        remove_quietly(&data_dir.join(PENDING_INFO));
        return Ok(None);
    }
    let db_path = data_dir.join(DB_FILE);
    let wal = data_dir.join(format!("{DB_FILE}-wal"));
    let shm = data_dir.join(format!("{DB_FILE}-shm"));
    let mut kept_aside = None;
    let db_exists = db_path.exists();
    if db_exists {
        // Fold the WAL into the file so the file alone is the whole database, then move it.
        let settle = || -> rusqlite::Result<()> {
            let conn = Connection::open(&db_path)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some("another program holds the database".into()),
                ));
            }
            let _: String =
                conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))?;
            conn.close().map_err(|(_, e)| e)
        };
        settle().map_err(|e| {
            Error::CommitFailed(format!(
                "cannot set {} aside to restore {source} (is another Otklik running on it?): {e}",
                db_path.display()
            ))
        })?;
        let aside = data_dir.join(format!("otklik-before-restore-{stamp}.db"));
        std::fs::rename(&db_path, &aside)
            .map_err(|e| Error::io(format!("cannot move {} aside", db_path.display()), e))?;
        kept_aside = Some(aside);
    }
    // No journal of the old file may be replayed onto the new one.
    remove_quietly(&wal);
    remove_quietly(&shm);
    std::fs::rename(&staged, &db_path)
        .map_err(|e| Error::io(format!("cannot move {} into place", staged.display()), e))?;
    remove_quietly(&data_dir.join(PENDING_INFO));
    sync_dir(data_dir);
    let aside_name = kept_aside
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    // Bring it up to date now, and say so in its audit log; put the old one back if it fails.
    let opened = db::open_writer(&db_path).and_then(|conn| {
        otklik_store::audit::record(
            &conn,
            now_ms(),
            "restore",
            "backup.restored",
            "database",
            None,
            json!({ "from": source, "kept_aside": aside_name }),
        )
    });
    if let Err(e) = opened {
        tracing::error!(%e, %source, "the restored database cannot be opened; the previous one is put back");
        let failed = data_dir.join(format!("restore-failed-{stamp}.db"));
        let _ = std::fs::rename(&db_path, &failed);
        remove_quietly(&wal);
        remove_quietly(&shm);
        if let Some(aside) = &kept_aside {
            std::fs::rename(aside, &db_path)
                .map_err(|e| Error::io(format!("cannot put {} back", aside.display()), e))?;
            let failed_name = failed.file_name().map(|n| n.to_string_lossy().into_owned());
            let _ = db::open_writer(&db_path).and_then(|conn| {
                otklik_store::audit::record(
                    &conn,
                    now_ms(),
                    "restore",
                    "backup.restore_failed",
                    "database",
                    None,
                    json!({ "from": source, "error": e.to_string(), "kept": failed_name }),
                )
            });
        }
        return Ok(None);
    }
    tracing::warn!(%source, kept_aside = ?aside_name, "database restored from a backup");
    Ok(Some(Applied { source, kept_aside }))
}

impl Engine {
    /// Where backups go now.
    pub fn backup_dir(&self) -> PathBuf {
        dir_for(&self.store.data_dir, &self.store.settings().backup_dir)
    }

    /// The newest good backup and the last failure since, for `/healthz` and the console.
    pub fn last_backup(&self) -> LastBackup {
        self.backups.with(|s| s.last.clone())
    }

    /// Backs up now into the backup folder (the default one is created; a chosen one must
    /// exist), keeps the newest `backup_keep`, and records the outcome in the audit log.
    pub async fn backup_now(&self, actor: &str) -> Result<BackupInfo> {
        let s = self.store.settings();
        let dir = dir_for(&self.store.data_dir, &s.backup_dir);
        let default = s.backup_dir.trim().is_empty();
        let db_path = self.store.db_path.clone();
        let keep = s.backup_keep;
        let made = tokio::task::spawn_blocking(move || {
            if default {
                std::fs::create_dir_all(&dir).map_err(|e| folder_problem(&dir, &e))?;
            }
            backup_now(&db_path, &dir, keep)
        })
        .await
        .map_err(|_| Error::ShuttingDown)?;
        let now = now_ms();
        let actor = actor.to_string();
        match &made {
            Ok(info) => {
                self.backups.with(|s| {
                    s.last = LastBackup {
                        at: Some(info.at.clone()),
                        file: Some(info.file.clone()),
                        bytes: Some(info.bytes),
                        error: None,
                        error_at: None,
                    };
                    s.failed_at = None;
                });
                tracing::info!(file = %info.file, bytes = info.bytes, dir = %info.dir, "database backed up");
                let details = json!({ "file": info.file, "dir": info.dir, "bytes": info.bytes, "ratings": info.ratings });
                let _ = self
                    .store
                    .audit(&actor, "backup.create", "database", None, details)
                    .await;
            }
            Err(e) => {
                let msg = e.to_string();
                self.backups.with(|s| {
                    s.last.error = Some(msg.clone());
                    s.last.error_at = Some(to_rfc3339(now));
                    s.failed_at = Some(now);
                });
                tracing::error!(error = %msg, "the backup failed");
                let _ = self
                    .store
                    .audit(
                        &actor,
                        "backup.failed",
                        "database",
                        None,
                        json!({ "error": msg }),
                    )
                    .await;
            }
        }
        made
    }

    /// The backups in the folder, newest first; Err says why the folder cannot be read.
    pub async fn list_backups(&self) -> std::result::Result<Vec<BackupFile>, String> {
        let dir = self.backup_dir();
        tokio::task::spawn_blocking(move || match list(&dir) {
            Ok(all) => Ok(all),
            Err(e) => Err(folder_problem(&dir, &e).to_string()),
        })
        .await
        .unwrap_or_else(|_| Err("the engine is shutting down".into()))
    }

    /// Makes the scheduled backup if one is due at `now`: every `backup_every_hours` (0 = off),
    /// counted from the newest backup in the folder, not in the first minutes after a start,
    /// and after a failure not again for half an hour. `None` when none was due.
    pub async fn scheduled_backup_due(&self, now: Millis) -> Option<Result<BackupInfo>> {
        let s = self.store.settings();
        if s.backup_every_hours == 0 || now - self.started_at < FIRST_DELAY_MS {
            return None;
        }
        let period = Millis::from(s.backup_every_hours) * 3_600_000;
        let failed_at = self.backups.with(|st| st.failed_at);
        if failed_at.is_some_and(|t| now - t < period.min(RETRY_MS)) {
            return None;
        }
        let newest = self
            .list_backups()
            .await
            .ok()
            .and_then(|all| all.first().and_then(|b| name_time(&b.file)));
        if newest.is_some_and(|t| now - t < period) {
            return None;
        }
        Some(self.backup_now("schedule").await)
    }

    /// Checks an uploaded or copied file (in the data directory; this takes it over) and
    /// stages it for the next start. `Ok(Err(why))`: refused, nothing changed.
    pub async fn stage_restore(
        &self,
        upload: PathBuf,
        source: String,
        actor: &str,
    ) -> Result<std::result::Result<PendingRestore, String>> {
        let data_dir = self.store.data_dir.clone();
        let src = source.clone();
        let staged = tokio::task::spawn_blocking(move || stage(&data_dir, &upload, &src))
            .await
            .map_err(|_| Error::ShuttingDown)??;
        let actor = actor.to_string();
        let details = match &staged {
            Ok(p) => {
                json!({ "source": p.source, "ratings": p.ratings, "schema_version": p.schema_version })
            }
            Err(why) => json!({ "source": source, "refused": why }),
        };
        let action = if staged.is_ok() {
            "backup.restore_staged"
        } else {
            "backup.restore_refused"
        };
        let _ = self
            .store
            .writer
            .write(move |ctx| {
                otklik_store::audit::record(
                    ctx.conn, ctx.now, &actor, action, "database", None, details,
                )
            })
            .await;
        Ok(staged)
    }
}

/// Fills in the newest backup for `/healthz` at start, then makes the scheduled backups, prunes
/// old log files (at start, daily and when `log_keep_days` changes), and keeps the log's list of
/// secrets to remove current.
pub async fn run_schedule(engine: Arc<Engine>) {
    if let Ok(all) = engine.list_backups().await
        && let Some(newest) = all.first()
    {
        engine.backups.with(|s| {
            if s.last.at.is_none() {
                s.last.at = Some(newest.at.clone());
                s.last.file = Some(newest.file.clone());
                s.last.bytes = Some(newest.bytes);
            }
        });
    }
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A change of the settings is looked at at once, not at the next minute.
    let mut events = engine.store.events.subscribe(None, false).rx;
    let mut pruned: Option<(Millis, u32)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            event = events.recv() => match event {
                Ok(e) if e.name == "settings" => {}
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
        }
        let now = now_ms();
        let e2 = engine.clone();
        let _ = tokio::task::spawn_blocking(move || {
            crate::logs::set_secrets(&e2.store.data_dir, crate::diagnostics::known_secrets(&e2));
        })
        .await;
        let days = engine.store.settings().log_keep_days;
        if pruned.is_none_or(|(at, with)| now - at >= 24 * 3_600_000 || with != days) {
            pruned = Some((now, days));
            let dir = crate::logs::log_dir(&engine.store.data_dir);
            let _ = tokio::task::spawn_blocking(move || crate::logs::prune(&dir, days)).await;
        }
        if let Some(Err(e)) = engine.scheduled_backup_due(now).await {
            tracing::warn!(%e, "the scheduled backup failed; it is tried again in half an hour");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

    #[test]
    fn names_parse_and_sort() {
        assert_eq!(
            parse_name("otklik-20250301-170000.db"),
            Some(("20250301170000".into(), 1))
        );
        assert_eq!(
            parse_name("otklik-20250301-170000-3.db"),
            Some(("20250301170000".into(), 3))
        );
        for bad in [
            "otklik.db",
            "otklik-before-restore-20250301-170000.db",
            "otklik-20250301-170000.db.partial",
            "otklik-20251301-170000.db",
            "otklik-2025031-170000.db",
            "otklik-20250301-170000-1.db",
            "../otklik-20250301-170000.db",
            "otklik-20250301-170000-x.db",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
        let mut keys = [
            parse_name("otklik-20250301-170000-2.db").unwrap(),
            parse_name("otklik-20250301-170000.db").unwrap(),
            parse_name("otklik-20250301-165959.db").unwrap(),
        ];
        keys.sort();
        assert_eq!(keys[0].0, "20250301165959");
        assert_eq!(keys[1], ("20250301170000".into(), 1));
        assert_eq!(keys[2], ("20250301170000".into(), 2));
    }

    /// The copy is a snapshot even when it is taken a page at a time while another connection
    /// commits all along: it finishes (no endless restarts) and holds every row committed
    /// before it began.
    #[test]
    fn a_paced_backup_finishes_while_another_connection_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("otklik.db");
        let conn = db::open_writer(&db_path).unwrap();
        conn.execute_batch("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .unwrap();
        for _ in 0..200 {
            conn.execute("INSERT INTO filler (body) VALUES (zeroblob(4000))", [])
                .unwrap();
        }
        let before: i64 = conn
            .query_row("SELECT MAX(id) FROM filler", [], |r| r.get(0))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicI64::new(0));
        let writer = {
            let (stop, written) = (stop.clone(), written.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    conn.execute("INSERT INTO filler (body) VALUES (zeroblob(100))", [])
                        .unwrap();
                    written.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        let backups = dir.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        let pace = Pace {
            pages: 1,
            pause: Duration::from_millis(1),
        };
        let during = written.load(Ordering::Relaxed);
        let info = backup_paced(&db_path, &backups, 3, pace).unwrap();
        let after = written.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(after > during, "the writer committed during the backup");
        let copy = Connection::open(backups.join(&info.file)).unwrap();
        let max: i64 = copy
            .query_row("SELECT MAX(id) FROM filler", [], |r| r.get(0))
            .unwrap();
        assert!(max >= before);
        assert!(integrity(&copy).unwrap().is_empty());
        let mode: String = copy
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "the copy stands alone");
        assert_eq!(info.schema_version, db::latest_version());
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("otklik.db");
        drop(db::open_writer(&db_path).unwrap());
        let err = backup_now(&db_path, &dir.path().join("nowhere"), 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(err.contains("nowhere"), "{err}");
    }
}
