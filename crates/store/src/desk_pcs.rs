//! On the reception: the desk PCs paired to it (panels of role `desk_pc`), where each one's
//! journal stands, its clock, and the presses it forwarded, each kept once by the id the desk
//! PC gave it at the press (migration 0014).

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_domain::time::Millis;

/// A paired desk PC as the console and health see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeskPc {
    pub panel_id: i64,
    pub desk_id: i64,
    pub desk_name: String,
    /// The last change of its journal applied here (0 before its first batch).
    pub last_seq: i64,
    /// When its last batch (or heartbeat) arrived.
    pub last_seen: Option<Millis>,
    /// Its clock minus this PC's, at its last batch.
    pub clock_drift_ms: Option<Millis>,
}

/// The last seq applied from the desk PC `panel_id`.
pub fn last_seq(conn: &Connection, panel_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT last_seq FROM desk_pc_links WHERE panel_id = ?1")?
        .query_row([panel_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The reception's rating made from the desk PC's rating `local_id`, if it was forwarded already.
pub fn forwarded(conn: &Connection, panel_id: i64, local_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT rating_id FROM desk_pc_ratings WHERE panel_id = ?1 AND local_id = ?2",
        )?
        .query_row([panel_id, local_id], |r| r.get(0))
        .optional()?)
}

/// Remembers that the desk PC's rating `local_id` is the reception's `rating_id`.
pub fn remember(conn: &Connection, panel_id: i64, local_id: i64, rating_id: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO desk_pc_ratings (panel_id, local_id, rating_id) VALUES (?1, ?2, ?3)",
    )?
    .execute([panel_id, local_id, rating_id])?;
    Ok(())
}

/// Moves the desk PC's journal on to `seq` (never back) and notes when it was heard from.
pub fn advance(
    conn: &Connection,
    panel_id: i64,
    seq: i64,
    now: Millis,
    drift: Option<Millis>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO desk_pc_links (panel_id, last_seq, last_seen, clock_drift_ms)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (panel_id) DO UPDATE SET
             last_seq = MAX(last_seq, excluded.last_seq),
             last_seen = excluded.last_seen,
             clock_drift_ms = COALESCE(excluded.clock_drift_ms, clock_drift_ms)",
    )?
    .execute((panel_id, seq, now, drift))?;
    Ok(())
}

/// The paired (not revoked) desk PCs, by desk.
pub fn list(conn: &Connection) -> Result<Vec<DeskPc>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.desk_id, d.name, COALESCE(l.last_seq, 0), l.last_seen, l.clock_drift_ms
         FROM panels p JOIN desks d ON d.id = p.desk_id
         LEFT JOIN desk_pc_links l ON l.panel_id = p.id
         WHERE p.role = 'desk_pc' AND p.revoked_at IS NULL
         ORDER BY p.desk_id, p.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeskPc {
            panel_id: r.get(0)?,
            desk_id: r.get(1)?,
            desk_name: r.get(2)?,
            last_seq: r.get(3)?,
            last_seen: r.get(4)?,
            clock_drift_ms: r.get(5)?,
        })
    })?;
    rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
}

/// On the reception: the media a desk PC's file `local_id` became, if it was forwarded already.
pub fn forwarded_media(conn: &Connection, panel_id: i64, local_id: i64) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT media_id FROM desk_pc_media WHERE panel_id = ?1 AND local_id = ?2")?
        .query_row([panel_id, local_id], |r| r.get(0))
        .optional()?)
}

pub fn remember_media(
    conn: &Connection,
    panel_id: i64,
    local_id: i64,
    media_id: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO desk_pc_media (panel_id, local_id, media_id) VALUES (?1, ?2, ?3)",
    )?
    .execute([panel_id, local_id, media_id])?;
    Ok(())
}

/// On the desk PC: a saved photo or clip to send on.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub media_id: i64,
    pub kind: String,
    pub file: String,
    pub mime: String,
    pub span: Option<(Millis, Millis)>,
    /// The desk PC's ratings it belongs to.
    pub ratings: Vec<i64>,
}

/// On the desk PC: saved files made since the link, not sent yet, whose ratings the reception
/// has acknowledged already (none of them still in the journal), oldest first.
pub fn outgoing_media(conn: &Connection, linked_at: Millis, limit: u32) -> Result<Vec<Outgoing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.kind, m.file, m.mime, m.span_from, m.span_to,
                (SELECT group_concat(rating_id) FROM rating_media WHERE media_id = m.id)
         FROM media m
         WHERE m.state = 'saved' AND m.created_at >= ?1
           AND NOT EXISTS (SELECT 1 FROM uplink_media u WHERE u.media_id = m.id)
           AND NOT EXISTS (
               SELECT 1 FROM uplink_journal j, rating_media rm
               WHERE rm.media_id = m.id AND json_extract(j.body, '$.kind') = 'rating'
                 AND json_extract(j.body, '$.id') = rm.rating_id)
         ORDER BY m.id LIMIT ?2",
    )?;
    let rows = stmt.query_map((linked_at, limit), |r| {
        let from: Option<Millis> = r.get(4)?;
        let to: Option<Millis> = r.get(5)?;
        let ratings: Option<String> = r.get(6)?;
        Ok(Outgoing {
            media_id: r.get(0)?,
            kind: r.get(1)?,
            file: r.get(2)?,
            mime: r.get(3)?,
            span: from.zip(to),
            ratings: ratings
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.parse().ok())
                .collect(),
        })
    })?;
    rows.collect::<rusqlite::Result<_>>().map_err(Error::from)
}

/// On the desk PC: the file `media_id` went to the reception (`sent`), or will not (why).
pub fn media_done(conn: &Connection, media_id: i64, now: Millis, outcome: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO uplink_media (media_id, sent_at, outcome) VALUES (?1, ?2, ?3)",
    )?
    .execute((media_id, now, outcome))?;
    Ok(())
}
