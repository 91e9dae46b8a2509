//! What screens watch: the leaderboard, the event stream, settings, health; and the audit log.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::BroadcastStream;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody};
use super::{Actor, AppState};
use crate::audit::{self, AuditEntry};
use crate::leaderboard::Leaderboard;
use crate::settings::{Settings, SettingsPatch};
use crate::time::{PeriodName, now_ms, parse_bounds, to_rfc3339};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {
    /// `today` (default), `week` or `month`, in the clinic's time zone.
    pub period: Option<PeriodName>,
    /// RFC 3339; with `to`, a custom period instead of `period`.
    pub from: Option<String>,
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/leaderboard", params(LeaderboardQuery),
    responses((status = 200, body = Leaderboard), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn leaderboard(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<LeaderboardQuery>,
) -> ApiResult<Json<Leaderboard>> {
    let bounds = parse_bounds(q.period, q.from.as_deref(), q.to.as_deref())?;
    let (from, to) = (bounds.map(|b| b.0), bounds.map(|b| b.1));
    Ok(Json(e.leaderboard(q.period, from, to).await?))
}

/// Server-Sent Events: `hello` on connect, then `rating`, `session`, `leaderboard`, `desk`,
/// `registrar`, `correction`, `settings` as they happen. A client reconnecting with
/// `Last-Event-ID` gets what it missed; `resync` tells it to reload instead.
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "text/event-stream", content_type = "text/event-stream")))]
pub async fn events(
    State(e): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let sub = e.events.subscribe(last);
    let hub = e.events.clone();
    let first: Vec<Event> = match sub.missed {
        Some(missed) => missed
            .iter()
            .map(|env| {
                Event::default()
                    .id(hub.event_id(env.seq))
                    .event(env.name)
                    .data(&env.data)
            })
            .collect(),
        None => vec![Event::default().event("resync").data("{}")],
    };
    let hello = Event::default()
        .event("hello")
        .data(format!(r#"{{"at":"{}"}}"#, to_rfc3339(now_ms())));
    let live = BroadcastStream::new(sub.rx).map(move |item| {
        Ok(match item {
            Ok(env) => Event::default()
                .id(hub.event_id(env.seq))
                .event(env.name)
                .data(&env.data),
            // Too slow to keep up: tell it to reload rather than show a hole.
            Err(_) => Event::default().event("resync").data("{}"),
        })
    });
    let head = stream::iter(std::iter::once(hello).chain(first).map(Ok));
    // A named ping, not a comment, so that a browser can tell a live stream from a dead one.
    let ping = Event::default().event("ping").data("{}");
    Sse::new(head.chain(live)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(10))
            .event(ping),
    )
}

#[utoipa::path(get, path = "/api/v1/settings", responses((status = 200, body = Settings)))]
pub async fn get_settings(State(e): State<AppState>) -> Json<Settings> {
    Json(e.settings())
}

#[utoipa::path(patch, path = "/api/v1/settings", request_body = SettingsPatch, security(("token" = [])),
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_settings(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> ApiResult<Json<Settings>> {
    Ok(Json(e.update_settings(patch, actor).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries older than this id (for the next page).
    pub before_id: Option<i64>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), security(("token" = [])),
    responses((status = 200, body = [AuditEntry])))]
pub async fn audit(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let limit = super::error::page_limit(q.limit)?;
    Ok(Json(
        e.reads
            .read(move |c| audit::list(c, q.before_id, limit))
            .await?,
    ))
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
    pub inputs: Vec<crate::inputs::InputStatus>,
    /// Cameras and microphones of the desks that collect evidence.
    pub devices: Vec<crate::evidence::DeskDevice>,
    /// Telegram, email and the webhook: off, ok, or down since when, with the last error.
    pub channels: Vec<crate::notify::ChannelHealth>,
    /// Every device and channel (and the database) as one list: ok, degraded or down, since
    /// when, with the last error.
    pub components: Vec<crate::health::Component>,
    /// The names of the components that are not ok, in words: what the tray shows.
    pub attention: Vec<String>,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(e): State<AppState>) -> (StatusCode, Json<Health>) {
    let probe = e
        .reads
        .read(|c| {
            let version = crate::db::schema_version(c)?;
            let last: Option<i64> = c.query_row("SELECT MAX(id) FROM ratings", [], |r| r.get(0))?;
            Ok((version, last))
        })
        .await;
    let writer_ok = e.writer.is_alive();
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
    let status = if state == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // The same look the health monitor takes, with since-when from its memory.
    let (src, memory) = e.health_sources().await;
    let memory = memory.unwrap_or_default();
    let now = now_ms();
    let mut seen = crate::health::observe(&src, &memory.desks, e.settings().language, now);
    if let Some(db) = seen.iter_mut().find(|c| c.id == "database") {
        db.state = if state == "ok" {
            crate::health::State::Ok
        } else {
            crate::health::State::Down
        };
        db.error.clone_from(&error);
    }
    let components = crate::health::components(seen, &memory.rows, now);
    let attention = crate::health::attention(&components);
    let crate::health::Sources {
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
    let health = Health {
        status: overall,
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: (now_ms() - e.started_at) / 1000,
        database: DatabaseHealth {
            state,
            path: e.db_path.display().to_string(),
            schema_version,
            last_rating_id,
            error,
        },
        inputs,
        devices,
        channels,
        components,
        attention,
    };
    (status, Json(health))
}
