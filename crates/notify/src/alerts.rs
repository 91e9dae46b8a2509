//! Alerts on unhappy ratings: raised in the rating's own transaction, worked from Telegram or the
//! console (taken, resolved with a cause), escalated when nobody takes them in time.

use std::path::Path;

use chrono_tz::Tz;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::config::{Channel, NotifyConfig};
use super::digest::{self, AlertFacts};
use super::message::{Attachment, AttachmentRole, Kind};
use super::outbox::{self, NewItem};
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};
use otklik_store::ratings::Rating;
use otklik_store::settings::Language;
use otklik_store::writer::WriteCtx;

/// What messages need from the settings, read once per change.
#[derive(Debug, Clone)]
pub struct Words {
    pub lang: Language,
    pub tz: Tz,
    pub clinic: String,
    pub link_base: String,
}

impl Words {
    pub fn rating_link(&self, rating_id: i64) -> Option<String> {
        (!self.link_base.is_empty()).then(|| {
            format!(
                "{}/admin#rating-{rating_id}",
                self.link_base.trim_end_matches('/')
            )
        })
    }
}

/// Where messages of a channel go: (channel, target) pairs, Telegram one per chat.
pub fn targets(
    conn: &Connection,
    cfg: &NotifyConfig,
    channels: &[Channel],
    escalation: bool,
) -> Result<Vec<(Channel, String)>> {
    let mut out = Vec::new();
    if channels.contains(&Channel::Telegram) && cfg.telegram.enabled {
        let role = if escalation { "escalation" } else { "main" };
        let mut stmt = conn.prepare_cached(
            "SELECT chat_id FROM telegram_chats WHERE role = ?1 ORDER BY paired_at",
        )?;
        for chat in stmt.query_map([role], |r| r.get::<_, i64>(0))? {
            out.push((Channel::Telegram, chat?.to_string()));
        }
    }
    if channels.contains(&Channel::Email) && cfg.email.enabled {
        let to = if escalation {
            &cfg.email.escalation_to
        } else {
            &cfg.email.to
        };
        if !to.is_empty() {
            out.push((Channel::Email, to.join(", ")));
        }
    }
    Ok(out)
}

pub(crate) fn facts(
    conn: &Connection,
    alert_id: i64,
    rating_id: i64,
    words: &Words,
) -> Result<AlertFacts> {
    conn.query_row(
        "SELECT d.name, g.name, r.at, r.score, r.scale FROM ratings r
         JOIN desks d ON d.id = r.desk_id LEFT JOIN registrars g ON g.id = r.registrar_id
         WHERE r.id = ?1",
        [rating_id],
        |r| {
            Ok(AlertFacts {
                alert_id,
                rating_id,
                clinic: words.clinic.clone(),
                desk: r.get(0)?,
                registrar: r.get(1)?,
                at: r.get(2)?,
                score: r.get(3)?,
                levels: r.get::<_, i64>(4)? as u8,
                link: words.rating_link(rating_id),
            })
        },
    )
    .optional()?
    .ok_or(Error::NotFound {
        what: "rating",
        id: rating_id,
    })
}

/// Raises an alert if a rule matches the rating just stored, and queues its messages; returns
/// how many were queued. `photo_expected`: the desk takes photos, so the first message waits
/// for it (briefly).
pub fn on_rating(
    ctx: &mut WriteCtx<'_>,
    rating: &Rating,
    cfg: &NotifyConfig,
    words: &Words,
    photo_expected: bool,
) -> Result<usize> {
    let matched: Vec<_> = cfg
        .alerts
        .iter()
        .filter(|r| {
            r.scores.contains(&rating.score)
                && (r.desks.is_empty() || r.desks.contains(&rating.desk_id))
        })
        .collect();
    if matched.is_empty() {
        return Ok(0);
    }
    let mut channels: Vec<Channel> = matched.iter().flat_map(|r| r.channels.clone()).collect();
    channels.sort();
    channels.dedup();
    let targets = targets(ctx.conn, cfg, &channels, false)?;
    let escalate_mins = matched
        .iter()
        .map(|r| r.escalate_after_mins)
        .filter(|m| *m > 0)
        .min();
    ctx.conn
        .prepare_cached(
            "INSERT INTO alerts (rating_id, targets, created_at, escalate_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((
            rating.id,
            serde_json::to_string(&targets).expect("targets serialize"),
            ctx.now,
            escalate_mins.map(|m| ctx.now + Millis::from(m) * 60_000),
        ))?;
    let alert_id = ctx.conn.last_insert_rowid();
    let mut queued = 0;
    // Nobody to send to (channels off): the alert is still worked on the console.
    if !targets.is_empty() {
        let f = facts(ctx.conn, alert_id, rating.id, words)?;
        let msg = digest::alert(&f, words.lang, words.tz);
        for (channel, target) in &targets {
            queued += outbox::enqueue(
                ctx.conn,
                ctx.now,
                &NewItem {
                    channel: *channel,
                    target,
                    kind: Kind::Alert,
                    alert_id: Some(alert_id),
                    photo_of: photo_expected.then_some(rating.id),
                    priority: 1,
                },
                msg.clone(),
            )?
            .len();
        }
    }
    ctx.emit("alert", &get(ctx.conn, alert_id)?);
    Ok(queued)
}

/// The patient's voice is on disk: it follows each alert on these ratings, the same way.
pub fn on_voice(
    conn: &Connection,
    now: Millis,
    ratings: &[i64],
    file: &Path,
    words: &Words,
) -> Result<usize> {
    let mut queued = 0;
    for &rating_id in ratings {
        let alert: Option<(i64, String)> = conn
            .query_row(
                "SELECT id, targets FROM alerts WHERE rating_id = ?1 AND rule IS NULL",
                [rating_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((alert_id, targets)) = alert else {
            continue;
        };
        let targets: Vec<(Channel, String)> = serde_json::from_str(&targets).unwrap_or_default();
        let f = facts(conn, alert_id, rating_id, words)?;
        let mut msg = digest::voice(&f, words.lang, words.tz);
        msg.attachments = vec![Attachment {
            role: AttachmentRole::Voice,
            path: file.to_path_buf(),
            file_name: format!("otklik-{rating_id}.ogg"),
            mime: "audio/ogg".to_string(),
        }];
        for (channel, target) in &targets {
            let item = NewItem {
                channel: *channel,
                target,
                kind: Kind::Voice,
                alert_id: Some(alert_id),
                photo_of: None,
                priority: 1,
            };
            queued += outbox::enqueue(conn, now, &item, msg.clone())?.len();
        }
    }
    Ok(queued)
}

/// The patient picked a reason for a rating whose alert went out already: a short follow-up to
/// the same chats and addresses (the alert itself is sent at once, before any reason can be).
pub fn on_reason(
    conn: &Connection,
    now: Millis,
    rating_id: i64,
    label: &str,
    words: &Words,
) -> Result<usize> {
    let alert: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, targets FROM alerts WHERE rating_id = ?1",
            [rating_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((alert_id, targets)) = alert else {
        return Ok(0);
    };
    let targets: Vec<(Channel, String)> = serde_json::from_str(&targets).unwrap_or_default();
    let f = facts(conn, alert_id, rating_id, words)?;
    let msg = digest::reason(&f, label, words.lang, words.tz);
    let mut queued = 0;
    for (channel, target) in &targets {
        let item = NewItem {
            channel: *channel,
            target,
            kind: Kind::Alert,
            alert_id: Some(alert_id),
            photo_of: None,
            priority: 1,
        };
        queued += outbox::enqueue(conn, now, &item, msg.clone())?.len();
    }
    Ok(queued)
}

/// Sends the alerts still open past their time to the escalation chats and addresses (or, if
/// there are none, again to the usual ones).
/// `now` is the clock's reading (tests pass a later one rather than wait).
pub fn escalate_due(
    ctx: &mut WriteCtx<'_>,
    now: Millis,
    cfg: &NotifyConfig,
    words: &Words,
) -> Result<usize> {
    let due: Vec<(i64, i64, Millis)> = ctx
        .conn
        .prepare_cached(
            "SELECT id, rating_id, created_at FROM alerts
             WHERE state = 'open' AND escalated_at IS NULL AND escalate_at <= ?1",
        )?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let all = [Channel::Telegram, Channel::Email];
    let mut targets = targets(ctx.conn, cfg, &all, true)?;
    if targets.is_empty() {
        targets = self::targets(ctx.conn, cfg, &all, false)?;
    }
    for (alert_id, rating_id, created_at) in &due {
        let f = facts(ctx.conn, *alert_id, *rating_id, words)?;
        let msg = digest::escalation(&f, (now - created_at) / 60_000, words.lang, words.tz);
        for (channel, target) in &targets {
            let item = NewItem {
                channel: *channel,
                target,
                kind: Kind::Escalation,
                alert_id: Some(*alert_id),
                photo_of: Some(*rating_id),
                priority: 1,
            };
            outbox::enqueue(ctx.conn, ctx.now, &item, msg.clone())?;
        }
        ctx.conn.execute(
            "UPDATE alerts SET escalated_at = ?2 WHERE id = ?1",
            (alert_id, ctx.now),
        )?;
        let view = get(ctx.conn, *alert_id)?;
        ctx.emit("alert", &view);
    }
    Ok(due.len())
}

/// An alert as the console and the API show it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct AlertView {
    pub id: i64,
    pub rating_id: i64,
    pub desk_id: i64,
    pub desk: String,
    pub registrar: Option<String>,
    pub score: i64,
    pub scale: i64,
    /// When the patient pressed.
    pub at: String,
    /// `open`, `taken` or `resolved`.
    pub state: String,
    pub created_at: String,
    pub taken_by: Option<String>,
    pub taken_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub cause: Option<String>,
    pub escalated_at: Option<String>,
    /// Minutes from the alert to its taking, and to its resolution.
    pub minutes_to_take: Option<i64>,
    pub minutes_to_resolve: Option<i64>,
    /// A window rule's alert: its kind (`low_share`, `low_run`) and what it saw, in words;
    /// null for a rating's own alert (the rating is then the one that tipped the window).
    pub rule: Option<String>,
    pub detail: Option<String>,
}

const VIEW_SQL: &str =
    "SELECT a.id, a.rating_id, r.desk_id, d.name, g.name, r.score, r.scale, r.at,
        a.state, a.created_at, a.taken_by, a.taken_at, a.resolved_by, a.resolved_at, a.cause,
        a.escalated_at, a.rule, a.detail
    FROM alerts a JOIN ratings r ON r.id = a.rating_id JOIN desks d ON d.id = r.desk_id
    LEFT JOIN registrars g ON g.id = r.registrar_id";

fn view(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertView> {
    let created: Millis = r.get(9)?;
    let taken_at: Option<Millis> = r.get(11)?;
    let resolved_at: Option<Millis> = r.get(13)?;
    let escalated_at: Option<Millis> = r.get(15)?;
    Ok(AlertView {
        id: r.get(0)?,
        rating_id: r.get(1)?,
        desk_id: r.get(2)?,
        desk: r.get(3)?,
        registrar: r.get(4)?,
        score: r.get(5)?,
        scale: r.get(6)?,
        at: to_rfc3339(r.get(7)?),
        state: r.get(8)?,
        created_at: to_rfc3339(created),
        taken_by: r.get(10)?,
        taken_at: taken_at.map(to_rfc3339),
        resolved_by: r.get(12)?,
        resolved_at: resolved_at.map(to_rfc3339),
        cause: r.get(14)?,
        escalated_at: escalated_at.map(to_rfc3339),
        minutes_to_take: taken_at.map(|t| (t - created) / 60_000),
        minutes_to_resolve: resolved_at.map(|t| (t - created) / 60_000),
        rule: r.get(16)?,
        detail: r.get(17)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<AlertView> {
    conn.prepare_cached(&format!("{VIEW_SQL} WHERE a.id = ?1"))?
        .query_row([id], view)
        .optional()?
        .ok_or(Error::NotFound { what: "alert", id })
}

/// Newest first; `state` narrows it.
pub fn list(conn: &Connection, state: Option<&str>, limit: i64) -> Result<Vec<AlertView>> {
    let rows = conn
        .prepare_cached(&format!(
            "{VIEW_SQL} WHERE (?1 IS NULL OR a.state = ?1) ORDER BY a.id DESC LIMIT ?2"
        ))?
        .query_map((state, limit), view)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn check_who(by: &str) -> Result<String> {
    let by = by.trim();
    if by.is_empty() || by.chars().count() > 100 {
        return Err(Error::invalid("by", "needs a name of 1 to 100 characters"));
    }
    Ok(by.to_string())
}

/// Someone takes the alert on. Taking one already taken or resolved says by whom.
pub fn take(ctx: &mut WriteCtx<'_>, id: i64, by: &str) -> Result<AlertView> {
    let by = check_who(by)?;
    let a = get(ctx.conn, id)?;
    if a.state != "open" {
        return Err(Error::Conflict(format!(
            "alert {id} is already {} by {}",
            a.state,
            a.taken_by.or(a.resolved_by).unwrap_or_default()
        )));
    }
    ctx.conn.execute(
        "UPDATE alerts SET state = 'taken', taken_by = ?2, taken_at = ?3 WHERE id = ?1",
        (id, &by, ctx.now),
    )?;
    let view = get(ctx.conn, id)?;
    ctx.emit("alert", &view);
    Ok(view)
}

/// The alert is dealt with; `cause` is one line saying why the patient was unhappy. Resolving
/// an open alert takes it too.
pub fn resolve(ctx: &mut WriteCtx<'_>, id: i64, by: &str, cause: &str) -> Result<AlertView> {
    let by = check_who(by)?;
    let cause = cause.trim();
    if cause.is_empty() || cause.contains('\n') || cause.chars().count() > 200 {
        return Err(Error::invalid(
            "cause",
            "needs one line of 1 to 200 characters",
        ));
    }
    let a = get(ctx.conn, id)?;
    if a.state == "resolved" {
        return Err(Error::Conflict(format!(
            "alert {id} is already resolved by {}",
            a.resolved_by.unwrap_or_default()
        )));
    }
    ctx.conn.execute(
        "UPDATE alerts SET state = 'resolved', resolved_by = ?2, resolved_at = ?3, cause = ?4,
                taken_by = COALESCE(taken_by, ?2), taken_at = COALESCE(taken_at, ?3)
         WHERE id = ?1",
        (id, &by, ctx.now, cause),
    )?;
    let view = get(ctx.conn, id)?;
    ctx.emit("alert", &view);
    Ok(view)
}
