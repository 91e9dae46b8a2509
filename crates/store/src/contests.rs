//! Contested ratings: a registrar disputes a low rating with a comment (a child pressed the button,
//! the patient said it was a mistake); a supervisor upholds it or annuls the rating. An annulled
//! rating is kept, marked, and left out of the ranking.

use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::audit;
use crate::ratings::{self, Rating};
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::scale::normalize;
use otklik_domain::time::{Span, to_rfc3339};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contest {
    pub id: i64,
    pub rating_id: i64,
    pub registrar_id: i64,
    pub comment: String,
    pub created_at: String,
    /// null while open; `upheld` or `annulled` once decided.
    pub decision: Option<String>,
    pub decision_comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// A contest with what the supervisor needs to judge it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContestView {
    #[serde(flatten)]
    pub contest: Contest,
    pub rating: Rating,
    pub registrar_name: String,
    pub desk_name: String,
}

/// One of a registrar's low ratings, with its contest if there is one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LowRating {
    pub rating: Rating,
    pub contest: Option<Contest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The rating stands.
    Uphold,
    /// The rating is annulled: kept, marked, left out of the ranking.
    Annul,
}

const COLUMNS: &str = "c.id, c.rating_id, c.registrar_id, c.comment, c.created_at, c.decision, \
                       c.decision_comment, c.decided_by, c.decided_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Contest> {
    Ok(Contest {
        id: r.get(0)?,
        rating_id: r.get(1)?,
        registrar_id: r.get(2)?,
        comment: r.get(3)?,
        created_at: to_rfc3339(r.get(4)?),
        decision: r.get(5)?,
        decision_comment: r.get(6)?,
        decided_by: r.get(7)?,
        decided_at: r.get::<_, Option<i64>>(8)?.map(to_rfc3339),
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Contest> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM contests c WHERE c.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound {
            what: "contest",
            id,
        })
}

fn for_rating(conn: &Connection, rating_id: i64) -> Result<Option<Contest>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contests c WHERE c.rating_id = ?1"
        ))?
        .query_row([rating_id], from_row)
        .optional()?)
}

fn clean_comment(field: &str, raw: &str) -> Result<String> {
    let c = raw.trim();
    if c.is_empty() || c.chars().count() > 500 {
        return Err(Error::invalid(field, "must be 1 to 500 characters"));
    }
    Ok(c.to_string())
}

/// The registrar bound to `rating_id` disputes it. The PIN, if any, is checked by the caller.
pub fn open(ctx: &mut WriteCtx<'_>, rating_id: i64, comment: &str) -> Result<Contest> {
    let comment = clean_comment("comment", comment)?;
    let rating = ratings::get(ctx.conn, rating_id)?;
    let Some(registrar_id) = rating.registrar_id else {
        return Err(Error::Conflict(format!(
            "rating {rating_id} was given while nobody worked at the desk: there is nobody to contest it"
        )));
    };
    if rating.annulled {
        return Err(Error::Conflict(format!(
            "rating {rating_id} is already annulled"
        )));
    }
    if for_rating(ctx.conn, rating_id)?.is_some() {
        return Err(Error::Conflict(format!(
            "rating {rating_id} is already contested"
        )));
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO contests (rating_id, registrar_id, comment, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute((rating_id, registrar_id, &comment, ctx.now))?;
    let id = ctx.conn.last_insert_rowid();
    audit::record(
        ctx.conn,
        ctx.now,
        &format!("registrar:{registrar_id}"),
        "contest.open",
        "rating",
        Some(rating_id),
        json!({ "contest_id": id, "comment": comment }),
    )?;
    let contest = get(ctx.conn, id)?;
    ctx.emit("contest", &contest);
    Ok(contest)
}

/// A supervisor's decision on an open contest; annulling records a correction of the rating.
pub fn decide(
    ctx: &mut WriteCtx<'_>,
    id: i64,
    decision: Decision,
    comment: Option<&str>,
    actor: &str,
) -> Result<Contest> {
    let contest = get(ctx.conn, id)?;
    if contest.decision.is_some() {
        return Err(Error::Conflict(format!("contest {id} is already decided")));
    }
    let comment = comment.map(|c| clean_comment("comment", c)).transpose()?;
    let word = match decision {
        Decision::Uphold => "upheld",
        Decision::Annul => {
            let reason = match &comment {
                Some(c) => format!("contest {id}: {c}"),
                None => format!("contest {id}: {}", contest.comment),
            };
            ratings::correct(ctx, contest.rating_id, true, &reason, actor)?;
            "annulled"
        }
    };
    ctx.conn
        .prepare_cached(
            "UPDATE contests SET decision = ?1, decision_comment = ?2, decided_by = ?3, decided_at = ?4
             WHERE id = ?5",
        )?
        .execute((word, &comment, actor, ctx.now, id))?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "contest.decide",
        "rating",
        Some(contest.rating_id),
        json!({ "contest_id": id, "decision": word, "comment": comment }),
    )?;
    let contest = get(ctx.conn, id)?;
    ctx.emit("contest", &contest);
    Ok(contest)
}

/// Contests, newest first: only the open ones, or all.
pub fn list(conn: &Connection, open_only: bool, limit: i64) -> Result<Vec<ContestView>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, g.name, d.name FROM contests c
         JOIN registrars g ON g.id = c.registrar_id
         JOIN ratings r ON r.id = c.rating_id
         JOIN desks d ON d.id = r.desk_id
         WHERE NOT ?1 OR c.decided_at IS NULL
         ORDER BY c.id DESC LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map((open_only, limit), |r| {
            Ok((
                from_row(r)?,
                r.get::<_, String>(9)?,
                r.get::<_, String>(10)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(contest, registrar_name, desk_name)| {
            Ok(ContestView {
                rating: ratings::get(conn, contest.rating_id)?,
                contest,
                registrar_name,
                desk_name,
            })
        })
        .collect()
}

/// Whether `score` on a `scale`-level scale is in the lower half of the current `levels`-level
/// scale: 1 of 3, 1-2 of 4 or 5, 1-3 of 7.
pub fn is_low(score: i64, scale: i64, levels: u8) -> bool {
    let s = normalize(score.clamp(1, 255) as u8, scale.clamp(1, 255) as u8, levels);
    u32::from(s) * 2 <= u32::from(levels)
}

/// A registrar's low ratings in `span`, newest first, with their contests.
pub fn low_ratings(
    conn: &Connection,
    registrar_id: i64,
    span: Span,
    levels: u8,
    limit: usize,
) -> Result<Vec<LowRating>> {
    let page = ratings::list(
        conn,
        &ratings::Filter {
            from: Some(span.from),
            to: Some(span.to),
            registrar_id: Some(registrar_id),
            limit: 1000,
            ..Default::default()
        },
    )?;
    page.items
        .into_iter()
        .rev()
        .filter(|r| is_low(r.score, r.scale, levels))
        .take(limit)
        .map(|rating| {
            Ok(LowRating {
                contest: for_rating(conn, rating.id)?,
                rating,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_half_of_each_scale_is_low() {
        let lows = |levels: u8| {
            (1..=i64::from(levels))
                .filter(|&s| is_low(s, i64::from(levels), levels))
                .collect::<Vec<_>>()
        };
        assert_eq!(lows(3), vec![1]);
        assert_eq!(lows(4), vec![1, 2]);
        assert_eq!(lows(5), vec![1, 2]);
        assert_eq!(lows(7), vec![1, 2, 3]);
        // An old 1-of-3 is still low on a 5-level scale; an old 2-of-3 (neutral) is not.
        assert!(is_low(1, 3, 5));
        assert!(!is_low(2, 3, 5));
    }
}
