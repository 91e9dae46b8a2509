//! Health: every device and channel as one kind of component, `ok`, `degraded` or `down`, since
//! when and with its last error, for the console, `/healthz` and the tray.
//!
//! A monitor polls the sources every few seconds (the inputs' status board, the cameras and
//! microphones, the channels, the database) and keeps each component's state in the `health`
//! table. A component `down` for longer than `health_notice_after_mins` gets one notice through
//! the channels that still work (never through itself), and one when it is `ok` again; what was
//! told is kept in the same table, so a restart neither repeats the notice nor loses the "back"
//! one. Every decision is taken inside the writer's transaction, so two polls never both send.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::Engine;
use otklik_devices::evidence::DeskDevice;
use otklik_devices::inputs::InputStatus;
use otklik_domain::error::Result;
use otklik_domain::time::{Millis, now_ms, to_rfc3339};
use otklik_notify::alerts::{self, Words};
use otklik_notify::outbox::{self, NewItem};
use otklik_notify::{Channel, ChannelHealth, Kind, NotifyConfig, digest};
use otklik_store::settings::Language;
use otklik_store::writer::WriteCtx;

/// How often the monitor looks.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// A component no longer reported (a desk's camera switched off, a channel turned off) is
/// forgotten after this long; until then a "back" notice it is owed is kept.
const GONE_AFTER_MS: Millis = 10 * 60_000;
/// Changes waiting longer than this to go up make the link degraded.
const UPLINK_LAG_MS: Millis = 15 * 60_000;
/// What devices say while they are starting or have not been tried yet: not a failure.
/// (IP camera before its first photo, a stream camera opening, a microphone starting.)
const NOT_TRIED: &[&str] = &["no photo asked for yet", "opening", "starting"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Working in part or not known yet (a device starting, retrying before its first answer,
    /// backups late).
    Degraded,
    /// Not working: nothing comes from it (or goes through it) until it is back.
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Degraded => "degraded",
            State::Down => "down",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "ok" => State::Ok,
            "down" => State::Down,
            _ => State::Degraded,
        }
    }
}

/// One device or channel, as the console, `/healthz` and the tray show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Component {
    /// `input:3`, `camera:2`, `microphone:2`, `channel:telegram`, `channel:email`,
    /// `channel:webhook`, `database`, `backup`, `desk_pc:7` (a desk PC's pairing, on a
    /// reception), `link:reception` (on a desk PC).
    pub id: String,
    /// `input`, `camera`, `microphone`, `channel`, `database`, `backup`, `desk_pc` or `link`.
    pub kind: &'static str,
    /// The desk of an input, camera or microphone.
    pub desk_id: Option<i64>,
    /// In words, in the installation's language: "Окно 2 — камера".
    pub name: String,
    /// What it is connected to (the keys, a serial port, a camera's URL without credentials).
    pub detail: String,
    pub state: State,
    /// Since when it is in this state: the first poll that saw it so.
    pub since: String,
    /// The latest error it reported; kept after it is back, until the next one.
    pub last_error: Option<String>,
}

/// A component as its source reports it now, before the monitor's memory adds since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: String,
    pub kind: &'static str,
    pub desk_id: Option<i64>,
    pub name: String,
    pub detail: String,
    pub state: State,
    pub error: Option<String>,
}

/// What the backup helper reports: when the last backup was made, and why the last try failed
/// (if it did, after that).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupReport {
    pub last_ok: Option<Millis>,
    pub last_error: Option<String>,
    /// Since when backups are watched (the engine's start): with none made, lateness counts
    /// from here.
    pub watched_since: Millis,
}

/// The backup helper's `last_backup`, as [`backup_state`] reads it.
fn last_backup(engine: &Engine) -> Option<BackupReport> {
    let last = engine.last_backup();
    let at = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| otklik_domain::time::parse_rfc3339("at", t).ok())
    };
    Some(BackupReport {
        last_ok: at(&last.at),
        last_error: last.error,
        watched_since: engine.started_at,
    })
}

/// Everything the components are made from, read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub inputs: Vec<InputStatus>,
    pub devices: Vec<DeskDevice>,
    pub channels: Vec<ChannelHealth>,
    /// `None` when the database answers, or why it does not.
    pub database: Option<String>,
    pub backup: Option<BackupReport>,
    pub backup_every_hours: u32,
    /// On a reception: its paired desk PCs, with their clocks.
    pub desk_pcs: Vec<otklik_store::desk_pcs::DeskPc>,
    /// The link up to a reception (on a desk PC) or a network hub (on a site): its kind, the
    /// backlog, when the oldest unsent change was made, and how the last batches went.
    pub uplink: Option<(
        otklik_store::uplink::LinkKind,
        u64,
        Option<Millis>,
        crate::uplink::LinkState,
    )>,
}

/// An input's, camera's or microphone's own words, mapped: `connected` (an input's `ready`) is
/// ok; `error` is down; `waiting` is down once the device reported a failure (absent, unplugged,
/// refusing, not answering: it is retried, but nothing comes from it meanwhile), degraded while
/// it is only starting or not tried yet.
pub fn device_state(state: &str, error: Option<&str>) -> State {
    match state {
        "connected" | "ready" => State::Ok,
        "waiting" => match error.map(str::trim) {
            Some(e) if !e.is_empty() && !NOT_TRIED.contains(&e) => State::Down,
            _ => State::Degraded,
        },
        _ => State::Down,
    }
}

/// A channel's state: `ok` and `down` as they are; `off` is not a component.
pub fn channel_state(state: &str) -> Option<State> {
    match state {
        "ok" => Some(State::Ok),
        "down" => Some(State::Down),
        _ => None,
    }
}

/// Backups: down when the last try failed, degraded when the last good one (or, with none, the
/// start) is more than two periods ago, ok otherwise. Not a component when scheduled backups
/// are off.
pub fn backup_state(
    r: &BackupReport,
    every_hours: u32,
    now: Millis,
) -> Option<(State, Option<String>)> {
    if every_hours == 0 {
        return None;
    }
    if let Some(e) = &r.last_error {
        return Some((State::Down, Some(e.clone())));
    }
    let late = Millis::from(every_hours) * 2 * 3_600_000;
    if now - r.last_ok.unwrap_or(r.watched_since) <= late {
        return Some((State::Ok, None));
    }
    let why = match r.last_ok {
        Some(at) => format!("no backup since {}", to_rfc3339(at)),
        None => "no backup made yet".to_string(),
    };
    Some((State::Degraded, Some(why)))
}

/// The components as the sources report them now, in a steady order: the database, backups,
/// the channels, then each desk's input, camera and microphone.
pub fn observe(
    src: &Sources,
    desks: &HashMap<i64, String>,
    lang: Language,
    now: Millis,
) -> Vec<Seen> {
    let n = &otklik_domain::words::of(lang).components;
    let desk = |id: i64| desks.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let mut out = vec![Seen {
        id: "database".into(),
        kind: "database",
        desk_id: None,
        name: n.database.into(),
        detail: String::new(),
        state: if src.database.is_some() {
            State::Down
        } else {
            State::Ok
        },
        error: src.database.clone(),
    }];
    if let Some(r) = &src.backup
        && let Some((state, error)) = backup_state(r, src.backup_every_hours, now)
    {
        out.push(Seen {
            id: "backup".into(),
            kind: "backup",
            desk_id: None,
            name: n.backup.into(),
            detail: String::new(),
            state,
            error,
        });
    }
    if let Some((kind, backlog, oldest, link)) = &src.uplink {
        // Down while the last try failed after the last batch that landed; degraded while
        // changes wait longer than a reception would notice (the hub's figures lag behind).
        let failing = link.last_error.is_some()
            && link.last_error_at.unwrap_or(0) >= link.last_ok_at.unwrap_or(0);
        let lagging = oldest.is_some_and(|t| now - t > UPLINK_LAG_MS);
        let (id, name) = match kind {
            otklik_store::uplink::LinkKind::Reception => ("link:reception", n.reception_link),
            otklik_store::uplink::LinkKind::Hub => ("link:hub", n.hub_link),
        };
        out.push(Seen {
            id: id.into(),
            kind: "link",
            desk_id: None,
            name: name.into(),
            detail: format!("backlog {backlog}"),
            state: if failing {
                State::Down
            } else if lagging {
                State::Degraded
            } else {
                State::Ok
            },
            error: failing.then(|| link.last_error.clone()).flatten(),
        });
    }
    for c in &src.channels {
        let Some(state) = channel_state(c.state) else {
            continue;
        };
        let name = otklik_domain::words::channel_name(lang, &c.channel);
        out.push(Seen {
            id: format!("channel:{}", c.channel),
            kind: "channel",
            desk_id: None,
            name,
            detail: String::new(),
            state,
            // A channel that is ok again keeps its last error: the monitor remembers it anyway.
            error: (state == State::Down)
                .then(|| c.last_error.clone())
                .flatten(),
        });
    }
    let mut per_desk = Vec::new();
    for i in &src.inputs {
        let what = match i.kind.as_str() {
            "panel" => n.panel,
            "keys" => n.keys,
            "serial" => n.serial,
            "api" => n.api,
            _ => n.input,
        };
        let state = device_state(&i.state, i.error.as_deref());
        per_desk.push((
            i.desk_id,
            0,
            Seen {
                id: format!("input:{}", i.desk_id),
                kind: "input",
                desk_id: Some(i.desk_id),
                name: format!("{} — {what}", desk(i.desk_id)),
                detail: i.detail.clone(),
                state,
                error: (state != State::Ok).then(|| i.error.clone()).flatten(),
            },
        ));
    }
    for d in &src.devices {
        let (kind, what, order) = match d.kind {
            "camera" => ("camera", n.camera, 1),
            _ => ("microphone", n.microphone, 2),
        };
        let state = device_state(&d.state.state, d.state.error.as_deref());
        per_desk.push((
            d.desk_id,
            order,
            Seen {
                id: format!("{kind}:{}", d.desk_id),
                kind,
                desk_id: Some(d.desk_id),
                name: format!("{} — {what}", desk(d.desk_id)),
                detail: d.state.detail.clone(),
                state,
                error: (state != State::Ok)
                    .then(|| d.state.error.clone())
                    .flatten(),
            },
        ));
    }
    for pc in &src.desk_pcs {
        let drift = pc.clock_drift_ms.unwrap_or(0);
        let off = crate::desk_pc::drifts(drift);
        per_desk.push((
            pc.desk_id,
            3,
            Seen {
                id: format!("desk_pc:{}", pc.panel_id),
                kind: "desk_pc",
                desk_id: Some(pc.desk_id),
                name: format!("{} — {}", desk(pc.desk_id), n.desk_pc),
                detail: pc
                    .clock_drift_ms
                    .map(|d| format!("clock {:+} s", d / 1000))
                    .unwrap_or_default(),
                // Its presses still count: a clock that drifts only makes their times doubtful.
                state: if off { State::Degraded } else { State::Ok },
                error: off.then(|| {
                    format!(
                        "its clock is {} s {} this PC's (more than {} s): set both to the same time source",
                        drift.abs() / 1000,
                        if drift > 0 { "ahead of" } else { "behind" },
                        otklik_domain::link::CLOCK_DRIFT_WARN_MS / 1000
                    )
                }),
            },
        ));
    }
    per_desk.sort_by_key(|(desk, order, _)| (*desk, *order));
    out.extend(per_desk.into_iter().map(|(_, _, s)| s));
    out
}

/// What the monitor remembers of a component.
#[derive(Debug, Clone)]
pub struct Row {
    state: State,
    since: Millis,
    last_error: Option<String>,
    /// `sent`: its outage was told (a "back" notice is owed); `unsent`: it was due, but no
    /// channel could carry it.
    notice: Option<String>,
    notice_since: Option<Millis>,
    notice_via: Vec<Channel>,
    gone_at: Option<Millis>,
}

/// Every remembered component, by id.
pub fn rows(conn: &Connection) -> Result<HashMap<String, Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT component, state, since, last_error, notice, notice_since, notice_via, gone_at
         FROM health",
    )?;
    let rows = stmt.query_map([], |r| {
        let via: Option<String> = r.get(6)?;
        Ok((
            r.get::<_, String>(0)?,
            Row {
                state: State::parse(&r.get::<_, String>(1)?),
                since: r.get(2)?,
                last_error: r.get(3)?,
                notice: r.get(4)?,
                notice_since: r.get(5)?,
                notice_via: via
                    .and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| Channel::parse(c))
                    .collect(),
                gone_at: r.get(7)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Desk names by id.
pub fn desk_names(conn: &Connection) -> Result<HashMap<i64, String>> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM desks")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What the monitor reads from the database for one look.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub desks: HashMap<i64, String>,
    pub rows: HashMap<String, Row>,
}

/// The components with since-when from the monitor's memory: a state it has not recorded yet
/// counts from `now`; the last error is the current one, or the last one recorded.
pub fn components(seen: Vec<Seen>, rows: &HashMap<String, Row>, now: Millis) -> Vec<Component> {
    seen.into_iter()
        .map(|s| {
            let row = rows.get(&s.id);
            let since = row.filter(|r| r.state == s.state).map_or(now, |r| r.since);
            let last_error = s.error.or_else(|| row.and_then(|r| r.last_error.clone()));
            Component {
                id: s.id,
                kind: s.kind,
                desk_id: s.desk_id,
                name: s.name,
                detail: s.detail,
                state: s.state,
                since: to_rfc3339(since),
                last_error,
            }
        })
        .collect()
}

/// The names of the components that are not ok: what the tray lists.
pub fn attention(components: &[Component]) -> Vec<String> {
    components
        .iter()
        .filter(|c| c.state != State::Ok)
        .map(|c| c.name.clone())
        .collect()
}

/// What deciding on notices needs from the settings.
struct Plan {
    after_mins: u32,
    words: Words,
    cfg: Arc<NotifyConfig>,
}

/// What one look did: the notices it queued, and the components as it left them.
#[derive(Debug, Default)]
struct Outcome {
    queued: usize,
    components: Vec<Component>,
}

fn channel_of(id: &str) -> Option<Channel> {
    id.strip_prefix("channel:").and_then(Channel::parse)
}

fn via_json(via: &[Channel]) -> String {
    serde_json::to_string(&via.iter().map(|c| c.as_str()).collect::<Vec<_>>())
        .expect("strings serialize")
}

/// Queues `msg` to the main recipients of `channels`; returns the channels it went to.
fn send_notice(
    ctx: &WriteCtx<'_>,
    cfg: &NotifyConfig,
    channels: &[Channel],
    msg: &otklik_notify::Outgoing,
) -> Result<Vec<Channel>> {
    let targets = alerts::targets(ctx.conn, cfg, channels, false)?;
    let mut via = Vec::new();
    for (channel, target) in &targets {
        outbox::enqueue(
            ctx.conn,
            ctx.now,
            &NewItem {
                channel: *channel,
                target,
                kind: Kind::Notice,
                alert_id: None,
                photo_of: None,
                priority: 0,
            },
            msg.clone(),
        )?;
        if !via.contains(channel) {
            via.push(*channel);
        }
    }
    Ok(via)
}

fn audit_notice(
    ctx: &WriteCtx<'_>,
    c: &Seen,
    state: State,
    since: Millis,
    error: Option<&str>,
    via: &[Channel],
) -> Result<()> {
    otklik_store::audit::record(
        ctx.conn,
        ctx.now,
        "health",
        "health.notice",
        "health",
        c.desk_id,
        serde_json::json!({
            "component": c.id,
            "name": c.name,
            "state": state.as_str(),
            "since": to_rfc3339(since),
            "error": error,
            "channels": via.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        }),
    )
}

/// One look, inside the writer's transaction: records what changed, queues the notices due.
fn record(ctx: &mut WriteCtx<'_>, seen: &[Seen], now: Millis, plan: &Plan) -> Result<Outcome> {
    let mut memory = rows(ctx.conn)?;
    let mut out = Outcome::default();
    // Channels that work now; a channel that is off is not listed, so not among them.
    let working: Vec<Channel> = [Channel::Telegram, Channel::Email]
        .into_iter()
        .filter(|ch| {
            seen.iter()
                .any(|s| channel_of(&s.id) == Some(*ch) && s.state != State::Down)
        })
        .collect();
    let after_ms = Millis::from(plan.after_mins) * 60_000;
    for s in seen {
        let row = match memory.get(&s.id) {
            Some(r) if r.state == s.state => {
                let error = s.error.clone().or_else(|| r.last_error.clone());
                if error != r.last_error || r.gone_at.is_some() {
                    ctx.conn.execute(
                        "UPDATE health SET last_error = ?2, gone_at = NULL WHERE component = ?1",
                        (&s.id, &error),
                    )?;
                }
                Row {
                    last_error: error,
                    gone_at: None,
                    ..r.clone()
                }
            }
            old => {
                let error = s
                    .error
                    .clone()
                    .or_else(|| old.and_then(|r| r.last_error.clone()));
                ctx.conn.execute(
                    "INSERT INTO health (component, state, since, last_error) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (component) DO UPDATE SET state = excluded.state,
                        since = excluded.since, last_error = excluded.last_error, gone_at = NULL",
                    (&s.id, s.state.as_str(), now, &error),
                )?;
                if let Some(old) = old {
                    tracing::info!(component = %s.id, from = old.state.as_str(), to = s.state.as_str(), error = ?s.error, "health changed");
                }
                let row = Row {
                    state: s.state,
                    since: now,
                    last_error: error.clone(),
                    notice: old.and_then(|r| r.notice.clone()),
                    notice_since: old.and_then(|r| r.notice_since),
                    notice_via: old.map(|r| r.notice_via.clone()).unwrap_or_default(),
                    gone_at: None,
                };
                ctx.emit(
                    "health",
                    &components(vec![s.clone()], &HashMap::new(), now)[0],
                );
                row
            }
        };
        match (s.state, row.notice.as_deref()) {
            // Down long enough and not told yet (or told nobody, for want of a channel).
            (State::Down, None | Some("unsent"))
                if plan.after_mins > 0 && now - row.since >= after_ms =>
            {
                let channels: Vec<Channel> = working
                    .iter()
                    .copied()
                    .filter(|ch| channel_of(&s.id) != Some(*ch))
                    .collect();
                let msg = digest::health_notice(
                    &s.name,
                    true,
                    row.since,
                    row.last_error.as_deref(),
                    plan.words.lang,
                    plan.words.tz,
                );
                let via = send_notice(ctx, &plan.cfg, &channels, &msg)?;
                if via.is_empty() {
                    if row.notice.is_none() {
                        tracing::warn!(component = %s.id, name = %s.name, "down, but no working channel can say so");
                        ctx.conn.execute(
                            "UPDATE health SET notice = 'unsent', notice_since = ?2
                             WHERE component = ?1",
                            (&s.id, row.since),
                        )?;
                    }
                } else {
                    tracing::warn!(component = %s.id, name = %s.name, via = ?via, "down: notice queued");
                    ctx.conn.execute(
                        "UPDATE health SET notice = 'sent', notice_since = ?2, notice_via = ?3
                         WHERE component = ?1",
                        (&s.id, row.since, via_json(&via)),
                    )?;
                    audit_notice(
                        ctx,
                        s,
                        State::Down,
                        row.since,
                        row.last_error.as_deref(),
                        &via,
                    )?;
                    out.queued += 1;
                }
            }
            // Back: the people told it was down hear that it works again, the same way.
            (State::Ok, Some("sent")) => {
                let since = row.notice_since.unwrap_or(row.since);
                let msg = digest::health_notice(
                    &s.name,
                    false,
                    since,
                    None,
                    plan.words.lang,
                    plan.words.tz,
                );
                let via = send_notice(ctx, &plan.cfg, &row.notice_via, &msg)?;
                if via.is_empty() {
                    tracing::warn!(component = %s.id, name = %s.name, "back, but the channels that told its outage are off now");
                } else {
                    tracing::info!(component = %s.id, name = %s.name, via = ?via, "back: notice queued");
                    audit_notice(ctx, s, State::Ok, since, None, &via)?;
                    out.queued += 1;
                }
                clear_notice(ctx.conn, &s.id)?;
            }
            (State::Ok, Some(_)) => {
                tracing::info!(component = %s.id, name = %s.name, "back before any channel could say it was down");
                clear_notice(ctx.conn, &s.id)?;
            }
            _ => {}
        }
        memory.remove(&s.id);
    }
    // No longer reported: forgotten, at once if nothing is owed, or after a while.
    for (id, row) in memory {
        match row.gone_at {
            _ if row.notice.is_none() => {
                ctx.conn
                    .execute("DELETE FROM health WHERE component = ?1", [&id])?;
            }
            None => {
                ctx.conn.execute(
                    "UPDATE health SET gone_at = ?2 WHERE component = ?1",
                    (&id, now),
                )?;
            }
            Some(at) if now - at > GONE_AFTER_MS => {
                tracing::info!(component = %id, "no longer watched; its outage notice is closed without a 'back'");
                ctx.conn
                    .execute("DELETE FROM health WHERE component = ?1", [&id])?;
            }
            Some(_) => {}
        }
    }
    out.components = components(seen.to_vec(), &rows(ctx.conn)?, now);
    Ok(out)
}

fn clear_notice(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        "UPDATE health SET notice = NULL, notice_since = NULL, notice_via = NULL
         WHERE component = ?1",
        [id],
    )?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    pub state: &'static str,
    pub path: String,
    pub schema_version: Option<i64>,
    pub last_rating_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `down` when the database is, `degraded` when any component is not ok, `ok` otherwise.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_s: i64,
    pub database: DatabaseHealth,
    /// Each desk's rating input: connected, waiting for its device, or in error.
    pub inputs: Vec<otklik_devices::inputs::InputStatus>,
    /// Cameras and microphones of the desks that collect evidence.
    pub devices: Vec<otklik_devices::evidence::DeskDevice>,
    /// Telegram, email and the webhook: off, ok, or down since when, with the last error.
    pub channels: Vec<otklik_notify::ChannelHealth>,
    /// Every device and channel (and the database) as one list: ok, degraded or down, since
    /// when, with the last error.
    pub components: Vec<Component>,
    /// The names of the components that are not ok, in words: what the tray shows.
    pub attention: Vec<String>,
}

impl Engine {
    /// Everything `/healthz` says (and the tray shows): the database probed now, every input,
    /// device and channel with since-when from the health monitor's memory.
    pub async fn health_report(self: &Arc<Self>) -> Health {
        let probe = self
            .store
            .reads
            .read(|c| {
                let version = otklik_store::db::schema_version(c)?;
                let last: Option<i64> =
                    c.query_row("SELECT MAX(id) FROM ratings", [], |r| r.get(0))?;
                Ok((version, last))
            })
            .await;
        let writer_ok = self.store.writer.is_alive();
        let (state, schema_version, last_rating_id, error) = match probe {
            Ok((v, last)) if writer_ok => ("ok", Some(v), last, None),
            Ok((v, last)) => (
                "down",
                Some(v),
                last,
                Some("the database writer has stopped".to_string()),
            ),
            Err(err) => ("down", None, None, Some(err.to_string())),
        };
        // The same look the health monitor takes, with since-when from its memory.
        let (src, memory) = self.health_sources().await;
        let memory = memory.unwrap_or_default();
        let now = now_ms();
        let mut seen = observe(&src, &memory.desks, self.store.settings().language, now);
        if let Some(db) = seen.iter_mut().find(|c| c.id == "database") {
            db.state = if state == "ok" {
                State::Ok
            } else {
                State::Down
            };
            db.error.clone_from(&error);
        }
        let components = components(seen, &memory.rows, now);
        let attention = attention(&components);
        let Sources {
            inputs,
            devices,
            channels,
            ..
        } = src;
        let overall = if state != "ok" {
            state
        } else if attention.is_empty() {
            "ok"
        } else {
            "degraded"
        };
        Health {
            status: overall,
            version: env!("CARGO_PKG_VERSION"),
            uptime_s: (now_ms() - self.started_at) / 1000,
            database: DatabaseHealth {
                state,
                path: self.store.db_path.display().to_string(),
                schema_version,
                last_rating_id,
                error,
            },
            inputs,
            devices,
            channels,
            components,
            attention,
        }
    }

    /// Everything the components are made from, now. Needs the database for the channels'
    /// queues; without it the channels are left out and the database is down.
    pub async fn health_sources(self: &Arc<Self>) -> (Sources, Option<Memory>) {
        let inputs = self.inputs.status.all();
        let devices = self.evidence.states();
        let e = self.clone();
        let read = self
            .store
            .reads
            .read(move |c| {
                let memory = Memory {
                    desks: desk_names(c)?,
                    rows: rows(c)?,
                };
                Ok((
                    e.notify.health(c)?,
                    memory,
                    otklik_store::desk_pcs::list(c)?,
                    otklik_store::uplink::status(c)?,
                ))
            })
            .await;
        let mut src = Sources {
            inputs,
            devices,
            backup: last_backup(self),
            backup_every_hours: self.store.settings().backup_every_hours,
            ..Sources::default()
        };
        match read {
            Ok((channels, memory, desk_pcs, link)) => {
                src.channels = channels;
                src.desk_pcs = desk_pcs;
                src.uplink = link.map(|l| (l.kind, l.backlog, l.oldest_at, self.uplink.state()));
                if !self.store.writer.is_alive() {
                    src.database = Some("the database writer has stopped".into());
                }
                (src, Some(memory))
            }
            Err(e) => {
                src.database = Some(e.to_string());
                (src, None)
            }
        }
    }

    /// One look of the health monitor at `now` (the monitor passes the clock; tests pass a later
    /// reading rather than wait): records each component's state and since when, and queues the
    /// notices due. Returns the components.
    pub async fn poll_health(self: &Arc<Self>, now: Millis) -> Result<Vec<Component>> {
        let (src, memory) = self.health_sources().await;
        let Some(memory) = memory else {
            return Err(otklik_domain::Error::CommitFailed(format!(
                "cannot read the database: {}",
                src.database.unwrap_or_default()
            )));
        };
        let s = self.store.settings();
        let seen = observe(&src, &memory.desks, s.language, now);
        let plan = Plan {
            after_mins: s.health_notice_after_mins,
            words: self.notify.words(&s),
            cfg: self.notify.config(),
        };
        let out = self
            .store
            .writer
            .write(move |ctx| record(ctx, &seen, now, &plan))
            .await?;
        if out.queued > 0 {
            self.notify.wake();
        }
        Ok(out.components)
    }
}

/// The monitor: a look every [`POLL_EVERY`], for as long as the engine runs.
pub async fn monitor(engine: Arc<Engine>) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        match engine.poll_health(now_ms()).await {
            Ok(_) => failing = false,
            Err(e) => {
                if !failing {
                    tracing::warn!(%e, "the health monitor cannot record");
                }
                failing = true;
            }
        }
    }
}

/// Starts the monitor (the server does, beside its other tasks).
pub fn start(engine: &Arc<Engine>) {
    tokio::spawn(monitor(engine.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_devices::evidence::DeviceState;

    #[test]
    fn device_words_map_onto_three_states() {
        assert_eq!(device_state("connected", None), State::Ok);
        assert_eq!(device_state("ready", None), State::Ok);
        assert_eq!(device_state("error", Some("bad URL")), State::Down);
        assert_eq!(
            device_state("waiting", Some("cannot open COM3 (retrying every second)")),
            State::Down
        );
        assert_eq!(
            device_state("waiting", Some("no photo asked for yet")),
            State::Degraded
        );
        assert_eq!(device_state("waiting", Some("opening")), State::Degraded);
        assert_eq!(device_state("waiting", None), State::Degraded);
        assert_eq!(device_state("something new", None), State::Down);
        assert_eq!(channel_state("off"), None);
        assert_eq!(channel_state("down"), Some(State::Down));
    }

    #[test]
    fn an_ip_camera_not_asked_yet_is_not_a_failure() {
        let cam = otklik_devices::evidence::camera::IpCamera::new(
            "http://127.0.0.1:9/snap.jpg".into(),
            None,
            None,
        );
        use otklik_devices::evidence::Camera;
        let s = cam.state();
        assert_eq!(device_state(&s.state, s.error.as_deref()), State::Degraded);
    }

    #[test]
    fn backups_are_late_after_two_periods_and_down_when_the_last_try_failed() {
        let h = 3_600_000;
        let ok = BackupReport {
            last_ok: Some(0),
            last_error: None,
            watched_since: 0,
        };
        assert_eq!(backup_state(&ok, 0, 0), None);
        assert_eq!(backup_state(&ok, 24, 47 * h).unwrap().0, State::Ok);
        assert_eq!(backup_state(&ok, 24, 49 * h).unwrap().0, State::Degraded);
        let failed = BackupReport {
            last_error: Some("disk full".into()),
            ..ok
        };
        assert_eq!(
            backup_state(&failed, 24, h).unwrap(),
            (State::Down, Some("disk full".into()))
        );
        let none = BackupReport {
            last_ok: None,
            last_error: None,
            watched_since: 10 * h,
        };
        assert_eq!(backup_state(&none, 24, 40 * h).unwrap().0, State::Ok);
        assert_eq!(
            backup_state(&none, 24, 60 * h).unwrap(),
            (State::Degraded, Some("no backup made yet".into()))
        );
    }

    #[test]
    fn components_are_named_in_words_with_their_desk() {
        let src = Sources {
            inputs: vec![InputStatus {
                desk_id: 2,
                kind: "serial".into(),
                state: "waiting".into(),
                detail: "COM3".into(),
                last_event: None,
                error: Some("cannot open COM3".into()),
            }],
            devices: vec![DeskDevice {
                desk_id: 2,
                kind: "camera",
                state: DeviceState::new("connected", "http://cam/snap.jpg", None),
            }],
            channels: vec![ChannelHealth {
                channel: "telegram".into(),
                state: "off",
                since: String::new(),
                last_error: None,
                pending: 0,
                failed: 0,
            }],
            ..Sources::default()
        };
        let desks = HashMap::from([(2, "Окно 2".to_string())]);
        let seen = observe(&src, &desks, Language::Ru, 0);
        let ids: Vec<&str> = seen.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["database", "input:2", "camera:2"],
            "off is not listed"
        );
        assert_eq!(seen[1].name, "Окно 2 — кнопочный блок");
        assert_eq!(seen[1].state, State::Down);
        assert_eq!(seen[2].name, "Окно 2 — камера");
        let c = components(seen, &HashMap::new(), 0);
        assert_eq!(attention(&c), ["Окно 2 — кнопочный блок"]);
    }
}
