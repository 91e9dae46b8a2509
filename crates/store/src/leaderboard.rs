//! The leaderboard: registrars ranked by how satisfied their patients were over a period.
//!
//! The plain share of top ratings makes 2 of 2 beat 95 of 100, so the rank uses the lower bound
//! of the Wilson score interval (95 %) of that share; the plain share is shown beside it.
//! Registrars with fewer ratings than the installation's minimum are listed after the ranked.

use rusqlite::Connection;

use otklik_domain::error::Result;
use otklik_domain::time::{Millis, PeriodName, Span};

pub use otklik_domain::leaderboard::{
    Board, Entry, Leaderboard, Tally, Totals, rank, wilson_lower,
};

const HOUR_MS: Millis = 3_600_000;

/// Computes the leaderboard over `span`, annulled ratings left out, on a `scale`-level scale.
pub fn compute(
    conn: &Connection,
    span: Span,
    period: Option<PeriodName>,
    scale: u8,
    min_ratings: u32,
) -> Result<Leaderboard> {
    // Whole hours inside the span come from the hourly roll-ups (a month is thousands of rows,
    // not the ratings themselves); the partial hours at its edges from the ratings, so the
    // figures are exact whatever the span.
    let first_hour = span.from.div_euclid(HOUR_MS) + i64::from(span.from.rem_euclid(HOUR_MS) != 0);
    let end_hour = span.to.div_euclid(HOUR_MS);
    let (first_hour, end_hour) = if first_hour < end_hour {
        (first_hour, end_hour)
    } else {
        // No whole hour inside: every rating of the span is read raw.
        (
            span.to.div_euclid(HOUR_MS) + 1,
            span.to.div_euclid(HOUR_MS) + 1,
        )
    };
    let head_end = (first_hour * HOUR_MS).min(span.to);
    let tail_from = (end_hour * HOUR_MS).max(head_end);
    let mut stmt = conn.prepare_cached(
        "SELECT NULLIF(h.registrar_id, 0), g.name, h.score, h.scale, SUM(h.n), h.state = 'flagged'
         FROM rating_hourly h
         LEFT JOIN registrars g ON g.id = h.registrar_id
         WHERE h.hour >= ?1 AND h.hour < ?2 AND h.state != 'annulled' AND h.n > 0
         GROUP BY h.registrar_id, h.score, h.scale, h.state
         UNION ALL
         SELECT r.registrar_id, g.name, r.score, r.scale, COUNT(*),
                EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = r.id) AS flagged
         FROM ratings r
         LEFT JOIN registrars g ON g.id = r.registrar_id
         WHERE ((r.at >= ?3 AND r.at < ?4) OR (r.at >= ?5 AND r.at < ?6))
           AND NOT EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id)
         GROUP BY r.registrar_id, r.score, r.scale, flagged",
    )?;
    let mut rows = stmt.query((
        first_hour, end_hour, span.from, head_end, tail_from, span.to,
    ))?;
    let mut board = Board::new(scale);
    while let Some(r) = rows.next()? {
        let registrar: Option<i64> = r.get(0)?;
        let name: Option<String> = r.get(1)?;
        board.add(
            registrar.map(|id| (id, name.as_deref().unwrap_or_default())),
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        );
    }
    Ok(board.finish(period, span.from, span.to, min_ratings))
}
