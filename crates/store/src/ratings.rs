//! Ratings: appended, bound at insert time to the registrar whose session was open at that desk,
//! chained by hash, never updated or deleted. A correction is a new record that refers to one.

use std::collections::{HashMap, VecDeque};

use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit;
use crate::ledger::{ChainState, Link};
use crate::reasons::RatingReason;
use crate::serving;
use crate::sessions::session_at;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::scale;
use otklik_domain::time::{Millis, to_rfc3339};

/// How far ahead of this PC's clock a rating's time may be (clocks drift a little).
pub const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;
/// 2000-01-01T00:00:00Z: anything earlier is a broken clock, not a patient.
pub const MIN_AT_MS: Millis = 946_684_800_000;

/// What `add` needs to know beyond the rating itself, read from the settings once per rating.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Levels of the current scale.
    pub levels: u8,
    /// This many top ratings at one desk within `burst_ms` make a burst (0 = never).
    pub burst_count: u32,
    pub burst_ms: Millis,
    /// The rating window of armed desks.
    pub window: serving::Window,
}

impl Rules {
    /// The rules the settings give: the scale and `suspicion_burst_count` / `_secs`.
    pub fn from_settings(s: &crate::settings::Settings) -> Rules {
        Rules {
            levels: s.scale,
            burst_count: s.suspicion_burst_count,
            burst_ms: Millis::from(s.suspicion_burst_secs) * 1000,
            window: serving::Window {
                grace_ms: Millis::from(s.serving_grace_secs) * 1000,
                max_ms: Millis::from(s.serving_max_minutes) * 60_000,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRating {
    pub desk_id: i64,
    pub score: i64,
    pub source: Option<String>,
    /// When the button was pressed, if not now (a device or system that queued it).
    pub at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Rating {
    pub id: i64,
    pub desk_id: i64,
    pub score: i64,
    /// Levels of the scale the rating was given on.
    pub scale: i64,
    pub source: String,
    pub at: String,
    pub received_at: String,
    /// The registrar at the desk at that moment; null if nobody had a session open.
    pub registrar_id: Option<i64>,
    pub session_id: Option<i64>,
    pub annulled: bool,
    /// Why the rating looks suspicious, if it does: `burst` (top or bottom ratings at one desk
    /// faster than patients come and go), `no_session` (a top rating while nobody worked at
    /// the desk) or `outside_serving` (an armed desk's registrar was serving nobody).
    /// Kept and shown, but counted apart from the ranking.
    pub flag: Option<String>,
    /// What the patient said went wrong, if they picked a reason after a low rating.
    pub reason: Option<RatingReason>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Correction {
    pub id: i64,
    pub rating_id: i64,
    /// `annul` or `restore`.
    pub action: String,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

pub fn check_source(source: &str) -> Result<()> {
    let ok = (1..=32).contains(&source.len())
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "source",
            format!("'{source}' is not a source name: 1 to 32 of a-z, 0-9, '_', '.', '-'"),
        ))
    }
}

/// Stores a rating on the current scale; the caller's answer waits for the commit.
pub fn add(ctx: &mut WriteCtx<'_>, new: &NewRating, rules: Rules) -> Result<Rating> {
    let levels = rules.levels;
    let score = scale::check_score(new.score, levels)?;
    let source = new.source.as_deref().unwrap_or("api");
    check_source(source)?;
    let at = new.at.unwrap_or(ctx.now);
    if at > ctx.now + MAX_FUTURE_MS {
        return Err(Error::invalid(
            "at",
            format!(
                "{} is in the future ({} s ahead of this PC's clock); check the sender's clock",
                to_rfc3339(at),
                (at - ctx.now) / 1000
            ),
        ));
    }
    if at < MIN_AT_MS {
        return Err(Error::invalid(
            "at",
            format!("{} is before the year 2000", to_rfc3339(at)),
        ));
    }
    let armed: Option<bool> = ctx
        .conn
        .prepare_cached("SELECT armed FROM desks WHERE id = ?1")?
        .query_row([new.desk_id], |r| r.get(0))
        .optional()?;
    let Some(armed) = armed else {
        return Err(Error::invalid(
            "desk_id",
            format!("desk {} does not exist", new.desk_id),
        ));
    };
    let outside = armed && !serving::covers(ctx.conn, new.desk_id, at, rules.window)?;
    let bound = session_at(ctx.conn, new.desk_id, at)?;
    let link = Link {
        id: ctx.chain.last_id + 1,
        desk_id: new.desk_id,
        score: i64::from(score),
        scale: i64::from(levels),
        source,
        at,
        received_at: ctx.now,
        registrar_id: bound.map(|b| b.1),
        session_id: bound.map(|b| b.0),
    };
    let flag = append(ctx.conn, ctx.chain, &link, rules, None, outside)?;
    let rating = Rating {
        id: link.id,
        desk_id: link.desk_id,
        score: link.score,
        scale: link.scale,
        source: source.to_string(),
        at: to_rfc3339(at),
        received_at: to_rfc3339(ctx.now),
        registrar_id: link.registrar_id,
        session_id: link.session_id,
        annulled: false,
        flag: flag.map(str::to_string),
        reason: None,
    };
    ctx.emit("rating", &rating);
    Ok(rating)
}

/// Stores `link` as the chain's next rating and flags it if it looks suspicious or was given
/// `outside` an armed desk's serving window: the one insert every rating goes through, [`add`]'s
/// and the demo's bulk fill (`link` is checked and bound already, `link.id` is
/// `chain.last_id + 1`). Returns the flag. The chain's head is recorded
/// by whoever holds the transaction ([`ChainState::save`]): the writer once per group commit,
/// the demo once after its fill.
pub fn append(
    conn: &Connection,
    chain: &mut ChainState,
    link: &Link<'_>,
    rules: Rules,
    in_order: Option<&mut InOrder>,
    outside: bool,
) -> Result<Option<&'static str>> {
    let hash = chain.push(link);
    conn.prepare_cached(
        "INSERT INTO ratings (id, desk_id, score, scale, source, at, received_at, registrar_id, session_id, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(rusqlite::params![
        link.id,
        link.desk_id,
        link.score,
        link.scale,
        link.source,
        link.at,
        link.received_at,
        link.registrar_id,
        link.session_id,
        &hash[..],
    ])?;
    let flag = match suspicion(conn, link, rules, in_order)? {
        // Staff pressing their own top button is the stronger sign; otherwise the window says.
        Some("no_session") => Some("no_session"),
        _ if outside => Some("outside_serving"),
        other => other,
    };
    if let Some(reason) = flag {
        conn.prepare_cached("INSERT INTO rating_flags (rating_id, reason) VALUES (?1, ?2)")?
            .execute((link.id, reason))?;
    }
    Ok(flag)
}

/// The burst window counted in memory, for ratings stored in time order (each at or after every
/// rating already stored, all on one scale): the demo's fill of millions, which would otherwise
/// ask the database once per rating. It gives the count the query in [`suspicion`] gives.
#[derive(Debug, Default)]
pub struct InOrder {
    /// Per desk and end of the scale (top or not), the times still inside the window.
    recent: HashMap<(i64, bool), VecDeque<Millis>>,
}

impl InOrder {
    /// Adds `r` and counts the ratings of its end at its desk within `burst_ms` up to it.
    fn count(&mut self, r: &Link<'_>, top: bool, burst_ms: Millis) -> i64 {
        let recent = self.recent.entry((r.desk_id, top)).or_default();
        while recent.front().is_some_and(|&t| t <= r.at - burst_ms) {
            recent.pop_front();
        }
        recent.push_back(r.at);
        recent.len() as i64
    }
}

/// Whether a just-stored rating looks like staff pressing the top button themselves, or like
/// someone flooding a desk with the bottom one (faster than patients come and go either way).
fn suspicion(
    conn: &Connection,
    r: &Link<'_>,
    rules: Rules,
    in_order: Option<&mut InOrder>,
) -> Result<Option<&'static str>> {
    let top = r.score == r.scale;
    if !top && r.score != 1 {
        return Ok(None);
    }
    // Before anything returns: the window holds every rating of its end, flagged or not.
    let counted = in_order.map(|w| w.count(r, top, rules.burst_ms));
    if top && r.session_id.is_none() {
        return Ok(Some("no_session"));
    }
    if rules.burst_count > 0 {
        // Ratings of this end of the scale at this desk in the window ending with this one, this
        // one included.
        let n: i64 = if let Some(n) = counted {
            n
        } else {
            conn.prepare_cached(
                // Counting stops at the threshold, so a busy desk's history is not scanned.
                "SELECT COUNT(*) FROM (SELECT 1 FROM ratings
                 WHERE desk_id = ?1 AND at > ?2 AND at <= ?3
                   AND (CASE WHEN ?5 THEN score = scale ELSE score = 1 END) LIMIT ?4)",
            )?
            .query_row(
                (
                    r.desk_id,
                    r.at - rules.burst_ms,
                    r.at,
                    rules.burst_count,
                    top,
                ),
                |row| row.get(0),
            )?
        };
        if n >= i64::from(rules.burst_count) {
            return Ok(Some("burst"));
        }
    }
    Ok(None)
}

const COLUMNS: &str = "r.id, r.desk_id, r.score, r.scale, r.source, r.at, r.received_at, r.registrar_id, r.session_id,
                       EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id),
                       (SELECT reason FROM rating_flags f WHERE f.rating_id = r.id),
                       w.code, w.label, w.picked_at";
/// Joined after `ratings r` wherever [`COLUMNS`] are read.
const REASON_JOIN: &str = "LEFT JOIN rating_reasons w ON w.rating_id = r.id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Rating> {
    Ok(Rating {
        id: r.get(0)?,
        desk_id: r.get(1)?,
        score: r.get(2)?,
        scale: r.get(3)?,
        source: r.get(4)?,
        at: to_rfc3339(r.get(5)?),
        received_at: to_rfc3339(r.get(6)?),
        registrar_id: r.get(7)?,
        session_id: r.get(8)?,
        annulled: r.get(9)?,
        flag: r.get(10)?,
        reason: match r.get::<_, Option<String>>(11)? {
            Some(code) => Some(RatingReason {
                code,
                label: r.get(12)?,
                picked_at: to_rfc3339(r.get(13)?),
            }),
            None => None,
        },
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Rating> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ratings r {REASON_JOIN} WHERE r.id = ?1"
    ))?
    .query_row([id], from_row)
    .optional()?
    .ok_or(Error::NotFound { what: "rating", id })
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub desk_id: Option<i64>,
    pub registrar_id: Option<i64>,
    /// Only the ratings flagged as suspicious.
    pub flagged_only: bool,
    pub after_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingPage {
    pub items: Vec<Rating>,
    /// Pass as `after_id` to get the next page; null on the last page.
    pub next_after_id: Option<i64>,
}

/// Ratings in `[from, to)` in the order they were stored, a page at a time.
pub fn list(conn: &Connection, f: &Filter) -> Result<RatingPage> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM ratings r {REASON_JOIN}
         WHERE r.id > ?1 AND r.at >= ?2 AND r.at < ?3
           AND (?4 IS NULL OR r.desk_id = ?4) AND (?5 IS NULL OR r.registrar_id = ?5)
           AND (NOT ?7 OR EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = r.id))
         ORDER BY r.id LIMIT ?6"
    ))?;
    let items = stmt
        .query_map(
            rusqlite::params![
                f.after_id.unwrap_or(0),
                f.from.unwrap_or(i64::MIN),
                f.to.unwrap_or(i64::MAX),
                f.desk_id,
                f.registrar_id,
                f.limit + 1,
                f.flagged_only,
            ],
            from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut items = items;
    let next_after_id = if items.len() as i64 > f.limit {
        items.truncate(f.limit as usize);
        items.last().map(|r| r.id)
    } else {
        None
    };
    Ok(RatingPage {
        items,
        next_after_id,
    })
}

/// Annuls a rating (it stays, marked, and leaves the ranking) or restores an annulled one.
pub fn correct(
    ctx: &mut WriteCtx<'_>,
    rating_id: i64,
    annul: bool,
    reason: &str,
    actor: &str,
) -> Result<Correction> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::invalid("reason", "must be 1 to 500 characters"));
    }
    let rating = get(ctx.conn, rating_id)?;
    if rating.annulled == annul {
        return Err(Error::Conflict(format!(
            "rating {rating_id} is {} annulled",
            if annul { "already" } else { "not" }
        )));
    }
    let action = if annul { "annul" } else { "restore" };
    ctx.conn
        .prepare_cached(
            "INSERT INTO rating_corrections (rating_id, action, reason, actor, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((rating_id, action, reason, actor, ctx.now))?;
    let id = ctx.conn.last_insert_rowid();
    if annul {
        ctx.conn
            .prepare_cached("INSERT INTO annulled_ratings (rating_id) VALUES (?1)")?
            .execute([rating_id])?;
    } else {
        ctx.conn
            .prepare_cached("DELETE FROM annulled_ratings WHERE rating_id = ?1")?
            .execute([rating_id])?;
    }
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        &format!("rating.{action}"),
        "rating",
        Some(rating_id),
        json!({ "reason": reason }),
    )?;
    let correction = Correction {
        id,
        rating_id,
        action: action.to_string(),
        reason: reason.to_string(),
        actor: actor.to_string(),
        at: to_rfc3339(ctx.now),
    };
    ctx.emit("correction", &correction);
    Ok(correction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_short_and_plain() {
        for ok in ["api", "keys", "serial", "panel", "mis-1", "a.b_c"] {
            check_source(ok).unwrap();
        }
        for bad in ["", "API", "with space", "x/../y", &"a".repeat(33)] {
            let err = check_source(bad).unwrap_err().to_string();
            assert!(err.starts_with("source:"), "{err}");
        }
    }

    /// The demo's in-memory window flags exactly what the engine's query flags, on a stream of
    /// presses dense enough for bursts of both ends, with and without a session.
    #[test]
    fn the_window_in_memory_counts_as_the_query_does() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open_writer(&dir.path().join("otklik.db")).unwrap();
        conn.execute_batch(
            "INSERT INTO desks (id, name, active, created_at) VALUES (1, 'a', 1, 0), (2, 'b', 1, 0);
             INSERT INTO registrars (id, name, active, created_at) VALUES (1, 'r', 1, 0);
             INSERT INTO work_sessions (id, desk_id, registrar_id, started_at) VALUES (1, 1, 1, 0);",
        )
        .unwrap();
        let rules = Rules {
            levels: 3,
            burst_count: 3,
            burst_ms: 20_000,
            window: Default::default(),
        };
        let (mut chain, mut window) = (ChainState::default(), InOrder::default());
        let mut seed: u64 = 7;
        let mut at = MIN_AT_MS;
        let (mut by_query, mut in_memory) = (Vec::new(), Vec::new());
        for id in 1..=3000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as i64;
            // Gaps of 0 to 15 s, so some land on the same ms and some runs are bursts.
            at += (r % 16) * 1000;
            let link = Link {
                id,
                desk_id: 1 + r % 2,
                score: 1 + (r / 2) % 3,
                scale: 3,
                source: "keys",
                at,
                received_at: at,
                registrar_id: ((r / 6) % 4 != 0).then_some(1),
                session_id: ((r / 6) % 4 != 0).then_some(1),
            };
            in_memory.push(suspicion(&conn, &link, rules, Some(&mut window)).unwrap());
            append(&conn, &mut chain, &link, rules, None, false)
                .map(|f| by_query.push(f))
                .unwrap();
        }
        assert_eq!(in_memory, by_query);
        for reason in ["burst", "no_session"] {
            assert!(
                by_query.contains(&Some(reason)),
                "no {reason} in the stream"
            );
        }
        assert!(by_query.contains(&None));
    }
}
