//! Desk PCs. On the desk PC: pairing with the reception (token holders only). On the reception:
//! the batches desk PCs send, taken only with a desk PC's own token (a panel of role `desk_pc`),
//! and the list of paired desk PCs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiJson, ApiResult, ErrorBody};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::link::{Ack, Batch, Gap};
use otklik_engine::uplink::Uplink;
use otklik_store::desk_pcs::DeskPc;
use otklik_store::panels::Role;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskPcPairBody {
    /// The reception's Otklik, http://host:port.
    pub reception_url: String,
    /// The six digits the reception's console shows for this desk's desk PC.
    pub code: String,
}

/// On the desk PC: pairs it with the reception (the code its console showed for a desk PC);
/// from then on every press made here is forwarded there, in order, each once.
#[utoipa::path(post, path = "/api/v1/desk-pc/pair", request_body = DeskPcPairBody, security(("token" = [])),
    responses((status = 200, body = Uplink), (status = 403, description = "Wrong or expired code", body = ErrorBody),
              (status = 409, description = "Linked to a network hub", body = ErrorBody),
              (status = 422, description = "A bad address or code, or the reception cannot be reached", body = ErrorBody)))]
pub async fn pair_with_reception(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<DeskPcPairBody>,
) -> ApiResult<Json<Uplink>> {
    Ok(Json(
        e.pair_with_reception(body.reception_url, body.code, actor.to_string())
            .await?,
    ))
}

/// On the reception: a desk PC's batch of changes (its journal, oldest first). Its presses
/// become ratings at its desk, bound to the session open at the press time, each once; its
/// other changes are acknowledged and ignored. Only a paired desk PC's token is taken.
#[utoipa::path(post, path = "/api/v1/desk-pc/ingest", request_body = Batch,
    responses((status = 200, body = Ack), (status = 401, description = "Not a paired device", body = ErrorBody),
              (status = 403, description = "A panel, not a desk PC", body = ErrorBody),
              (status = 409, description = "The batch leaves a gap: `expected` is the next seq", body = Gap),
              (status = 422, body = ErrorBody)))]
pub async fn desk_pc_ingest(
    State(e): State<AppState>,
    headers: HeaderMap,
    ApiJson(batch): ApiJson<Batch>,
) -> ApiResult<Response> {
    let Some(key) = super::bearer(&headers).and_then(|t| e.panels.check(t)) else {
        return Err(Error::Unauthorized(
            "this device is not a paired desk PC: pair it with a code from the reception's console (Desks → Panels)"
                .into(),
        )
        .into());
    };
    if key.role != Role::DeskPc {
        return Err(Error::Forbidden(format!(
            "this device is paired as a panel of desk {}, not as a desk PC",
            key.desk_id
        ))
        .into());
    }
    Ok(match e.ingest_from_desk_pc(key, batch).await? {
        Ok(ack) => Json(ack).into_response(),
        Err(gap) => (StatusCode::CONFLICT, Json(gap)).into_response(),
    })
}

/// On the reception: the paired desk PCs, where each one's journal stands, when it was last
/// heard from, its clock against this PC's.
#[utoipa::path(get, path = "/api/v1/desk-pcs", security(("token" = [])),
    responses((status = 200, body = [DeskPc])))]
pub async fn list_desk_pcs(State(e): State<AppState>) -> ApiResult<Json<Vec<DeskPc>>> {
    Ok(Json(e.desk_pcs().await?))
}
