//! Each desk's rating input, and the state of every device.

use axum::Json;
use axum::extract::State;

use super::error::{ApiJson, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_devices::inputs::InputStatus;
use otklik_devices::inputs::config::{self, DeskInput};

#[utoipa::path(get, path = "/api/v1/desks/{id}/input", params(("id" = i64, Path)),
    responses((status = 200, body = DeskInput), (status = 404, body = ErrorBody)))]
pub async fn get_input(State(e): State<AppState>, Id(desk_id): Id) -> ApiResult<Json<DeskInput>> {
    Ok(Json(
        e.store
            .reads
            .read(move |c| config::load(c, desk_id))
            .await?,
    ))
}

/// Sets where a desk's ratings come from; the device starts (or stops) at once.
#[utoipa::path(put, path = "/api/v1/desks/{id}/input", params(("id" = i64, Path)), request_body = DeskInput, security(("token" = [])),
    responses((status = 200, body = DeskInput), (status = 404, body = ErrorBody), (status = 409, description = "Key or port taken by another desk", body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn put_input(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(desk_id): Id,
    ApiJson(mut body): ApiJson<DeskInput>,
) -> ApiResult<Json<DeskInput>> {
    body.desk_id = desk_id;
    Ok(Json(e.set_input(body, actor).await?))
}

#[utoipa::path(get, path = "/api/v1/inputs", responses((status = 200, body = [InputStatus])))]
pub async fn list_inputs(State(e): State<AppState>) -> Json<Vec<InputStatus>> {
    Json(e.inputs.status.all())
}
