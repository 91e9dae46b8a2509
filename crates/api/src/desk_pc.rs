//! Desk PCs. On the desk PC: pairing with the reception (token holders only). On the reception:
//! the batches desk PCs send, taken only with a desk PC's own token (a panel of role `desk_pc`),
//! and the list of paired desk PCs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::link::{Ack, Batch, Gap};
use otklik_engine::desk_pc::MediaUpload;
use otklik_engine::uplink::Uplink;
use otklik_store::desk_pcs::DeskPc;
use otklik_store::media::Media;
use otklik_store::panels::{PanelKey, Role};

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
    let key = desk_pc(&e, &headers)?;
    Ok(match e.ingest_from_desk_pc(key, batch).await? {
        Ok(ack) => Json(ack).into_response(),
        Err(gap) => (StatusCode::CONFLICT, Json(gap)).into_response(),
    })
}

/// The paired desk PC a request comes from: 401 for any other device, 403 for a panel.
fn desk_pc(e: &AppState, headers: &HeaderMap) -> Result<PanelKey, Error> {
    let Some(key) = super::bearer(headers).and_then(|t| e.panels.check(t)) else {
        return Err(Error::Unauthorized(
            "this device is not a paired desk PC: pair it with a code from the reception's console (Desks → Panels)"
                .into(),
        ));
    };
    if key.role != Role::DeskPc {
        return Err(Error::Forbidden(format!(
            "this device is paired as a panel of desk {}, not as a desk PC",
            key.desk_id
        )));
    }
    Ok(key)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeskPcMediaQuery {
    /// `photo` (a JPEG) or `audio` (an Ogg/Opus clip).
    pub kind: String,
    /// The desk PC's own ids of the ratings it belongs to, comma-separated.
    pub ratings: String,
    /// The span a clip covers (ms since the epoch).
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// On the reception: a photo or clip a desk PC took around its presses (the file is the body),
/// sent after their ratings; kept with the ratings they became here, once by the desk PC's id
/// for it (`id`). 404 while none of its ratings has arrived.
#[utoipa::path(post, path = "/api/v1/desk-pc/media/{id}", params(("id" = i64, Path), DeskPcMediaQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Media), (status = 200, description = "Here already", body = Media),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn desk_pc_media(
    State(e): State<AppState>,
    headers: HeaderMap,
    Id(local_id): Id,
    ApiQuery(q): ApiQuery<DeskPcMediaQuery>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Media>)> {
    let key = desk_pc(&e, &headers)?;
    let ratings = q
        .ratings
        .split(',')
        .map(|r| r.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::invalid("ratings", "must be rating ids separated by commas"))?;
    let span = match (q.from, q.to) {
        (Some(f), Some(t)) if f <= t => Some((f, t)),
        (None, None) => None,
        _ => return Err(Error::invalid("to", "from and to go together, from first").into()),
    };
    let upload = MediaUpload {
        local_id,
        kind: q.kind,
        ratings,
        span,
    };
    let (created, media) = e.media_from_desk_pc(key, upload, body.to_vec()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(media)))
}

/// On the reception: the paired desk PCs, where each one's journal stands, when it was last
/// heard from, its clock against this PC's.
#[utoipa::path(get, path = "/api/v1/desk-pcs", security(("token" = [])),
    responses((status = 200, body = [DeskPc])))]
pub async fn list_desk_pcs(State(e): State<AppState>) -> ApiResult<Json<Vec<DeskPc>>> {
    Ok(Json(e.desk_pcs().await?))
}
