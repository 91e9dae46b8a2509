//! Alerts and operational reports to Telegram and email, and the webhook: everything is written
//! to the outbox in the same transaction as what caused it, then delivered by one worker per
//! channel, in order, with retries, so nothing is lost while a channel is down.

pub mod alerts;
mod bot;
pub mod config;
pub mod digest;
pub mod email;
pub mod message;
pub mod outbox;
mod schedule;
pub mod secrets;
pub mod telegram;
pub mod video;
pub mod webhook;
pub mod windows;
mod worker;

use std::collections::BTreeMap;

use std::sync::{Arc, Mutex, RwLock};

use rand::Rng;
use serde::Serialize;
use utoipa::ToSchema;

pub use config::{Channel, NotifyConfig};
pub use message::{Attachment, AttachmentRole, Button, Kind, Outgoing, SendError, Sent, Transport};

use alerts::Words;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, now_ms, to_rfc3339};
use otklik_store::Store;
use secrets::SecretStore;

/// How long a pairing code shown on the console stays good.
const PAIRING_MS: Millis = 10 * 60_000;

/// A channel's state as the console, `/healthz` and the tray show it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ChannelHealth {
    pub channel: String,
    /// `off` (not set up), `ok`, or `down` (messages wait and are retried).
    pub state: &'static str,
    /// Since when it is in this state.
    pub since: String,
    pub last_error: Option<String>,
    pub pending: i64,
    pub failed: i64,
}

#[derive(Debug, Clone)]
struct Health {
    down_since: Option<Millis>,
    since: Millis,
    last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pairing {
    /// Send `/pair CODE` in the Telegram group (after adding the bot to it).
    pub code: String,
    pub expires_at: String,
}

pub struct Notifier {
    config: RwLock<Arc<NotifyConfig>>,
    secrets: Box<dyn SecretStore>,
    pairing: Mutex<Option<(String, Millis)>>,
    /// Wakes the idle workers: new messages, changed settings.
    wake: tokio::sync::Notify,
    /// Cuts a backoff short: changed settings (new messages do not: a channel that is down
    /// would be tried on every rating).
    changed: tokio::sync::Notify,
    health: Mutex<BTreeMap<Channel, Health>>,
    transports: Mutex<worker::Transports>,
    bot_username: Mutex<Option<String>>,
    store: Arc<Store>,
}

impl Notifier {
    pub fn new(store: Arc<Store>, config: NotifyConfig) -> Notifier {
        Notifier {
            config: RwLock::new(Arc::new(config)),
            secrets: secrets::open(&store.data_dir),
            pairing: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            changed: tokio::sync::Notify::new(),
            health: Mutex::default(),
            transports: Mutex::default(),
            bot_username: Mutex::default(),
            store,
        }
    }

    pub fn config(&self) -> Arc<NotifyConfig> {
        self.config.read().expect("notify config lock").clone()
    }

    pub fn secrets(&self) -> &dyn SecretStore {
        self.secrets.as_ref()
    }

    /// Tells the workers to look at the outbox now.
    pub fn wake(&self) {
        self.wake.notify_waiters();
    }

    /// Settings or secrets changed: a channel waiting out its backoff tries again now.
    fn reconfigured(&self) {
        self.changed.notify_waiters();
        self.wake();
    }

    /// A new one-time code for subscribing a Telegram chat.
    pub fn new_pairing(&self, now: Millis) -> Pairing {
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        *self.pairing.lock().expect("pairing lock") = Some((code.clone(), now + PAIRING_MS));
        Pairing {
            code,
            expires_at: to_rfc3339(now + PAIRING_MS),
        }
    }

    pub fn pairing(&self, now: Millis) -> Option<Pairing> {
        self.pairing
            .lock()
            .expect("pairing lock")
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(code, until)| Pairing {
                code: code.clone(),
                expires_at: to_rfc3339(*until),
            })
    }

    /// Uses the code up if it is the one shown and still good.
    fn take_pairing(&self, code: &str, now: Millis) -> bool {
        let mut p = self.pairing.lock().expect("pairing lock");
        let ok = p
            .as_ref()
            .is_some_and(|(c, until)| *until > now && otklik_store::token::matches(c, code));
        if ok {
            *p = None;
        }
        ok
    }

    pub fn bot_username(&self) -> Option<String> {
        self.bot_username.lock().expect("bot lock").clone()
    }

    fn set_health(&self, channel: Channel, down: Option<String>, now: Millis) {
        let mut all = self.health.lock().expect("health lock");
        let h = all.entry(channel).or_insert(Health {
            down_since: None,
            since: now,
            last_error: None,
        });
        match down {
            Some(e) => {
                if h.down_since.is_none() {
                    h.down_since = Some(now);
                    h.since = now;
                }
                h.last_error = Some(e);
            }
            None => {
                if h.down_since.take().is_some() {
                    h.since = now;
                }
            }
        }
    }

    /// Since when a channel is down, if it is.
    fn down_since(&self, channel: Channel) -> Option<Millis> {
        let all = self.health.lock().expect("health lock");
        all.get(&channel).and_then(|h| h.down_since)
    }

    /// Clears a channel's outage, returning since when it was down.
    fn recovered(&self, channel: Channel, now: Millis) -> Option<Millis> {
        let mut all = self.health.lock().expect("health lock");
        let h = all.get_mut(&channel)?;
        let since = h.down_since.take();
        if since.is_some() {
            h.since = now;
        }
        since
    }

    /// Telegram, email and the webhook as they are now.
    pub fn health(&self, conn: &rusqlite::Connection) -> Result<Vec<ChannelHealth>> {
        let cfg = self.config();
        let all = self.health.lock().expect("health lock").clone();
        let mut out = Vec::new();
        for (channel, on) in [
            (Channel::Telegram, cfg.telegram.enabled),
            (Channel::Email, cfg.email.enabled),
            (
                Channel::Webhook,
                !cfg.webhook_url.is_empty() || !cfg.video.is_empty(),
            ),
        ] {
            let counts = outbox::counts(conn, channel)?;
            let h = all.get(&channel);
            let (state, since, last_error) = match h {
                _ if !on => ("off", None, None),
                Some(h) if h.down_since.is_some() => ("down", Some(h.since), h.last_error.clone()),
                Some(h) => ("ok", Some(h.since), h.last_error.clone()),
                None => ("ok", None, None),
            };
            out.push(ChannelHealth {
                channel: channel.as_str().to_string(),
                state,
                since: to_rfc3339(since.unwrap_or_else(now_ms)),
                last_error,
                pending: counts.pending,
                failed: counts.failed,
            });
        }
        Ok(out)
    }

    /// What messages need from the settings now.
    pub fn words(&self, s: &otklik_store::settings::Settings) -> Words {
        Words {
            lang: s.language,
            tz: s.tz(),
            clinic: s.clinic_name.clone(),
            link_base: self.config().link_base.clone(),
        }
    }
}

/// Secrets as the console may change them: a value sets, `null` forgets, absent keeps.
#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub telegram_token: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub smtp_password: Option<Option<String>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    use serde::Deserialize;
    Option::<String>::deserialize(d).map(Some)
}

/// `123456789:AAH...`: digits, a colon, then letters, digits, `-` and `_`.
fn looks_like_token(t: &str) -> bool {
    t.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && rest.len() >= 20
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

impl Notifier {
    /// Saves new notification settings (checked first; the error names the field).
    pub async fn set_notify_config(
        &self,
        cfg: NotifyConfig,
        actor: &str,
    ) -> Result<Arc<NotifyConfig>> {
        cfg.validate(self.store.scale())?;
        let actor = actor.to_string();
        let saved = cfg.clone();
        self.store
            .writer
            .write(move |ctx| {
                saved.save(ctx.conn)?;
                otklik_store::audit::record(
                    ctx.conn,
                    ctx.now,
                    &actor,
                    "notify.update",
                    "settings",
                    None,
                    serde_json::json!({}),
                )?;
                Ok(())
            })
            .await?;
        *self.config.write().expect("notify config lock") = Arc::new(cfg);
        self.transports.lock().expect("transports lock").clear();
        self.reconfigured();
        Ok(self.config())
    }

    /// Sets or forgets the bot token and the SMTP password; never logged, never sent back.
    pub async fn set_secrets(&self, patch: SecretsPatch, actor: &str) -> Result<()> {
        for (field, value) in [
            ("telegram_token", &patch.telegram_token),
            ("smtp_password", &patch.smtp_password),
        ] {
            if let Some(Some(v)) = value
                && (v.trim().is_empty() || v.len() > 512 || v.contains(['\n', '\r']))
            {
                return Err(Error::invalid(
                    field,
                    "must be one line of 1 to 512 characters",
                ));
            }
        }
        if let Some(Some(token)) = &patch.telegram_token
            && !looks_like_token(token.trim())
        {
            return Err(Error::invalid(
                "telegram_token",
                "is not a bot token like 123456789:AA... (BotFather gives it)",
            ));
        }
        let mut changed = Vec::new();
        if let Some(v) = &patch.telegram_token {
            self.secrets
                .set(secrets::TELEGRAM_TOKEN, v.as_deref().map(str::trim))?;
            changed.push("telegram_token");
        }
        if let Some(v) = &patch.smtp_password {
            self.secrets.set(secrets::SMTP_PASSWORD, v.as_deref())?;
            changed.push("smtp_password");
        }
        let actor = actor.to_string();
        self.store
            .audit(
                &actor,
                "notify.secrets",
                "settings",
                None,
                serde_json::json!({ "changed": changed }),
            )
            .await?;
        self.transports.lock().expect("transports lock").clear();
        self.reconfigured();
        Ok(())
    }

    /// Queues a test message on a channel, to its usual recipients.
    pub async fn send_test(&self, channel: Channel) -> Result<usize> {
        let cfg = self.config();
        let s = self.store.settings();
        let msg = digest::test_message(&s.clinic_name, s.language);
        let n = self
            .store
            .writer
            .write(move |ctx| {
                let targets = alerts::targets(ctx.conn, &cfg, &[channel], false)?;
                if targets.is_empty() {
                    return Err(Error::Conflict(format!(
                        "{} is not set up, or has nobody to send to",
                        channel.as_str()
                    )));
                }
                for (ch, target) in &targets {
                    outbox::enqueue(
                        ctx.conn,
                        ctx.now,
                        &outbox::NewItem {
                            channel: *ch,
                            target,
                            kind: Kind::Test,
                            alert_id: None,
                            photo_of: None,
                            priority: 1,
                        },
                        msg.clone(),
                    )?;
                }
                Ok(targets.len())
            })
            .await?;
        self.wake();
        Ok(n)
    }

    pub async fn take_alert(&self, id: i64, by: String) -> Result<alerts::AlertView> {
        self.store
            .writer
            .write(move |ctx| alerts::take(ctx, id, &by))
            .await
    }

    pub async fn resolve_alert(
        &self,
        id: i64,
        by: String,
        cause: String,
    ) -> Result<alerts::AlertView> {
        self.store
            .writer
            .write(move |ctx| alerts::resolve(ctx, id, &by, &cause))
            .await
    }

    /// Queues the reports whose period has ended by `now` (the clock calls this every 10 s).
    pub async fn reports_due(&self, now: Millis) -> Result<usize> {
        worker::reports_due(self, now).await
    }

    /// Escalates the alerts still open at `now` past their time (the clock calls this too).
    pub async fn escalate_due(&self, now: Millis) -> Result<usize> {
        let cfg = self.config();
        let words = self.words(&self.store.settings());
        let n = self
            .store
            .writer
            .write(move |ctx| alerts::escalate_due(ctx, now, &cfg, &words))
            .await?;
        if n > 0 {
            self.wake();
        }
        Ok(n)
    }

    /// Starts the delivery workers, the Telegram bot, and the report and escalation clock.
    pub fn start(self: &Arc<Self>) {
        for channel in [Channel::Telegram, Channel::Email, Channel::Webhook] {
            tokio::spawn(worker::run(self.clone(), channel));
        }
        tokio::spawn(bot::run(self.clone()));
        tokio::spawn(worker::clock(self.clone()));
    }
}
