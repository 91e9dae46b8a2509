//! Registrar work sessions: who works at which desk, from when to when. At most one open session
//! per desk and per registrar; opening one closes whatever stood in its way.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit;
use crate::roster::{get_desk, get_registrar};
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

/// A session that started or ended, as the API answers and the `session` event carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionChange {
    pub session_id: i64,
    pub desk_id: i64,
    pub registrar_id: i64,
    /// `started` or `ended`.
    pub change: &'static str,
    pub started_at: String,
    pub ended_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionStarted {
    pub session_id: i64,
    pub desk_id: i64,
    pub registrar_id: i64,
    pub started_at: String,
    /// Sessions closed to make way: the desk's previous one, the registrar's at another desk.
    pub closed: Vec<SessionChange>,
}

/// The session open at `desk_id` at instant `at`: the one a rating given then belongs to.
pub fn session_at(conn: &Connection, desk_id: i64, at: Millis) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, registrar_id FROM work_sessions
             WHERE desk_id = ?1 AND started_at <= ?2 AND (ended_at IS NULL OR ended_at > ?2)
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )?
        .query_row((desk_id, at), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

fn close(
    ctx: &mut WriteCtx<'_>,
    sql_where: &str,
    key: i64,
    actor: &str,
) -> Result<Option<SessionChange>> {
    let open = ctx
        .conn
        .prepare_cached(&format!(
            "SELECT id, desk_id, registrar_id, started_at FROM work_sessions WHERE ended_at IS NULL AND {sql_where} = ?1"
        ))?
        .query_row([key], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)?)))
        .optional()?;
    let Some((session_id, desk_id, registrar_id, started_at)) = open else {
        return Ok(None);
    };
    // A clock set back must not end a session before it began.
    let ended_at = ctx.now.max(started_at);
    ctx.conn
        .prepare_cached("UPDATE work_sessions SET ended_at = ?1 WHERE id = ?2")?
        .execute((ended_at, session_id))?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "session.end",
        "session",
        Some(session_id),
        json!({ "desk_id": desk_id, "registrar_id": registrar_id }),
    )?;
    let change = SessionChange {
        session_id,
        desk_id,
        registrar_id,
        change: "ended",
        started_at: to_rfc3339(started_at),
        ended_at: Some(to_rfc3339(ended_at)),
    };
    ctx.emit("session", &change);
    Ok(Some(change))
}

pub fn close_at_desk(
    ctx: &mut WriteCtx<'_>,
    desk_id: i64,
    actor: &str,
) -> Result<Option<SessionChange>> {
    close(ctx, "desk_id", desk_id, actor)
}

pub fn close_for_registrar(
    ctx: &mut WriteCtx<'_>,
    registrar_id: i64,
    actor: &str,
) -> Result<Option<SessionChange>> {
    close(ctx, "registrar_id", registrar_id, actor)
}

/// Ends the session open at a desk; an error if there is none.
pub fn end(ctx: &mut WriteCtx<'_>, desk_id: i64, actor: &str) -> Result<SessionChange> {
    get_desk(ctx.conn, desk_id)?;
    close_at_desk(ctx, desk_id, actor)?
        .ok_or_else(|| Error::Conflict(format!("no session is open at desk {desk_id}")))
}

/// Opens a session of `registrar_id` at `desk_id` now, closing the desk's previous session and
/// the registrar's session at another desk.
pub fn start(
    ctx: &mut WriteCtx<'_>,
    desk_id: i64,
    registrar_id: i64,
    actor: &str,
) -> Result<SessionStarted> {
    let desk = get_desk(ctx.conn, desk_id)?;
    if !desk.active {
        return Err(Error::Conflict(format!("desk {desk_id} is deactivated")));
    }
    let registrar = get_registrar(ctx.conn, registrar_id).map_err(|e| match e {
        Error::NotFound { .. } => Error::invalid(
            "registrar_id",
            format!("registrar {registrar_id} does not exist"),
        ),
        e => e,
    })?;
    if !registrar.active {
        return Err(Error::invalid(
            "registrar_id",
            format!("registrar {registrar_id} is deactivated"),
        ));
    }
    let mut closed = Vec::new();
    closed.extend(close_at_desk(ctx, desk_id, actor)?);
    closed.extend(close_for_registrar(ctx, registrar_id, actor)?);
    ctx.conn
        .prepare_cached(
            "INSERT INTO work_sessions (desk_id, registrar_id, started_at) VALUES (?1, ?2, ?3)",
        )?
        .execute((desk_id, registrar_id, ctx.now))?;
    let session_id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "session.start",
        "session",
        Some(session_id),
        json!({ "desk_id": desk_id, "registrar_id": registrar_id }),
    )?;
    ctx.emit(
        "session",
        &SessionChange {
            session_id,
            desk_id,
            registrar_id,
            change: "started",
            started_at: to_rfc3339(ctx.now),
            ended_at: None,
        },
    );
    Ok(SessionStarted {
        session_id,
        desk_id,
        registrar_id,
        started_at: to_rfc3339(ctx.now),
        closed,
    })
}
