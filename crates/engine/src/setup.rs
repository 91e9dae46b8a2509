//! The first run and moving an installation: whether it is fresh (the console then offers the
//! setup wizard), where the wizard got to, demo data in place, and the settings file.
//!
//! The settings file is one versioned JSON document: the settings, the notification settings,
//! the desks with their inputs and evidence settings, the registrars. It holds no secret (no PIN,
//! no password, no token: those are set again where they are used). Importing it checks every
//! part, naming each problem by its path (`desks[2].input.keys[0]`), and applies it in one
//! transaction, or changes nothing. Desks and registrars are matched by name: created or
//! updated, never deleted.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use otklik_devices::evidence::config::{self as evidence_config, CameraConfig, DeskEvidence};
use otklik_devices::inputs::config::{self as input_config, DeskInput, Kind};
use otklik_domain::error::{Error, Result};
use otklik_notify::NotifyConfig;
use otklik_store::db::get_setting;
use otklik_store::roster::{self, DeskUpdate, Update};
use otklik_store::settings::{Settings, SettingsPatch};
use otklik_store::writer::WriteCtx;

/// The version of the settings file this Otklik writes and reads.
pub const FILE_VERSION: u64 = 1;
/// The settings key where the wizard keeps the step it got to (not one of `Settings`).
const STEP_KEY: &str = "setup_step";
/// The wizard's steps: language, clinic, desks, registrars, scale, inputs, devices, channels, done.
pub const STEPS: u32 = 9;
/// Demo ratings per day of history: six desks, a busy clinic.
const DEMO_RATINGS_PER_DAY: u64 = 160;
pub const DEMO_MAX_DAYS: u32 = 14;

/// What the screens need to know about the first run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupStatus {
    /// Nothing set up yet: no desks, no registrars, no ratings, and the wizard not finished.
    /// The console then sends the supervisor to the wizard (`/setup`).
    pub fresh: bool,
    /// The wizard was finished (or skipped): the setting `setup_done`.
    pub setup_done: bool,
    /// The wizard step last reached (1 to 9), to resume there after a reload; null if none.
    pub step: Option<u32>,
    /// The installation holds demo data (`POST /api/v1/demo` or `otklik demo`).
    pub demo: bool,
    pub desks: i64,
    pub registrars: i64,
    pub ratings: i64,
}

fn count(conn: &Connection, table: &str) -> Result<i64> {
    Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
}

pub fn status(conn: &Connection) -> Result<SetupStatus> {
    let settings = Settings::load(conn)?;
    let (desks, registrars, ratings) = (
        count(conn, "desks")?,
        count(conn, "registrars")?,
        count(conn, "ratings")?,
    );
    let step = get_setting(conn, STEP_KEY)?
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|s| (1..=STEPS).contains(s));
    let demo: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'demo.fill')",
        [],
        |r| r.get(0),
    )?;
    Ok(SetupStatus {
        fresh: desks == 0 && registrars == 0 && ratings == 0 && !settings.setup_done,
        setup_done: settings.setup_done,
        step,
        demo,
        desks,
        registrars,
        ratings,
    })
}

/// Remembers the wizard's step.
pub fn save_step(conn: &Connection, step: i64) -> Result<()> {
    if !(1..=i64::from(STEPS)).contains(&step) {
        return Err(Error::invalid(
            "step",
            format!("must be between 1 and {STEPS}"),
        ));
    }
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (STEP_KEY, step.to_string()),
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Demo data in place.

/// What `POST /api/v1/demo` wrote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DemoFilled {
    pub days: u32,
    pub desks: u64,
    pub registrars: u64,
    pub sessions: u64,
    pub ratings: u64,
    pub first_day: String,
    pub last_day: String,
}

/// Fills a fresh installation with demo desks, registrars, shifts and ratings over `days` days
/// ending now, inside the writer's transaction; marks the setup done. Refused (changing nothing)
/// unless the installation holds no desks, registrars, sessions or ratings.
pub fn fill_demo(ctx: &mut WriteCtx<'_>, days: i64) -> Result<DemoFilled> {
    if !(1..=i64::from(DEMO_MAX_DAYS)).contains(&days) {
        return Err(Error::invalid(
            "days",
            format!("must be between 1 and {DEMO_MAX_DAYS}"),
        ));
    }
    let days = days as u32;
    let opts = crate::demo::DemoOptions {
        ratings: u64::from(days) * DEMO_RATINGS_PER_DAY,
        days,
        seed: ctx.now as u64,
        now: Some(ctx.now),
    };
    let summary = crate::demo::fill_in(ctx.conn, &opts)?;
    // The ratings were chained by the demo; the writer carries on from the new head.
    *ctx.chain = otklik_store::ledger::ChainState::load(ctx.conn)?;
    let old = Settings::load(ctx.conn)?;
    // Desks named in the installation's language; the registrars keep their (Russian) names.
    let words = otklik_domain::words::of(old.language);
    ctx.conn.execute(
        "UPDATE desks SET name = ?1 || ' ' || id",
        [words.common.desk],
    )?;
    let new = old.patched(&SettingsPatch {
        setup_done: Some(true),
        clinic_name: old
            .clinic_name
            .is_empty()
            .then(|| words.common.demo_clinic.to_string()),
        ..Default::default()
    })?;
    new.save_changes(&old, ctx.conn)?;
    // Every screen reloads what it shows.
    ctx.emit("resync", &json!({}));
    Ok(DemoFilled {
        days,
        desks: summary.desks,
        registrars: summary.registrars,
        sessions: summary.sessions,
        ratings: summary.ratings,
        first_day: summary.first_day.to_string(),
        last_day: summary.last_day.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// The settings file.

/// A desk in the settings file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskEntry {
    /// The desk's number in the installation that wrote the file; alert rules
    /// (`notify.alerts[].desks`) refer to desks by it. Not kept: a desk is matched by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// Presses count only while the registrar is serving a patient; left out = unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armed: Option<bool>,
    /// Where its ratings come from (as `PUT /api/v1/desks/{id}/input`); left out = unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<DeskInput>,
    /// Photos and audio (as `PUT /api/v1/desks/{id}/evidence`, never a password); left out =
    /// unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<DeskEvidence>,
}

/// A registrar in the settings file (a PIN is never in it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrarEntry {
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The settings file. Every part but the version may be left out (that part stays as it is).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SettingsFile {
    /// The file's version: 1.
    pub otklik_settings: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    /// The Otklik that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desks: Option<Vec<DeskEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrars: Option<Vec<RegistrarEntry>>,
}

/// `https://user:secret@host/x` → `https://host/x`: credentials never leave in the file.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A desk as the settings file holds it, fields in the order a person reads them.
#[derive(Debug, Serialize)]
struct DeskOut {
    id: i64,
    name: String,
    active: bool,
    armed: bool,
    input: InputOut,
    evidence: EvidenceOut,
}

#[derive(Debug, Serialize)]
struct InputOut {
    kind: Kind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    serve_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baud: Option<u32>,
    debounce_ms: u32,
}

#[derive(Debug, Serialize)]
struct EvidenceOut {
    photo: bool,
    /// Without `has_password`: not even whether there is a password goes into the file.
    camera: Option<Value>,
    audio: bool,
    microphone: Option<String>,
}

/// The settings file as written: the version first.
#[derive(Debug, Serialize)]
pub struct Export {
    otklik_settings: u64,
    exported_at: String,
    app_version: &'static str,
    settings: Settings,
    notify: NotifyConfig,
    desks: Vec<DeskOut>,
    registrars: Vec<RegistrarEntry>,
}

/// The settings file of this installation.
pub fn export(conn: &Connection, now: otklik_domain::time::Millis) -> Result<Export> {
    let settings = Settings::load(conn)?;
    let mut notify = NotifyConfig::load(conn)?;
    notify.telegram.api_url = without_credentials(&notify.telegram.api_url);
    notify.webhook_url = without_credentials(&notify.webhook_url);
    notify.link_base = without_credentials(&notify.link_base);
    let mut desks = Vec::new();
    for d in roster::list_desks(conn)? {
        let input = input_config::load(conn, d.id)?;
        let evidence = evidence_config::load(conn, d.id)?;
        let camera = evidence.camera.map(|cam| match cam {
            CameraConfig::Usb { index } => json!({ "kind": "usb", "index": index }),
            CameraConfig::Ip { url, user, .. } => {
                json!({ "kind": "ip", "url": without_credentials(&url), "user": user })
            }
        });
        desks.push(DeskOut {
            id: d.id,
            name: d.name,
            active: d.active,
            armed: d.armed,
            input: InputOut {
                kind: input.kind,
                keys: input.keys,
                serve_key: input.serve_key,
                path: input.path,
                baud: input.baud,
                debounce_ms: input.debounce_ms,
            },
            evidence: EvidenceOut {
                photo: evidence.photo,
                camera,
                audio: evidence.audio,
                microphone: evidence.microphone,
            },
        });
    }
    let registrars = roster::list_registrars(conn)?
        .into_iter()
        .map(|r| RegistrarEntry {
            name: r.name,
            active: r.active,
        })
        .collect();
    Ok(Export {
        otklik_settings: FILE_VERSION,
        exported_at: otklik_domain::time::to_rfc3339(now),
        app_version: env!("CARGO_PKG_VERSION"),
        settings,
        notify,
        desks,
        registrars,
    })
}

/// One problem of a settings file: where (`desks[2].input.keys[0]`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    pub field: String,
    pub error: String,
}

/// What an import changed.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Imported {
    /// Settings whose value changed.
    pub settings_changed: Vec<String>,
    pub notify: bool,
    pub desks_created: u32,
    pub desks_updated: u32,
    pub registrars_created: u32,
    pub registrars_updated: u32,
    /// Desks whose evidence setting was applied: their devices are reopened after the commit.
    #[serde(skip)]
    pub evidence: Vec<DeskEvidence>,
}

/// Checks the version before anything else: a file from a newer Otklik is refused whole.
pub fn check_version(doc: &Value) -> Result<()> {
    let Some(obj) = doc.as_object() else {
        return Err(Error::invalid(
            "otklik_settings",
            "this is not an Otklik settings file (not a JSON object)",
        ));
    };
    match obj.get("otklik_settings") {
        Some(v) if v.as_u64() == Some(FILE_VERSION) => Ok(()),
        Some(v) => Err(Error::invalid(
            "otklik_settings",
            format!(
                "version {v} is not known to this Otklik, which reads version {FILE_VERSION}: import it with the Otklik that wrote it"
            ),
        )),
        None => Err(Error::invalid(
            "otklik_settings",
            "this is not an Otklik settings file (no \"otklik_settings\" version)",
        )),
    }
}

/// Parses a part of the file, naming the field at fault under `prefix`.
fn parse<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value.clone()) {
        Ok(v) => Some(v),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            let mut field = prefix.to_string();
            if path != "." {
                join(&mut field, &path);
            }
            if let Some(missing) = inner
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                join(&mut field, missing);
            }
            problems.push(Problem {
                field,
                error: inner,
            });
            None
        }
    }
}

fn join(field: &mut String, part: &str) {
    if !field.is_empty() && !part.starts_with('[') {
        field.push('.');
    }
    field.push_str(part);
}

fn at(prefix: &str, field: &str) -> String {
    let mut f = prefix.to_string();
    join(&mut f, field);
    f
}

/// An engine error as a problem under `prefix`; `Err` for a failure that is not the file's fault.
fn problem(prefix: &str, e: Error, problems: &mut Vec<Problem>) -> Result<()> {
    match e {
        Error::Invalid { field, message } => problems.push(Problem {
            field: at(prefix, &field),
            error: message,
        }),
        Error::Conflict(m) | Error::Forbidden(m) => problems.push(Problem {
            field: prefix.to_string(),
            error: m,
        }),
        e @ Error::NotFound { .. } => problems.push(Problem {
            field: prefix.to_string(),
            error: e.to_string(),
        }),
        other => return Err(other),
    }
    Ok(())
}

const TOP_KEYS: [&str; 7] = [
    "otklik_settings",
    "exported_at",
    "app_version",
    "settings",
    "notify",
    "desks",
    "registrars",
];

/// The settings after the file's `settings`, each field checked on its own so that every bad
/// one is named.
fn check_settings(old: &Settings, value: &Value, problems: &mut Vec<Problem>) -> Option<Settings> {
    let Some(obj) = value.as_object() else {
        problems.push(Problem {
            field: "settings".into(),
            error: "must be an object of settings".into(),
        });
        return None;
    };
    let before = problems.len();
    for (key, v) in obj {
        let one = Value::Object(Map::from_iter([(key.clone(), v.clone())]));
        if let Some(patch) = parse::<SettingsPatch>(&one, "settings", problems)
            && let Err(e) = old.patched(&patch)
        {
            let _ = problem("settings", e, problems);
        }
    }
    if problems.len() > before {
        return None;
    }
    let patch = parse::<SettingsPatch>(value, "settings", problems)?;
    match old.patched(&patch) {
        Ok(s) => Some(s),
        Err(e) => {
            let _ = problem("settings", e, problems);
            None
        }
    }
}

/// A desk's input checked as the API checks it (`DeskInput::check`), against `others`; every
/// problem named under `prefix`, each key by its index.
fn check_input(
    prefix: &str,
    input: &DeskInput,
    levels: u8,
    others: &[(String, &DeskInput)],
    problems: &mut Vec<Problem>,
) -> Option<DeskInput> {
    let mut input = input.clone();
    let found = input.check(levels, others);
    if found.is_empty() {
        return Some(input);
    }
    problems.extend(found.into_iter().map(|p| Problem {
        field: at(prefix, &p.at()),
        error: p.message,
    }));
    None
}

/// The inputs of the desks not in `named` (the desks the file gives an input): they stay as they
/// are, so the file's keys and ports must not clash with them. Each with its desk's name as a
/// message quotes it.
fn kept_inputs(conn: &Connection, named: &HashSet<String>) -> Result<Vec<(String, DeskInput)>> {
    let desk_names: HashMap<i64, String> = roster::list_desks(conn)?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok(input_config::load_all(conn)?
        .into_iter()
        .filter_map(|input| {
            let name = desk_names.get(&input.desk_id)?;
            (!named.contains(name)).then(|| (format!("'{name}'"), input))
        })
        .collect())
}

/// A name checked as the API checks it, and not given twice in the file.
fn check_name(
    prefix: &str,
    raw: &str,
    seen: &mut HashMap<String, usize>,
    i: usize,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match roster::clean_name(raw) {
        Ok(name) => {
            if let Some(first) = seen.insert(name.clone(), i) {
                problems.push(Problem {
                    field: format!("{prefix}[{i}].name"),
                    error: format!("'{name}' is also {prefix}[{first}]"),
                });
                None
            } else {
                Some(name)
            }
        }
        Err(e) => {
            let _ = problem(&format!("{prefix}[{i}]"), e, problems);
            None
        }
    }
}

fn list<'a>(doc: &'a Value, key: &str, problems: &mut Vec<Problem>) -> &'a [Value] {
    match doc.get(key) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem {
                field: key.into(),
                error: "must be a list".into(),
            });
            &[]
        }
    }
}

/// Imports a settings file inside the writer's transaction. Every problem found is added to
/// `problems`, each named by its path; the caller rolls back if there is any (this goes on past
/// the first one, applying what it can, so that one answer names them all).
pub fn import(
    ctx: &mut WriteCtx<'_>,
    doc: &Value,
    actor: &str,
    problems: &mut Vec<Problem>,
) -> Result<Imported> {
    check_version(doc)?;
    let obj = doc.as_object().expect("checked");
    for key in obj.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            problems.push(Problem {
                field: key.clone(),
                error: format!("unknown part, expected one of {}", TOP_KEYS.join(", ")),
            });
        }
    }
    let mut out = Imported::default();

    // Everything that can be checked before writing.
    let old = Settings::load(ctx.conn)?;
    let new_settings = match obj.get("settings") {
        None | Some(Value::Null) => None,
        Some(v) => check_settings(&old, v, problems),
    };
    let levels = new_settings.as_ref().map_or(old.scale, |s| s.scale);

    let mut seen = HashMap::new();
    let registrars: Vec<(usize, String, bool)> = list(doc, "registrars", problems)
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let e = parse::<RegistrarEntry>(v, &format!("registrars[{i}]"), problems)?;
            let name = check_name("registrars", &e.name, &mut seen, i, problems)?;
            Some((i, name, e.active))
        })
        .collect();

    let mut seen = HashMap::new();
    struct Desk {
        i: usize,
        name: String,
        entry: DeskEntry,
        input: Option<DeskInput>,
    }
    let mut desks: Vec<Desk> = Vec::new();
    for (i, v) in list(doc, "desks", problems).iter().enumerate() {
        let Some(entry) = parse::<DeskEntry>(v, &format!("desks[{i}]"), problems) else {
            continue;
        };
        let Some(name) = check_name("desks", &entry.name, &mut seen, i, problems) else {
            continue;
        };
        desks.push(Desk {
            i,
            name,
            entry,
            input: None,
        });
    }
    // Keys and ports stay unique across desks, as they will be after the import: each input is
    // checked against the inputs the file leaves as they are and the file's ones before it.
    let named: HashSet<String> = desks
        .iter()
        .filter(|d| d.entry.input.is_some())
        .map(|d| d.name.clone())
        .collect();
    let mut taken = kept_inputs(ctx.conn, &named)?;
    for d in &mut desks {
        let Some(wanted) = &d.entry.input else {
            continue;
        };
        let others: Vec<(String, &DeskInput)> = taken.iter().map(|(n, i)| (n.clone(), i)).collect();
        d.input = check_input(
            &format!("desks[{}].input", d.i),
            wanted,
            levels,
            &others,
            problems,
        );
        if let Some(input) = &d.input {
            taken.push((format!("'{}'", d.name), input.clone()));
        }
    }
    let file_ids: HashMap<i64, String> = desks
        .iter()
        .filter_map(|d| Some((d.entry.id?, d.name.clone())))
        .collect();
    let existing: HashMap<i64, String> = roster::list_desks(ctx.conn)?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();

    let notify = match obj.get("notify") {
        None | Some(Value::Null) => None,
        Some(v) => parse::<NotifyConfig>(v, "notify", problems).and_then(|cfg| {
            // Alert rules name desks by their number in the file (or, if the file gives no
            // numbers, in this installation).
            for (r, rule) in cfg.alerts.iter().enumerate() {
                for (k, id) in rule.desks.iter().enumerate() {
                    let known = if file_ids.is_empty() {
                        existing.contains_key(id)
                    } else {
                        file_ids.contains_key(id)
                    };
                    if !known {
                        problems.push(Problem {
                            field: format!("notify.alerts[{r}].desks[{k}]"),
                            error: format!("desk {id} is not among the desks of the file"),
                        });
                    }
                }
            }
            match cfg.validate(levels) {
                Ok(()) => Some(cfg),
                Err(e) => {
                    let _ = problem("notify", e, problems);
                    None
                }
            }
        }),
    };

    // Applied in order; whatever went wrong above, what can be applied is, to find the problems
    // only writing finds (an evidence setting), and the caller rolls all of it back.
    if let Some(new) = &new_settings {
        // The engine's copy of the settings (and their event) follow after the commit.
        out.settings_changed = new.save_changes(&old, ctx.conn)?;
    }

    for (i, name, active) in &registrars {
        let found: Option<(i64, bool)> = ctx
            .conn
            .query_row(
                "SELECT id, active FROM registrars WHERE name = ?1 ORDER BY id LIMIT 1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let result = match found {
            Some((_, was)) if was == *active => Ok(()),
            Some((id, _)) => {
                out.registrars_updated += 1;
                roster::update_registrar(ctx, id, &active_only(*active), actor).map(|_| ())
            }
            None => {
                out.registrars_created += 1;
                roster::create_registrar(ctx, name, actor).and_then(|r| {
                    if *active {
                        Ok(())
                    } else {
                        roster::update_registrar(ctx, r.id, &active_only(false), actor).map(|_| ())
                    }
                })
            }
        };
        if let Err(e) = result {
            problem(&format!("registrars[{i}]"), e, problems)?;
        }
    }

    let mut new_ids: HashMap<i64, i64> = HashMap::new();
    let mut placed: Vec<(usize, i64)> = Vec::new();
    for d in &desks {
        let found: Option<(i64, bool, bool)> = ctx
            .conn
            .query_row(
                "SELECT id, active, armed FROM desks WHERE name = ?1",
                [&d.name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let change = DeskUpdate {
            name: None,
            active: Some(d.entry.active),
            armed: d.entry.armed,
        };
        let result = match found {
            Some((id, active, armed))
                if active == d.entry.active && d.entry.armed.is_none_or(|a| a == armed) =>
            {
                Ok(id)
            }
            Some((id, ..)) => {
                out.desks_updated += 1;
                roster::update_desk(ctx, id, &change, actor).map(|x| x.id)
            }
            None => {
                out.desks_created += 1;
                roster::create_desk(ctx, &d.name, actor).and_then(|desk| {
                    if d.entry.active && !d.entry.armed.unwrap_or(false) {
                        Ok(desk.id)
                    } else {
                        roster::update_desk(ctx, desk.id, &change, actor).map(|x| x.id)
                    }
                })
            }
        };
        match result {
            Ok(id) => {
                if let Some(old_id) = d.entry.id {
                    new_ids.insert(old_id, id);
                }
                placed.push((d.i, id));
            }
            Err(e) => problem(&format!("desks[{}]", d.i), e, problems)?,
        }
    }
    // Inputs: the desks' old ones go first, so that two desks may swap keys or ports.
    for d in &desks {
        let Some(&(_, id)) = placed.iter().find(|(i, _)| *i == d.i) else {
            continue;
        };
        if d.input.is_some() {
            ctx.conn
                .execute("DELETE FROM desk_inputs WHERE desk_id = ?1", [id])?;
        }
    }
    for d in &desks {
        let Some(&(_, id)) = placed.iter().find(|(i, _)| *i == d.i) else {
            continue;
        };
        if let Some(input) = &d.input {
            let mut input = input.clone();
            input.desk_id = id;
            if let Err(e) = input_config::save(ctx, input, levels, actor) {
                problem(&format!("desks[{}].input", d.i), e, problems)?;
            }
        }
        if let Some(ev) = &d.entry.evidence {
            let mut ev = ev.clone();
            ev.desk_id = id;
            // Never a password from a file: one kept here stays (see `evidence::config::save`).
            if let Some(CameraConfig::Ip {
                password,
                has_password,
                ..
            }) = &mut ev.camera
            {
                *password = None;
                *has_password = false;
            }
            match evidence_config::save(ctx, ev, actor) {
                Ok(saved) => out.evidence.push(saved),
                Err(e) => problem(&format!("desks[{}].evidence", d.i), e, problems)?,
            }
        }
    }

    if let Some(mut cfg) = notify {
        if !file_ids.is_empty() {
            for rule in &mut cfg.alerts {
                rule.desks = rule
                    .desks
                    .iter()
                    .filter_map(|id| new_ids.get(id).copied())
                    .collect();
            }
        }
        cfg.save(ctx.conn)?;
        out.notify = true;
    }

    otklik_store::audit::record(
        ctx.conn,
        ctx.now,
        actor,
        "settings.import",
        "settings",
        None,
        json!({
            "settings_changed": out.settings_changed,
            "notify": out.notify,
            "desks_created": out.desks_created,
            "desks_updated": out.desks_updated,
            "registrars_created": out.registrars_created,
            "registrars_updated": out.registrars_updated,
        }),
    )?;
    Ok(out)
}

fn active_only(active: bool) -> Update {
    Update {
        name: None,
        active: Some(active),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_out_of_urls() {
        assert_eq!(
            without_credentials("https://u:p@mis.example/hook?x=1"),
            "https://mis.example/hook?x=1"
        );
        assert_eq!(
            without_credentials("https://mis.example/a@b"),
            "https://mis.example/a@b"
        );
        assert_eq!(without_credentials(""), "");
    }

    #[test]
    fn versions_other_than_one_are_refused() {
        assert!(check_version(&json!({ "otklik_settings": 1 })).is_ok());
        for bad in [
            json!({ "otklik_settings": 2 }),
            json!({ "otklik_settings": "1" }),
            json!({}),
            json!([1]),
        ] {
            let e = check_version(&bad).unwrap_err().to_string();
            assert!(e.starts_with("otklik_settings:"), "{e}");
        }
    }

    #[test]
    fn parse_errors_are_named_by_their_path() {
        let mut p = Vec::new();
        let v = json!({ "name": "Окно 1", "input": { "kind": "keys", "keys": ["F13", 5] } });
        assert!(parse::<DeskEntry>(&v, "desks[2]", &mut p).is_none());
        assert_eq!(p[0].field, "desks[2].input.keys[1]", "{p:?}");
        let mut p = Vec::new();
        assert!(parse::<DeskEntry>(&json!({ "active": true }), "desks[0]", &mut p).is_none());
        assert_eq!(p[0].field, "desks[0].name", "{p:?}");
        let mut p = Vec::new();
        assert!(
            parse::<RegistrarEntry>(
                &json!({ "name": "A", "pin": "1234" }),
                "registrars[1]",
                &mut p
            )
            .is_none()
        );
        assert!(p[0].field.starts_with("registrars[1]"), "{p:?}");
    }
}
