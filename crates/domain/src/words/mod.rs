//! Every word the engine says to people, in one place: alerts, notices, reports (messages and
//! export tables), the bot's answers, the health components' names and the tray. One struct per
//! area (fields documented here), one file per language (`ru.rs`, `en.rs`, `es.rs`) filling all of
//! them, so a translator reads one file and a word used by several areas is written once.
//!
//! The screens have their own catalog (ui/src/i18n.ts): the level names must be the same (a
//! test reads that file), and [`plural`] follows the CLDR rules its `Intl.PluralRules` uses.

mod en;
mod es;
mod ru;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// The installation's language (a `//` comment: a doc comment would change the OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Ru,
    En,
    Es,
}

/// All the words of one language.
#[derive(Debug)]
pub struct Catalog {
    pub common: Common,
    pub messages: Messages,
    pub tables: Tables,
    pub components: Components,
    pub tray: Tray,
    /// The names of the levels of the 3-, 4-, 5- and 7-level scales, lowest first.
    levels: [&'static [&'static str]; 4],
}

/// The catalog of `lang`.
pub fn of(lang: Language) -> &'static Catalog {
    match lang {
        Language::Ru => &ru::CATALOG,
        Language::En => &en::CATALOG,
        Language::Es => &es::CATALOG,
    }
}

/// Words more than one area uses.
#[derive(Debug)]
pub struct Common {
    /// "Окно": a desk named only by its number gets it ("Окно 2"), as do the demo's desks.
    pub desk: &'static str,
    pub registrar: &'static str,
    /// In a table's name column: ratings with nobody on shift.
    pub nobody_short: &'static str,
    /// The heading of a count of ratings.
    pub ratings: &'static str,
    pub satisfied: &'static str,
    pub net: &'static str,
    pub time: &'static str,
    /// "и ещё {n}": the rest of a list, counted.
    pub more: &'static str,
    /// The clinic's name when the demo fills an installation that has none.
    pub demo_clinic: &'static str,
}

/// Alerts, notices, operational reports and the bot's answers (notify's digest).
#[derive(Debug)]
pub struct Messages {
    /// In an alert: nobody had a session open at the desk.
    pub nobody: &'static str,
    pub nobody_at_desk: &'static str,
    pub clinic: &'static str,
    pub score_of: &'static str,
    pub low_rating: &'static str,
    /// A window alert's headline: low ratings in a row at a desk.
    pub low_run: &'static str,
    /// A window alert's headline: the share of low ratings over the last minutes.
    pub low_share: &'static str,
    /// Thanks to a registrar: top ratings in a row, or their share over the last minutes.
    pub top_run: &'static str,
    pub top_share: &'static str,
    pub rating_named: &'static str,
    pub rating_no: &'static str,
    pub open_rating: &'static str,
    pub take: &'static str,
    pub resolve: &'static str,
    pub voice: &'static str,
    pub voice_subject: &'static str,
    /// The reason a patient picked after the alert went out.
    pub reason: &'static str,
    pub reason_subject: &'static str,
    pub escalated: &'static str,
    pub escalated_subject: &'static str,
    pub taken: &'static str,
    pub resolved: &'static str,
    /// In a report's list of low ratings: an alert nobody has taken yet.
    pub nobody_took: &'static str,
    pub cause: &'static str,
    pub cause_prompt: &'static str,
    pub down: &'static str,
    /// The same when it began and ended within one minute on the clock.
    pub down_at: &'static str,
    pub held: &'static str,
    pub down_subject: &'static str,
    pub health_down: &'static str,
    pub health_up: &'static str,
    pub test: &'static str,
    pub test_subject: &'static str,
    pub paired: &'static str,
    /// The same without a clinic name (none set yet).
    pub paired_plain: &'static str,
    pub paired_more: &'static str,
    pub report_day: &'static str,
    pub report_day_until: &'static str,
    pub report_range: &'static str,
    pub report_days: &'static str,
    pub vs_previous: &'static str,
    pub flagged: &'static str,
    pub unassigned: &'static str,
    pub by_registrar: &'static str,
    pub total_col: &'static str,
    /// Under a report's table cut to the most rated: `{n}` of `{m}` registrars shown.
    pub shown_top: Forms,
    pub negatives: &'static str,
    pub no_negatives: &'static str,
    pub photo: &'static str,
    pub voice_mark: &'static str,
    pub no_ratings: &'static str,
    /// Under a chart cut to the most rated.
    pub chart_shown: Forms,
    pub total_ratings: &'static str,
    pub ranked_count: &'static str,
    pub not_ranked: &'static str,
    pub now_at: &'static str,
    pub today_count: &'static str,
    pub no_ratings_today: &'static str,
    /// The bot's leaderboard titles: /today and /top, /week.
    pub today: &'static str,
    pub this_week: &'static str,
    pub help_title: &'static str,
    pub help_lines: [&'static str; 6],
    pub seconds: &'static str,
    pub minutes: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
}

/// The headings of a report's tables and charts (the CSV, XLSX and PDF exports).
#[derive(Debug)]
pub struct Tables {
    pub registrars: &'static str,
    pub desks: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
    pub date: &'static str,
    pub weekday: &'static str,
    pub hour: &'static str,
    pub flagged: &'static str,
    pub annulled: &'static str,
    pub previous: &'static str,
    pub level: &'static str,
    pub report: &'static str,
    pub trend: &'static str,
    pub score: &'static str,
    pub source: &'static str,
    pub flag: &'static str,
    /// The reasons patients gave for low ratings: the column of the raw export, the tables'
    /// headings, and the column of low ratings without one.
    pub reason: &'static str,
    pub reasons_registrars: &'static str,
    pub reasons_desks: &'static str,
    pub reasons_days: &'static str,
    pub without_reason: &'static str,
    /// Monday first.
    pub weekdays: [&'static str; 7],
    /// The printed report's trend of a single day.
    pub trend_hours: &'static str,
    /// The printed report's key to its columns: `{satisfied}`, `{net}`, `{flagged}`,
    /// `{annulled}` (the columns' titles), `{top}` and `{bottom}` (the scale's end levels).
    pub legend: &'static str,
    /// The printed tables' short headings of the flagged and annulled columns (in the key).
    pub flagged_short: &'static str,
    pub annulled_short: &'static str,
    pub period: &'static str,
    pub this_period: &'static str,
    pub previous_period: &'static str,
    /// A registrar's place in the period's table: `{place}` of `{of}`.
    pub place: &'static str,
}

/// What the health monitor calls its components ("Окно 2 — камера"); the tray and the notices
/// about channels use the same names.
#[derive(Debug)]
pub struct Components {
    pub camera: &'static str,
    pub microphone: &'static str,
    pub panel: &'static str,
    pub keys: &'static str,
    pub serial: &'static str,
    pub api: &'static str,
    pub input: &'static str,
    pub email: &'static str,
    pub webhook: &'static str,
    pub database: &'static str,
    pub backup: &'static str,
    /// A desk PC forwarding its presses to the reception.
    pub desk_pc: &'static str,
    /// On a desk PC: its link to the reception.
    pub reception_link: &'static str,
    pub hub_link: &'static str,
}

/// The tray's own words (the parts it names are [`Components`]' words, in lower case).
#[derive(Debug)]
pub struct Tray {
    pub app: &'static str,
    pub all_well: &'static str,
    pub needs_attention: &'static str,
    pub capture_paused: &'static str,
    pub open_console: &'static str,
    pub open_display: &'static str,
    pub pause_capture: &'static str,
    pub resume_capture: &'static str,
    pub quit: &'static str,
    pub no_answer: &'static str,
    /// A desk's rating input, whatever kind.
    pub input: &'static str,
    pub unlisted: &'static str,
}

/// A channel's name as people read it: `telegram`, `email`, `webhook`, or the name as given.
pub fn channel_name(lang: Language, channel: &str) -> String {
    let c = &of(lang).components;
    match channel {
        "telegram" => "Telegram",
        "email" => c.email,
        "webhook" => c.webhook,
        other => other,
    }
    .to_string()
}

/// The names of the levels of an n-level scale, lowest first (as on the screens, see
/// ui/src/i18n.ts); numbers for a scale without names.
pub fn level_names(lang: Language, levels: u8) -> Vec<String> {
    let names: &[&str] = match levels {
        3 => of(lang).levels[0],
        4 => of(lang).levels[1],
        5 => of(lang).levels[2],
        7 => of(lang).levels[3],
        _ => &[],
    };
    if names.is_empty() {
        (1..=levels).map(|l| l.to_string()).collect()
    } else {
        names.iter().map(|s| s.to_string()).collect()
    }
}

/// The name of `score` on an n-level scale; the number when it has none.
pub fn level_name(lang: Language, score: i64, levels: u8) -> String {
    usize::try_from(score - 1)
        .ok()
        .and_then(|i| level_names(lang, levels).into_iter().nth(i))
        .unwrap_or_else(|| score.to_string())
}

/// Fills `{key}` placeholders in one pass: inserted values are never scanned again, so a name
/// with braces stays as it is. An unknown key is left in place.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| Some((args.iter().find(|(k, _)| *k == &after[..close])?, close)));
        match value {
            Some(((_, v), close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` with its first letter in lower case.
pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The CLDR plural categories a whole number falls into (fractions, CLDR's Russian `other`, are
/// never counted here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    One,
    Few,
    Many,
    Other,
}

/// The category of `n` by the CLDR rules of `lang`, as `Intl.PluralRules` picks it on the
/// screens: Russian one (1, 21, 101; not 11), few (2–4, 22–24; not 12–14), many (the rest);
/// English and Spanish one (1) and other. (CLDR's Spanish `many` is for millions written as
/// "1 millón de", which no count here reaches.)
pub fn category(lang: Language, n: u64) -> Category {
    match lang {
        Language::Ru => match (n % 10, n % 100) {
            (1, r) if r != 11 => Category::One,
            (2..=4, r) if !(12..=14).contains(&r) => Category::Few,
            _ => Category::Many,
        },
        Language::En | Language::Es => {
            if n == 1 {
                Category::One
            } else {
                Category::Other
            }
        }
    }
}

/// A phrase with a count in the forms its language needs, `{n}` standing for the count (other
/// placeholders are left for [`fill`]). Russian uses `one`, `few` and `many`; English and
/// Spanish `one` and `other` ([`Forms::two`] fills the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forms {
    pub one: &'static str,
    pub few: &'static str,
    pub many: &'static str,
    pub other: &'static str,
}

impl Forms {
    /// Russian: 1 уровень, 3 уровня, 5 уровней (and 1,5 уровня for `other`).
    pub const fn three(one: &'static str, few: &'static str, many: &'static str) -> Forms {
        Forms {
            one,
            few,
            many,
            other: few,
        }
    }

    /// English, Spanish: 1 level, 3 levels.
    pub const fn two(one: &'static str, other: &'static str) -> Forms {
        Forms {
            one,
            few: other,
            many: other,
            other,
        }
    }

    pub fn get(&self, category: Category) -> &'static str {
        match category {
            Category::One => self.one,
            Category::Few => self.few,
            Category::Many => self.many,
            Category::Other => self.other,
        }
    }
}

/// The form of `forms` for `n` in `lang`, `{n}` filled: `plural(Ru, 3, &levels)` = "3 уровня".
pub fn plural(lang: Language, n: u64, forms: &Forms) -> String {
    fill(forms.get(category(lang, n)), &[("n", &n.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LANGS: [Language; 3] = [Language::Ru, Language::En, Language::Es];

    #[test]
    fn russian_counts_take_one_few_or_many() {
        let levels = Forms::three("{n} уровень", "{n} уровня", "{n} уровней");
        let said: Vec<String> = [1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111]
            .iter()
            .map(|&n| plural(Language::Ru, n, &levels))
            .collect();
        assert_eq!(
            said,
            [
                "1 уровень",
                "2 уровня",
                "3 уровня",
                "4 уровня",
                "5 уровней",
                "11 уровней",
                "12 уровней",
                "14 уровней",
                "21 уровень",
                "22 уровня",
                "25 уровней",
                "101 уровень",
                "111 уровней",
            ]
        );
        assert_eq!(plural(Language::Ru, 0, &levels), "0 уровней");
    }

    #[test]
    fn english_and_spanish_counts_take_one_or_other() {
        let en = Forms::two("{n} level", "{n} levels");
        let es = Forms::two("{n} nivel", "{n} niveles");
        for n in [1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111] {
            let (want_en, want_es) = if n == 1 {
                ("1 level".to_string(), "1 nivel".to_string())
            } else {
                (format!("{n} levels"), format!("{n} niveles"))
            };
            assert_eq!(plural(Language::En, n, &en), want_en);
            assert_eq!(plural(Language::Es, n, &es), want_es);
        }
        assert_eq!(plural(Language::En, 0, &en), "0 levels");
    }

    #[test]
    fn other_placeholders_are_left_for_fill() {
        let shown = Forms::three(
            "Показан {n} из {m}",
            "Показаны {n} из {m}",
            "Показаны {n} из {m}",
        );
        let s = plural(Language::Ru, 21, &shown);
        assert_eq!(fill(&s, &[("m", "80")]), "Показан 21 из 80");
        // Braces in a value are not placeholders.
        assert_eq!(fill("{a} {b}", &[("a", "{b}"), ("b", "x")]), "{b} x");
    }

    #[test]
    fn level_names_come_once_with_numbers_for_other_scales() {
        assert_eq!(level_name(Language::Ru, 2, 5), "Плохо");
        assert_eq!(level_name(Language::En, 7, 7), "Excellent");
        assert_eq!(level_name(Language::Es, 4, 7), "Normal");
        assert_eq!(level_name(Language::Ru, 2, 6), "2");
        assert_eq!(level_names(Language::En, 2), ["1", "2"]);
        for lang in LANGS {
            for levels in [3, 4, 5, 7] {
                assert_eq!(level_names(lang, levels).len(), usize::from(levels));
            }
        }
    }

    /// The screens name the levels in ui/src/i18n.ts; the messages and charts must say the same.
    #[test]
    fn level_names_agree_with_the_screens() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/i18n.ts");
        let ts = std::fs::read_to_string(path).expect("ui/src/i18n.ts");
        for (lang, start) in [
            (Language::Ru, "const ru = {"),
            (Language::En, "const en: Dict = {"),
            (Language::Es, "const es: Dict = {"),
        ] {
            let section = &ts[ts.find(start).expect(start)..];
            let levels = &section[section.find("  levels: {").expect("levels")..];
            for n in [3u8, 4, 5, 7] {
                let line = levels
                    .lines()
                    .find(|l| l.trim_start().starts_with(&format!("{n}: [")))
                    .unwrap_or_else(|| panic!("{lang:?} {n}"));
                let quoted = line.split('"').skip(1).step_by(2).collect::<Vec<_>>();
                assert_eq!(level_names(lang, n), quoted, "{lang:?}, {n} levels");
            }
        }
    }

    #[test]
    fn channels_are_named_as_components() {
        assert_eq!(channel_name(Language::Ru, "email"), "Почта");
        assert_eq!(channel_name(Language::En, "telegram"), "Telegram");
        for lang in LANGS {
            assert!(of(lang).common.more.contains("{n}"), "{lang:?}");
        }
    }
}
