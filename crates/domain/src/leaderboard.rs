//! The leaderboard: registrars ranked by how satisfied their patients were over a period.
//!
//! The plain share of top ratings makes 2 of 2 beat 95 of 100, so the rank uses the lower bound
//! of the Wilson score interval (95 %) of that share; the plain share is shown beside it.
//! Registrars with fewer ratings than the installation's minimum are listed after the ranked.
//!
//! Storage-free: a reception's SQLite and the network hub's PostgreSQL both feed their counts
//! into one [`Board`], so the two rank alike.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::scale::normalize;
use crate::time::{Millis, PeriodName, to_rfc3339};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    pub registrar_id: i64,
    pub name: String,
    pub count: u64,
    /// Ratings per level of the current scale, lowest first (`levels[0]` are the 1s).
    pub levels: Vec<u64>,
    /// Share of top-level ratings, 0..1.
    pub satisfaction: f64,
    /// The smoothed share the rank is based on (Wilson lower bound), 0..1.
    pub score: f64,
    /// 1 for the best; null for registrars below the minimum number of ratings.
    pub rank: Option<u32>,
    /// Suspicious ratings (see `Rating::flag`), left out of `count` and `levels`.
    pub flagged: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Totals {
    pub count: u64,
    pub levels: Vec<u64>,
    pub satisfaction: f64,
    /// Ratings given while nobody had a session open at the desk.
    pub unassigned: u64,
    /// Suspicious ratings, left out of `count` and `levels`.
    pub flagged: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    /// `today`, `week`, `month`, or null for a custom `from`/`to`.
    pub period: Option<PeriodName>,
    pub from: String,
    pub to: String,
    /// Levels of the current scale.
    pub scale: u8,
    pub min_ratings: u32,
    pub entries: Vec<Entry>,
    pub totals: Totals,
}

/// Lower bound of the Wilson score interval for `top` successes out of `n`, z = 1.96.
pub fn wilson_lower(top: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = n as f64;
    let p = top as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let margin = z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt();
    ((centre - margin) / (1.0 + z2 / n)).max(0.0)
}

#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub name: String,
    pub levels: Vec<u64>,
    pub top: u64,
    pub flagged: u64,
}

/// Ranks tallied registrars: the ranked ones by smoothed score, then the rest; every tie broken by
/// the plain share, the number of ratings, then the registrar id, so the order never flickers.
pub fn rank(tallies: BTreeMap<i64, Tally>, min_ratings: u32) -> Vec<Entry> {
    let mut entries: Vec<Entry> = tallies
        .into_iter()
        .map(|(registrar_id, t)| {
            let count: u64 = t.levels.iter().sum();
            Entry {
                registrar_id,
                name: t.name,
                count,
                satisfaction: if count == 0 {
                    0.0
                } else {
                    t.top as f64 / count as f64
                },
                score: wilson_lower(t.top, count),
                levels: t.levels,
                rank: None,
                flagged: t.flagged,
            }
        })
        .collect();
    let eligible = |e: &Entry| e.count > 0 && e.count >= u64::from(min_ratings);
    entries.sort_by(|a, b| {
        eligible(b)
            .cmp(&eligible(a))
            .then_with(|| {
                if eligible(a) {
                    b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| {
                b.satisfaction
                    .partial_cmp(&a.satisfaction)
                    .unwrap_or(Ordering::Equal)
            })
            .then_with(|| b.count.cmp(&a.count))
            .then_with(|| a.registrar_id.cmp(&b.registrar_id))
    });
    for (i, e) in entries.iter_mut().filter(|e| eligible(e)).enumerate() {
        e.rank = Some(i as u32 + 1);
    }
    entries
}

/// Counts of ratings, grouped any way a store likes, tallied into a leaderboard.
pub struct Board {
    scale: u8,
    tallies: BTreeMap<i64, Tally>,
    totals: Totals,
    top: u64,
}

impl Board {
    /// An empty board on a `scale`-level scale.
    pub fn new(scale: u8) -> Board {
        Board {
            scale,
            tallies: BTreeMap::new(),
            totals: Totals {
                count: 0,
                levels: vec![0; usize::from(scale)],
                satisfaction: 0.0,
                unassigned: 0,
                flagged: 0,
            },
            top: 0,
        }
    }

    fn tally(&mut self, id: i64, name: &str) -> &mut Tally {
        let scale = self.scale;
        let t = self.tallies.entry(id).or_insert_with(|| Tally {
            levels: vec![0; usize::from(scale)],
            ..Tally::default()
        });
        if t.name != name {
            t.name = name.to_owned();
        }
        t
    }

    /// `n` ratings of `score` given on a `given_on`-level scale, to `registrar` (id, name) or to
    /// nobody; `flagged` ones are counted apart, not in the ranking.
    pub fn add(
        &mut self,
        registrar: Option<(i64, &str)>,
        score: u8,
        given_on: u8,
        n: u64,
        flagged: bool,
    ) {
        if flagged {
            self.totals.flagged += n;
            if let Some((id, name)) = registrar {
                self.tally(id, name).flagged += n;
            }
            return;
        }
        let level = usize::from(normalize(score, given_on, self.scale)) - 1;
        let top = if score == given_on { n } else { 0 };
        self.totals.count += n;
        self.totals.levels[level] += n;
        self.top += top;
        match registrar {
            Some((id, name)) => {
                let t = self.tally(id, name);
                t.levels[level] += n;
                t.top += top;
            }
            None => self.totals.unassigned += n,
        }
    }

    /// The ranked board over `[from, to)`.
    pub fn finish(
        mut self,
        period: Option<PeriodName>,
        from: Millis,
        to: Millis,
        min_ratings: u32,
    ) -> Leaderboard {
        if self.totals.count > 0 {
            self.totals.satisfaction = self.top as f64 / self.totals.count as f64;
        }
        Leaderboard {
            period,
            from: to_rfc3339(from),
            to: to_rfc3339(to),
            scale: self.scale,
            min_ratings,
            entries: rank(self.tallies, min_ratings),
            totals: self.totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(name: &str, levels: &[u64]) -> Tally {
        Tally {
            name: name.into(),
            levels: levels.to_vec(),
            top: *levels.last().unwrap(),
            flagged: 0,
        }
    }

    #[test]
    fn wilson_bound_favours_evidence() {
        assert_eq!(wilson_lower(0, 0), 0.0);
        assert!(wilson_lower(95, 100) > wilson_lower(2, 2));
        assert!(wilson_lower(10, 10) > wilson_lower(9, 10));
        let w = wilson_lower(95, 100);
        assert!((w - 0.8882).abs() < 1e-3, "{w}");
    }

    #[test]
    fn few_ratings_are_listed_after_the_ranked() {
        let mut t = BTreeMap::new();
        t.insert(1, tally("Два из двух", &[0, 0, 2]));
        t.insert(2, tally("95 of 100", &[3, 2, 95]));
        t.insert(3, tally("Middling", &[10, 20, 30]));
        let board = rank(t, 5);
        let order: Vec<_> = board.iter().map(|e| (e.registrar_id, e.rank)).collect();
        assert_eq!(order, [(2, Some(1)), (3, Some(2)), (1, None)]);
        assert_eq!(board[2].satisfaction, 1.0);
        // With no minimum, 2 of 2 is ranked, still below 95 of 100.
        let mut t = BTreeMap::new();
        t.insert(1, tally("a", &[0, 0, 2]));
        t.insert(2, tally("b", &[3, 2, 95]));
        let board = rank(t, 0);
        assert_eq!(board[0].registrar_id, 2);
        assert_eq!(board[1].rank, Some(2));
    }

    #[test]
    fn ties_are_broken_by_id() {
        let mut t = BTreeMap::new();
        t.insert(7, tally("x", &[1, 1, 8]));
        t.insert(3, tally("y", &[1, 1, 8]));
        let board = rank(t, 1);
        assert_eq!(board[0].registrar_id, 3);
        assert_eq!(board[1].registrar_id, 7);
        assert_eq!((board[0].rank, board[1].rank), (Some(1), Some(2)));
    }
}
