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
            Kind::Keys => self.keys.join(" "),
            Kind::Serial => self.path.clone().unwrap_or_default(),
            Kind::Api | Kind::Panel => String::new(),
        }
    }

    pub fn panel(desk_id: i64) -> DeskInput {
        DeskInput {
            desk_id,
            kind: Kind::Panel,
            keys: Vec::new(),
            path: None,
            baud: None,
            debounce_ms: DEFAULT_DEBOUNCE_MS,
        }
    }

    /// Checks the setting on its own and against the other desks'; names the first bad field.
    pub fn validated(mut self, levels: u8, others: &[DeskInput]) -> Result<DeskInput> {
        if self.debounce_ms > 60_000 {
            return Err(Error::invalid("debounce_ms", "must be between 0 and 60000"));
        }
        match self.kind {
            Kind::Keys => {
                if self.path.is_some() || self.baud.is_some() {
                    return Err(Error::invalid(
                        "path",
                        "only a serial input has a path and baud",
                    ));
                }
                if self.keys.len() != usize::from(levels) {
                    return Err(Error::invalid(
                        "keys",
                        format!(
                            "give one key per score of the {levels}-level scale, lowest first ({} given)",
                            self.keys.len()
                        ),
                    ));
                }
                let mut ids = Vec::new();
                for k in &mut self.keys {
                    *k = k.trim().to_string();
                    let id = super::keys::parse(k)
                        .map_err(|e| Error::invalid("keys", e))?
                        .id();
                    if ids.contains(&id) {
                        return Err(Error::invalid("keys", format!("'{k}' is bound twice")));
                    }
                    ids.push(id);
                }
                for o in others.iter().filter(|o| o.kind == Kind::Keys) {
                    for k in &o.keys {
                        let taken = super::keys::parse(k).map(|h| h.id()).ok();
                        if taken.is_some_and(|id| ids.contains(&id)) {
                            return Err(Error::Conflict(format!(
                                "'{k}' is already bound at desk {}",
                                o.desk_id
                            )));
                        }
                    }
                }
            }
            Kind::Serial => {
                if !self.keys.is_empty() {
                    return Err(Error::invalid("keys", "only a keys input has keys"));
                }
                let path = self
                    .path
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or_default()
                    .to_string();
                if path.is_empty() || path.len() > 256 || path.chars().any(char::is_control) {
                    return Err(Error::invalid(
                        "path",
                        "give the serial port, e.g. /dev/ttyACM0 or COM3",
                    ));
                }
                self.path = Some(path.clone());
                let baud = self.baud.unwrap_or(9600);
                if !BAUDS.contains(&baud) {
                    return Err(Error::invalid(
                        "baud",
                        format!("{baud} is not a standard rate: one of {BAUDS:?}"),
                    ));
                }
                self.baud = Some(baud);
                if let Some(o) = others
                    .iter()
                    .find(|o| o.kind == Kind::Serial && o.path.as_ref() == Some(&path))
                {
                    return Err(Error::Conflict(format!(
                        "{path} is already the input of desk {}",
                        o.desk_id
                    )));
                }
            }
            Kind::Api | Kind::Panel => {
                if !self.keys.is_empty() || self.path.is_some() || self.baud.is_some() {
                    return Err(Error::invalid(
                        "kind",
                        "keys, path and baud belong to keys and serial inputs",
                    ));
                }
            }
        }
        Ok(self)
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
    let config = json!({ "keys": input.keys, "path": input.path, "baud": input.baud });
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
}
