//! Registrars, desks and work sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiJson, ApiResult, ErrorBody, Id};
use super::{API_ACTOR, AppState};
use crate::roster::{self, Desk, Registrar, Update};
use crate::sessions::{self, SessionChange, SessionStarted};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionBody {
    pub registrar_id: i64,
}

#[utoipa::path(get, path = "/api/v1/registrars", responses((status = 200, body = [Registrar])))]
pub async fn list_registrars(State(e): State<AppState>) -> ApiResult<Json<Vec<Registrar>>> {
    Ok(Json(e.reads.read(roster::list_registrars).await?))
}

#[utoipa::path(get, path = "/api/v1/registrars/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Registrar), (status = 404, body = ErrorBody)))]
pub async fn get_registrar(State(e): State<AppState>, Id(id): Id) -> ApiResult<Json<Registrar>> {
    Ok(Json(
        e.reads.read(move |c| roster::get_registrar(c, id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/registrars", request_body = NameBody, security(("token" = [])),
    responses((status = 201, body = Registrar), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_registrar(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Registrar>)> {
    let reg = e
        .writer
        .write(move |ctx| roster::create_registrar(ctx, &body.name, API_ACTOR))
        .await?;
    Ok((StatusCode::CREATED, Json(reg)))
}

#[utoipa::path(patch, path = "/api/v1/registrars/{id}", params(("id" = i64, Path)), request_body = Update, security(("token" = [])),
    responses((status = 200, body = Registrar), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_registrar(
    State(e): State<AppState>,
    Id(id): Id,
    ApiJson(body): ApiJson<Update>,
) -> ApiResult<Json<Registrar>> {
    Ok(Json(
        e.writer
            .write(move |ctx| roster::update_registrar(ctx, id, &body, API_ACTOR))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/desks", responses((status = 200, description = "Desks with who works at each now", body = [Desk])))]
pub async fn list_desks(State(e): State<AppState>) -> ApiResult<Json<Vec<Desk>>> {
    Ok(Json(e.reads.read(roster::list_desks).await?))
}

#[utoipa::path(get, path = "/api/v1/desks/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = Desk), (status = 404, body = ErrorBody)))]
pub async fn get_desk(State(e): State<AppState>, Id(id): Id) -> ApiResult<Json<Desk>> {
    Ok(Json(e.reads.read(move |c| roster::get_desk(c, id)).await?))
}

#[utoipa::path(post, path = "/api/v1/desks", request_body = NameBody, security(("token" = [])),
    responses((status = 201, body = Desk), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_desk(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<NameBody>,
) -> ApiResult<(StatusCode, Json<Desk>)> {
    let desk = e
        .writer
        .write(move |ctx| roster::create_desk(ctx, &body.name, API_ACTOR))
        .await?;
    Ok((StatusCode::CREATED, Json(desk)))
}

#[utoipa::path(patch, path = "/api/v1/desks/{id}", params(("id" = i64, Path)), request_body = Update, security(("token" = [])),
    responses((status = 200, body = Desk), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_desk(
    State(e): State<AppState>,
    Id(id): Id,
    ApiJson(body): ApiJson<Update>,
) -> ApiResult<Json<Desk>> {
    Ok(Json(
        e.writer
            .write(move |ctx| roster::update_desk(ctx, id, &body, API_ACTOR))
            .await?,
    ))
}

/// Starts a registrar's work session at a desk, closing the desk's previous session and the
/// registrar's session at any other desk.
#[utoipa::path(post, path = "/api/v1/desks/{id}/session", params(("id" = i64, Path)), request_body = SessionBody, security(("token" = [])),
    responses((status = 201, body = SessionStarted), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_session(
    State(e): State<AppState>,
    Id(desk_id): Id,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult<(StatusCode, Json<SessionStarted>)> {
    let started = e
        .writer
        .write(move |ctx| sessions::start(ctx, desk_id, body.registrar_id, API_ACTOR))
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// Ends the session open at a desk.
#[utoipa::path(delete, path = "/api/v1/desks/{id}/session", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = SessionChange), (status = 404, body = ErrorBody), (status = 409, description = "No session is open", body = ErrorBody)))]
pub async fn end_session(
    State(e): State<AppState>,
    Id(desk_id): Id,
) -> ApiResult<Json<SessionChange>> {
    Ok(Json(
        e.writer
            .write(move |ctx| sessions::end(ctx, desk_id, API_ACTOR))
            .await?,
    ))
}
