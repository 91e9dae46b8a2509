//! The supervisor console's login, and the decisions only a supervisor makes.
//!
//! A console login is a bearer token like the API token, issued for the console password. Until a
//! password is set, only the reception PC itself (loopback) or a holder of the API token may set
//! one, so that the first person on the LAN cannot claim the console.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState, bearer};
use crate::access;
use crate::contests::{self, Contest, ContestView, Decision};
use crate::error::Error;
use crate::time::{now_ms, to_rfc3339};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleState {
    pub password_set: bool,
    /// Whether this client may set the first password (it is the reception PC itself).
    pub can_set_up: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordBody {
    /// The new PIN or password, 4 to 128 characters.
    #[schema(min_length = 4, max_length = 128)]
    pub password: String,
    /// The current one; not needed for the first password, nor with the API token.
    pub current: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Login {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub idle_expiry_secs: u64,
    pub at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: Decision,
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContestsQuery {
    /// Only undecided contests (default true).
    pub open: Option<bool>,
}

/// The client's address, when the server knows it (tests may call the router without one).
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

impl Peer {
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        self.0.map(|a| a.ip())
    }

    pub fn is_loopback(&self) -> bool {
        self.0.is_some_and(|a| a.ip().is_loopback())
    }
}

#[utoipa::path(get, path = "/api/v1/console", responses((status = 200, body = ConsoleState)))]
pub async fn state(State(e): State<AppState>, peer: Peer) -> ApiResult<Json<ConsoleState>> {
    let password_set = e.reads.read(access::console_password_hash).await?.is_some();
    Ok(Json(ConsoleState {
        password_set,
        can_set_up: !password_set && peer.is_loopback(),
    }))
}

#[utoipa::path(post, path = "/api/v1/console/login", request_body = PasswordBody,
    responses((status = 201, body = Login), (status = 403, body = ErrorBody), (status = 409, description = "No password set yet", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn login(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<(StatusCode, Json<Login>)> {
    if !e.check_console_password(body.password).await? {
        return Err(Error::Conflict(
            "no console password is set yet: set one on the reception PC first".into(),
        )
        .into());
    }
    let now = now_ms();
    Ok((
        StatusCode::CREATED,
        Json(Login {
            token: e.guard.open_session(now),
            idle_expiry_secs: (access::CONSOLE_IDLE_MS / 1000) as u64,
            at: to_rfc3339(now),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/console/logout", security(("token" = [])), responses((status = 204)))]
pub async fn logout(State(e): State<AppState>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = bearer(&headers) {
        e.guard.close_session(t);
    }
    StatusCode::NO_CONTENT
}

/// Sets the console password: the first one from the reception PC (or with the API token), a
/// new one with the current one (or the API token). Every console is logged out.
#[utoipa::path(post, path = "/api/v1/console/password", request_body = NewPasswordBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn set_password(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewPasswordBody>,
) -> ApiResult<StatusCode> {
    access::check_password(&body.password)?;
    let with_token = bearer(&headers).is_some_and(|t| e.token_matches(t));
    let is_set = e.reads.read(access::console_password_hash).await?.is_some();
    if !with_token {
        if is_set {
            let Some(current) = body.current else {
                return Err(Error::invalid("current", "the current password is needed").into());
            };
            e.check_console_password(current).await?;
        } else if !peer.is_loopback() {
            return Err(Error::Forbidden(
                "the first console password can only be set on the reception PC itself".into(),
            )
            .into());
        }
    }
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || access::hash_secret(&password))
        .await
        .map_err(|_| Error::CommitFailed("could not hash the password".into()))?;
    let actor = if with_token { "api" } else { "console" };
    e.writer
        .write(move |ctx| access::set_console_password(ctx, &hash, actor))
        .await?;
    e.guard.close_all_sessions();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/contests", params(ContestsQuery), security(("token" = [])),
    responses((status = 200, body = [ContestView])))]
pub async fn list_contests(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<ContestsQuery>,
) -> ApiResult<Json<Vec<ContestView>>> {
    let open = q.open.unwrap_or(true);
    Ok(Json(
        e.reads.read(move |c| contests::list(c, open, 200)).await?,
    ))
}

/// Upholds a contested rating, or annuls it (kept, marked, left out of the ranking).
#[utoipa::path(post, path = "/api/v1/contests/{id}/decision", params(("id" = i64, Path)), request_body = DecisionBody, security(("token" = [])),
    responses((status = 200, body = Contest), (status = 404, body = ErrorBody), (status = 409, description = "Already decided", body = ErrorBody)))]
pub async fn decide(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Json<Contest>> {
    Ok(Json(
        e.writer
            .write(move |ctx| {
                contests::decide(ctx, id, body.decision, body.comment.as_deref(), actor)
            })
            .await?,
    ))
}
