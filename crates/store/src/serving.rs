//! The armed rating window: when a desk is `armed`, a press counts only while its registrar is
//! serving a patient. Serving starts and ends from the registrar's panel, a key on the remote or
//! the queue system through the API; a press outside it is kept and flagged `outside_serving`.
//! Intervals are kept, so a rating that arrives late is judged by the time it was given.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::roster::{Desk, get_desk};
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

/// Who said serving started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The registrar's panel at the desk.
    Panel,
    /// The serve key of the desk's button remote.
    Key,
    /// The queue system or the clinic's information system, through the API.
    Api,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Panel => "panel",
            Source::Key => "key",
            Source::Api => "api",
        }
    }
}

/// What is being served at a desk now, as the desk shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServingNow {
    pub since: String,
    /// `panel`, `key` or `api`.
    pub source: String,
}

/// One serving interval that started or ended, as the API answers and the `serving` event
/// carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServingChange {
    pub desk_id: i64,
    /// Whether the desk is serving now, after the change.
    pub serving: bool,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub source: Option<String>,
    /// The queue system's ticket or visit, if it gave one.
    pub ticket: Option<String>,
}

/// How long a window lasts around a serving interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    /// A press this long after serving ended still counts (the patient presses on leaving).
    pub grace_ms: Millis,
    /// A serving nobody ended stops counting this long after it started.
    pub max_ms: Millis,
}

/// A ticket as a queue system gives it: trimmed, 1 to 64 printable characters.
pub fn clean_ticket(raw: &str) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(char::is_control) {
        return Err(Error::invalid(
            "ticket",
            "must be 1 to 64 characters without control characters",
        ));
    }
    Ok(t.to_string())
}

/// The interval open at a desk.
struct Open {
    id: i64,
    started_at: Millis,
    source: String,
    ticket: Option<String>,
}

fn open(conn: &Connection, desk_id: i64) -> Result<Option<Open>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, started_at, source, ticket FROM serving WHERE desk_id = ?1 AND ended_at IS NULL",
        )?
        .query_row([desk_id], |r| {
            Ok(Open {
                id: r.get(0)?,
                started_at: r.get(1)?,
                source: r.get(2)?,
                ticket: r.get(3)?,
            })
        })
        .optional()?)
}

/// Ends what is open at the desk; `None` if nothing was.
fn close(ctx: &mut WriteCtx<'_>, desk_id: i64) -> Result<Option<ServingChange>> {
    let Some(Open {
        id,
        started_at,
        source,
        ticket,
    }) = open(ctx.conn, desk_id)?
    else {
        return Ok(None);
    };
    // A clock set back must not end it before it began.
    let ended_at = ctx.now.max(started_at);
    ctx.conn
        .prepare_cached("UPDATE serving SET ended_at = ?1 WHERE id = ?2")?
        .execute((ended_at, id))?;
    Ok(Some(ServingChange {
        desk_id,
        serving: false,
        started_at: Some(to_rfc3339(started_at)),
        ended_at: Some(to_rfc3339(ended_at)),
        source: Some(source),
        ticket,
    }))
}

fn desk_for_serving(conn: &Connection, desk_id: i64) -> Result<Desk> {
    let desk = get_desk(conn, desk_id)?;
    if !desk.active {
        return Err(Error::Conflict(format!("desk {desk_id} is deactivated")));
    }
    Ok(desk)
}

fn announce(ctx: &mut WriteCtx<'_>, change: &ServingChange) -> Result<()> {
    ctx.emit("serving", change);
    let desk = get_desk(ctx.conn, change.desk_id)?;
    ctx.emit("desk", &desk);
    Ok(())
}

/// Serving starts now at the desk. What was open there ends first: a queue system calls the next
/// ticket without saying the last one is done.
pub fn start(
    ctx: &mut WriteCtx<'_>,
    desk_id: i64,
    source: Source,
    ticket: Option<String>,
) -> Result<ServingChange> {
    desk_for_serving(ctx.conn, desk_id)?;
    let ticket = ticket.as_deref().map(clean_ticket).transpose()?;
    close(ctx, desk_id)?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO serving (desk_id, started_at, source, ticket) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((desk_id, ctx.now, source.as_str(), &ticket))?;
    let change = ServingChange {
        desk_id,
        serving: true,
        started_at: Some(to_rfc3339(ctx.now)),
        ended_at: None,
        source: Some(source.as_str().to_string()),
        ticket,
    };
    announce(ctx, &change)?;
    Ok(change)
}

/// Serving ends now at the desk. Ending when nothing is served changes nothing and is not an
/// error: a queue system may say "done" twice.
pub fn end(ctx: &mut WriteCtx<'_>, desk_id: i64) -> Result<ServingChange> {
    get_desk(ctx.conn, desk_id)?;
    match close(ctx, desk_id)? {
        Some(change) => {
            announce(ctx, &change)?;
            Ok(change)
        }
        None => Ok(ServingChange {
            desk_id,
            serving: false,
            started_at: None,
            ended_at: None,
            source: None,
            ticket: None,
        }),
    }
}

/// The serve key: starts serving if none is open, ends it otherwise.
pub fn toggle(ctx: &mut WriteCtx<'_>, desk_id: i64, source: Source) -> Result<ServingChange> {
    if open(ctx.conn, desk_id)?.is_some() {
        end(ctx, desk_id)
    } else {
        start(ctx, desk_id, source, None)
    }
}

/// Whether a press at `at` falls inside a serving window of the desk. Intervals at one desk never
/// overlap, so the last one started by then decides.
pub fn covers(conn: &Connection, desk_id: i64, at: Millis, w: Window) -> Result<bool> {
    let last: Option<(Millis, Option<Millis>)> = conn
        .prepare_cached(
            "SELECT started_at, ended_at FROM serving WHERE desk_id = ?1 AND started_at <= ?2
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )?
        .query_row((desk_id, at), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match last {
        None => false,
        Some((_, Some(ended))) => at <= ended + w.grace_ms,
        Some((started, None)) => at <= started + w.max_ms,
    })
}
