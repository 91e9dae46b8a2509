//! The HTTP API under `/api/v1`, the event stream, `/healthz`, and the screens' files.
//! Reading what a wall display shows needs no token; everything that writes does.

mod error;
mod live;
mod ratings;
mod roster;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::engine::Engine;
pub use error::{ApiError, ErrorBody};

pub type AppState = Arc<Engine>;

const BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Otklik API", description = "Patient ratings of the reception desk: registrars, desks, work sessions, ratings, leaderboard and live events."),
    paths(
        roster::list_registrars, roster::create_registrar, roster::get_registrar, roster::update_registrar,
        roster::list_desks, roster::create_desk, roster::get_desk, roster::update_desk,
        roster::start_session, roster::end_session,
        ratings::create_rating, ratings::list_ratings, ratings::get_rating, ratings::annul_rating, ratings::restore_rating,
        live::leaderboard, live::events, live::get_settings, live::patch_settings, live::audit, live::healthz,
    ),
    modifiers(&BearerAuth),
    tags((name = "otklik"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router(engine: Arc<Engine>) -> Router {
    let protected = Router::new()
        .route("/registrars", post(roster::create_registrar))
        .route(
            "/registrars/{id}",
            axum::routing::patch(roster::update_registrar),
        )
        .route("/desks", post(roster::create_desk))
        .route("/desks/{id}", axum::routing::patch(roster::update_desk))
        .route(
            "/desks/{id}/session",
            post(roster::start_session).delete(roster::end_session),
        )
        .route(
            "/ratings",
            post(ratings::create_rating).get(ratings::list_ratings),
        )
        .route("/ratings/{id}", get(ratings::get_rating))
        .route("/ratings/{id}/annul", post(ratings::annul_rating))
        .route("/ratings/{id}/restore", post(ratings::restore_rating))
        .route("/settings", axum::routing::patch(live::patch_settings))
        .route("/audit", get(live::audit))
        .route_layer(middleware::from_fn_with_state(
            engine.clone(),
            require_token,
        ));

    let public = Router::new()
        .route("/registrars", get(roster::list_registrars))
        .route("/registrars/{id}", get(roster::get_registrar))
        .route("/desks", get(roster::list_desks))
        .route("/desks/{id}", get(roster::get_desk))
        .route("/leaderboard", get(live::leaderboard))
        .route("/events", get(live::events))
        .route("/settings", get(live::get_settings))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }));

    let api = protected
        .merge(public)
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));

    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(live::healthz))
        .fallback(crate::ui::serve)
        .with_state(engine)
}

async fn require_token(State(engine): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if engine.token_matches(t) => next.run(req).await,
        Some(_) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API token is wrong").into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the API token: send Authorization: Bearer <token> (otklik token prints it)",
        )
        .into_response(),
    }
}

/// The actor recorded in the audit log for changes made through the API.
const API_ACTOR: &str = "api";
