//! The site's link to the network hub: its state (backlog, lag, last error), linking with the
//! key the hub issued, and unlinking. For token holders and console logins only.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiJson, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_engine::uplink::Uplink;
use otklik_store::roster::Registrar;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The hub's address, https://host:port.
    pub hub_url: String,
    /// The key `otklik hub add-site` printed for this site; kept with the other secrets,
    /// never shown again.
    pub site_key: String,
}

/// The link to the network hub: the address, changes not yet acknowledged (and since when),
/// the last batch that landed, the last error, the hub's clock against this PC's.
#[utoipa::path(get, path = "/api/v1/uplink", security(("token" = [])),
    responses((status = 200, body = Uplink)))]
pub async fn get_uplink(State(e): State<AppState>) -> ApiResult<Json<Uplink>> {
    Ok(Json(e.uplink().await?))
}

/// Links this installation to a hub; the first link sends the whole stored history.
#[utoipa::path(put, path = "/api/v1/uplink", request_body = LinkRequest, security(("token" = [])),
    responses((status = 200, body = Uplink), (status = 422, body = ErrorBody)))]
pub async fn put_uplink(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(req): ApiJson<LinkRequest>,
) -> ApiResult<Json<Uplink>> {
    Ok(Json(
        e.link_to_hub(req.hub_url, req.site_key, actor.to_string())
            .await?,
    ))
}

/// Ends the link: nothing more is sent, and what was not sent yet is dropped.
#[utoipa::path(delete, path = "/api/v1/uplink", security(("token" = [])),
    responses((status = 200, body = Uplink)))]
pub async fn delete_uplink(
    State(e): State<AppState>,
    Actor(actor): Actor,
) -> ApiResult<Json<Uplink>> {
    Ok(Json(e.unlink_from_hub(actor.to_string()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    /// A person of the network's roster (GET /api/v1/uplink lists them), or null for none.
    pub person_id: Option<i64>,
}

/// Says which of the network's people this registrar is, so one who works at two sites counts
/// as one person in the network's reports.
#[utoipa::path(put, path = "/api/v1/registrars/{id}/person", request_body = PersonRequest,
    params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = Registrar), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_person(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(req): ApiJson<PersonRequest>,
) -> ApiResult<Json<Registrar>> {
    let person = req.person_id;
    Ok(Json(
        e.store
            .writer
            .write(move |ctx| otklik_store::uplink::set_person(ctx, id, person, actor))
            .await?,
    ))
}
