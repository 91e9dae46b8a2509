//! What the desk panel and the patient panel do without the API token: a registrar starts and
//! ends their session and contests a rating (with their PIN, if they have one); a patient taps a
//! rating (with a lock-out against repeated taps). From the LAN, only a panel paired for that
//! desk and role may (see `otklik_store::panels`); the reception PC itself and token holders always may.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::console::Peer;
use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::time::span_for;
use otklik_domain::time::{PeriodName, now_ms};
use otklik_store::contests::{self, Contest, LowRating};
use otklik_store::panels::{self, Pairing, Panel, Role};
use otklik_store::ratings::{self, NewRating, Rating};
use otklik_store::reasons::{self, ReasonPicked};
use otklik_store::roster;
use otklik_store::serving::{self, ServingChange};
use otklik_store::sessions::{self, SessionChange, SessionStarted};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TapBody {
    /// 1 (lowest) to the number of levels of the scale.
    #[schema(minimum = 1)]
    pub score: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    pub registrar_id: i64,
    /// The registrar's PIN, if they have one.
    pub pin: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinBody {
    pub pin: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestBody {
    /// Why the rating is wrong: 1 to 500 characters.
    pub comment: String,
    pub pin: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// `today` (default), `week` or `month`.
    pub period: Option<PeriodName>,
}

fn actor(registrar_id: i64) -> String {
    format!("registrar:{registrar_id}")
}

/// A patient's tap on the touch panel facing them at a desk.
#[utoipa::path(post, path = "/api/v1/desks/{id}/tap", params(("id" = i64, Path)), request_body = TapBody,
    responses((status = 201, body = Rating), (status = 404, body = ErrorBody), (status = 409, description = "Desk deactivated", body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, description = "Within the panel's lock-out", body = ErrorBody)))]
pub async fn tap(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<TapBody>,
) -> ApiResult<(StatusCode, Json<Rating>)> {
    allowed(&e, &peer, &headers, Some(desk_id), Role::Patient)?;
    // Check everything that can be wrong before the lock-out starts.
    otklik_domain::scale::check_score(body.score, e.store.scale())?;
    let desk = e
        .store
        .reads
        .read(move |c| roster::get_desk(c, desk_id))
        .await?;
    if !desk.active {
        return Err(Error::Conflict(format!("desk {desk_id} is deactivated")).into());
    }
    let input = e.inputs.setting(desk_id);
    if input.kind != otklik_devices::inputs::config::Kind::Panel {
        return Err(Error::Conflict(format!(
            "desk {desk_id} takes its ratings from {:?}, not from a patient panel",
            input.kind
        ))
        .into());
    }
    e.claim_panel_tap(desk_id, now_ms())?;
    let new = NewRating {
        desk_id,
        score: body.score,
        source: Some("panel".into()),
        at: None,
    };
    let rating = e.add_rating(new).await?;
    e.inputs.status.event(desk_id, now_ms());
    Ok((StatusCode::CREATED, Json(rating)))
}

/// A registrar starts their session at a desk from the desk panel.
#[utoipa::path(post, path = "/api/v1/desks/{id}/checkin", params(("id" = i64, Path)), request_body = CheckinBody,
    responses((status = 201, body = SessionStarted), (status = 403, description = "Wrong PIN", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn checkin(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<CheckinBody>,
) -> ApiResult<(StatusCode, Json<SessionStarted>)> {
    allowed(&e, &peer, &headers, Some(desk_id), Role::Registrar)?;
    let registrar_id = body.registrar_id;
    e.check_registrar_pin(registrar_id, body.pin, peer.ip())
        .await
        .map_err(|err| match err {
            Error::NotFound { .. } => Error::invalid(
                "registrar_id",
                format!("registrar {registrar_id} does not exist"),
            ),
            err => err,
        })?;
    let started = e
        .store
        .writer
        .write(move |ctx| sessions::start(ctx, desk_id, registrar_id, &actor(registrar_id)))
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// The registrar at a desk ends their session from the desk panel.
#[utoipa::path(post, path = "/api/v1/desks/{id}/checkout", params(("id" = i64, Path)), request_body = PinBody,
    responses((status = 200, body = SessionChange), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Nobody works at the desk", body = ErrorBody)))]
pub async fn checkout(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<PinBody>,
) -> ApiResult<Json<SessionChange>> {
    allowed(&e, &peer, &headers, Some(desk_id), Role::Registrar)?;
    let desk = e
        .store
        .reads
        .read(move |c| roster::get_desk(c, desk_id))
        .await?;
    let Some(open) = desk.session else {
        return Err(Error::Conflict(format!("no session is open at desk {desk_id}")).into());
    };
    let registrar_id = open.registrar_id;
    e.check_registrar_pin(registrar_id, body.pin, peer.ip())
        .await?;
    let ended = e
        .store
        .writer
        .write(move |ctx| {
            // Only the session the PIN was checked for: if someone else took the desk meanwhile,
            // theirs stays open.
            match roster::get_desk(ctx.conn, desk_id)?.session {
                Some(s) if s.session_id == open.session_id => {
                    sessions::end(ctx, desk_id, &actor(registrar_id))
                }
                _ => Err(Error::Conflict(format!(
                    "the session at desk {desk_id} has changed meanwhile"
                ))),
            }
        })
        .await?;
    Ok(Json(ended))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServingBody {
    /// `true`: a patient is being served from now on (what was served before ends); `false`:
    /// done. Saying `false` when nothing is served changes nothing.
    pub serving: bool,
    /// The queue system's ticket or visit, 1 to 64 characters; only with `serving: true`.
    pub ticket: Option<String>,
}

/// The registrar (from their panel) or the queue system (with the token) says a patient is
/// being served at the desk, or is done. An armed desk counts presses only then.
#[utoipa::path(post, path = "/api/v1/desks/{id}/serving", params(("id" = i64, Path)), request_body = ServingBody,
    responses((status = 200, body = ServingChange), (status = 401, description = "Not this desk's registrar panel", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Desk deactivated", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn serving(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<ServingBody>,
) -> ApiResult<Json<ServingChange>> {
    let via = allowed(&e, &peer, &headers, Some(desk_id), Role::Registrar)?;
    let source = match via {
        Via::Token => serving::Source::Api,
        Via::Pairing | Via::ThisPc => serving::Source::Panel,
    };
    if !body.serving && body.ticket.is_some() {
        return Err(Error::invalid("ticket", "goes only with serving: true").into());
    }
    let change = e
        .store
        .writer
        .write(move |ctx| {
            if body.serving {
                serving::start(ctx, desk_id, source, body.ticket)
            } else {
                serving::end(ctx, desk_id)
            }
        })
        .await?;
    Ok(Json(change))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickReasonBody {
    /// The code of one of the settings' `reasons`.
    pub reason: String,
    /// The panel the patient picked on: `patient` (default) or `registrar` (a desk with a
    /// button remote or a serial box shows the reasons on the registrar's panel). A paired
    /// panel must name its own role.
    pub panel: Option<Role>,
}

/// The patient's reason for a low rating, picked once within `reasons_timeout_secs` of it: from
/// a panel paired at the rating's desk, the reception PC, or with the token.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/reason", params(("id" = i64, Path)), request_body = PickReasonBody,
    responses((status = 201, body = ReasonPicked), (status = 401, description = "Not a panel of the rating's desk", body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Reasons off, not a low rating, too late, or picked already", body = ErrorBody),
              (status = 422, description = "Not one of the reasons", body = ErrorBody)))]
pub async fn pick_reason(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(rating_id): Id,
    ApiJson(body): ApiJson<PickReasonBody>,
) -> ApiResult<(StatusCode, Json<ReasonPicked>)> {
    let role = body.panel.unwrap_or(Role::Patient);
    if role == Role::DeskPc {
        return Err(Error::invalid("panel", "is `patient` or `registrar`").into());
    }
    // A device paired nowhere learns nothing, not even whether the rating exists.
    allowed(&e, &peer, &headers, None, role)?;
    let rating = e
        .store
        .reads
        .read(move |c| ratings::get(c, rating_id))
        .await?;
    let via = match allowed(&e, &peer, &headers, Some(rating.desk_id), role)? {
        Via::Token => reasons::Via::Api,
        Via::Pairing | Via::ThisPc if role == Role::Registrar => reasons::Via::RegistrarPanel,
        Via::Pairing | Via::ThisPc => reasons::Via::PatientPanel,
    };
    let picked = e.pick_reason(rating_id, body.reason, via).await?;
    Ok((StatusCode::CREATED, Json(picked)))
}

/// The registrar a rating is bound to contests it; a supervisor then decides.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/contest", params(("id" = i64, Path)), request_body = ContestBody,
    responses((status = 201, body = Contest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Annulled, already contested, or nobody to contest it", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn contest(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(rating_id): Id,
    ApiJson(body): ApiJson<ContestBody>,
) -> ApiResult<(StatusCode, Json<Contest>)> {
    allowed(&e, &peer, &headers, None, Role::Registrar)?;
    let rating = e
        .store
        .reads
        .read(move |c| ratings::get(c, rating_id))
        .await?;
    if let Some(registrar_id) = rating.registrar_id {
        e.check_registrar_pin(registrar_id, body.pin, peer.ip())
            .await?;
    }
    let comment = body.comment;
    let c = e
        .store
        .writer
        .write(move |ctx| contests::open(ctx, rating_id, &comment))
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// A registrar's low ratings in the period (today by default), newest first, with their contests.
#[utoipa::path(get, path = "/api/v1/registrars/{id}/low-ratings", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = [LowRating]), (status = 404, body = ErrorBody)))]
pub async fn low_ratings(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Id(registrar_id): Id,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Vec<LowRating>>> {
    allowed(&e, &peer, &headers, None, Role::Registrar)?;
    let s = e.store.settings();
    let span = span_for(
        Some(q.period.unwrap_or(PeriodName::Today)),
        None,
        None,
        s.tz(),
        now_ms(),
    );
    Ok(Json(
        e.store
            .reads
            .read(move |c| {
                roster::get_registrar(c, registrar_id)?;
                contests::low_ratings(c, registrar_id, span, s.scale, 20)
            })
            .await?,
    ))
}

/// How a panel's request is let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The reception PC itself (loopback).
    ThisPc,
    /// The API token or a console login.
    Token,
    /// A panel paired for this desk and role.
    Pairing,
}

/// Whether this request may act as `role`'s panel of `desk_id` (any desk when `None`).
fn allowed(
    e: &AppState,
    peer: &Peer,
    headers: &HeaderMap,
    desk_id: Option<i64>,
    role: Role,
) -> Result<Via, Error> {
    if super::signed_in(e, headers) {
        return Ok(Via::Token);
    }
    if let Some(key) = super::bearer(headers).and_then(|t| e.panels.check(t))
        && key.role == role
        && desk_id.is_none_or(|d| d == key.desk_id)
    {
        return Ok(Via::Pairing);
    }
    // A request from the reception PC itself passed the Host and Origin checks: it is a window
    // or browser on this PC, which holds the data directory anyway.
    if peer.is_loopback() {
        return Ok(Via::ThisPc);
    }
    let what = match (role, desk_id) {
        (Role::Patient, Some(d)) => format!("the patient panel of desk {d}"),
        (Role::Registrar, Some(d)) => format!("the registrar panel of desk {d}"),
        (Role::DeskPc, Some(d)) => format!("the desk PC of desk {d}"),
        (_, None) => "a registrar panel".to_string(),
    };
    Err(Error::Unauthorized(format!(
        "this device is not paired as {what}: pair it with a code from the console (Desks → Panels)"
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingBody {
    pub role: Role,
}

/// A one-time code (10 minutes) to pair a panel of this desk: typed on the panel.
#[utoipa::path(post, path = "/api/v1/desks/{id}/pairing", params(("id" = i64, Path)), request_body = PairingBody, security(("token" = [])),
    responses((status = 201, body = Pairing), (status = 404, body = ErrorBody), (status = 409, description = "Desk deactivated", body = ErrorBody)))]
pub async fn new_pairing(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<PairingBody>,
) -> ApiResult<(StatusCode, Json<Pairing>)> {
    let desk = e
        .store
        .reads
        .read(move |c| roster::get_desk(c, desk_id))
        .await?;
    if !desk.active {
        return Err(Error::Conflict(format!("desk {desk_id} is deactivated")).into());
    }
    Ok((
        StatusCode::CREATED,
        Json(e.panels.new_code(desk_id, body.role, actor, now_ms())),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairBody {
    /// The six digits the console shows.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Paired {
    /// The panel's own token: sent as `Authorization: Bearer` with its taps or check-ins.
    pub token: String,
    pub panel: Panel,
}

/// The panel sends the code the console showed and gets its own token.
#[utoipa::path(post, path = "/api/v1/panels/pair", request_body = PairBody,
    responses((status = 201, body = Paired), (status = 403, description = "Wrong or expired code", body = ErrorBody),
              (status = 429, description = "Too many wrong codes from this device", body = ErrorBody)))]
pub async fn pair(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PairBody>,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    let (desk_id, role, by) = e.panels.take_code(&body.code, peer.ip(), now_ms())?;
    // What the console shows for this device: its browser, as it says.
    let label: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let label = format!("{} {label}", peer.ip()).trim().to_string();
    let (token, token_hash) = panels::new_token();
    let stored = token_hash.clone();
    let (key, panel) = e
        .store
        .writer
        .write(move |ctx| {
            let key = panels::insert(ctx, desk_id, role, &stored, &label, &by)?;
            let panel = panels::get(ctx.conn, key.id)?.ok_or(Error::NotFound {
                what: "panel",
                id: key.id,
            })?;
            Ok((key, panel))
        })
        .await?;
    e.panels.paired(token_hash, key);
    Ok((StatusCode::CREATED, Json(Paired { token, panel })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PanelsQuery {
    /// Also list revoked panels (default false).
    pub revoked: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/panels", params(PanelsQuery), security(("token" = [])),
    responses((status = 200, body = [Panel])))]
pub async fn list_panels(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<PanelsQuery>,
) -> ApiResult<Json<Vec<Panel>>> {
    let revoked = q.revoked.unwrap_or(false);
    Ok(Json(
        e.store
            .reads
            .read(move |c| panels::list(c, revoked))
            .await?,
    ))
}

/// Revokes a paired panel at once: its next tap or check-in is refused.
#[utoipa::path(delete, path = "/api/v1/panels/{id}", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = Panel), (status = 404, body = ErrorBody), (status = 409, description = "Already revoked", body = ErrorBody)))]
pub async fn revoke_panel(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
) -> ApiResult<Json<Panel>> {
    let panel = e
        .store
        .writer
        .write(move |ctx| panels::revoke(ctx, id, actor))
        .await?;
    e.panels.revoked(id);
    Ok(Json(panel))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PanelCheckQuery {
    pub desk_id: i64,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PanelCheck {
    pub via: Via,
}

/// Whether this device may act as that panel now (the panel asks before showing its screen).
#[utoipa::path(get, path = "/api/v1/panels/me", params(PanelCheckQuery),
    responses((status = 200, body = PanelCheck), (status = 401, description = "Not paired", body = ErrorBody)))]
pub async fn me(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PanelCheckQuery>,
) -> ApiResult<Json<PanelCheck>> {
    let via = allowed(&e, &peer, &headers, Some(q.desk_id), q.role)?;
    Ok(Json(PanelCheck { via }))
}
