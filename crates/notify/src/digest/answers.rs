//! The bot's answers in a chat: the leaderboard (/today, /week, /top), a desk (/desk), the help.

use super::format::*;
use otklik_domain::words::{self, Catalog, Language, fill};
use otklik_reports::figures::Figures;
use otklik_store::leaderboard::{Entry, Leaderboard};

/// Registrars listed by `/today` and `/week` at most.
pub(super) const BOARD_ROWS: usize = 25;

pub(super) fn entry_line(e: &Entry, w: &Catalog) -> String {
    let place = match e.rank {
        Some(1) => "🥇".to_string(),
        Some(2) => "🥈".to_string(),
        Some(3) => "🥉".to_string(),
        Some(r) => format!("{r}."),
        None => "·".to_string(),
    };
    let name = if e.name.trim().is_empty() {
        w.common.nobody_short
    } else {
        e.name.as_str()
    };
    format!(
        "{place} <b>{}</b> — {} {} · {}: {}",
        esc(name),
        w.common.satisfied.to_lowercase(),
        pct(e.satisfaction),
        w.common.ratings.to_lowercase(),
        e.count
    )
}

/// The leaderboard in a chat (HTML): `title` (e.g. "Сегодня"), the totals, the ranked
/// registrars with satisfaction and count, then those with too few ratings. `top_only` (/top):
/// the first three and how many are ranked.
pub fn leaderboard_text(
    board: &Leaderboard,
    title: &str,
    top_only: bool,
    lang: Language,
) -> String {
    let w = words::of(lang);
    let mut out = format!("🏆 <b>{}</b>", esc(title));
    let t = &board.totals;
    if t.count == 0 && board.entries.iter().all(|e| e.count == 0) {
        out.push_str(&format!("\n{}.", w.messages.no_ratings));
        return out;
    }
    out.push_str(&format!(
        "\n{}: <b>{}</b> · {} {}",
        w.messages.total_ratings,
        t.count,
        w.common.satisfied.to_lowercase(),
        pct(t.satisfaction)
    ));
    if t.unassigned > 0 {
        out.push_str(&format!(
            " · {}: {}",
            w.messages.unassigned.to_lowercase(),
            t.unassigned
        ));
    }
    out.push('\n');
    let ranked: Vec<&Entry> = board.entries.iter().filter(|e| e.rank.is_some()).collect();
    let unranked: Vec<&Entry> = board
        .entries
        .iter()
        .filter(|e| e.rank.is_none() && e.count > 0)
        .collect();
    let not_ranked = fill(
        w.messages.not_ranked,
        &[("min", &board.min_ratings.to_string())],
    );
    let limit = if top_only { 3 } else { BOARD_ROWS };
    for e in ranked.iter().take(limit) {
        out.push('\n');
        out.push_str(&entry_line(e, w));
    }
    if top_only {
        out.push_str(&format!(
            "\n\n{}",
            fill(w.messages.ranked_count, &[("n", &ranked.len().to_string())])
        ));
        if ranked.is_empty() && !unranked.is_empty() {
            out.push_str(&format!("\n{not_ranked}: {}", unranked.len()));
        }
        return out;
    }
    if ranked.len() > limit {
        out.push('\n');
        out.push_str(&more(w, ranked.len() - limit));
    }
    if !unranked.is_empty() {
        let names: Vec<String> = unranked
            .iter()
            .take(15)
            .map(|e| format!("{} ({})", esc(&e.name), e.count))
            .collect();
        out.push_str(&format!("\n\n<i>{not_ranked}</i>: {}", names.join(", ")));
        if unranked.len() > 15 {
            out.push_str(&format!(" {}", more(w, unranked.len() - 15)));
        }
    }
    out
}

/// /desk N (HTML): who is at the desk now and the desk's ratings today.
pub fn desk_text(desk: &str, registrar: Option<&str>, today: &Figures, lang: Language) -> String {
    let w = words::of(lang);
    let mut out = format!("<b>{}</b>", esc(&desk_label(desk, w)));
    match registrar {
        Some(name) => out.push_str(&format!("\n{}: <b>{}</b>", w.messages.now_at, esc(name))),
        None => out.push_str(&format!(
            "\n{}: <i>{}</i>",
            w.messages.now_at, w.messages.nobody_at_desk
        )),
    }
    if today.count == 0 {
        out.push('\n');
        out.push_str(w.messages.no_ratings_today);
    } else {
        out.push_str(&format!(
            "\n{}\n{}\n{}: <b>{}</b>",
            fill(
                w.messages.today_count,
                &[("n", &format!("<b>{}</b>", today.count))]
            ),
            esc(&level_counts(&today.levels, lang)),
            w.common.satisfied,
            pct(today.satisfaction)
        ));
    }
    if today.flagged > 0 {
        out.push_str(&format!("\n{}: {}", w.messages.flagged, today.flagged));
    }
    out
}

/// The bot's commands (HTML).
pub fn help_text(lang: Language) -> String {
    let w = words::of(lang);
    let mut out = format!("<b>{}</b>", w.messages.help_title);
    for line in w.messages.help_lines {
        out.push('\n');
        out.push_str(&esc(line));
    }
    out
}
