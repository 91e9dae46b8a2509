//! Alerts on windows of ratings (see `config::WindowRule`): evaluated in the rating's own
//! transaction, after its own alert. A low window raises an alert like any other (taken,
//! resolved, escalated); a top one thanks the registrar on the desk panel (the `thanks` event)
//! and, if the rule says, in the group. Which rules are firing is kept in `alert_rule_state`, so
//! each fires once per stretch and a restart does not fire it again.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::alerts::{self, Words};
use super::config::{NotifyConfig, WindowRule};
use super::digest;
use super::message::{Kind, Outgoing};
use super::outbox::{self, NewItem};
use otklik_domain::error::Result;
use otklik_domain::time::Millis;
use otklik_domain::words::{self, fill};
use otklik_store::ratings::Rating;
use otklik_store::writer::WriteCtx;

/// What a window saw when its condition became true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Ratings considered (the run's length, or the window's count).
    pub n: u32,
    /// Of them, the counted ones (low or top).
    pub hits: u32,
}

/// The rule's condition over the ratings in scope, newest first, as (at, score); `at_end` is the
/// newest rating's time. `None`: it does not hold.
pub fn holds(rule: &WindowRule, counted: &[i64], newest_first: &[(Millis, i64)]) -> Option<Seen> {
    let at_end = newest_first.first()?.0;
    if rule.is_run() {
        let k = rule.run_len() as usize;
        let run = newest_first.iter().take(k);
        (newest_first.len() >= k && run.clone().all(|(_, s)| counted.contains(s))).then_some(Seen {
            n: k as u32,
            hits: k as u32,
        })
    } else {
        let from = at_end - Millis::from(rule.minutes) * 60_000;
        let window: Vec<_> = newest_first
            .iter()
            .take_while(|(at, _)| *at > from)
            .collect();
        let hits = window.iter().filter(|(_, s)| counted.contains(s)).count() as u32;
        share_holds(rule, window.len() as u32, hits)
    }
}

/// A share rule's condition over a window of `n` ratings, `hits` of them counted.
fn share_holds(rule: &WindowRule, n: u32, hits: u32) -> Option<Seen> {
    (n >= rule.min_ratings && hits * 100 >= rule.percent * n).then_some(Seen { n, hits })
}

/// The thanks the desk panel shows (public: no ids but the desk's).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Thanks {
    pub desk_id: i64,
    pub registrar: Option<String>,
    /// `top_run` or `top_share`.
    pub kind: String,
    pub n: u32,
    pub top: u32,
    pub percent: u32,
    pub minutes: u32,
}

/// The headline of a window, in words.
fn headline(rule: &WindowRule, seen: Seen, lang: otklik_domain::words::Language) -> String {
    let w = words::of(lang);
    let pct = (seen.hits * 100 / seen.n.max(1)).to_string();
    let (n, hits, mins) = (
        seen.n.to_string(),
        seen.hits.to_string(),
        rule.minutes.to_string(),
    );
    let vars = [
        ("n", n.as_str()),
        ("low", hits.as_str()),
        ("top", hits.as_str()),
        ("pct", pct.as_str()),
        ("mins", mins.as_str()),
    ];
    let text = match rule.kind.as_str() {
        "low_run" => w.messages.low_run,
        "low_share" => w.messages.low_share,
        "top_run" => w.messages.top_run,
        _ => w.messages.top_share,
    };
    fill(text, &vars)
}

/// The rule's scope for this rating, as the ratings column and its value: the desk for low_*,
/// the registrar for top_* (none when nobody was at the desk).
fn scope_of(rule: &WindowRule, rating: &Rating) -> Option<(&'static str, i64)> {
    if rule.is_top() {
        rating.registrar_id.map(|g| ("registrar_id", g))
    } else {
        Some(("desk_id", rating.desk_id))
    }
}

/// The ratings that count in a window: in scope (`?1`), on this scale (`?2`), neither flagged
/// nor annulled. Both columns have an `(x, at)` index.
fn counting(column: &str) -> String {
    format!(
        "r.{column} = ?1 AND r.scale = ?2
         AND NOT EXISTS (SELECT 1 FROM rating_flags f WHERE f.rating_id = r.id)
         AND NOT EXISTS (SELECT 1 FROM annulled_ratings a WHERE a.rating_id = r.id)"
    )
}

/// A run rule's last `k` ratings in scope up to and with this one, newest first.
fn recent(conn: &Connection, rule: &WindowRule, rating: &Rating) -> Result<Vec<(Millis, i64)>> {
    let Some((column, scope)) = scope_of(rule, rating) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT r.at, r.score FROM ratings r WHERE {}
         ORDER BY r.at DESC, r.id DESC LIMIT ?3",
        counting(column)
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map((scope, rating.scale, i64::from(rule.run_len())), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A share rule's window ending at this rating, counted by SQLite over the (scope, at) index
/// rather than moved row by row into Rust. A thousand ratings is far beyond a reception's pace
/// in any window; the cap bounds a flood's cost.
fn share(
    conn: &Connection,
    rule: &WindowRule,
    counted: &[i64],
    rating: &Rating,
) -> Result<Option<Seen>> {
    let Some((column, scope)) = scope_of(rule, rating) else {
        return Ok(None);
    };
    // Scores are integers checked against the scale: safe as literals, and one plan per rule.
    let scores = counted
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    // The window ends at this rating's own time (`?3`: its id), `?4` ms long.
    let sql = format!(
        "SELECT COUNT(*), COALESCE(SUM(score IN ({scores})), 0) FROM (
           SELECT r.score FROM ratings r, (SELECT at AS last_at FROM ratings WHERE id = ?3) w
           WHERE {} AND r.at > w.last_at - ?4 AND r.at <= w.last_at
           ORDER BY r.at DESC LIMIT 1000)",
        counting(column)
    );
    let span = Millis::from(rule.minutes) * 60_000;
    let (n, hits): (i64, i64) = conn
        .prepare_cached(&sql)?
        .query_row((scope, rating.scale, rating.id, span), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(share_holds(rule, n as u32, hits as u32))
}

/// Evaluates every window rule on the rating just stored (not flagged); fires those whose
/// condition became true, re-arms those whose condition cleared. Returns how many messages
/// were queued.
pub fn on_rating(
    ctx: &mut WriteCtx<'_>,
    rating: &Rating,
    cfg: &NotifyConfig,
    words: &Words,
) -> Result<usize> {
    let mut queued = 0;
    for rule in &cfg.windows {
        if !(rule.desks.is_empty() || rule.desks.contains(&rating.desk_id)) {
            continue;
        }
        let scope = match (rule.is_top(), rating.registrar_id) {
            (true, Some(g)) => format!("registrar:{g}"),
            (true, None) => continue,
            (false, _) => format!("desk:{}", rating.desk_id),
        };
        let key = rule.key();
        let counted = rule.counted(rating.scale as u8);
        let seen = if rule.is_run() {
            holds(rule, &counted, &recent(ctx.conn, rule, rating)?)
        } else {
            share(ctx.conn, rule, &counted, rating)?
        };
        let fired: bool = ctx
            .conn
            .prepare_cached("SELECT 1 FROM alert_rule_state WHERE rule = ?1 AND scope = ?2")?
            .query_row((&key, &scope), |_| Ok(()))
            .optional()?
            .is_some();
        match (seen, fired) {
            (Some(seen), false) => {
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO alert_rule_state (rule, scope, fired_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute((&key, &scope, ctx.now))?;
                queued += fire(ctx, rule, seen, rating, cfg, words)?;
            }
            (None, true) => {
                ctx.conn
                    .prepare_cached("DELETE FROM alert_rule_state WHERE rule = ?1 AND scope = ?2")?
                    .execute((&key, &scope))?;
            }
            _ => {}
        }
    }
    Ok(queued)
}

fn fire(
    ctx: &mut WriteCtx<'_>,
    rule: &WindowRule,
    seen: Seen,
    rating: &Rating,
    cfg: &NotifyConfig,
    words: &Words,
) -> Result<usize> {
    let head = headline(rule, seen, words.lang);
    let targets = alerts::targets(ctx.conn, cfg, &rule.channels, false)?;
    let mut queued = 0;
    if rule.is_top() {
        let registrar: Option<String> = match rating.registrar_id {
            Some(g) => ctx
                .conn
                .query_row("SELECT name FROM registrars WHERE id = ?1", [g], |r| {
                    r.get(0)
                })
                .optional()?,
            None => None,
        };
        let thanks = Thanks {
            desk_id: rating.desk_id,
            registrar: registrar.clone(),
            kind: rule.kind.clone(),
            n: seen.n,
            top: seen.hits,
            percent: seen.hits * 100 / seen.n.max(1),
            minutes: rule.minutes,
        };
        let who = registrar.unwrap_or_default();
        let text = format!("🌟 {head} — {who}");
        let msg = Outgoing {
            subject: format!("Otklik: {head}"),
            html: Some(digest::esc(&text)),
            text,
            ..Default::default()
        };
        for (channel, target) in &targets {
            let item = NewItem {
                channel: *channel,
                target,
                kind: Kind::Notice,
                alert_id: None,
                photo_of: None,
                priority: 1,
            };
            queued += outbox::enqueue(ctx.conn, ctx.now, &item, msg.clone())?.len();
        }
        ctx.emit("thanks", &thanks);
        return Ok(queued);
    }
    let escalate = (rule.escalate_after_mins > 0)
        .then(|| ctx.now + Millis::from(rule.escalate_after_mins) * 60_000);
    ctx.conn
        .prepare_cached(
            "INSERT INTO alerts (rating_id, targets, created_at, escalate_at, rule, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute((
            rating.id,
            serde_json::to_string(&targets).expect("targets serialize"),
            ctx.now,
            escalate,
            &rule.kind,
            &head,
        ))?;
    let alert_id = ctx.conn.last_insert_rowid();
    if !targets.is_empty() {
        let f = alerts::facts(ctx.conn, alert_id, rating.id, words)?;
        let mut msg = digest::alert(&f, words.lang, words.tz);
        // The window's headline first; the rest is the rating that tipped it.
        msg.subject = format!("Otklik: ⚠️ {head} — {}", f.desk);
        msg.text = format!("⚠️ {head}\n{}", msg.text);
        msg.html = msg
            .html
            .map(|h| format!("⚠️ <b>{}</b>\n{h}", digest::esc(&head)));
        for (channel, target) in &targets {
            let item = NewItem {
                channel: *channel,
                target,
                kind: Kind::Alert,
                alert_id: Some(alert_id),
                photo_of: None,
                priority: 1,
            };
            queued += outbox::enqueue(ctx.conn, ctx.now, &item, msg.clone())?.len();
        }
    }
    ctx.emit("alert", &alerts::get(ctx.conn, alert_id)?);
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: &str) -> WindowRule {
        WindowRule {
            kind: kind.to_string(),
            ..Default::default()
        }
    }

    /// Ratings a minute apart, the last one first.
    fn minutely(scores: &[i64]) -> Vec<(Millis, i64)> {
        let n = scores.len() as Millis;
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| ((n - i as Millis) * 60_000, *s))
            .collect()
    }

    #[test]
    fn a_low_run_needs_k_in_a_row() {
        let r = rule("low_run");
        assert_eq!(holds(&r, &[1], &minutely(&[1, 1])), None);
        assert_eq!(
            holds(&r, &[1], &minutely(&[1, 1, 1])),
            Some(Seen { n: 3, hits: 3 })
        );
        // The newest first: a good one on top breaks the run.
        assert_eq!(holds(&r, &[1], &minutely(&[3, 1, 1])), None);
        assert_eq!(holds(&r, &[1], &[]), None);
    }

    #[test]
    fn a_share_counts_only_its_window_and_needs_enough_ratings() {
        let r = rule("low_share");
        // 2 of 3: above 50 %, but fewer than 4 ratings.
        assert_eq!(holds(&r, &[1], &minutely(&[1, 3, 1])), None);
        // 2 of 4 is 50 %: it fires at the threshold.
        assert_eq!(
            holds(&r, &[1], &minutely(&[1, 3, 1, 3])),
            Some(Seen { n: 4, hits: 2 })
        );
        assert_eq!(holds(&r, &[1], &minutely(&[1, 3, 3, 3])), None);
        // Ratings older than 15 minutes before the newest are out of the window.
        let mut old = minutely(&[1, 1, 3]);
        old.extend([(-20 * 60_000, 1), (-21 * 60_000, 1)]);
        assert_eq!(holds(&r, &[1], &old), None);
    }

    #[test]
    fn thanks_count_top_ratings() {
        let r = rule("top_run");
        assert_eq!(holds(&r, &[5], &minutely(&[5, 5, 5, 5])), None);
        assert_eq!(
            holds(&r, &[5], &minutely(&[5, 5, 5, 5, 5, 1])),
            Some(Seen { n: 5, hits: 5 })
        );
        let h = headline(&r, Seen { n: 5, hits: 5 }, words::Language::En);
        assert_eq!(h, "Thank you! 5 top ratings in a row");
        let h = headline(
            &rule("low_share"),
            Seen { n: 6, hits: 4 },
            words::Language::Ru,
        );
        assert_eq!(h, "66% низких оценок за 15 мин (4 из 6)");
    }
}
