//! The HTTP API under `/api/v1`, the event stream, `/healthz`, and the screens' files.
//! Reading what a wall display shows needs no token; everything that writes does.

pub(crate) mod console;
mod desk_pc;
mod error;
mod evidence;
mod hosts;
mod inputs;
mod live;
mod maintenance;
mod notify;
mod panels;
mod ratings;
mod reports;
mod roster;
mod server;
mod setup;
mod ui;
mod uplink;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

pub use error::{ApiError, ErrorBody};
use otklik_domain::time::now_ms;
use otklik_engine::engine::Engine;
pub use server::Server;

pub type AppState = Arc<Engine>;

const BODY_LIMIT: usize = 64 * 1024;
/// A desk PC's batch: up to 1000 changes of a few hundred bytes each.
const INGEST_LIMIT: usize = 4 * 1024 * 1024;
/// A desk PC's photo or clip.
const MEDIA_LIMIT: usize = 32 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Otklik API", description = "Patient ratings of the reception desk: registrars, desks, work sessions, ratings, leaderboard and live events."),
    paths(
        roster::list_registrars, roster::create_registrar, roster::get_registrar, roster::update_registrar,
        roster::list_desks, roster::create_desk, roster::get_desk, roster::update_desk,
        roster::start_session, roster::end_session,
        ratings::create_rating, ratings::list_ratings, ratings::get_rating, ratings::annul_rating, ratings::restore_rating,
        live::leaderboard, live::events, live::all_events, live::ticket, live::get_settings, live::get_public_settings, live::settings_at_restart, live::patch_settings, live::audit, live::healthz,
        panels::tap, panels::checkin, panels::checkout, panels::serving, panels::pick_reason, panels::contest, panels::low_ratings,
        panels::new_pairing, panels::pair, panels::list_panels, panels::revoke_panel, panels::me,
        inputs::get_input, inputs::put_input, inputs::list_inputs,
        reports::report, reports::export, reports::export_ratings,
        evidence::get_evidence, evidence::put_evidence, evidence::rating_evidence, evidence::get_media, evidence::purge,
        console::state, console::login, console::logout, console::set_password, console::list_contests, console::decide,
        console::list_supervisors, console::add_supervisor, console::remove_supervisor,
        notify::get_notify, notify::put_notify, notify::put_secrets, notify::pairing, notify::patch_chat, notify::delete_chat, notify::test,
        notify::list_outbox, notify::retry, notify::list_alerts, notify::take, notify::resolve,
        maintenance::list_backups, maintenance::create_backup, maintenance::download_backup, maintenance::restore, maintenance::cancel_restore, maintenance::diagnostics,
        setup::status, setup::put_step, setup::camera_frame, setup::microphone_level, setup::export, setup::import, setup::demo,
        uplink::get_uplink, uplink::put_uplink, uplink::delete_uplink, uplink::put_person,
        desk_pc::pair_with_reception, desk_pc::desk_pc_ingest, desk_pc::desk_pc_media, desk_pc::list_desk_pcs,
    ),
    // Query parameters' types are not collected from `IntoParams` structs: name them here.
    components(schemas(reports::ExportFormat)),
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

/// The whole HTTP surface of an engine listening on `listen`.
pub fn router(engine: Arc<Engine>, listen: std::net::IpAddr) -> Router {
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
        .route(
            "/settings",
            get(live::get_settings).patch(live::patch_settings),
        )
        .route("/events/ticket", post(live::ticket))
        .route(
            "/desks/{id}/input",
            get(inputs::get_input).put(inputs::put_input),
        )
        .route("/inputs", get(inputs::list_inputs))
        .route("/audit", get(live::audit))
        .route(
            "/desks/{id}/evidence",
            get(evidence::get_evidence).put(evidence::put_evidence),
        )
        .route("/ratings/{id}/evidence", get(evidence::rating_evidence))
        .route("/media/{id}", get(evidence::get_media))
        .route("/media/purge", post(evidence::purge))
        .route("/reports", get(reports::report))
        .route("/reports/export", get(reports::export))
        .route("/ratings/export", get(reports::export_ratings))
        .route("/contests", get(console::list_contests))
        .route("/contests/{id}/decision", post(console::decide))
        .route("/console/logout", post(console::logout))
        .route(
            "/supervisors",
            get(console::list_supervisors).post(console::add_supervisor),
        )
        .route(
            "/supervisors/{id}",
            axum::routing::delete(console::remove_supervisor),
        )
        .route("/notify", get(notify::get_notify).put(notify::put_notify))
        .route("/notify/secrets", axum::routing::put(notify::put_secrets))
        .route("/notify/pairing", post(notify::pairing))
        .route(
            "/notify/chats/{id}",
            axum::routing::patch(notify::patch_chat).delete(notify::delete_chat),
        )
        .route("/notify/test", post(notify::test))
        .route("/outbox", get(notify::list_outbox))
        .route("/outbox/{id}/retry", post(notify::retry))
        .route("/alerts", get(notify::list_alerts))
        .route("/alerts/{id}/take", post(notify::take))
        .route("/alerts/{id}/resolve", post(notify::resolve))
        .route(
            "/backups",
            get(maintenance::list_backups).post(maintenance::create_backup),
        )
        .route("/backups/{name}", get(maintenance::download_backup))
        .route(
            "/backups/restore",
            post(maintenance::restore).delete(maintenance::cancel_restore),
        )
        .route("/diagnostics", post(maintenance::diagnostics))
        .route("/setup", axum::routing::put(setup::put_step))
        .route("/desks/{id}/camera/frame", get(setup::camera_frame))
        .route("/desks/{id}/microphone/level", get(setup::microphone_level))
        .route("/settings/export", get(setup::export))
        .route("/settings/import", post(setup::import))
        .route("/demo", post(setup::demo))
        .route("/desks/{id}/pairing", post(panels::new_pairing))
        .route("/panels", get(panels::list_panels))
        .route("/panels/{id}", axum::routing::delete(panels::revoke_panel))
        .route(
            "/registrars/{id}/person",
            axum::routing::put(uplink::put_person),
        )
        .route(
            "/uplink",
            get(uplink::get_uplink)
                .put(uplink::put_uplink)
                .delete(uplink::delete_uplink),
        )
        .route("/desk-pc/pair", post(desk_pc::pair_with_reception))
        .route("/desk-pcs", get(desk_pc::list_desk_pcs))
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
        .route("/events/all", get(live::all_events))
        .route("/settings/public", get(live::get_public_settings))
        .route(
            "/settings/applies-at-restart",
            get(live::settings_at_restart),
        )
        // The desk and patient panels: guarded by registrars' PINs and the panel's lock-out.
        .route("/desks/{id}/tap", post(panels::tap))
        .route("/desks/{id}/checkin", post(panels::checkin))
        .route("/desks/{id}/checkout", post(panels::checkout))
        .route("/desks/{id}/serving", post(panels::serving))
        .route("/ratings/{id}/contest", post(panels::contest))
        .route("/ratings/{id}/reason", post(panels::pick_reason))
        .route("/registrars/{id}/low-ratings", get(panels::low_ratings))
        .route("/panels/pair", post(panels::pair))
        .route("/panels/me", get(panels::me))
        // A desk PC's batches: its own token, checked in the handler; a day's backlog of
        // presses in a batch is larger than other bodies.
        .route(
            "/desk-pc/ingest",
            post(desk_pc::desk_pc_ingest).layer(DefaultBodyLimit::max(INGEST_LIMIT)),
        )
        .route(
            "/desk-pc/media/{id}",
            post(desk_pc::desk_pc_media).layer(DefaultBodyLimit::max(MEDIA_LIMIT)),
        )
        .route("/console", get(console::state))
        .route("/console/login", post(console::login))
        .route("/console/password", post(console::set_password))
        .route("/setup", get(setup::status))
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

    let hosts = Arc::new(hosts::HostPolicy::new(listen));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(live::healthz))
        .fallback(crate::ui::serve)
        .layer(middleware::from_fn_with_state(
            (engine.clone(), hosts),
            hosts::guard,
        ))
        .with_state(engine)
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Who made a change, for the audit log: `api` (the API token) or `console:<name>` (a
/// supervisor's console login).
#[derive(Debug, Clone, Copy)]
pub struct Actor(pub &'static str);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Actor>()
            .copied()
            .unwrap_or(Actor(API_ACTOR)))
    }
}

/// The actor a bearer token stands for: the API token or a live console login.
pub(crate) fn credential(engine: &Engine, token: &str) -> Option<&'static str> {
    if engine.token_matches(token) {
        Some(API_ACTOR)
    } else if let Some(user) = engine.guard.session(token, now_ms()) {
        Some(user.actor)
    } else {
        None
    }
}

/// Whether the request carries the API token or a live console login.
pub(crate) fn signed_in(engine: &Engine, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| credential(engine, t).is_some())
}

async fn require_token(State(engine): State<AppState>, mut req: Request, next: Next) -> Response {
    let who = match bearer(req.headers()) {
        Some(t) if engine.token_matches(t) => Ok(None),
        Some(t) => engine
            .guard
            .session(t, now_ms())
            .map(Some)
            .ok_or("the API token is wrong, or the console login has expired"),
        None => Err(
            "this endpoint needs the API token: send Authorization: Bearer <token> (otklik token prints it)",
        ),
    };
    match who {
        Ok(who) => {
            let actor = who.as_ref().map_or(API_ACTOR, |u| u.actor);
            req.extensions_mut().insert(Actor(actor));
            if let Some(user) = who {
                req.extensions_mut().insert(user);
            }
            next.run(req).await
        }
        Err(msg) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg).into_response(),
    }
}

/// The actor recorded in the audit log for changes made with the API token.
const API_ACTOR: &str = "api";
