//! The engine: the database with its writer, live events and settings, plus the HTTP server.
//! The desktop shell and `otklik serve` both start exactly this.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::access::{self, Guard};
use crate::db::{self, ReadPool};
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::evidence::recorder::{AfterCommit, Capture, Recorder};
use crate::inputs::{self, Inputs, Press};
use crate::leaderboard;
use crate::settings::{Settings, SettingsPatch};
use crate::time::{Millis, PeriodName, now_ms};
use crate::writer::Writer;

pub const DB_FILE: &str = "otklik.db";

/// Where Otklik keeps its data when no directory is given: the OS's per-user data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("otklik")
}

pub struct Engine {
    pub data_dir: PathBuf,
    pub db_path: PathBuf,
    pub writer: Writer,
    pub reads: Arc<ReadPool>,
    pub events: Arc<EventHub>,
    /// Shared with the writer, which updates it before the `settings` event goes out.
    settings: Arc<RwLock<Settings>>,
    token: String,
    /// Console logins and the brake on guessing PINs and passwords.
    pub guard: Guard,
    /// When each desk's patient panel last gave a rating, for its lock-out.
    panel_taps: Mutex<HashMap<i64, Millis>>,
    /// Panels paired from the console, and codes waiting to be typed on one.
    pub panels: crate::panels::Panels,
    /// Button remotes and serial boxes, each on its own thread.
    pub inputs: Inputs,
    presses: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Press>>>,
    /// Photos and clips around ratings, at desks that collect them.
    pub evidence: Recorder,
    /// Alerts, reports and the webhook, through the outbox.
    pub notify: crate::notify::Notifier,
    pub started_at: Millis,
}

impl Engine {
    /// Opens (or creates) the data directory and database and starts the writer.
    pub fn open(data_dir: &Path) -> Result<Arc<Engine>> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::io(
                format!("cannot create the data directory {}", data_dir.display()),
                e,
            )
        })?;
        let db_path = data_dir.join(DB_FILE);
        // A restore staged from the console takes effect here, before anything opens the file.
        crate::backup::apply_staged_restore(data_dir)?;
        let conn = db::open_writer(&db_path)?;
        let settings = Settings::load(&conn)?;
        let notify_config = crate::notify::NotifyConfig::load(&conn)?;
        let token = crate::token::load_or_create(data_dir)?;
        let panels = crate::panels::Panels::load(&conn)?;
        let events = Arc::new(EventHub::new());
        let (writer, _thread) = Writer::start(conn, events.clone())?;
        let (sink, presses) = tokio::sync::mpsc::unbounded_channel();
        let engine = Arc::new(Engine {
            data_dir: data_dir.to_path_buf(),
            reads: Arc::new(ReadPool::new(db_path.clone())),
            db_path,
            writer,
            events,
            settings: Arc::new(RwLock::new(settings)),
            token,
            guard: Guard::default(),
            panel_taps: Mutex::default(),
            panels,
            inputs: Inputs::new(sink),
            presses: Mutex::new(Some(presses)),
            evidence: Recorder::new(data_dir.to_path_buf()),
            notify: crate::notify::Notifier::new(data_dir, notify_config),
            started_at: now_ms(),
        });
        // The patient's voice follows its alert, queued in the clip's own transaction.
        let weak = Arc::downgrade(&engine);
        engine
            .evidence
            .on_audio(Box::new(move |conn, now, ratings, file| {
                let Some(engine) = weak.upgrade() else {
                    return Ok(None);
                };
                let Some(path) = crate::evidence::media::file_path(&engine.data_dir, file) else {
                    return Ok(None);
                };
                let words = engine
                    .notify
                    .words(&engine.settings.read().expect("settings lock"));
                if crate::notify::alerts::on_voice(conn, now, ratings, &path, &words)? == 0 {
                    return Ok(None);
                }
                // Woken after the commit, the workers find the voice messages queued.
                let after: AfterCommit = Box::new(move || engine.notify.wake());
                Ok(Some(after))
            }));
        Ok(engine)
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().expect("settings lock").clone()
    }

    /// Levels of the current scale, read without copying the settings.
    pub fn scale(&self) -> u8 {
        self.settings.read().expect("settings lock").scale
    }

    /// What storing a rating needs from the settings (every rating asks).
    pub fn rating_rules(&self) -> crate::ratings::Rules {
        let s = self.settings.read().expect("settings lock");
        crate::ratings::Rules {
            levels: s.scale,
            burst_count: s.suspicion_burst_count,
            burst_ms: Millis::from(s.suspicion_burst_secs) * 1000,
        }
    }

    pub fn token_matches(&self, given: &str) -> bool {
        crate::token::matches(&self.token, given)
    }

    /// Checks a registrar's PIN at the desk panel (braked per `from` and per registrar); a
    /// registrar without a PIN needs none.
    pub async fn check_registrar_pin(
        &self,
        registrar_id: i64,
        pin: Option<String>,
        from: std::net::IpAddr,
    ) -> Result<()> {
        let hash = self
            .reads
            .read(move |c| access::registrar_pin_hash(c, registrar_id))
            .await?;
        let Some(hash) = hash else { return Ok(()) };
        let Some(pin) = pin else {
            return Err(Error::invalid("pin", "this registrar's PIN is needed"));
        };
        self.guard
            .check(
                &format!("pin:{registrar_id}"),
                from,
                Some(hash),
                pin,
                "wrong PIN",
            )
            .await
    }

    /// Stores a rating from any source; its evidence (if the desk collects any) follows after
    /// the commit, without holding up the answer.
    pub async fn add_rating(
        &self,
        new: crate::ratings::NewRating,
    ) -> Result<crate::ratings::Rating> {
        let rules = self.rating_rules();
        let cfg = self.notify.config();
        // Alerts and the webhook are queued in the rating's own transaction: no rating without
        // its messages, whatever happens next.
        let words = (!cfg.alerts.is_empty()).then(|| {
            self.notify
                .words(&self.settings.read().expect("settings lock"))
        });
        let photo_expected = self.evidence.takes_photos(new.desk_id);
        let (rating, queued) = self
            .writer
            .write(move |ctx| {
                let rating = crate::ratings::add(ctx, &new, rules)?;
                let mut queued = 0;
                // A flagged rating (a flood of bottom presses) raises no alert of its own.
                if let Some(words) = &words
                    && rating.flag.is_none()
                {
                    queued += crate::notify::alerts::on_rating(
                        ctx,
                        &rating,
                        &cfg,
                        words,
                        photo_expected,
                    )?;
                }
                if !cfg.webhook_url.is_empty() {
                    queued += crate::notify::outbox::enqueue(
                        ctx.conn,
                        ctx.now,
                        &crate::notify::outbox::NewItem {
                            channel: crate::notify::Channel::Webhook,
                            target: &cfg.webhook_url,
                            kind: crate::notify::Kind::Webhook,
                            alert_id: None,
                            photo_of: None,
                            priority: 1,
                        },
                        crate::notify::Outgoing {
                            // `id` is the delivery's idempotency key: stored with it, so
                            // every retry carries the same (also as `Idempotency-Key`).
                            text: serde_json::to_string(&json!({
                                "id": format!("{:032x}", rand::random::<u128>()),
                                "event": "rating",
                                "rating": rating,
                            }))
                            .expect("ratings serialize"),
                            ..Default::default()
                        },
                    )?
                    .len();
                }
                Ok((rating, queued))
            })
            .await?;
        // Only when there is something to send: a wake makes every idle worker read the outbox.
        if queued > 0 {
            self.notify.wake();
        }
        let capture = {
            let s = self.settings.read().expect("settings lock");
            // Capture paused from the tray or the console: the rating counts, without evidence.
            if s.capture_paused {
                return Ok(rating);
            }
            Capture {
                before_ms: Millis::from(s.audio_before_secs) * 1000,
                after_ms: Millis::from(s.audio_after_secs) * 1000,
                jpeg: s.jpeg(),
            }
        };
        let at = crate::time::parse_rfc3339("at", &rating.at).unwrap_or_else(|_| now_ms());
        self.evidence
            .on_rating(&self.writer, rating.id, rating.desk_id, at, capture);
        Ok(rating)
    }

    /// Records an action that changes nothing else (a backup made, secrets set) in the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &'static str,
        entity: &'static str,
        entity_id: Option<i64>,
        details: serde_json::Value,
    ) -> Result<()> {
        let actor = actor.to_string();
        self.writer
            .write(move |ctx| {
                crate::audit::record(
                    ctx.conn, ctx.now, &actor, action, entity, entity_id, details,
                )
            })
            .await
    }

    /// Deletes photos and clips past their retention (ratings stay); says so in the audit log.
    pub async fn purge_media(&self, now: Millis) -> Result<crate::evidence::media::Purged> {
        let (photo_days, audio_days) = {
            let s = self.settings.read().expect("settings lock");
            (s.photo_retention_days, s.audio_retention_days)
        };
        let dir = self.data_dir.clone();
        self.writer
            .write(move |ctx| crate::evidence::media::purge(ctx, &dir, photo_days, audio_days, now))
            .await
    }

    /// Starts the devices of every desk and the task that stores their presses. Needs a runtime.
    pub async fn start_inputs(self: &Arc<Self>) -> Result<()> {
        let Some(presses) = self.presses.lock().expect("presses lock").take() else {
            return Ok(()); // started already
        };
        let all = self.reads.read(inputs::config::load_all).await?;
        self.inputs.apply(all);
        tokio::spawn(ingest(self.clone(), presses));
        for ev in self.reads.read(crate::evidence::config::load_all).await? {
            self.open_evidence_devices(ev).await?;
        }
        Ok(())
    }

    /// Saves a desk's evidence setting and opens (or closes) its camera and microphone.
    pub async fn set_evidence(
        &self,
        ev: crate::evidence::config::DeskEvidence,
        actor: &'static str,
    ) -> Result<crate::evidence::config::DeskEvidence> {
        let saved = self
            .writer
            .write(move |ctx| crate::evidence::config::save(ctx, ev, actor))
            .await?;
        self.open_evidence_devices(saved.clone()).await?;
        Ok(saved)
    }

    /// Opens (or closes) a desk's camera and microphone as its saved setting says.
    pub(crate) async fn open_evidence_devices(
        &self,
        ev: crate::evidence::config::DeskEvidence,
    ) -> Result<()> {
        let desk_id = ev.desk_id;
        let password = self
            .reads
            .read(move |c| crate::evidence::config::camera_password(c, desk_id))
            .await?;
        // Opening a device may take a moment (a USB camera): off the async workers.
        let devices =
            tokio::task::spawn_blocking(move || crate::evidence::open_devices(&ev, password))
                .await
                .map_err(|e| Error::CommitFailed(format!("cannot open the devices: {e}")))?;
        self.evidence.set_devices(desk_id, devices);
        Ok(())
    }

    /// Saves a desk's input setting and reconfigures the devices to match.
    pub async fn set_input(
        &self,
        input: inputs::config::DeskInput,
        actor: &'static str,
    ) -> Result<inputs::config::DeskInput> {
        let levels = self.scale();
        let saved = self
            .writer
            .write(move |ctx| inputs::config::save(ctx, input, levels, actor))
            .await?;
        let all = self.reads.read(inputs::config::load_all).await?;
        self.inputs.apply(all);
        Ok(saved)
    }

    /// Claims the patient panel of `desk_id` for a rating now, or says how long its lock-out lasts.
    pub fn claim_panel_tap(&self, desk_id: i64, now: Millis) -> Result<()> {
        let lockout = Millis::from(
            self.settings
                .read()
                .expect("settings lock")
                .panel_lockout_secs,
        ) * 1000;
        let mut taps = self.panel_taps.lock().expect("panel lock");
        if let Some(&last) = taps.get(&desk_id)
            && now >= last
            && now - last < lockout
        {
            let secs = ((lockout - (now - last)) / 1000 + 1) as u64;
            return Err(Error::TooSoon {
                message: format!("this panel has just taken a rating: try again in {secs} s"),
                retry_after_secs: secs,
            });
        }
        taps.insert(desk_id, now);
        Ok(())
    }

    /// Applies a settings change, or names the bad field and changes nothing. Every part of the
    /// engine reads the settings when it acts, so the change is in effect when this returns
    /// (except [`crate::settings::APPLY_AT_RESTART`]).
    pub async fn update_settings(&self, patch: SettingsPatch, actor: &str) -> Result<Settings> {
        let actor = actor.to_string();
        let live = self.settings.clone();
        let result = self
            .writer
            .write(move |ctx| {
                let old = Settings::load(ctx.conn)?;
                let new = old.patched(&patch)?;
                let changed = new.save_changes(&old, ctx.conn)?;
                if !changed.is_empty() {
                    crate::audit::record(
                        ctx.conn,
                        ctx.now,
                        &actor,
                        "settings.update",
                        "settings",
                        None,
                        json!({ "changed": changed }),
                    )?;
                }
                // In use before the event announces it: whoever acts on the event finds it.
                *live.write().expect("settings lock") = new.clone();
                ctx.emit("settings", &new);
                Ok(new)
            })
            .await;
        if result.is_err() {
            // A commit that failed left the stored settings as they were: so must the engine.
            if let Ok(stored) = self.reads.read(Settings::load).await {
                *self.settings.write().expect("settings lock") = stored;
            }
        }
        result
    }

    /// The leaderboard for a named period or explicit span, with the current settings.
    pub async fn leaderboard(
        &self,
        period: Option<PeriodName>,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<leaderboard::Leaderboard> {
        let s = self.settings();
        let span = leaderboard::span_for(period, from, to, s.tz(), now_ms());
        let period = if from.is_some() && to.is_some() {
            None
        } else {
            Some(period.unwrap_or(PeriodName::Today))
        };
        self.reads
            .read(move |c| leaderboard::compute(c, span, period, s.scale, s.min_ratings))
            .await
    }
}

/// A running HTTP server around an engine.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free one) and serves the API, events and screens.
    pub async fn start(engine: Arc<Engine>, listen: SocketAddr) -> Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            Error::io(
                format!("cannot listen on {listen} (is another Otklik running?)"),
                e,
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("cannot read the bound address", e))?;
        tokio::spawn(watch_leaderboard(engine.clone()));
        tokio::spawn(purge_on_schedule(engine.clone()));
        tokio::spawn(crate::backup::run_schedule(engine.clone()));
        engine.start_inputs().await?;
        engine.start_notify();
        crate::health::start(&engine);
        let app = crate::api::router(engine.clone(), addr.ip());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(%e, "the HTTP server stopped");
            }
        });
        tracing::info!(%addr, data_dir = %engine.data_dir.display(), "Otklik is serving");
        Ok(Server {
            addr,
            engine,
            stop: Some(stop),
            task,
        })
    }

    /// Stops accepting requests; open event streams are closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Event streams never end by themselves; don't wait for them forever.
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }

    /// Waits until the server task ends (it does not by itself).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// The retention purge: shortly after start, then every hour.
async fn purge_on_schedule(engine: Arc<Engine>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match engine.purge_media(now_ms()).await {
            Ok(p) if p.photos + p.clips > 0 => {
                tracing::info!(photos = p.photos, clips = p.clips, "old media purged")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%e, "the media purge failed"),
        }
    }
}

/// Stores the devices' presses, one at a time in the order they came, after the debounce.
async fn ingest(engine: Arc<Engine>, mut presses: tokio::sync::mpsc::UnboundedReceiver<Press>) {
    let mut last_counted: HashMap<i64, Millis> = HashMap::new();
    while let Some(p) = presses.recv().await {
        let setting = engine.inputs.setting(p.desk_id);
        let window = Millis::from(setting.debounce_ms);
        if inputs::is_bounce(last_counted.get(&p.desk_id).copied(), p.at, window) {
            tracing::debug!(
                desk = p.desk_id,
                "press ignored: within the debounce interval"
            );
            continue;
        }
        last_counted.insert(p.desk_id, p.at);
        let new = crate::ratings::NewRating {
            desk_id: p.desk_id,
            score: p.score,
            source: Some(p.source.to_string()),
            at: Some(p.at),
        };
        if let Err(e) = engine.add_rating(new).await {
            tracing::warn!(desk = p.desk_id, %e, "a press could not be stored");
            engine.inputs.status.set(
                p.desk_id,
                p.source,
                &setting.detail(),
                "error",
                Some(format!("a press could not be stored: {e}")),
            );
        }
    }
}

/// Publishes today's leaderboard whenever a change could have moved it, at most a few times a
/// second however fast ratings arrive.
async fn watch_leaderboard(engine: Arc<Engine>) {
    let mut sub = engine.events.subscribe(None, false).rx;
    let mut last = None;
    loop {
        match sub.recv().await {
            Ok(e) if matches!(e.name, "rating" | "correction" | "registrar" | "settings") => {}
            Ok(_) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        sub = sub.resubscribe();
        match engine
            .leaderboard(Some(PeriodName::Today), None, None)
            .await
        {
            Ok(board) if last.as_ref() != Some(&board) => {
                engine.events.publish("leaderboard", &board);
                last = Some(board);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%e, "cannot compute the leaderboard"),
        }
    }
}
