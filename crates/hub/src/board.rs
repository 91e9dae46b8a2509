//! The network's figures from the daily roll-up: the leaderboard across sites (one entry per
//! person, however many sites they rate at) and each site's totals, ranked by the same
//! [`Board`] the sites use.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use deadpool_postgres::GenericClient;
use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::leaderboard::{Board, Leaderboard, Totals};
use otklik_domain::time::{Millis, PeriodName, Span, to_datetime};

use crate::error::{HubResult, db};

/// What the figures cover: whole local days of the hub's zone, of one site or all.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub span: Span,
    pub period: Option<PeriodName>,
    pub site: Option<i32>,
}

impl Scope {
    /// The local days `[first, last]` the span touches in `tz`.
    fn days(&self, tz: Tz) -> (NaiveDate, NaiveDate) {
        let local = |ms: Millis| to_datetime(ms).with_timezone(&tz).date_naive();
        (
            local(self.span.from),
            local((self.span.to - 1).max(self.span.from)),
        )
    }
}

/// One row per (person, score, scale, flagged); `person` null for nobody at the desk.
const COUNTS: &str = "
    SELECT r.person_id, p.name, d.score, d.scale, SUM(d.n)::bigint, d.state = 'flagged', d.site_id
    FROM daily d
    LEFT JOIN registrars r ON r.site_id = d.site_id AND r.id = d.registrar_id
    LEFT JOIN people p ON p.id = r.person_id
    WHERE d.day BETWEEN $1 AND $2 AND d.state <> 'annulled' AND d.n > 0
      AND ($3::int IS NULL OR d.site_id = $3)
    GROUP BY d.site_id, r.person_id, p.name, d.score, d.scale, d.state";

pub async fn leaderboard(
    client: &impl GenericClient,
    scope: Scope,
    tz: Tz,
    scale: u8,
    min_ratings: u32,
) -> HubResult<Leaderboard> {
    let (first, last) = scope.days(tz);
    let rows = client
        .query(COUNTS, &[&first, &last, &scope.site])
        .await
        .map_err(db)?;
    let mut board = Board::new(scale);
    for r in &rows {
        let person: Option<i64> = r.get(0);
        let name: Option<String> = r.get(1);
        board.add(
            person.map(|id| (id, name.as_deref().unwrap_or_default())),
            r.get::<_, i16>(2) as u8,
            r.get::<_, i16>(3) as u8,
            r.get::<_, i64>(4) as u64,
            r.get(5),
        );
    }
    Ok(board.finish(scope.period, scope.span.from, scope.span.to, min_ratings))
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SiteTotals {
    pub site_id: i32,
    pub name: String,
    pub totals: Totals,
}

/// Every site's totals over the scope's days (sites without ratings included, at zero).
pub async fn by_site(
    client: &impl GenericClient,
    scope: Scope,
    tz: Tz,
    scale: u8,
) -> HubResult<Vec<SiteTotals>> {
    let (first, last) = scope.days(tz);
    let sites = client
        .query(
            "SELECT id, name FROM sites WHERE $1::int IS NULL OR id = $1 ORDER BY name",
            &[&scope.site],
        )
        .await
        .map_err(db)?;
    let rows = client
        .query(COUNTS, &[&first, &last, &scope.site])
        .await
        .map_err(db)?;
    // One pass over the rows, not one per site: a network month is hundreds of thousands.
    let mut boards: HashMap<i32, Board> = HashMap::new();
    for r in &rows {
        let person: Option<i64> = r.get(0);
        boards
            .entry(r.get(6))
            .or_insert_with(|| Board::new(scale))
            .add(
                person.map(|p| (p, "")),
                r.get::<_, i16>(2) as u8,
                r.get::<_, i16>(3) as u8,
                r.get::<_, i64>(4) as u64,
                r.get(5),
            );
    }
    Ok(sites
        .iter()
        .map(|s| {
            let id: i32 = s.get(0);
            let board = boards.remove(&id).unwrap_or_else(|| Board::new(scale));
            SiteTotals {
                site_id: id,
                name: s.get(1),
                totals: board
                    .finish(scope.period, scope.span.from, scope.span.to, 0)
                    .totals,
            }
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeskTotals {
    pub site_id: i32,
    pub site: String,
    pub desk_id: i64,
    pub name: String,
    pub totals: Totals,
}

/// Every desk's totals over the scope's days, by site then desk name (desks without ratings in
/// the scope left out).
pub async fn by_desk(
    client: &impl GenericClient,
    scope: Scope,
    tz: Tz,
    scale: u8,
) -> HubResult<Vec<DeskTotals>> {
    let (first, last) = scope.days(tz);
    let rows = client
        .query(
            "SELECT d.site_id, s.name, d.desk_id, COALESCE(k.name, '#' || d.desk_id), d.score,
                    d.scale, SUM(d.n)::bigint, d.state = 'flagged', d.registrar_id = 0
             FROM daily d
             JOIN sites s ON s.id = d.site_id
             LEFT JOIN desks k ON k.site_id = d.site_id AND k.id = d.desk_id
             WHERE d.day BETWEEN $1 AND $2 AND d.state <> 'annulled' AND d.n > 0
               AND ($3::int IS NULL OR d.site_id = $3)
             GROUP BY d.site_id, s.name, d.desk_id, k.name, d.score, d.scale, d.state,
                      d.registrar_id = 0
             ORDER BY s.name, 4, d.desk_id",
            &[&first, &last, &scope.site],
        )
        .await
        .map_err(db)?;
    let mut out: Vec<(DeskTotals, Board)> = Vec::new();
    for r in &rows {
        let (site_id, desk_id): (i32, i64) = (r.get(0), r.get(2));
        if out
            .last()
            .is_none_or(|(d, _)| (d.site_id, d.desk_id) != (site_id, desk_id))
        {
            out.push((
                DeskTotals {
                    site_id,
                    site: r.get(1),
                    desk_id,
                    name: r.get(3),
                    totals: Board::new(scale)
                        .finish(None, scope.span.from, scope.span.to, 0)
                        .totals,
                },
                Board::new(scale),
            ));
        }
        let nobody: bool = r.get(8);
        let board = &mut out.last_mut().expect("a desk").1;
        // Whose ratings does not matter here, only whether anybody was at the desk.
        board.add(
            (!nobody).then_some((0, "")),
            r.get::<_, i16>(4) as u8,
            r.get::<_, i16>(5) as u8,
            r.get::<_, i64>(6) as u64,
            r.get(7),
        );
    }
    Ok(out
        .into_iter()
        .map(|(mut d, board)| {
            d.totals = board.finish(None, scope.span.from, scope.span.to, 0).totals;
            d
        })
        .collect())
}
