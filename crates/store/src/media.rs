//! Media files and their records: files under `media/` with random names (never a name from a
//! request, so nothing can be guessed or traversed), metadata in the database, and the retention
//! purge that deletes old files and keeps the ratings.

use std::path::{Path, PathBuf};

use rand::RngCore;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

pub const DIR: &str = "media";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Media {
    pub id: i64,
    pub desk_id: i64,
    /// `photo` or `audio`.
    pub kind: String,
    /// `saved`, `missing` (the device could not deliver: see `reason`) or `purged` (retention).
    pub state: String,
    pub mime: Option<String>,
    pub bytes: Option<i64>,
    pub reason: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub created_at: String,
    /// Where a token holder gets the file: `/api/v1/media/{id}`.
    pub url: Option<String>,
}

/// A new file name: 128 random bits, so a file cannot be guessed.
pub fn new_file_name(ext: &str) -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    format!("{}.{ext}", hex::encode(b))
}

/// Writes a media file under `data_dir/media/` (durably: the record refers to it).
pub fn write_file(data_dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let dir = data_dir.join(DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.part"));
    std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The path of a stored file, only for names this module made (hex and one extension).
pub fn file_path(data_dir: &Path, name: &str) -> Option<PathBuf> {
    let (stem, ext) = name.split_once('.')?;
    let plain = stem.len() == 32
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && matches!(ext, "jpg" | "ogg");
    plain.then(|| data_dir.join(DIR).join(name))
}

pub struct NewMedia<'a> {
    pub desk_id: i64,
    pub kind: &'static str,
    pub ratings: &'a [i64],
    /// The saved file (name, mime, size), or why there is none.
    pub outcome: std::result::Result<(String, &'static str, i64), String>,
    pub span: Option<(Millis, Millis)>,
}

pub fn insert(ctx: &mut WriteCtx<'_>, m: &NewMedia<'_>) -> Result<Media> {
    let (state, file, mime, bytes, reason) = match &m.outcome {
        Ok((file, mime, bytes)) => (
            "saved",
            Some(file.as_str()),
            Some(*mime),
            Some(*bytes),
            None,
        ),
        Err(reason) => ("missing", None, None, None, Some(reason.as_str())),
    };
    ctx.conn
        .prepare_cached(
            "INSERT INTO media (desk_id, kind, state, file, mime, bytes, reason, span_from, span_to, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(rusqlite::params![
            m.desk_id,
            m.kind,
            state,
            file,
            mime,
            bytes,
            reason,
            m.span.map(|s| s.0),
            m.span.map(|s| s.1),
            ctx.now,
        ])?;
    let id = ctx.conn.last_insert_rowid();
    for rating_id in m.ratings {
        ctx.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO rating_media (rating_id, media_id) VALUES (?1, ?2)",
            )?
            .execute((rating_id, id))?;
    }
    let media = get(ctx.conn, id)?;
    ctx.emit("media", &json!({ "media": media, "ratings": m.ratings }));
    Ok(media)
}

const COLUMNS: &str =
    "id, desk_id, kind, state, mime, bytes, reason, span_from, span_to, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Media> {
    let id: i64 = r.get(0)?;
    let state: String = r.get(3)?;
    Ok(Media {
        url: (state == "saved").then(|| format!("/api/v1/media/{id}")),
        id,
        desk_id: r.get(1)?,
        kind: r.get(2)?,
        state,
        mime: r.get(4)?,
        bytes: r.get(5)?,
        reason: r.get(6)?,
        from: r.get::<_, Option<i64>>(7)?.map(to_rfc3339),
        to: r.get::<_, Option<i64>>(8)?.map(to_rfc3339),
        created_at: to_rfc3339(r.get(9)?),
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Media> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM media WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound { what: "media", id })
}

/// The stored file of a saved media record: (name, mime).
pub fn file_of(conn: &Connection, id: i64) -> Result<(String, String)> {
    let row: Option<(Option<String>, Option<String>, String)> = conn
        .prepare_cached("SELECT file, mime, state FROM media WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match row {
        Some((Some(file), Some(mime), state)) if state == "saved" => Ok((file, mime)),
        Some((_, _, state)) => Err(Error::Conflict(format!("media {id} is {state}"))),
        None => Err(Error::NotFound { what: "media", id }),
    }
}

/// The evidence of a rating, photo first.
pub fn for_rating(conn: &Connection, rating_id: i64) -> Result<Vec<Media>> {
    crate::ratings::get(conn, rating_id)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM media WHERE id IN (SELECT media_id FROM rating_media WHERE rating_id = ?1)
         ORDER BY kind DESC, id"
    ))?;
    let rows = stmt.query_map([rating_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Purged {
    pub photos: u64,
    pub clips: u64,
    pub bytes: u64,
}

/// Deletes the files of photos and clips older than their retention, marks their records
/// purged and says so in the audit log. Ratings stay. Returns what went.
pub fn purge(
    ctx: &mut WriteCtx<'_>,
    data_dir: &Path,
    photo_days: u32,
    audio_days: u32,
    now: Millis,
) -> Result<Purged> {
    let day = 24 * 60 * 60 * 1000;
    let mut out = Purged::default();
    for (kind, days) in [("photo", photo_days), ("audio", audio_days)] {
        let before = now - Millis::from(days) * day;
        let old: Vec<(i64, String, i64)> = ctx
            .conn
            .prepare_cached(
                "SELECT id, file, COALESCE(bytes, 0) FROM media
                 WHERE state = 'saved' AND kind = ?1 AND created_at < ?2",
            )?
            .query_map((kind, before), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, file, bytes) in old {
            if let Some(path) = file_path(data_dir, &file) {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    // Left for the next run; the record still says saved.
                    Err(e) => {
                        tracing::warn!(%e, path = %path.display(), "cannot delete an old media file");
                        continue;
                    }
                }
            }
            ctx.conn
                .prepare_cached(
                    "UPDATE media SET state = 'purged', file = NULL, purged_at = ?1 WHERE id = ?2",
                )?
                .execute((now, id))?;
            out.bytes += bytes as u64;
            if kind == "photo" {
                out.photos += 1;
            } else {
                out.clips += 1;
            }
        }
    }
    if out.photos + out.clips > 0 {
        audit::record(
            ctx.conn,
            ctx.now,
            "retention",
            "media.purge",
            "media",
            None,
            json!({ "photos": out.photos, "clips": out.clips, "bytes": out.bytes,
                    "photo_retention_days": photo_days, "audio_retention_days": audio_days }),
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_this_module_makes_are_served() {
        let dir = Path::new("/data");
        let name = new_file_name("jpg");
        assert_eq!(file_path(dir, &name), Some(dir.join("media").join(&name)));
        for bad in [
            "../otklik.db",
            "../../etc/passwd.jpg",
            "0123456789abcdef0123456789abcdef.db",
            "0123456789abcdef0123456789abcde/.jpg",
            "0123456789abcdef0123456789abcdef.jpg.ogg",
            "",
        ] {
            assert_eq!(file_path(dir, bad), None, "{bad}");
        }
    }
}
