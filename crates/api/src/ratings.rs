//! Ratings: record, list, annul and restore.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_domain::time::parse_rfc3339;
use otklik_store::ratings::{self, Correction, Filter, NewRating, Rating, RatingPage};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRatingBody {
    pub desk_id: i64,
    /// 1 (lowest) to the number of levels of the scale.
    #[schema(minimum = 1)]
    pub score: i64,
    /// Where the rating came from: `api` by default, or e.g. `keys`, `serial`, `panel`.
    pub source: Option<String>,
    /// RFC 3339 time of the press, if not now; at most 5 minutes ahead of this PC's clock.
    pub at: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RatingsQuery {
    /// RFC 3339; ratings given at or after it.
    pub from: Option<String>,
    /// RFC 3339; ratings given before it.
    pub to: Option<String>,
    pub desk_id: Option<i64>,
    pub registrar_id: Option<i64>,
    /// `true`: only ratings flagged as suspicious.
    pub flagged: Option<bool>,
    /// The `next_after_id` of the previous page.
    pub after_id: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/ratings", request_body = NewRatingBody, security(("token" = [])),
    responses((status = 201, description = "Stored durably, bound to the registrar at the desk", body = Rating),
              (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_rating(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<NewRatingBody>,
) -> ApiResult<(StatusCode, Json<Rating>)> {
    let at = body
        .at
        .as_deref()
        .map(|t| parse_rfc3339("at", t))
        .transpose()?;
    let new = NewRating {
        desk_id: body.desk_id,
        score: body.score,
        source: body.source,
        at,
    };
    let rating = e.add_rating(new).await?;
    Ok((StatusCode::CREATED, Json(rating)))
}

#[utoipa::path(get, path = "/api/v1/ratings", params(RatingsQuery), security(("token" = [])),
    responses((status = 200, body = RatingPage), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_ratings(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<RatingsQuery>,
) -> ApiResult<Json<RatingPage>> {
    let limit = super::error::page_limit(q.limit)?;
    let filter = Filter {
        from: q
            .from
            .as_deref()
            .map(|t| parse_rfc3339("from", t))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .map(|t| parse_rfc3339("to", t))
            .transpose()?,
        desk_id: q.desk_id,
        registrar_id: q.registrar_id,
        flagged_only: q.flagged.unwrap_or(false),
        after_id: q.after_id,
        limit,
    };
    Ok(Json(
        e.store
            .reads
            .read(move |c| ratings::list(c, &filter))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/ratings/{id}", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = Rating), (status = 404, body = ErrorBody)))]
pub async fn get_rating(State(e): State<AppState>, Id(id): Id) -> ApiResult<Json<Rating>> {
    Ok(Json(
        e.store.reads.read(move |c| ratings::get(c, id)).await?,
    ))
}

/// Annuls a rating: it stays, marked, and no longer counts in the ranking.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/annul", params(("id" = i64, Path)), request_body = ReasonBody, security(("token" = [])),
    responses((status = 201, body = Correction), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn annul_rating(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<(StatusCode, Json<Correction>)> {
    let c = e
        .store
        .writer
        .write(move |ctx| ratings::correct(ctx, id, true, &body.reason, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Restores an annulled rating.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/restore", params(("id" = i64, Path)), request_body = ReasonBody, security(("token" = [])),
    responses((status = 201, body = Correction), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn restore_rating(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<(StatusCode, Json<Correction>)> {
    let c = e
        .store
        .writer
        .write(move |ctx| ratings::correct(ctx, id, false, &body.reason, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}
