//! The first run: whether the installation is fresh, the wizard's step, its live device tests (a
//! camera's frame now, a microphone's level now), demo data in place, and the settings file
//! (export, import).

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ApiJson, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_devices::evidence::recorder::DeskDevices;
use otklik_domain::error::Error;
use otklik_domain::time::now_ms;
use otklik_engine::setup::{self, DemoFilled, Imported, Problem, SettingsFile, SetupStatus};
use otklik_store::settings::SettingsPatch;

/// Whether the installation is fresh (the console then opens the wizard), and where the wizard
/// got to. Read-only, no token needed.
#[utoipa::path(get, path = "/api/v1/setup", responses((status = 200, body = SetupStatus)))]
pub async fn status(State(e): State<AppState>) -> ApiResult<Json<SetupStatus>> {
    Ok(Json(e.store.reads.read(setup::status).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// The wizard step reached, 1 to 9.
    #[schema(minimum = 1, maximum = 9)]
    pub step: i64,
}

/// Remembers the wizard's step, so that a reload (or another browser) resumes there.
#[utoipa::path(put, path = "/api/v1/setup", request_body = StepBody, security(("token" = [])),
    responses((status = 200, body = SetupStatus), (status = 422, body = ErrorBody)))]
pub async fn put_step(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<StepBody>,
) -> ApiResult<Json<SetupStatus>> {
    e.store
        .writer
        .write(move |ctx| setup::save_step(ctx.conn, body.step))
        .await?;
    Ok(Json(e.store.reads.read(setup::status).await?))
}

fn unavailable(reason: String) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", reason)
}

/// A desk's open devices; 404 if there is no such desk.
async fn devices_of(e: &AppState, desk_id: i64) -> ApiResult<DeskDevices> {
    e.store
        .reads
        .read(move |c| otklik_store::roster::get_desk(c, desk_id))
        .await?;
    Ok(e.evidence
        .devices()
        .into_iter()
        .find(|(id, _)| *id == desk_id)
        .map(|(_, d)| d)
        .unwrap_or_default())
}

/// The desk's camera now, as a JPEG (as a rating's photo would be): to check where it points.
#[utoipa::path(get, path = "/api/v1/desks/{id}/camera/frame", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, description = "image/jpeg", content_type = "image/jpeg"), (status = 404, body = ErrorBody),
              (status = 409, description = "The desk takes no photos", body = ErrorBody),
              (status = 503, description = "The camera gave no frame: its reason", body = ErrorBody)))]
pub async fn camera_frame(State(e): State<AppState>, Id(desk_id): Id) -> ApiResult<Response> {
    let camera = match devices_of(&e, desk_id).await?.camera {
        None => {
            return Err(Error::Conflict(format!(
                "desk {desk_id} takes no photos: turn photos on with a camera in its evidence setting first"
            ))
            .into());
        }
        Some(Err(reason)) => return Err(unavailable(reason)),
        Some(Ok(camera)) => camera,
    };
    let jpeg = otklik_devices::evidence::camera::JpegSettings::from_settings(&e.store.settings());
    let photo = tokio::task::spawn_blocking(move || camera.photo(now_ms(), &jpeg))
        .await
        .map_err(|err| unavailable(format!("the camera thread failed: {err}")))?
        .map_err(unavailable)?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "image/jpeg")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(photo.jpeg))
        .expect("a valid response"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MicLevel {
    /// Loudness of the last 300 ms: RMS of the samples, 0 (silence) to 1 (full scale).
    pub level: f64,
    /// The loudest sample of those 300 ms, 0 to 1.
    pub peak: f64,
    /// The microphone's state: `connected`, `waiting` or `error`.
    pub state: String,
    pub detail: String,
    pub error: Option<String>,
}

/// How loud the desk's microphone hears it now: poll a few times a second for a level meter.
#[utoipa::path(get, path = "/api/v1/desks/{id}/microphone/level", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = MicLevel), (status = 404, body = ErrorBody),
              (status = 409, description = "The desk records no audio", body = ErrorBody),
              (status = 503, description = "The microphone gave no audio: its reason", body = ErrorBody)))]
pub async fn microphone_level(
    State(e): State<AppState>,
    Id(desk_id): Id,
) -> ApiResult<Json<MicLevel>> {
    let mic = match devices_of(&e, desk_id).await?.microphone {
        None => {
            return Err(Error::Conflict(format!(
                "desk {desk_id} records no audio: turn audio on in its evidence setting first"
            ))
            .into());
        }
        Some(Err(reason)) => return Err(unavailable(reason)),
        Some(Ok(mic)) => mic,
    };
    // A little behind now: the newest audio may still be in the device's buffer.
    let to = now_ms() - 100;
    let (clip, state) = tokio::task::spawn_blocking(move || (mic.clip(to - 300, to), mic.state()))
        .await
        .map_err(|err| unavailable(format!("the microphone thread failed: {err}")))?;
    let clip = clip.map_err(unavailable)?;
    let n = clip.samples.len().max(1) as f64;
    let sum: f64 = clip.samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    let peak = clip
        .samples
        .iter()
        .map(|&s| i32::from(s).unsigned_abs())
        .max()
        .unwrap_or(0);
    Ok(Json(MicLevel {
        level: ((sum / n).sqrt() / 32768.0).min(1.0),
        peak: (f64::from(peak) / 32768.0).min(1.0),
        state: state.state,
        detail: state.detail,
        error: state.error,
    }))
}

/// The settings file: settings, notification settings, desks with their inputs and evidence
/// settings, registrars. No PIN, password or token is in it.
#[utoipa::path(get, path = "/api/v1/settings/export", operation_id = "export_settings", security(("token" = [])),
    responses((status = 200, description = "The settings file, as an attachment", body = SettingsFile)))]
pub async fn export(State(e): State<AppState>) -> ApiResult<Response> {
    let now = now_ms();
    let doc = e.store.reads.read(move |c| setup::export(c, now)).await?;
    let day = otklik_domain::time::to_rfc3339(now)
        .get(..10)
        .unwrap_or("settings")
        .to_string();
    let body = serde_json::to_vec_pretty(&doc).expect("the file serializes");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"otklik-settings-{day}.json\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// An import refused: every problem, each named by its path. Nothing changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRefused {
    pub error: String,
    /// `invalid`.
    pub code: &'static str,
    /// The first problem's path.
    pub field: String,
    pub errors: Vec<Problem>,
}

/// Imports a settings file (as `GET /api/v1/settings/export` writes it): checks all of it, then
/// applies it in one transaction (desks and registrars matched by name: created or updated, none
/// deleted), or changes nothing and names every problem. A version other than 1 is refused.
#[utoipa::path(post, path = "/api/v1/settings/import", operation_id = "import_settings", request_body = SettingsFile, security(("token" = [])),
    responses((status = 200, body = Imported), (status = 400, body = ErrorBody),
              (status = 422, description = "Refused: every problem named by its path, nothing changed", body = ImportRefused)))]
pub async fn import(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(doc): ApiJson<Value>,
) -> Result<Json<Imported>, Response> {
    setup::check_version(&doc).map_err(|err| ApiError::from(err).into_response())?;
    let refused: Arc<Mutex<Vec<Problem>>> = Arc::default();
    let stash = refused.clone();
    let result = e
        .store
        .writer
        .write(move |ctx| {
            let mut problems = Vec::new();
            let out = setup::import(ctx, &doc, actor, &mut problems);
            if let Some(first) = problems.first().cloned() {
                // Rolled back: the writer undoes this change when it fails.
                *stash.lock().expect("problems lock") = problems;
                return Err(Error::invalid(first.field, first.error));
            }
            out
        })
        .await;
    let out = match result {
        Ok(out) => out,
        Err(err) => {
            let problems = std::mem::take(&mut *refused.lock().expect("problems lock"));
            let Some(first) = problems.first() else {
                return Err(ApiError::from(err).into_response());
            };
            let error = if problems.len() == 1 {
                format!("{}: {}; nothing was changed", first.field, first.error)
            } else {
                format!(
                    "{} problems, the first {}: {}; nothing was changed",
                    problems.len(),
                    first.field,
                    first.error
                )
            };
            let body = ImportRefused {
                error,
                code: "invalid",
                field: first.field.clone(),
                errors: problems,
            };
            return Err((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
    };
    refresh(&e, &out, actor)
        .await
        .map_err(|err| ApiError::from(err).into_response())?;
    Ok(Json(out))
}

/// After an import: the engine's copies of what changed (settings, notification settings,
/// inputs, devices) follow the database.
async fn refresh(e: &AppState, out: &Imported, actor: &'static str) -> otklik_domain::Result<()> {
    if !out.settings_changed.is_empty() {
        e.store
            .update_settings(SettingsPatch::default(), actor)
            .await?;
    }
    if out.notify {
        let cfg = e
            .store
            .reads
            .read(otklik_notify::NotifyConfig::load)
            .await?;
        e.notify.set_notify_config(cfg, actor).await?;
    }
    let all = e
        .store
        .reads
        .read(otklik_devices::inputs::config::load_all)
        .await?;
    e.inputs.apply(all);
    for ev in out.evidence.clone() {
        e.open_evidence_devices(ev).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoBody {
    /// Days of history ending now, 1 to 14 (default 5).
    #[schema(minimum = 1, maximum = 14)]
    pub days: Option<i64>,
}

/// Fills a fresh installation with demo data: six desks, twelve registrars, their shifts and
/// ratings over the last days, at once on every screen; the setup counts as done. Refused (409)
/// once there are desks, registrars or ratings: demo ratings could never be taken out again.
#[utoipa::path(post, path = "/api/v1/demo", request_body = DemoBody, security(("token" = [])),
    responses((status = 201, body = DemoFilled), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn demo(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<DemoBody>,
) -> ApiResult<(StatusCode, Json<DemoFilled>)> {
    let days = body.days.unwrap_or(5);
    let filled = e
        .store
        .writer
        .write(move |ctx| setup::fill_demo(ctx, days))
        .await?;
    // The engine's settings follow (setup done, the clinic's name), and the leaderboard with them.
    e.store
        .update_settings(SettingsPatch::default(), actor)
        .await?;
    Ok((StatusCode::CREATED, Json(filled)))
}
