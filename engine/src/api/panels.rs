//! What the desk panel and the patient panel do without the API token: a registrar starts and
//! ends their session and contests a rating (with their PIN, if they have one); a patient taps a
//! rating (with a lock-out against repeated taps).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::console::Peer;
use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use crate::contests::{self, Contest, LowRating};
use crate::error::Error;
use crate::leaderboard::span_for;
use crate::ratings::{self, NewRating, Rating};
use crate::roster;
use crate::sessions::{self, SessionChange, SessionStarted};
use crate::time::{PeriodName, now_ms};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TapBody {
    /// 1 (lowest) to the number of levels of the scale.
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
    Id(desk_id): Id,
    ApiJson(body): ApiJson<TapBody>,
) -> ApiResult<(StatusCode, Json<Rating>)> {
    // Check everything that can be wrong before the lock-out starts.
    crate::scale::check_score(body.score, e.scale())?;
    let desk = e.reads.read(move |c| roster::get_desk(c, desk_id)).await?;
    if !desk.active {
        return Err(Error::Conflict(format!("desk {desk_id} is deactivated")).into());
    }
    let input = e.inputs.setting(desk_id);
    if input.kind != crate::inputs::config::Kind::Panel {
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
    Id(desk_id): Id,
    ApiJson(body): ApiJson<CheckinBody>,
) -> ApiResult<(StatusCode, Json<SessionStarted>)> {
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
    Id(desk_id): Id,
    ApiJson(body): ApiJson<PinBody>,
) -> ApiResult<Json<SessionChange>> {
    let desk = e.reads.read(move |c| roster::get_desk(c, desk_id)).await?;
    let Some(open) = desk.session else {
        return Err(Error::Conflict(format!("no session is open at desk {desk_id}")).into());
    };
    let registrar_id = open.registrar_id;
    e.check_registrar_pin(registrar_id, body.pin, peer.ip())
        .await?;
    let ended = e
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

/// The registrar a rating is bound to contests it; a supervisor then decides.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/contest", params(("id" = i64, Path)), request_body = ContestBody,
    responses((status = 201, body = Contest), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "Annulled, already contested, or nobody to contest it", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn contest(
    State(e): State<AppState>,
    peer: Peer,
    Id(rating_id): Id,
    ApiJson(body): ApiJson<ContestBody>,
) -> ApiResult<(StatusCode, Json<Contest>)> {
    let rating = e.reads.read(move |c| ratings::get(c, rating_id)).await?;
    if let Some(registrar_id) = rating.registrar_id {
        e.check_registrar_pin(registrar_id, body.pin, peer.ip())
            .await?;
    }
    let comment = body.comment;
    let c = e
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
    Id(registrar_id): Id,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<Vec<LowRating>>> {
    let s = e.settings();
    let span = span_for(
        Some(q.period.unwrap_or(PeriodName::Today)),
        None,
        None,
        s.tz(),
        now_ms(),
    );
    Ok(Json(
        e.reads
            .read(move |c| {
                roster::get_registrar(c, registrar_id)?;
                contests::low_ratings(c, registrar_id, span, s.scale, 20)
            })
            .await?,
    ))
}
