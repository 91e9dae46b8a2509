//! Backups, restore and "Save diagnostics": token holders and the console only.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiQuery, ApiResult, ErrorBody};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::time::now_ms;
use otklik_engine::backup::{self, BackupFile, BackupInfo, LastBackup, PendingRestore};

/// The backup folder and what is in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Backups {
    /// Where backups go (the `backup_dir` setting, or `backups` in the data directory).
    pub dir: String,
    /// `backup_every_hours` (0 = no scheduled backups) and `backup_keep`.
    pub every_hours: u32,
    pub keep: u32,
    /// Newest first.
    pub files: Vec<BackupFile>,
    /// Why the folder cannot be read (missing, no permission), if it cannot.
    pub folder_error: Option<String>,
    /// The newest good backup and the last failure since.
    pub last: LastBackup,
    /// A restore waiting for the next start.
    pub pending_restore: Option<PendingRestore>,
}

#[utoipa::path(get, path = "/api/v1/backups", security(("token" = [])),
    responses((status = 200, body = Backups)))]
pub async fn list_backups(State(e): State<AppState>) -> ApiResult<Json<Backups>> {
    let s = e.store.settings();
    let (files, folder_error) = match e.list_backups().await {
        Ok(files) => (files, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    Ok(Json(Backups {
        dir: e.backup_dir().display().to_string(),
        every_hours: s.backup_every_hours,
        keep: s.backup_keep,
        files,
        folder_error,
        last: e.last_backup(),
        pending_restore: backup::pending(&e.store.data_dir),
    }))
}

/// Backs the database up now (ratings keep arriving meanwhile); the oldest backups beyond
/// `backup_keep` are deleted.
#[utoipa::path(post, path = "/api/v1/backups", security(("token" = [])),
    responses((status = 201, body = BackupInfo),
        (status = 409, description = "The folder is missing, not writable or full (`backup_failed`)", body = ErrorBody)))]
pub async fn create_backup(
    State(e): State<AppState>,
    Actor(actor): Actor,
) -> ApiResult<(StatusCode, Json<BackupInfo>)> {
    match e.backup_now(actor).await {
        Ok(info) => Ok((StatusCode::CREATED, Json(info))),
        Err(Error::Conflict(why)) => Err(ApiError::new(StatusCode::CONFLICT, "backup_failed", why)),
        Err(other) => Err(other.into()),
    }
}

fn backup_path(e: &AppState, name: &str) -> ApiResult<PathBuf> {
    if backup::parse_name(name).is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("'{name}' is not the name of a backup (otklik-YYYYMMDD-HHMMSS.db)"),
        )
        .field("file"));
    }
    let dir = e.backup_dir();
    let path = dir.join(name);
    if !path.is_file() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("there is no backup {name} in {}", dir.display()),
        ));
    }
    Ok(path)
}

/// Streams a file from a blocking thread, 64 KiB at a time.
fn file_body(path: PathBuf) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn attachment(name: &str) -> String {
    format!("attachment; filename=\"{name}\"")
}

/// A backup file itself (a SQLite database).
#[utoipa::path(get, path = "/api/v1/backups/{name}", params(("name" = String, Path, description = "e.g. otklik-20250301-170000.db")), security(("token" = [])),
    responses((status = 200, description = "The database file", content_type = "application/vnd.sqlite3"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn download_backup(
    State(e): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> ApiResult<Response> {
    let path = backup_path(&e, &name)?;
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/vnd.sqlite3")
        .header(header::CONTENT_LENGTH, len)
        .header(header::CONTENT_DISPOSITION, attachment(&name))
        .header(header::CACHE_CONTROL, "no-store")
        .body(file_body(path))
        .expect("a valid response"))
}

/// Restore from a backup in the folder.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreFrom {
    /// A name from `GET /api/v1/backups`.
    pub file: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RestoreQuery {
    /// For an uploaded file: its name, to say which file in messages and the audit log.
    pub name: Option<String>,
}

/// A staged restore: it takes effect when Otklik next starts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Staged {
    pub pending_restore: PendingRestore,
    pub message: String,
}

const RESTART: &str = "The backup is checked and staged. Restart Otklik to finish the restore: \
    the current database is then kept aside as otklik-before-restore-<time>.db and the backup \
    takes its place. Until then nothing has changed.";

/// Stages a restore, from a backup in the folder (`{"file": "..."}` as JSON) or from a file
/// sent as the body (`application/octet-stream`, up to 2 GiB). The file is checked before
/// anything else: a SQLite database, intact (`PRAGMA integrity_check`), an Otklik database of a
/// schema version this Otklik knows. A refusal (422, `bad_backup`) changes nothing. The restore
/// itself happens at the next start.
#[utoipa::path(post, path = "/api/v1/backups/restore", params(RestoreQuery), security(("token" = [])),
    request_body(content(
        (RestoreFrom = "application/json"),
        (Vec<u8> = "application/octet-stream")
    )),
    responses((status = 202, body = Staged),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Not a SQLite file, damaged, truncated, not Otklik's, or of a newer schema (`bad_backup`)", body = ErrorBody)))]
pub async fn restore(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiQuery(q): ApiQuery<RestoreQuery>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Staged>)> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (upload, source) = match ctype.as_str() {
        "application/json" => {
            let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
                .await
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        "the request body is too large (limit 64 KiB)",
                    )
                })?;
            let from: RestoreFrom = serde_json::from_slice(&bytes).map_err(|err| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_json",
                    format!("malformed JSON body: {err}"),
                )
                .field("file")
            })?;
            let path = backup_path(&e, &from.file)?;
            let upload = backup::upload_path(&e.store.data_dir);
            let dst = upload.clone();
            let copied = tokio::task::spawn_blocking(move || std::fs::copy(&path, &dst))
                .await
                .map_err(|_| Error::ShuttingDown)?;
            if let Err(err) = copied {
                let _ = std::fs::remove_file(&upload);
                return Err(Error::io(format!("cannot copy {}", from.file), err).into());
            }
            (upload, from.file)
        }
        "application/octet-stream" | "application/vnd.sqlite3" | "application/x-sqlite3" => {
            let upload = backup::upload_path(&e.store.data_dir);
            receive(req.into_body(), &upload, backup::MAX_RESTORE_BYTES).await?;
            let name = q
                .name
                .as_deref()
                .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim())
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(100).collect::<String>())
                .unwrap_or_else(|| "the uploaded file".to_string());
            (upload, name)
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "bad_content_type",
                "send {\"file\": \"<a backup's name>\"} as application/json, or the database file itself as application/octet-stream",
            ));
        }
    };
    match e.stage_restore(upload, source, actor).await? {
        Ok(pending) => Ok((
            StatusCode::ACCEPTED,
            Json(Staged {
                pending_restore: pending,
                message: RESTART.to_string(),
            }),
        )),
        Err(why) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_backup", why).field("file"))
        }
    }
}

/// Writes the body to `path` from a blocking thread; past `limit` bytes it stops with 413.
/// On any failure the file is removed.
async fn receive(body: Body, path: &Path, limit: u64) -> ApiResult<u64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let target = path.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        let mut file = std::fs::File::create(&target)?;
        let mut n = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            file.write_all(&chunk)?;
            n += chunk.len() as u64;
        }
        file.sync_all()?;
        Ok(n)
    });
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                total += chunk.len() as u64;
                if total > limit {
                    failure = Some(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        format!("the file is larger than {} GiB", limit >> 30),
                    ));
                    break;
                }
                if tx.send(chunk).await.is_err() {
                    break; // the writer stopped: its error is below
                }
            }
            Err(err) => {
                failure = Some(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_body",
                    format!("the upload was cut short: {err}"),
                ));
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(|_| Error::ShuttingDown);
    let outcome = match (failure, written) {
        (Some(f), _) => Err(f),
        (None, Err(err)) => Err(err.into()),
        (None, Ok(Err(err))) => {
            Err(Error::io(format!("cannot save the upload in {}", path.display()), err).into())
        }
        (None, Ok(Ok(n))) => Ok(n),
    };
    if outcome.is_err() {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

/// Forgets a staged restore (before the restart that would apply it).
#[utoipa::path(delete, path = "/api/v1/backups/restore", security(("token" = [])),
    responses((status = 204, description = "Cancelled"), (status = 404, body = ErrorBody)))]
pub async fn cancel_restore(
    State(e): State<AppState>,
    Actor(actor): Actor,
) -> ApiResult<StatusCode> {
    let dir = e.store.data_dir.clone();
    let was = tokio::task::spawn_blocking(move || backup::cancel_pending(&dir))
        .await
        .map_err(|_| Error::ShuttingDown)??;
    if !was {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no restore is waiting",
        ));
    }
    let actor = actor.to_string();
    let _ = e
        .store
        .audit(
            &actor,
            "backup.restore_cancelled",
            "database",
            None,
            serde_json::json!({}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A zip for a support request: `logs/` (the last 7 days), `health.json` (as `/healthz`),
/// `settings.json` (settings, notification, camera and input settings; no secrets),
/// `versions.txt`, `outbox-failed.json`, `audit-recent.json`. It is searched for every secret
/// Otklik knows before it is sent; if one is found, 409 `secret_found` names which (not its
/// value) and where, and no zip is made.
#[utoipa::path(post, path = "/api/v1/diagnostics", security(("token" = [])),
    responses((status = 200, description = "otklik-diagnostics-<time>.zip", content_type = "application/zip"),
        (status = 409, description = "A secret was found in it (`secret_found`)", body = ErrorBody)))]
pub async fn diagnostics(State(e): State<AppState>, Actor(actor): Actor) -> ApiResult<Response> {
    let (_, Json(health)) = super::live::health(&e).await;
    let health = serde_json::to_value(&health).unwrap_or_default();
    let e2 = e.clone();
    let built =
        tokio::task::spawn_blocking(move || otklik_engine::diagnostics::build(&e2, &health))
            .await
            .map_err(|_| Error::ShuttingDown)?;
    let zip = match built {
        Ok(zip) => zip,
        Err(Error::Conflict(why)) => {
            tracing::error!(%why, "diagnostics refused");
            return Err(ApiError::new(StatusCode::CONFLICT, "secret_found", why));
        }
        Err(other) => return Err(other.into()),
    };
    let name = otklik_engine::diagnostics::file_name(now_ms());
    let actor = actor.to_string();
    let details = serde_json::json!({ "file": name, "bytes": zip.len() });
    let _ = e
        .store
        .audit(&actor, "diagnostics.save", "diagnostics", None, details)
        .await;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(header::CONTENT_DISPOSITION, attachment(&name))
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(zip))
        .expect("a valid response"))
}
