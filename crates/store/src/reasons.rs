//! Reasons for low ratings: after a low rating the patient may pick one reason from a short list
//! the installation sets (waiting time, rudeness, ...). Picked once, within a short window after
//! the rating, kept beside it and never changed (migrations/0011_reasons.sql).

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contests::is_low;
use crate::writer::WriteCtx;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, parse_rfc3339, to_rfc3339};
use otklik_domain::words::Language;

/// Reasons one screen holds at most: more big buttons than this no longer fit a tablet.
pub const MAX_REASONS: usize = 8;
/// Labels longer than this do not fit a button.
pub const MAX_LABEL: usize = 40;
/// A pick this long after the screen closed is still taken: the tap was on its way.
pub const SLACK_MS: Millis = 5_000;

/// A reason's label in each language of the screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonLabels {
    pub ru: String,
    pub en: String,
    pub es: String,
}

impl ReasonLabels {
    pub fn of(&self, lang: Language) -> &str {
        match lang {
            Language::Ru => &self.ru,
            Language::En => &self.en,
            Language::Es => &self.es,
        }
    }
}

/// One reason a patient may pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonDef {
    /// Stable: reports and exports group by it, so a label may be reworded without losing the
    /// history. 1 to 32 of a-z, 0-9, '_'.
    pub code: String,
    pub labels: ReasonLabels,
}

fn def(code: &str, ru: &str, en: &str, es: &str) -> ReasonDef {
    ReasonDef {
        code: code.into(),
        labels: ReasonLabels {
            ru: ru.into(),
            en: en.into(),
            es: es.into(),
        },
    }
}

/// The reasons of a new installation.
pub fn defaults() -> Vec<ReasonDef> {
    vec![
        def(
            "waiting",
            "Долгое ожидание",
            "Waiting time",
            "Tiempo de espera",
        ),
        def("rudeness", "Грубость", "Rudeness", "Descortesía"),
        def("mistake", "Ошибка", "A mistake", "Un error"),
        def("queue", "Очередь", "The queue", "La cola"),
        def("other", "Другое", "Other", "Otro"),
    ]
}

/// The list as a patient may see it: codes plain and unique, labels present and short, at most
/// [`MAX_REASONS`]. Labels come back trimmed.
pub fn check_list(list: &[ReasonDef]) -> Result<Vec<ReasonDef>> {
    if list.len() > MAX_REASONS {
        return Err(Error::invalid(
            "reasons",
            format!(
                "{} reasons are too many for one screen: at most {MAX_REASONS}",
                list.len()
            ),
        ));
    }
    let mut out: Vec<ReasonDef> = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let n = i + 1;
        let code = r.code.trim();
        let plain = (1..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(Error::invalid(
                "reasons",
                format!("reason {n}: code '{code}' must be 1 to 32 of a-z, 0-9, '_'"),
            ));
        }
        if out.iter().any(|o| o.code == code) {
            return Err(Error::invalid(
                "reasons",
                format!("reason {n}: code '{code}' is used twice; each reason needs its own"),
            ));
        }
        let mut labels = r.labels.clone();
        for (lang, label) in [
            ("ru", &mut labels.ru),
            ("en", &mut labels.en),
            ("es", &mut labels.es),
        ] {
            *label = label.trim().to_string();
            if label.is_empty() {
                return Err(Error::invalid(
                    "reasons",
                    format!("reason {n} ('{code}'): the {lang} label is empty"),
                ));
            }
            if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "reasons",
                    format!(
                        "reason {n} ('{code}'): the {lang} label must be at most {MAX_LABEL} characters on one line"
                    ),
                ));
            }
        }
        out.push(ReasonDef {
            code: code.to_string(),
            labels,
        });
    }
    Ok(out)
}

/// The reason a rating carries, as the API and exports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatingReason {
    pub code: String,
    /// In the installation's language when it was picked (the console's, whatever language
    /// the panel spoke), kept as it read then.
    pub label: String,
    pub picked_at: String,
}

/// Who passed the pick on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    PatientPanel,
    RegistrarPanel,
    Api,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::PatientPanel => "patient_panel",
            Via::RegistrarPanel => "registrar_panel",
            Via::Api => "api",
        }
    }
}

/// What a pick is checked against, read from the settings once per pick.
#[derive(Debug, Clone)]
pub struct Rules {
    pub enabled: bool,
    pub list: Vec<ReasonDef>,
    pub timeout_ms: Millis,
    pub lang: Language,
    /// Levels of the current scale (what counts as low).
    pub levels: u8,
}

impl Rules {
    pub fn from_settings(s: &crate::settings::Settings) -> Rules {
        Rules {
            enabled: s.reasons_enabled,
            list: s.reasons.clone(),
            timeout_ms: Millis::from(s.reasons_timeout_secs) * 1000,
            lang: s.language,
            levels: s.scale,
        }
    }
}

/// The `reason` event and the answer of a pick.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonPicked {
    pub rating_id: i64,
    pub desk_id: i64,
    pub reason: RatingReason,
}

/// Stores `code` as the reason of rating `rating_id`. Refused (nothing stored) when reasons are
/// off, the code is not in the list, the rating is not low, the window has closed, or a reason
/// was picked already: the first pick stands, so a second tap cannot rewrite what the patient said.
pub fn pick(
    ctx: &mut WriteCtx<'_>,
    rating_id: i64,
    code: &str,
    via: Via,
    rules: &Rules,
) -> Result<ReasonPicked> {
    if !rules.enabled {
        return Err(Error::Conflict(
            "reasons for low ratings are turned off in the settings (reasons_enabled)".into(),
        ));
    }
    let code = code.trim();
    let Some(def) = rules.list.iter().find(|r| r.code == code) else {
        let known: Vec<&str> = rules.list.iter().map(|r| r.code.as_str()).collect();
        return Err(Error::invalid(
            "reason",
            format!("'{code}' is not a reason: one of {}", known.join(", ")),
        ));
    };
    let rating = crate::ratings::get(ctx.conn, rating_id)?;
    if !is_low(rating.score, rating.scale, rules.levels) {
        return Err(Error::Conflict(format!(
            "rating {rating_id} ({} of {}) is not low: only low ratings take a reason",
            rating.score, rating.scale
        )));
    }
    if let Some(r) = get(ctx.conn, rating_id)? {
        return Err(Error::Conflict(format!(
            "rating {rating_id} has its reason already ('{}'); a reason is picked once",
            r.code
        )));
    }
    let received = parse_rfc3339("received_at", &rating.received_at)?;
    let closes = received + rules.timeout_ms + SLACK_MS;
    if ctx.now > closes {
        return Err(Error::Conflict(format!(
            "too late for a reason: rating {rating_id} took one until {} ({} s after it)",
            to_rfc3339(closes),
            (rules.timeout_ms + SLACK_MS) / 1000
        )));
    }
    let label = def.labels.of(rules.lang).to_string();
    ctx.conn
        .prepare_cached(
            "INSERT INTO rating_reasons (rating_id, code, label, picked_at, via) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute((rating_id, code, &label, ctx.now, via.as_str()))?;
    let picked = ReasonPicked {
        rating_id,
        desk_id: rating.desk_id,
        reason: RatingReason {
            code: code.to_string(),
            label,
            picked_at: to_rfc3339(ctx.now),
        },
    };
    ctx.emit("reason", &picked);
    Ok(picked)
}

/// The reason of a rating, if one was picked.
pub fn get(conn: &Connection, rating_id: i64) -> Result<Option<RatingReason>> {
    Ok(conn
        .prepare_cached("SELECT code, label, picked_at FROM rating_reasons WHERE rating_id = ?1")?
        .query_row([rating_id], |r| {
            Ok(RatingReason {
                code: r.get(0)?,
                label: r.get(1)?,
                picked_at: to_rfc3339(r.get(2)?),
            })
        })
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(list: &[ReasonDef]) -> String {
        check_list(list).unwrap_err().to_string()
    }

    #[test]
    fn the_defaults_pass_and_bad_lists_say_what_is_wrong() {
        assert_eq!(check_list(&defaults()).unwrap(), defaults());
        let mut empty_label = defaults();
        empty_label[1].labels.es = "  ".into();
        assert!(
            err(&empty_label).contains("reason 2 ('rudeness'): the es label is empty"),
            "{}",
            err(&empty_label)
        );
        let mut twice = defaults();
        twice[4].code = "queue".into();
        assert!(err(&twice).contains("code 'queue' is used twice"));
        let many: Vec<_> = (0..9)
            .map(|i| def(&format!("r{i}"), "а", "a", "a"))
            .collect();
        assert!(err(&many).contains("9 reasons are too many"));
        let mut bad_code = defaults();
        bad_code[0].code = "Wait time".into();
        assert!(err(&bad_code).contains("code 'Wait time' must be"));
        let mut long = defaults();
        long[0].labels.ru = "о".repeat(41);
        assert!(err(&long).contains("at most 40 characters"));
        assert!(err(&long).starts_with("reasons:"));
    }
}
