//! The supervisor console's logins, its supervisors, and the decisions only a supervisor makes.
//!
//! A console login is a bearer token like the API token, issued to one supervisor for their name
//! and password. Until the first supervisor is set up, only the reception PC itself (loopback) or
//! a holder of the API token may set one up, so that the first person on the LAN cannot claim the
//! console. Wrong guesses are braked per client address and per name (see `access::Guard`).

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState, bearer};
use otklik_domain::error::Error;
use otklik_domain::time::{now_ms, to_rfc3339};
use otklik_store::access::{self, ConsoleUser, Supervisor};
use otklik_store::contests::{self, Contest, ContestView, Decision};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleState {
    /// Whether any supervisor is set up (and so the console can be logged into).
    pub password_set: bool,
    /// Whether this client may set up the first supervisor (it is the reception PC itself).
    pub can_set_up: bool,
    /// The supervisor whose console login came with this request, if it is live.
    pub logged_in_as: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The supervisor's name (any case).
    pub name: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPasswordBody {
    /// The new PIN or password, 4 to 128 characters.
    #[schema(min_length = 4, max_length = 128)]
    pub password: String,
    /// The current one; not needed for the first supervisor, nor with the API token.
    pub current: Option<String>,
    /// Whose password: the first supervisor's name (default "Руководитель"); with the API
    /// token or without a console login, the supervisor's. A console login changes its own.
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupervisorBody {
    /// 1 to 100 characters, unique regardless of case.
    pub name: String,
    /// Their first password, 4 to 128 characters; they can change it once logged in.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Login {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub idle_expiry_secs: u64,
    pub at: String,
    /// The supervisor logged in, as they were named.
    pub name: String,
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

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The extractor, not the extension: it also finds axum's `MockConnectInfo` (router tests).
        Ok(Peer(
            ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
                .await
                .ok()
                .map(|c| c.0),
        ))
    }
}

impl Peer {
    /// Where the brake counts this request's guesses; an unknown client is some LAN device.
    pub fn ip(&self) -> IpAddr {
        self.0.map_or(access::UNKNOWN_CLIENT, |a| a.ip())
    }

    pub fn is_loopback(&self) -> bool {
        access::client_key(self.ip()).is_loopback()
    }
}

/// The supervisor behind a protected request, if a console login (not the API token) made it.
pub struct LoggedIn(pub Option<ConsoleUser>);

impl<S: Send + Sync> FromRequestParts<S> for LoggedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(LoggedIn(parts.extensions.get::<ConsoleUser>().cloned()))
    }
}

/// What the brake counts a login's guesses against: the name as it is looked up.
fn login_target(name: &str) -> String {
    format!("console:{}", access::name_key(name))
}

#[utoipa::path(get, path = "/api/v1/console", responses((status = 200, body = ConsoleState)))]
pub async fn state(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
) -> ApiResult<Json<ConsoleState>> {
    let password_set = e.store.reads.read(access::any_supervisor).await?;
    Ok(Json(ConsoleState {
        password_set,
        can_set_up: !password_set && peer.is_loopback(),
        logged_in_as: bearer(&headers)
            .and_then(|t| e.guard.session(t, now_ms()))
            .map(|u| u.name),
    }))
}

/// Checks a supervisor's name and password, braked; the supervisor if they match.
async fn check_login(
    e: &AppState,
    peer: &Peer,
    name: &str,
    password: String,
) -> ApiResult<Supervisor> {
    let name = otklik_store::roster::clean_name(name)?;
    let lookup = name.clone();
    let found = e
        .store
        .reads
        .read(move |c| access::supervisor_by_name(c, &lookup))
        .await?;
    let (who, hash) = found.map_or((None, None), |(w, h)| (Some(w), Some(h)));
    e.guard
        .check(
            &login_target(&name),
            peer.ip(),
            hash,
            password,
            "wrong name or password",
        )
        .await?;
    Ok(who.expect("a right password belongs to someone"))
}

#[utoipa::path(post, path = "/api/v1/console/login", request_body = LoginBody,
    responses((status = 201, body = Login), (status = 403, description = "Wrong name or password", body = ErrorBody),
              (status = 409, description = "No supervisor set up yet", body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, description = "Too many wrong attempts (Retry-After says for how long)", body = ErrorBody),
              (status = 503, description = "Too many checks at once", body = ErrorBody)))]
pub async fn login(
    State(e): State<AppState>,
    peer: Peer,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<(StatusCode, Json<Login>)> {
    if !e.store.reads.read(access::any_supervisor).await? {
        return Err(Error::Conflict(
            "no console password is set yet: set one on the reception PC first".into(),
        )
        .into());
    }
    let who = check_login(&e, &peer, &body.name, body.password).await?;
    let now = now_ms();
    Ok((
        StatusCode::CREATED,
        Json(Login {
            token: e.guard.open_session(&who, now),
            idle_expiry_secs: (access::CONSOLE_IDLE_MS / 1000) as u64,
            at: to_rfc3339(now),
            name: who.name,
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

/// Sets up the first supervisor (from the reception PC, or with the API token), or changes a
/// supervisor's password: one's own with a console login and the current one, anyone's with the
/// API token, or by name with the current one. Their consoles are logged out.
#[utoipa::path(post, path = "/api/v1/console/password", request_body = NewPasswordBody,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn set_password(
    State(e): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewPasswordBody>,
) -> ApiResult<StatusCode> {
    access::check_password(&body.password)?;
    let given = bearer(&headers);
    let with_token = given.is_some_and(|t| e.token_matches(t));
    let me = given
        .filter(|_| !with_token)
        .and_then(|t| e.guard.session(t, now_ms()));
    let password = body.password;
    let hash = |e: AppState| async move {
        e.guard
            .argon(true, move || access::hash_secret(&password))
            .await
    };

    if !e.store.reads.read(access::any_supervisor).await? {
        if !with_token && !peer.is_loopback() {
            return Err(Error::Forbidden(
                "the first console password can only be set on the reception PC itself".into(),
            )
            .into());
        }
        let name = otklik_store::roster::clean_name(
            body.name.as_deref().unwrap_or(access::FIRST_SUPERVISOR),
        )?;
        let actor = if with_token {
            "api"
        } else {
            access::console_actor(&name)
        };
        let hash = hash(e.clone()).await?;
        e.store
            .writer
            .write(move |ctx| access::add_supervisor(ctx, &name, &hash, true, actor))
            .await?;
        return Ok(StatusCode::NO_CONTENT);
    }

    let who = if with_token {
        let Some(name) = body.name else {
            return Err(Error::invalid("name", "say whose password this is").into());
        };
        let lookup = name.clone();
        e.store
            .reads
            .read(move |c| access::supervisor_by_name(c, &lookup))
            .await?
            .ok_or_else(|| Error::invalid("name", format!("no supervisor is named {name}")))?
            .0
    } else {
        let name = match (&me, body.name) {
            (Some(me), Some(n)) if access::name_key(&n) != access::name_key(&me.name) => {
                return Err(Error::invalid(
                    "name",
                    "a console login changes only its own password",
                )
                .into());
            }
            (Some(me), _) => me.name.clone(),
            (None, Some(n)) => n,
            (None, None) => {
                return Err(Error::invalid("name", "say whose password this is").into());
            }
        };
        let Some(current) = body.current else {
            return Err(Error::invalid("current", "the current password is needed").into());
        };
        check_login(&e, &peer, &name, current).await?
    };
    let actor = if with_token {
        "api"
    } else {
        access::console_actor(&who.name)
    };
    let hash = hash(e.clone()).await?;
    let id = who.id;
    e.store
        .writer
        .write(move |ctx| access::set_supervisor_password(ctx, id, &hash, actor))
        .await?;
    e.guard.close_sessions_of(id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/supervisors", security(("token" = [])), responses((status = 200, body = [Supervisor])))]
pub async fn list_supervisors(State(e): State<AppState>) -> ApiResult<Json<Vec<Supervisor>>> {
    Ok(Json(e.store.reads.read(access::supervisors).await?))
}

/// A supervisor adds another, with a first password.
#[utoipa::path(post, path = "/api/v1/supervisors", request_body = NewSupervisorBody, security(("token" = [])),
    responses((status = 201, body = Supervisor), (status = 409, description = "The name is taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_supervisor(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<NewSupervisorBody>,
) -> ApiResult<(StatusCode, Json<Supervisor>)> {
    let name = otklik_store::roster::clean_name(&body.name)?;
    access::check_password(&body.password)?;
    let password = body.password;
    let hash = e
        .guard
        .argon(true, move || access::hash_secret(&password))
        .await?;
    let who = e
        .store
        .writer
        .write(move |ctx| access::add_supervisor(ctx, &name, &hash, false, actor))
        .await?;
    Ok((StatusCode::CREATED, Json(who)))
}

/// Removes a supervisor (not the last one); their consoles are logged out.
#[utoipa::path(delete, path = "/api/v1/supervisors/{id}", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, description = "The last supervisor", body = ErrorBody)))]
pub async fn remove_supervisor(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    e.store
        .writer
        .write(move |ctx| access::remove_supervisor(ctx, id, actor))
        .await?;
    e.guard.close_sessions_of(id);
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
        e.store
            .reads
            .read(move |c| contests::list(c, open, 200))
            .await?,
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
        e.store
            .writer
            .write(move |ctx| {
                contests::decide(ctx, id, body.decision, body.comment.as_deref(), actor)
            })
            .await?,
    ))
}
