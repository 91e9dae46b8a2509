//! Each desk's input setting: where its ratings come from, and its debounce.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_store::audit;
use otklik_store::roster::get_desk;
use otklik_store::writer::WriteCtx;

pub const DEFAULT_DEBOUNCE_MS: u32 = 1000;
const BAUDS: &[u32] = &[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/// Where a desk's ratings come from. The API (with the token) is always open as well.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Only the API: ratings from another system.
    Api,
    /// The patient touch panel at `/rate/{id}` (the default).
    Panel,
    /// Key bindings, one per score: a button remote whose receiver types keys.
    Keys,
    /// A serial (USB CDC) button box sending `1\n`, `2\n`, `3\n`.
    Serial,
}

/// A desk's input setting, as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskInput {
    #[serde(default)]
    pub desk_id: i64,
    pub kind: Kind,
    /// For `keys`: one binding per score, lowest first, e.g. `["F13", "F14", "F15"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// For `keys`: the registrar's serve key, for a desk whose ratings count only while a
    /// patient is served (it toggles serving). A serial box sends `S` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve_key: Option<String>,
    /// For `serial`: the port, e.g. `/dev/ttyACM0` or `COM3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For `serial`: 9600 unless the box says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// Presses at this desk closer than this to the last counted one count once.
    #[serde(default = "default_debounce")]
    pub debounce_ms: u32,
}

fn default_debounce() -> u32 {
    DEFAULT_DEBOUNCE_MS
}

impl DeskInput {
    /// What the device is, in a word or two: the keys bound, or the port.
    pub fn detail(&self) -> String {
        match self.kind {
            Kind::Keys => self
                .bindings()
                .into_iter()
                .map(|b| b.0)
                .collect::<Vec<_>>()
                .join(" "),
            Kind::Serial => self.path.clone().unwrap_or_default(),
            Kind::Api | Kind::Panel => String::new(),
        }
    }

    /// For `keys`: each key with the button it stands for, the scores lowest first.
    pub fn bindings(&self) -> Vec<(String, super::Button)> {
        let scores = (1..)
            .zip(&self.keys)
            .map(|(i, k)| (k.clone(), super::Button::Score(i)));
        let serve = self
            .serve_key
            .iter()
            .map(|k| (k.clone(), super::Button::Serve));
        scores.chain(serve).collect()
    }

    pub fn panel(desk_id: i64) -> DeskInput {
        DeskInput {
            desk_id,
            kind: Kind::Panel,
            keys: Vec::new(),
            serve_key: None,
            path: None,
            baud: None,
            debounce_ms: DEFAULT_DEBOUNCE_MS,
        }
    }

    /// Checks the setting on its own and against the other desks'; names the first bad field,
    /// as the API answers (a key or port another desk has is a conflict).
    pub fn validated(mut self, levels: u8, others: &[DeskInput]) -> Result<DeskInput> {
        let named: Vec<(String, &DeskInput)> =
            others.iter().map(|o| (o.desk_id.to_string(), o)).collect();
        match self.check(levels, &named).into_iter().next() {
            Some(problem) => Err(problem.into_error()),
            None => Ok(self),
        }
    }

    /// Checks the setting on its own and against `others` (each with the words that name its
    /// desk in a message), tidying it as it goes (keys and path trimmed, the default baud):
    /// every problem, the one [`DeskInput::validated`] answers with first. A settings file's
    /// import names them all, each key by its index.
    pub fn check(&mut self, levels: u8, others: &[(String, &DeskInput)]) -> Vec<InputProblem> {
        let mut found = Vec::new();
        let mut bad = |field: &'static str, key: Option<usize>, message: String| {
            found.push(InputProblem {
                field,
                key,
                message,
                conflict: false,
            });
        };
        if self.debounce_ms > 60_000 {
            bad("debounce_ms", None, "must be between 0 and 60000".into());
        }
        let mut conflicts = Vec::new();
        match self.kind {
            Kind::Keys => {
                if self.path.is_some() || self.baud.is_some() {
                    bad(
                        "path",
                        None,
                        "only a serial input has a path and baud".into(),
                    );
                }
                if self.keys.len() != usize::from(levels) {
                    bad(
                        "keys",
                        None,
                        format!(
                            "give one key per score of the {levels}-level scale, lowest first ({} given)",
                            self.keys.len()
                        ),
                    );
                }
                // Each key's id and its index.
                let mut ids: Vec<(u32, usize)> = Vec::new();
                for (j, k) in self.keys.iter_mut().enumerate() {
                    *k = k.trim().to_string();
                    match super::keys::parse(k) {
                        Err(e) => bad("keys", Some(j), e),
                        Ok(key) => match ids.iter().find(|(id, _)| *id == key.id()) {
                            Some((_, first)) => bad(
                                "keys",
                                Some(j),
                                format!("'{k}' is bound twice (also keys[{first}])"),
                            ),
                            None => ids.push((key.id(), j)),
                        },
                    }
                }
                let mut serve_id = None;
                if let Some(k) = self.serve_key.as_mut() {
                    *k = k.trim().to_string();
                    match super::keys::parse(k) {
                        Err(e) => bad("serve_key", None, e),
                        Ok(key) => match ids.iter().find(|(id, _)| *id == key.id()) {
                            Some((_, j)) => bad(
                                "serve_key",
                                None,
                                format!("'{k}' is also keys[{j}]: give the serve key its own"),
                            ),
                            None => serve_id = Some(key.id()),
                        },
                    }
                }
                let bound_elsewhere = |id: u32| {
                    others.iter().find(|(_, o)| {
                        o.kind == Kind::Keys
                            && o.bindings()
                                .iter()
                                .any(|(k, _)| super::keys::parse(k).is_ok_and(|h| h.id() == id))
                    })
                };
                for &(id, j) in &ids {
                    if let Some((desk, _)) = bound_elsewhere(id) {
                        let k = &self.keys[j];
                        conflicts.push((
                            "keys",
                            Some(j),
                            format!("'{k}' is already bound at desk {desk}"),
                        ));
                    }
                }
                if let Some((desk, _)) = serve_id.and_then(bound_elsewhere) {
                    let k = self.serve_key.clone().unwrap_or_default();
                    conflicts.push((
                        "serve_key",
                        None,
                        format!("'{k}' is already bound at desk {desk}"),
                    ));
                }
            }
            Kind::Serial => {
                if !self.keys.is_empty() {
                    bad("keys", None, "only a keys input has keys".into());
                }
                if self.serve_key.is_some() {
                    bad(
                        "serve_key",
                        None,
                        "only a keys input has a serve key: a serial box sends S".into(),
                    );
                }
                let path = self
                    .path
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_string();
                let path_ok =
                    !(path.is_empty() || path.len() > 256 || path.chars().any(char::is_control));
                if path_ok {
                    self.path = Some(path.clone());
                } else {
                    bad(
                        "path",
                        None,
                        "give the serial port, e.g. /dev/ttyACM0 or COM3".into(),
                    );
                }
                let baud = self.baud.unwrap_or(9600);
                if BAUDS.contains(&baud) {
                    self.baud = Some(baud);
                } else {
                    bad(
                        "baud",
                        None,
                        format!("{baud} is not a standard rate: one of {BAUDS:?}"),
                    );
                }
                let taken = others
                    .iter()
                    .find(|(_, o)| o.kind == Kind::Serial && o.path.as_ref() == Some(&path));
                if let (true, Some((desk, _))) = (path_ok, taken) {
                    conflicts.push((
                        "path",
                        None,
                        format!("{path} is already the input of desk {desk}"),
                    ));
                }
            }
            Kind::Api | Kind::Panel => {
                if !self.keys.is_empty()
                    || self.serve_key.is_some()
                    || self.path.is_some()
                    || self.baud.is_some()
                {
                    bad(
                        "kind",
                        None,
                        "keys, serve_key, path and baud belong to keys and serial inputs".into(),
                    );
                }
            }
        }
        found.extend(
            conflicts
                .into_iter()
                .map(|(field, key, message)| InputProblem {
                    field,
                    key,
                    message,
                    conflict: true,
                }),
        );
        found
    }
}

/// One problem of an input setting, as [`DeskInput::check`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The field at fault: `keys`, `serve_key`, `path`, `baud`, `kind` or `debounce_ms`.
    pub field: &'static str,
    /// Which of `keys`, for a problem with one key.
    pub key: Option<usize>,
    pub message: String,
    /// Another desk has the key or port.
    pub conflict: bool,
}

impl InputProblem {
    /// Where, as a settings file names it: `keys[1]`, `path`.
    pub fn at(&self) -> String {
        match self.key {
            Some(j) => format!("{}[{j}]", self.field),
            None => self.field.to_string(),
        }
    }

    /// As the API answers it: the field at fault (never a key's index), or a conflict.
    pub fn into_error(self) -> Error {
        if self.conflict {
            Error::Conflict(self.message)
        } else {
            Error::invalid(self.field, self.message)
        }
    }
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeskInput> {
    let kind: String = r.get(1)?;
    let config: String = r.get(2)?;
    let config: serde_json::Value = serde_json::from_str(&config).unwrap_or_default();
    Ok(DeskInput {
        desk_id: r.get(0)?,
        kind: serde_json::from_value(json!(kind)).unwrap_or(Kind::Panel),
        keys: serde_json::from_value(config["keys"].clone()).unwrap_or_default(),
        serve_key: config["serve_key"].as_str().map(str::to_string),
        path: config["path"].as_str().map(str::to_string),
        baud: config["baud"].as_u64().map(|b| b as u32),
        debounce_ms: r.get(3)?,
    })
}

/// Every desk's setting; desks without one take the panel.
pub fn load_all(conn: &Connection) -> Result<Vec<DeskInput>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, i.kind, i.config, i.debounce_ms FROM desks d
         JOIN desk_inputs i ON i.desk_id = d.id ORDER BY d.id",
    )?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn load(conn: &Connection, desk_id: i64) -> Result<DeskInput> {
    get_desk(conn, desk_id)?;
    Ok(conn
        .prepare_cached(
            "SELECT desk_id, kind, config, debounce_ms FROM desk_inputs WHERE desk_id = ?1",
        )?
        .query_row([desk_id], from_row)
        .optional()?
        .unwrap_or_else(|| DeskInput::panel(desk_id)))
}

pub fn save(
    ctx: &mut WriteCtx<'_>,
    input: DeskInput,
    levels: u8,
    actor: &str,
) -> Result<DeskInput> {
    get_desk(ctx.conn, input.desk_id)?;
    let others: Vec<DeskInput> = load_all(ctx.conn)?
        .into_iter()
        .filter(|o| o.desk_id != input.desk_id)
        .collect();
    let input = input.validated(levels, &others)?;
    let kind = serde_json::to_value(&input.kind).expect("kind serializes");
    let config = json!({ "keys": input.keys, "serve_key": input.serve_key, "path": input.path, "baud": input.baud });
    ctx.conn
        .prepare_cached(
            "INSERT INTO desk_inputs (desk_id, kind, config, debounce_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (desk_id) DO UPDATE SET kind = excluded.kind, config = excluded.config,
                                                 debounce_ms = excluded.debounce_ms",
        )?
        .execute((
            input.desk_id,
            kind.as_str(),
            config.to_string(),
            input.debounce_ms,
        ))?;
    audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "desk.input",
        "desk",
        Some(input.desk_id),
        serde_json::to_value(&input).expect("input serializes"),
    )?;
    ctx.emit("input", &input);
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(desk_id: i64, keys: &[&str]) -> DeskInput {
        DeskInput {
            desk_id,
            kind: Kind::Keys,
            keys: keys.iter().map(|k| k.to_string()).collect(),
            serve_key: None,
            path: None,
            baud: None,
            debounce_ms: 500,
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let err = |r: Result<DeskInput>| r.unwrap_err().to_string();
        keys(1, &["F13", "F14", "F15"]).validated(3, &[]).unwrap();
        assert!(
            err(keys(1, &["F13", "F14"]).validated(3, &[]))
                .starts_with("keys: give one key per score")
        );
        assert!(err(keys(1, &["F13", "F13", "F15"]).validated(3, &[])).contains("bound twice"));
        assert!(
            err(keys(1, &["F13", "nope", "F15"]).validated(3, &[])).starts_with("keys: 'nope'")
        );
        let other = keys(2, &["F16", "F15", "F17"]);
        assert!(
            err(keys(1, &["F13", "F14", "F15"]).validated(3, &[other]))
                .contains("already bound at desk 2")
        );
        let mut serial = DeskInput {
            kind: Kind::Serial,
            keys: vec![],
            path: Some(" /dev/ttyACM0 ".into()),
            ..keys(1, &[])
        };
        let ok = serial.clone().validated(3, &[]).unwrap();
        assert_eq!(
            (ok.path.as_deref(), ok.baud),
            (Some("/dev/ttyACM0"), Some(9600))
        );
        serial.baud = Some(1234);
        assert!(err(serial.clone().validated(3, &[])).starts_with("baud:"));
        serial.baud = None;
        assert!(
            err(serial.clone().validated(3, std::slice::from_ref(&ok)))
                .contains("already the input of desk")
        );
        serial.path = Some("".into());
        assert!(err(serial.validated(3, &[])).starts_with("path:"));
        let mut panel = DeskInput::panel(1);
        panel.debounce_ms = 60_001;
        assert!(err(panel.validated(3, &[])).starts_with("debounce_ms:"));
    }

    #[test]
    fn every_problem_is_found_each_key_by_its_index() {
        let other = keys(2, &["F16", "F13"]);
        let mut input = keys(1, &[" F13 ", "nope", "F13", "F18"]);
        let found = input.check(3, &[("'Окно 2'".into(), &other)]);
        let at: Vec<String> = found.iter().map(InputProblem::at).collect();
        assert_eq!(at, ["keys", "keys[1]", "keys[2]", "keys[0]"]);
        assert!(found[0].message.starts_with("give one key per score"));
        assert!(found[1].message.starts_with("'nope' is not a key binding"));
        assert_eq!(found[2].message, "'F13' is bound twice (also keys[0])");
        assert_eq!(
            (found[3].message.as_str(), found[3].conflict),
            ("'F13' is already bound at desk 'Окно 2'", true)
        );
        assert!(found[..3].iter().all(|p| !p.conflict));
        // The first is what the API answers.
        let first = input.validated(3, &[]).unwrap_err().to_string();
        assert!(first.starts_with("keys: give one key per score"), "{first}");
    }
}
