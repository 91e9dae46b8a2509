//! Evidence settings per desk, a rating's photo and clip, and the files themselves: token
//! holders (and the console) only, since they show people.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;

use super::error::{ApiJson, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_devices::evidence::config::{self, DeskEvidence};
use otklik_domain::error::Error;
use otklik_domain::time::now_ms;
use otklik_store::media::{self, Media, Purged};

#[utoipa::path(get, path = "/api/v1/desks/{id}/evidence", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = DeskEvidence), (status = 404, body = ErrorBody)))]
pub async fn get_evidence(
    State(e): State<AppState>,
    Id(desk_id): Id,
) -> ApiResult<Json<DeskEvidence>> {
    Ok(Json(
        e.store
            .reads
            .read(move |c| config::load(c, desk_id))
            .await?,
    ))
}

/// Turns photos and audio on or off at a desk, with its camera and microphone.
#[utoipa::path(put, path = "/api/v1/desks/{id}/evidence", params(("id" = i64, Path)), request_body = DeskEvidence, security(("token" = [])),
    responses((status = 200, body = DeskEvidence), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_evidence(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(desk_id): Id,
    ApiJson(mut body): ApiJson<DeskEvidence>,
) -> ApiResult<Json<DeskEvidence>> {
    body.desk_id = desk_id;
    Ok(Json(e.set_evidence(body, actor).await?))
}

#[utoipa::path(get, path = "/api/v1/ratings/{id}/evidence", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, description = "The rating's photo and clip, saved, missing (with the reason) or purged", body = [Media]), (status = 404, body = ErrorBody)))]
pub async fn rating_evidence(
    State(e): State<AppState>,
    Id(rating_id): Id,
) -> ApiResult<Json<Vec<Media>>> {
    Ok(Json(
        e.store
            .reads
            .read(move |c| media::for_rating(c, rating_id))
            .await?,
    ))
}

/// The photo (JPEG) or clip (Ogg/Opus) itself.
#[utoipa::path(get, path = "/api/v1/media/{id}", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, description = "image/jpeg or audio/ogg"), (status = 404, body = ErrorBody), (status = 409, description = "Missing or purged", body = ErrorBody)))]
pub async fn get_media(State(e): State<AppState>, Id(id): Id) -> ApiResult<Response> {
    let (file, mime) = e.store.reads.read(move |c| media::file_of(c, id)).await?;
    let path = media::file_path(&e.store.data_dir, &file)
        .ok_or_else(|| Error::Conflict(format!("media {id} has no file")))?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|err| Error::io(format!("cannot read media {id}"), err))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, mime)
        .header(header::CACHE_CONTROL, "private, max-age=3600")
        .body(Body::from(bytes))
        .expect("a valid response"))
}

/// Runs the retention purge now (it also runs every hour).
#[utoipa::path(post, path = "/api/v1/media/purge", security(("token" = [])), responses((status = 200, body = Purged)))]
pub async fn purge(State(e): State<AppState>) -> ApiResult<Json<Purged>> {
    Ok(Json(e.purge_media(now_ms()).await?))
}
