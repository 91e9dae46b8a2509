//! Registrars, desks and work sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiJson, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_store::access;
use otklik_store::roster::{self, Desk, DeskUpdate, Registrar, Update};
use otklik_store::sessions::{self, SessionChange, SessionStarted};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: String,
}

/// A change to a registrar; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrarUpdate {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// 4 to 8 digits asked for at the desk panel; null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub pin: Option<Option<String>>,
}

/// Tells a field sent as null (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    pub registrar_id: i64,
}

#[utoipa::path(get, path = "/api/v1/registrars", responses((status = 200, body = [Registrar])))]
pub async fn list_registrars(State(e): State<AppState>) -> ApiResult<Json<Vec<Registrar>>> {
    Ok(Json(e.store.reads.read(roster::list_registrars).await?))
}

#[utoipa::path(get, path = "/api/v1/registrars/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Registrar), (status = 404, body = ErrorBody)))]
pub async fn get_registrar(State(e): State<AppState>, Id(id): Id) -> ApiResult<Json<Registrar>> {
    Ok(Json(
        e.store
            .reads
            .read(move |c| roster::get_registrar(c, id))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/registrars", request_body = NameBody, security(("token" = [])),
    responses((status = 201, body = Registrar), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_registrar(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Registrar>)> {
    let reg = e
        .store
        .writer
        .write(move |ctx| roster::create_registrar(ctx, &body.name, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(reg)))
}

#[utoipa::path(patch, path = "/api/v1/registrars/{id}", params(("id" = i64, Path)), request_body = RegistrarUpdate, security(("token" = [])),
    responses((status = 200, body = Registrar), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_registrar(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(body): ApiJson<RegistrarUpdate>,
) -> ApiResult<Json<Registrar>> {
    let pin_hash = match body.pin {
        Some(Some(pin)) => {
            access::check_pin(&pin)?;
            let hash = e
                .guard
                .argon(true, move || access::hash_secret(&pin))
                .await?;
            Some(Some(hash))
        }
        Some(None) => Some(None),
        None => None,
    };
    let update = Update {
        name: body.name,
        active: body.active,
    };
    Ok(Json(
        e.store
            .writer
            .write(move |ctx| {
                // Both or neither: a rename with a bad PIN changes nothing.
                let reg = roster::update_registrar(ctx, id, &update, actor)?;
                match pin_hash {
                    Some(hash) => {
                        access::set_registrar_pin(ctx, id, hash.as_deref(), actor)?;
                        roster::get_registrar(ctx.conn, id)
                    }
                    None => Ok(reg),
                }
            })
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/desks", responses((status = 200, description = "Desks with who works at each now", body = [Desk])))]
pub async fn list_desks(State(e): State<AppState>) -> ApiResult<Json<Vec<Desk>>> {
    Ok(Json(e.store.reads.read(roster::list_desks).await?))
}

#[utoipa::path(get, path = "/api/v1/desks/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Desk), (status = 404, body = ErrorBody)))]
pub async fn get_desk(State(e): State<AppState>, Id(id): Id) -> ApiResult<Json<Desk>> {
    Ok(Json(
        e.store.reads.read(move |c| roster::get_desk(c, id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/desks", request_body = NameBody, security(("token" = [])),
    responses((status = 201, body = Desk), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_desk(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Desk>)> {
    let desk = e
        .store
        .writer
        .write(move |ctx| roster::create_desk(ctx, &body.name, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(desk)))
}

#[utoipa::path(patch, path = "/api/v1/desks/{id}", params(("id" = i64, Path)), request_body = DeskUpdate, security(("token" = [])),
    responses((status = 200, body = Desk), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_desk(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(body): ApiJson<DeskUpdate>,
) -> ApiResult<Json<Desk>> {
    Ok(Json(
        e.store
            .writer
            .write(move |ctx| roster::update_desk(ctx, id, &body, actor))
            .await?,
    ))
}

/// Starts a registrar's work session at a desk, closing the desk's previous session and the
/// registrar's session at any other desk.
#[utoipa::path(post, path = "/api/v1/desks/{id}/session", params(("id" = i64, Path)), request_body = SessionBody, security(("token" = [])),
    responses((status = 201, body = SessionStarted), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_session(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult<(StatusCode, Json<SessionStarted>)> {
    let started = e
        .store
        .writer
        .write(move |ctx| sessions::start(ctx, desk_id, body.registrar_id, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// Ends the session open at a desk.
#[utoipa::path(delete, path = "/api/v1/desks/{id}/session", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = SessionChange), (status = 404, body = ErrorBody), (status = 409, description = "No session is open", body = ErrorBody)))]
pub async fn end_session(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(desk_id): Id,
) -> ApiResult<Json<SessionChange>> {
    Ok(Json(
        e.store
            .writer
            .write(move |ctx| sessions::end(ctx, desk_id, actor))
            .await?,
    ))
}
