//! What screens watch: the leaderboard, the event stream, settings, health; and the audit log.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::time::{PeriodName, now_ms, parse_bounds, to_rfc3339};
use otklik_engine::health::Health;
use otklik_store::audit::{self, AuditEntry};
use otklik_store::leaderboard::Leaderboard;
use otklik_store::settings::{PublicSettings, Settings, SettingsPatch};

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

const PUBLIC_MAX_SPAN_MS: i64 = 31 * 24 * 3_600_000;
const MAX_SPAN_MS: i64 = 3 * 366 * 24 * 3_600_000;

#[utoipa::path(get, path = "/api/v1/leaderboard", params(LeaderboardQuery),
    responses((status = 200, body = Leaderboard), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn leaderboard(
    State(e): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<LeaderboardQuery>,
) -> ApiResult<Json<Leaderboard>> {
    let bounds = parse_bounds(q.period, q.from.as_deref(), q.to.as_deref())?;
    // Anyone on the LAN may read what the wall display shows; longer spans are for token holders.
    let (max, words) = if super::signed_in(&e, &headers) {
        (MAX_SPAN_MS, "3 years")
    } else {
        (
            PUBLIC_MAX_SPAN_MS,
            "31 days without the API token or a console login",
        )
    };
    if bounds.is_some_and(|(f, t)| t - f > max) {
        return Err(Error::invalid("to", format!("a leaderboard covers at most {words}")).into());
    }
    let (from, to) = (bounds.map(|b| b.0), bounds.map(|b| b.1));
    Ok(Json(e.store.leaderboard(q.period, from, to).await?))
}

/// The public event stream, for the screens anyone on the LAN may open: `hello` on connect,
/// then `leaderboard`, `rating` (desk, score, scale, time), `settings` (the screens' part), and
/// bare `desk`, `registrar`, `session`, `correction`, `contest` telling a screen to reload.
/// A client reconnecting with `Last-Event-ID` gets what it missed; `resync` tells it to reload.
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
    (status = 429, description = "Too many streams open from this device", body = ErrorBody)))]
pub async fn events(
    State(e): State<AppState>,
    peer: super::console::Peer,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    stream(e, peer, &headers, None)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FullStreamQuery {
    /// A ticket from `POST /api/v1/events/ticket`, for a browser (EventSource sends no header).
    pub ticket: Option<String>,
}

/// Every event, in full (alerts, the outbox, inputs, devices, contests, ratings with registrar
/// and session), for the console and the clinic's systems: `Authorization: Bearer` or a
/// `ticket`. The stream ends when that token or login stops being valid.
#[utoipa::path(get, path = "/api/v1/events/all", params(FullStreamQuery), security(("token" = [])),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn all_events(
    State(e): State<AppState>,
    peer: super::console::Peer,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<FullStreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let bearer = match (&q.ticket, super::bearer(&headers)) {
        (Some(ticket), _) => e
            .store
            .events
            .tickets
            .redeem(ticket, now_ms())
            .ok_or_else(|| {
                Error::Unauthorized(
                    "the ticket is unknown, used or expired: ask for a new one".into(),
                )
            })?,
        (None, Some(t)) => t.to_string(),
        (None, None) => {
            return Err(Error::Unauthorized(
                "the full event stream needs the API token, a console login or a ticket".into(),
            )
            .into());
        }
    };
    if super::credential(&e, &bearer).is_none() {
        return Err(Error::Unauthorized(
            "the API token is wrong, or the console login has expired".into(),
        )
        .into());
    }
    stream(e, peer, &headers, Some(bearer))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    /// Opens `/api/v1/events/all?ticket=` once, within `expires_in` seconds.
    pub ticket: String,
    pub expires_in: u64,
}

/// A one-time ticket for the full event stream, for a browser tab with a console login.
#[utoipa::path(post, path = "/api/v1/events/ticket", security(("token" = [])),
    responses((status = 201, body = Ticket), (status = 401, body = ErrorBody)))]
pub async fn ticket(State(e): State<AppState>, headers: HeaderMap) -> (StatusCode, Json<Ticket>) {
    // The route is behind the token check, so the header is there and valid.
    let bearer = super::bearer(&headers).unwrap_or_default();
    (
        StatusCode::CREATED,
        Json(Ticket {
            ticket: e.store.events.tickets.issue(bearer, now_ms()),
            expires_in: (otklik_store::events::TICKET_MS / 1000) as u64,
        }),
    )
}

enum Item {
    Event(Result<std::sync::Arc<otklik_store::events::Envelope>, BroadcastStreamRecvError>),
    Ping,
}

/// One stream: the public one (`bearer` = None) or the full one, bound to `bearer`'s validity.
fn stream(
    e: AppState,
    peer: super::console::Peer,
    headers: &HeaderMap,
    bearer: Option<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>> {
    let slot = e
        .store
        .events
        .connections
        .open(peer.ip())
        .map_err(|why| Error::TooSoon {
            message: format!("{why}: close another screen, or try again in a minute"),
            retry_after_secs: 60,
        })?;
    let public = bearer.is_none();
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let sub = e.store.events.subscribe(last, public);
    let hub = e.store.events.clone();
    let first: Vec<Event> = match sub.missed {
        Some(missed) => missed
            .iter()
            .filter_map(|env| {
                let data = env.data_for(public)?;
                Some(
                    Event::default()
                        .id(hub.event_id(env.seq))
                        .event(env.name)
                        .data(data),
                )
            })
            .collect(),
        None => vec![Event::default().event("resync").data("{}")],
    };
    let hello = Event::default()
        .event("hello")
        .data(format!(r#"{{"at":"{}"}}"#, to_rfc3339(now_ms())));
    // A named ping, not a comment, so that a browser can tell a live stream from a dead one.
    let pings = stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Some((Item::Ping, ()))
    });
    let live = stream::select(BroadcastStream::new(sub.rx).map(Item::Event), pings)
        .take_while(move |_| {
            let valid = bearer
                .as_deref()
                .is_none_or(|b| super::credential(&e, b).is_some());
            std::future::ready(valid)
        })
        .filter_map(move |item| {
            // Holds the stream's place among this device's streams until the client goes.
            let _slot = &slot;
            std::future::ready(match item {
                Item::Ping => Some(Event::default().event("ping").data("{}")),
                Item::Event(Ok(env)) => env.data_for(public).map(|data| {
                    Event::default()
                        .id(hub.event_id(env.seq))
                        .event(env.name)
                        .data(data)
                }),
                // Too slow to keep up: tell it to reload rather than show a hole.
                Item::Event(Err(_)) => Some(Event::default().event("resync").data("{}")),
            })
        });
    let head = stream::iter(std::iter::once(hello).chain(first));
    Ok(Sse::new(head.chain(live).map(Ok)))
}

/// The settings the screens need (the wall display, the panels): no addresses, devices,
/// thresholds or backups.
#[utoipa::path(get, path = "/api/v1/settings/public", responses((status = 200, body = PublicSettings)))]
pub async fn get_public_settings(State(e): State<AppState>) -> Json<PublicSettings> {
    Json(PublicSettings::from(&e.store.settings()))
}

#[utoipa::path(get, path = "/api/v1/settings", security(("token" = [])), responses((status = 200, body = Settings), (status = 401, body = ErrorBody)))]
pub async fn get_settings(State(e): State<AppState>) -> Json<Settings> {
    Json(e.store.settings())
}

/// The names of the settings that take effect only when Otklik starts again (the desktop app, for
/// the kiosk display); every other setting applies as soon as it is saved.
#[utoipa::path(get, path = "/api/v1/settings/applies-at-restart", responses((status = 200, body = [String])))]
pub async fn settings_at_restart() -> Json<&'static [&'static str]> {
    Json(otklik_store::settings::APPLY_AT_RESTART)
}

#[utoipa::path(patch, path = "/api/v1/settings", request_body = SettingsPatch, security(("token" = [])),
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_settings(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> ApiResult<Json<Settings>> {
    Ok(Json(e.store.update_settings(patch, actor).await?))
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
        e.store
            .reads
            .read(move |c| audit::list(c, q.before_id, limit))
            .await?,
    ))
}

/// Every component's state. From the LAN it needs the API token or a console login: it names
/// devices, addresses and errors; the reception PC's own tray asks over loopback.
#[utoipa::path(get, path = "/healthz", security(("token" = [])),
    responses((status = 200, body = Health), (status = 503, body = Health), (status = 401, body = ErrorBody)))]
pub async fn healthz(
    State(e): State<AppState>,
    peer: super::console::Peer,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<Health>)> {
    if !peer.is_loopback() && !super::signed_in(&e, &headers) {
        return Err(Error::Unauthorized(
            "the health of the devices and channels needs the API token or a console login from the network".into(),
        )
        .into());
    }
    Ok(health(&e).await)
}

pub(super) async fn health(e: &AppState) -> (StatusCode, Json<Health>) {
    let health = e.health_report().await;
    // 503 when the database is down: a monitor that reads only the status code still sees it.
    let status = if health.database.state == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}
