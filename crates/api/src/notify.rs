//! Alerts and reports to Telegram and email: their settings, the outbox, the alerts themselves.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::console::LoggedIn;
use super::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use super::{Actor, AppState};
use otklik_domain::error::Error;
use otklik_domain::time::{now_ms, to_rfc3339};
use otklik_notify::alerts::{self, AlertView};
use otklik_notify::outbox::{self, ItemView};
use otklik_notify::{Channel, ChannelHealth, NotifyConfig, Pairing, SecretsPatch, secrets};
use otklik_store::access::ConsoleUser;

#[derive(Debug, Serialize, ToSchema)]
pub struct TelegramChat {
    pub chat_id: i64,
    pub title: String,
    /// `main` (alerts and reports) or `escalation` (alerts nobody took in time).
    pub role: String,
    pub paired_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotifyState {
    pub config: NotifyConfig,
    /// Whether a bot token and an SMTP password are kept (they are never sent back).
    pub telegram_token_set: bool,
    pub smtp_password_set: bool,
    /// Where the secrets are kept.
    pub secrets_place: String,
    /// The bot's @username, once Telegram answered.
    pub bot_username: Option<String>,
    pub chats: Vec<TelegramChat>,
    pub pairing: Option<Pairing>,
    pub channels: Vec<ChannelHealth>,
}

async fn state(e: &AppState) -> ApiResult<NotifyState> {
    let e2 = e.clone();
    let (chats, channels) = e
        .store
        .reads
        .read(move |c| {
            let chats = c
                .prepare(
                    "SELECT chat_id, title, role, paired_at FROM telegram_chats ORDER BY paired_at",
                )?
                .query_map([], |r| {
                    Ok(TelegramChat {
                        chat_id: r.get(0)?,
                        title: r.get(1)?,
                        role: r.get(2)?,
                        paired_at: to_rfc3339(r.get(3)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((chats, e2.notify.health(c)?))
        })
        .await?;
    let s = e.notify.secrets();
    Ok(NotifyState {
        config: (*e.notify.config()).clone(),
        telegram_token_set: s.get(secrets::TELEGRAM_TOKEN)?.is_some(),
        smtp_password_set: s.get(secrets::SMTP_PASSWORD)?.is_some(),
        secrets_place: s.place(),
        bot_username: e.notify.bot_username(),
        chats,
        pairing: e.notify.pairing(now_ms()),
        channels,
    })
}

#[utoipa::path(get, path = "/api/v1/notify", security(("token" = [])), responses((status = 200, body = NotifyState)))]
pub async fn get_notify(State(e): State<AppState>) -> ApiResult<Json<NotifyState>> {
    Ok(Json(state(&e).await?))
}

/// Replaces the notification settings (channels, alert and report rules, webhook), or names
/// the bad field and changes nothing.
#[utoipa::path(put, path = "/api/v1/notify", request_body = NotifyConfig, security(("token" = [])),
    responses((status = 200, body = NotifyState), (status = 422, body = ErrorBody)))]
pub async fn put_notify(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(cfg): ApiJson<NotifyConfig>,
) -> ApiResult<Json<NotifyState>> {
    e.notify.set_notify_config(cfg, actor).await?;
    Ok(Json(state(&e).await?))
}

/// Sets (a string) or forgets (`null`) the bot token and the SMTP password.
#[utoipa::path(put, path = "/api/v1/notify/secrets", request_body = SecretsPatch, security(("token" = [])),
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn put_secrets(
    State(e): State<AppState>,
    Actor(actor): Actor,
    ApiJson(patch): ApiJson<SecretsPatch>,
) -> ApiResult<StatusCode> {
    e.notify.set_secrets(patch, actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A one-time code: add the bot to a Telegram group and send `/pair CODE` there.
#[utoipa::path(post, path = "/api/v1/notify/pairing", security(("token" = [])), responses((status = 200, body = Pairing)))]
pub async fn pairing(State(e): State<AppState>) -> Json<Pairing> {
    Json(e.notify.new_pairing(now_ms()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// `main` or `escalation`.
    pub role: String,
}

#[utoipa::path(patch, path = "/api/v1/notify/chats/{id}", params(("id" = i64, Path)), request_body = ChatBody, security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_chat(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(chat_id): Id,
    ApiJson(body): ApiJson<ChatBody>,
) -> ApiResult<StatusCode> {
    if body.role != "main" && body.role != "escalation" {
        return Err(Error::invalid("role", "must be main or escalation").into());
    }
    e.store
        .writer
        .write(move |ctx| {
            let n = ctx.conn.execute(
                "UPDATE telegram_chats SET role = ?2 WHERE chat_id = ?1",
                (chat_id, &body.role),
            )?;
            if n == 0 {
                return Err(Error::NotFound {
                    what: "chat",
                    id: chat_id,
                });
            }
            otklik_store::audit::record(
                ctx.conn,
                ctx.now,
                actor,
                "telegram.role",
                "telegram_chat",
                Some(chat_id),
                serde_json::json!({ "role": body.role }),
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unsubscribes a chat: the bot stops sending there and stops answering it.
#[utoipa::path(delete, path = "/api/v1/notify/chats/{id}", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_chat(
    State(e): State<AppState>,
    Actor(actor): Actor,
    Id(chat_id): Id,
) -> ApiResult<StatusCode> {
    e.store
        .writer
        .write(move |ctx| {
            let n = ctx
                .conn
                .execute("DELETE FROM telegram_chats WHERE chat_id = ?1", [chat_id])?;
            if n == 0 {
                return Err(Error::NotFound {
                    what: "chat",
                    id: chat_id,
                });
            }
            otklik_store::audit::record(
                ctx.conn,
                ctx.now,
                actor,
                "telegram.unpair",
                "telegram_chat",
                Some(chat_id),
                serde_json::json!({}),
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    pub channel: Channel,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// Messages queued (one per chat or address list).
    pub queued: usize,
}

/// Queues a test message to a channel's usual recipients.
#[utoipa::path(post, path = "/api/v1/notify/test", request_body = TestBody, security(("token" = [])),
    responses((status = 202, body = Queued), (status = 409, description = "The channel is off or has nobody to send to", body = ErrorBody)))]
pub async fn test(
    State(e): State<AppState>,
    ApiJson(body): ApiJson<TestBody>,
) -> ApiResult<(StatusCode, Json<Queued>)> {
    let queued = e.notify.send_test(body.channel).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Outbox: `pending`, `sent`, `failed`; alerts: `open`, `taken`, `resolved`.
    pub state: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn state_in(q: &ListQuery, allowed: &[&str]) -> ApiResult<Option<String>> {
    match &q.state {
        Some(s) if !allowed.contains(&s.as_str()) => {
            Err(Error::invalid("state", format!("must be one of {}", allowed.join(", "))).into())
        }
        s => Ok(s.clone()),
    }
}

/// Messages, newest first: waiting, sent, or failed with the channel's error.
#[utoipa::path(get, path = "/api/v1/outbox", params(ListQuery), security(("token" = [])),
    responses((status = 200, body = [ItemView]), (status = 422, body = ErrorBody)))]
pub async fn list_outbox(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<ItemView>>> {
    let (limit, state) = (
        super::error::page_limit(q.limit)?,
        state_in(&q, &["pending", "sent", "failed"])?,
    );
    Ok(Json(
        e.store
            .reads
            .read(move |c| outbox::list(c, state.as_deref(), limit))
            .await?,
    ))
}

/// Sends a failed message again (after its cause was fixed).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry(State(e): State<AppState>, Id(id): Id) -> ApiResult<StatusCode> {
    e.store
        .writer
        .write(move |ctx| outbox::retry(ctx.conn, id))
        .await?;
    e.notify.wake();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/alerts", params(ListQuery), security(("token" = [])),
    responses((status = 200, body = [AlertView]), (status = 422, body = ErrorBody)))]
pub async fn list_alerts(
    State(e): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<AlertView>>> {
    let (limit, state) = (
        super::error::page_limit(q.limit)?,
        state_in(&q, &["open", "taken", "resolved"])?,
    );
    Ok(Json(
        e.store
            .reads
            .read(move |c| alerts::list(c, state.as_deref(), limit))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeBody {
    /// Who takes it on: with the API token; a console login takes it as its supervisor.
    pub by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// As for taking.
    pub by: Option<String>,
    /// One line: why the patient was unhappy.
    pub cause: String,
}

/// Who takes or resolves an alert: the logged-in supervisor, or whom the API token's caller names.
fn who(me: Option<ConsoleUser>, by: Option<String>) -> String {
    me.map(|u| u.name).or(by).unwrap_or_default()
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/take", params(("id" = i64, Path)), request_body = TakeBody, security(("token" = [])),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn take(
    State(e): State<AppState>,
    LoggedIn(me): LoggedIn,
    Id(id): Id,
    ApiJson(body): ApiJson<TakeBody>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(e.notify.take_alert(id, who(me, body.by)).await?))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", params(("id" = i64, Path)), request_body = ResolveBody, security(("token" = [])),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resolve(
    State(e): State<AppState>,
    LoggedIn(me): LoggedIn,
    Id(id): Id,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(
        e.notify
            .resolve_alert(id, who(me, body.by), body.cause)
            .await?,
    ))
}
