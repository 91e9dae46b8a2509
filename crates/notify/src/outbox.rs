//! The outbox table: messages waiting for their channel, sent ones kept as a record, failed ones
//! kept with the channel's error for the console.

use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use super::config::Channel;
use super::message::{Kind, Outgoing, split_for_telegram};
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, to_rfc3339};

/// A queued message as the worker sees it.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: i64,
    pub channel: Channel,
    pub target: String,
    pub kind: Kind,
    pub body: Outgoing,
    pub alert_id: Option<i64>,
    pub photo_of: Option<i64>,
    pub attempts: i64,
    pub created_at: Millis,
}

/// Where a new message goes and what it belongs to.
#[derive(Debug, Clone)]
pub struct NewItem<'a> {
    pub channel: Channel,
    pub target: &'a str,
    pub kind: Kind,
    pub alert_id: Option<i64>,
    /// Wait for this rating's photo and attach it (alerts).
    pub photo_of: Option<i64>,
    /// 0 jumps the queue (a notice about the channel itself); 1 otherwise.
    pub priority: i64,
}

fn kind_str(k: Kind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_kind(s: &str) -> Kind {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(Kind::Notice)
}

/// Queues a message; for Telegram as one item per Bot API call. Returns the items' ids.
pub fn enqueue(
    conn: &Connection,
    now: Millis,
    item: &NewItem<'_>,
    msg: Outgoing,
) -> Result<Vec<i64>> {
    let parts = if item.channel == Channel::Telegram {
        split_for_telegram(msg)
    } else {
        vec![msg]
    };
    let mut stmt = conn.prepare_cached(
        "INSERT INTO outbox (channel, target, kind, body, alert_id, photo_of, priority, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut ids = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        stmt.execute((
            item.channel.as_str(),
            item.target,
            kind_str(item.kind),
            serde_json::to_string(&part).expect("messages serialize"),
            item.alert_id,
            if i == 0 { item.photo_of } else { None },
            item.priority,
            now,
        ))?;
        ids.push(conn.last_insert_rowid());
    }
    Ok(ids)
}

fn item_from(row: &Row<'_>) -> rusqlite::Result<Item> {
    let channel: String = row.get("channel")?;
    let body: String = row.get("body")?;
    let kind: String = row.get("kind")?;
    Ok(Item {
        id: row.get("id")?,
        channel: Channel::parse(&channel).unwrap_or(Channel::Webhook),
        target: row.get("target")?,
        kind: parse_kind(&kind),
        body: serde_json::from_str(&body).unwrap_or_default(),
        alert_id: row.get("alert_id")?,
        photo_of: row.get("photo_of")?,
        attempts: row.get("attempts")?,
        created_at: row.get("created_at")?,
    })
}

/// The next message of a channel: notices first, then strictly oldest first.
pub fn head(conn: &Connection, channel: Channel) -> Result<Option<Item>> {
    Ok(conn
        .prepare_cached(
            "SELECT * FROM outbox WHERE state = 'pending' AND channel = ?1
             ORDER BY priority, id LIMIT 1",
        )?
        .query_row([channel.as_str()], item_from)
        .optional()?)
}

/// The messages waiting for one recipient, notices about the channel itself left out.
pub fn held_for(conn: &Connection, channel: Channel, target: &str) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM outbox
         WHERE state = 'pending' AND channel = ?1 AND target = ?2 AND priority > 0",
        (channel.as_str(), target),
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Sent: the error of an earlier try is no longer current, so it goes.
pub fn mark_sent(conn: &Connection, id: i64, now: Millis, remote_ref: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'sent', sent_at = ?2, remote_ref = ?3, attempts = attempts + 1,
                last_error = NULL
         WHERE id = ?1 AND state = 'pending'",
        (id, now, remote_ref),
    )?;
    Ok(())
}

/// A try that failed for now: counted, and its error kept for the console.
pub fn mark_attempt(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        (id, error),
    )?;
    Ok(())
}

pub fn mark_failed(conn: &Connection, id: i64, now: Millis, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'failed', sent_at = ?2, last_error = ?3, attempts = attempts + 1
         WHERE id = ?1 AND state = 'pending'",
        (id, now, error),
    )?;
    Ok(())
}

/// Puts a failed message back in the queue (after the cause was fixed on the console).
pub fn retry(conn: &Connection, id: i64) -> Result<()> {
    let state: Option<String> = conn
        .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    match state.as_deref() {
        None => Err(Error::NotFound {
            what: "message",
            id,
        }),
        Some("failed") => {
            conn.execute(
                "UPDATE outbox SET state = 'pending', sent_at = NULL WHERE id = ?1",
                [id],
            )?;
            Ok(())
        }
        Some(s) => Err(Error::Conflict(format!(
            "message {id} is {s}: only a failed message can be sent again"
        ))),
    }
}

/// A message as the console lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemView {
    pub id: i64,
    pub channel: String,
    pub target: String,
    pub kind: String,
    /// The subject, or the first line of the text.
    pub summary: String,
    /// Files sent with it (photo, chart, voice), by name.
    pub attachments: Vec<String>,
    pub alert_id: Option<i64>,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

/// Newest first; `state` narrows it.
/// A webhook message's body, shortened to what says which rating it carries (the console puts
/// it in words); its idempotency key and the rating's other fields would push those out.
fn webhook_summary(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) if v["rating"].is_object() => {
            let r = &v["rating"];
            serde_json::json!({
                "event": v["event"],
                "rating": {"at": r["at"], "desk_id": r["desk_id"], "scale": r["scale"], "score": r["score"]},
            })
            .to_string()
        }
        _ => body.lines().next().unwrap_or("").to_string(),
    }
}

pub fn list(conn: &Connection, state: Option<&str>, limit: i64) -> Result<Vec<ItemView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, channel, target, kind, body, alert_id, state, attempts, created_at, sent_at,
                last_error
         FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map((state, limit), |r| {
        let body: String = r.get("body")?;
        let msg: Outgoing = serde_json::from_str(&body).unwrap_or_default();
        let kind: String = r.get("kind")?;
        let summary = if kind == "webhook" {
            webhook_summary(&msg.text)
        } else if msg.subject.is_empty() {
            msg.text.lines().next().unwrap_or("").to_string()
        } else {
            msg.subject.clone()
        };
        let sent_at: Option<Millis> = r.get("sent_at")?;
        Ok(ItemView {
            id: r.get("id")?,
            channel: r.get("channel")?,
            target: r.get("target")?,
            kind,
            summary: summary.chars().take(200).collect(),
            attachments: msg
                .attachments
                .iter()
                .map(|a| a.file_name.clone())
                .collect(),
            alert_id: r.get("alert_id")?,
            state: r.get("state")?,
            attempts: r.get("attempts")?,
            created_at: to_rfc3339(r.get("created_at")?),
            sent_at: sent_at.map(to_rfc3339),
            last_error: r.get("last_error")?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Counts {
    pub pending: i64,
    pub failed: i64,
}

/// What waits and what failed on a channel (sent ones are not counted: a webhook makes many).
pub fn counts(conn: &Connection, channel: Channel) -> Result<Counts> {
    let count = |state: &str| -> Result<i64> {
        Ok(conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE state = ?1 AND channel = ?2")?
            .query_row((state, channel.as_str()), |r| r.get(0))?)
    };
    Ok(Counts {
        pending: count("pending")?,
        failed: count("failed")?,
    })
}

/// Whether a message that may still be sent (waiting, or failed and retriable) carries the
/// file of this name.
pub fn file_needed(conn: &Connection, file_name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE state IN ('pending', 'failed')
                        AND instr(body, ?1) > 0)",
        [file_name],
        |r| r.get(0),
    )?)
}

/// Forgets sent messages older than `before` (their record has served); failed ones stay.
pub fn prune(conn: &Connection, before: Millis) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM outbox WHERE state = 'sent' AND sent_at < ?1",
        [before],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_summary_keeps_the_rating_whatever_comes_before_it() {
        let body = serde_json::json!({
            "event": "rating",
            "id": "022f9b5ae2863e397a07389fae3bd182",
            "rating": {"annulled": false, "at": "2026-12-03T07:42:00.000Z", "desk_id": 1,
                       "flag": null, "id": 7, "received_at": "2026-12-03T07:42:00.000Z",
                       "registrar_id": 3, "scale": 3, "score": 1, "session_id": 4, "source": "api"},
        })
        .to_string();
        let s = webhook_summary(&body);
        assert!(s.chars().count() <= 200, "{s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            (
                v["rating"]["desk_id"].as_i64(),
                v["rating"]["score"].as_i64()
            ),
            (Some(1), Some(1))
        );
        assert_eq!(webhook_summary("not json\nsecond"), "not json");
    }
}
