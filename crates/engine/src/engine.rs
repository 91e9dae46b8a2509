//! The engine: the database with its writer, live events and settings, plus the HTTP server.
//! The desktop shell and `otklik serve` both start exactly this.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use std::collections::HashMap;
use std::sync::Mutex;

use otklik_devices::evidence::camera::JpegSettings;
use otklik_devices::evidence::recorder::{AfterCommit, Capture, Recorder};
use otklik_devices::inputs::{self, Button, Inputs, Press};
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, PeriodName, now_ms};
use otklik_store::Store;
use otklik_store::access::{self, Guard};
use otklik_store::db;
use otklik_store::events::EventHub;
use otklik_store::serving;
use otklik_store::settings::Settings;
use otklik_store::writer::Writer;

pub const DB_FILE: &str = "otklik.db";

/// Where Otklik keeps its data when no directory is given: the OS's per-user data directory.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("otklik")
}

pub struct Engine {
    /// The database, its writer and readers, the live events, the settings in force, the data
    /// directory: what every service is given instead of the engine.
    pub store: Arc<Store>,
    token: String,
    /// Console logins and the brake on guessing PINs and passwords.
    pub guard: Guard,
    /// When each desk's patient panel last gave a rating, for its lock-out.
    panel_taps: Mutex<HashMap<i64, Millis>>,
    /// Panels paired from the console, and codes waiting to be typed on one.
    pub panels: otklik_store::panels::Panels,
    /// Button remotes and serial boxes, each on its own thread.
    pub inputs: Inputs,
    presses: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Press>>>,
    /// Photos and clips around ratings, at desks that collect them.
    pub evidence: Recorder,
    /// Alerts, reports and the webhook, through the outbox.
    pub notify: Arc<otklik_notify::Notifier>,
    /// The newest backup and the last failure, as this engine has seen them.
    pub(crate) backups: crate::backup::Backups,
    /// The link to the network hub, if this installation has one.
    pub uplink: crate::uplink::UplinkRunner,
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
        let notify_config = otklik_notify::NotifyConfig::load(&conn)?;
        let token = otklik_store::token::load_or_create(data_dir)?;
        let panels = otklik_store::panels::Panels::load(&conn)?;
        let events = Arc::new(EventHub::new());
        let (writer, _thread) = Writer::start(conn, events.clone())?;
        let (sink, presses) = tokio::sync::mpsc::unbounded_channel();
        let store = Arc::new(Store::new(
            data_dir.to_path_buf(),
            db_path,
            writer,
            events,
            settings,
        ));
        let engine = Arc::new(Engine {
            notify: Arc::new(otklik_notify::Notifier::new(store.clone(), notify_config)),
            store,
            token,
            guard: Guard::default(),
            panel_taps: Mutex::default(),
            panels,
            inputs: Inputs::new(sink),
            presses: Mutex::new(Some(presses)),
            evidence: Recorder::new(data_dir.to_path_buf()),
            backups: Default::default(),
            uplink: Default::default(),
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
                let Some(path) = otklik_store::media::file_path(&engine.store.data_dir, file)
                else {
                    return Ok(None);
                };
                let words = engine.store.with_settings(|s| engine.notify.words(s));
                if otklik_notify::alerts::on_voice(conn, now, ratings, &path, &words)? == 0 {
                    return Ok(None);
                }
                // Woken after the commit, the workers find the voice messages queued.
                let after: AfterCommit = Box::new(move || engine.notify.wake());
                Ok(Some(after))
            }));
        Ok(engine)
    }

    pub fn token_matches(&self, given: &str) -> bool {
        otklik_store::token::matches(&self.token, given)
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
            .store
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

    /// The patient's reason for a low rating (see `otklik_store::reasons::pick`); if the rating
    /// raised an alert, the reason follows it to the same chats and addresses.
    pub async fn pick_reason(
        &self,
        rating_id: i64,
        code: String,
        via: otklik_store::reasons::Via,
    ) -> Result<otklik_store::reasons::ReasonPicked> {
        let rules = self
            .store
            .with_settings(otklik_store::reasons::Rules::from_settings);
        let words = self.store.with_settings(|s| self.notify.words(s));
        let (picked, queued) = self
            .store
            .writer
            .write(move |ctx| {
                let picked = otklik_store::reasons::pick(ctx, rating_id, &code, via, &rules)?;
                let queued = otklik_notify::alerts::on_reason(
                    ctx.conn,
                    ctx.now,
                    rating_id,
                    &picked.reason.label,
                    &words,
                )?;
                Ok((picked, queued))
            })
            .await?;
        if queued > 0 {
            self.notify.wake();
        }
        Ok(picked)
    }

    /// Stores a rating from any source; its evidence (if the desk collects any) follows after
    /// the commit, without holding up the answer.
    pub async fn add_rating(
        &self,
        new: otklik_store::ratings::NewRating,
    ) -> Result<otklik_store::ratings::Rating> {
        let rating = self.store_rating(new, None).await?;
        Ok(rating.expect("only a forwarded press can be a repeat"))
    }

    /// As [`Engine::add_rating`]; a press forwarded by a desk PC (`forwarded`) is stored once:
    /// its stable id is kept in the rating's own transaction, and a repeat stores nothing
    /// (`None`). Its journal moves on to the press's seq in the same commit.
    pub(crate) async fn store_rating(
        &self,
        new: otklik_store::ratings::NewRating,
        forwarded: Option<crate::desk_pc::Forwarded>,
    ) -> Result<Option<otklik_store::ratings::Rating>> {
        let rules = self.store.rating_rules();
        let cfg = self.notify.config();
        // Alerts and the webhook are queued in the rating's own transaction: no rating without
        // its messages, whatever happens next.
        let words = (!cfg.alerts.is_empty() || !cfg.windows.is_empty())
            .then(|| self.store.with_settings(|s| self.notify.words(s)));
        // A desk PC's press was captured (or not) by the desk PC's own camera, not this PC's.
        let photo_expected = forwarded.is_none() && self.evidence.takes_photos(new.desk_id);
        let tz = self.store.with_settings(|s| s.tz());
        let (rating, queued) = self
            .store
            .writer
            .write(move |ctx| {
                if let Some(f) = forwarded {
                    use otklik_store::desk_pcs;
                    desk_pcs::advance(ctx.conn, f.panel_id, f.seq, ctx.now, None)?;
                    if desk_pcs::forwarded(ctx.conn, f.panel_id, f.local_id)?.is_some() {
                        return Ok((None, 0));
                    }
                }
                let rating = otklik_store::ratings::add(ctx, &new, rules)?;
                if let Some(f) = forwarded {
                    otklik_store::desk_pcs::remember(ctx.conn, f.panel_id, f.local_id, rating.id)?;
                }
                let mut queued = 0;
                // A flagged rating (a flood of bottom presses) raises no alert of its own.
                if let Some(words) = &words
                    && rating.flag.is_none()
                {
                    queued += otklik_notify::alerts::on_rating(
                        ctx,
                        &rating,
                        &cfg,
                        words,
                        photo_expected,
                    )?;
                    queued += otklik_notify::windows::on_rating(ctx, &rating, &cfg, words)?;
                }
                if !cfg.webhook_url.is_empty() {
                    queued += otklik_notify::outbox::enqueue(
                        ctx.conn,
                        ctx.now,
                        &otklik_notify::outbox::NewItem {
                            channel: otklik_notify::Channel::Webhook,
                            target: &cfg.webhook_url,
                            kind: otklik_notify::Kind::Webhook,
                            alert_id: None,
                            photo_of: None,
                            priority: 1,
                        },
                        otklik_notify::Outgoing {
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
                if !cfg.video.is_empty() {
                    queued += video(ctx, &rating, &cfg, tz)?;
                }
                Ok((Some(rating), queued))
            })
            .await?;
        let Some(rating) = rating else {
            return Ok(None);
        };
        // Only when there is something to send: a wake makes every idle worker read the outbox.
        if queued > 0 {
            self.notify.wake();
        }
        // Capture paused from the tray or the console: the rating counts, without evidence.
        let capture = self.store.with_settings(|s| {
            (!s.capture_paused).then(|| Capture {
                before_ms: Millis::from(s.audio_before_secs) * 1000,
                after_ms: Millis::from(s.audio_after_secs) * 1000,
                jpeg: JpegSettings::from_settings(s),
            })
        });
        let Some(capture) = capture.filter(|_| forwarded.is_none()) else {
            return Ok(Some(rating));
        };
        let at = otklik_domain::time::parse_rfc3339("at", &rating.at).unwrap_or_else(|_| now_ms());
        self.evidence
            .on_rating(&self.store.writer, rating.id, rating.desk_id, at, capture);
        Ok(Some(rating))
    }

    /// Deletes photos and clips past their retention (ratings stay); says so in the audit log.
    pub async fn purge_media(&self, now: Millis) -> Result<otklik_store::media::Purged> {
        let (photo_days, audio_days) = self
            .store
            .with_settings(|s| (s.photo_retention_days, s.audio_retention_days));
        let dir = self.store.data_dir.clone();
        self.store
            .writer
            .write(move |ctx| otklik_store::media::purge(ctx, &dir, photo_days, audio_days, now))
            .await
    }

    /// Starts everything that runs beside the requests: the devices, the delivery workers and
    /// the bot, the leaderboard's live updates, the retention purge, backups, health checks.
    /// Needs a runtime; the HTTP server calls it before it accepts anything.
    pub async fn start(self: &Arc<Self>) -> Result<()> {
        tokio::spawn(watch_leaderboard(self.clone()));
        tokio::spawn(purge_on_schedule(self.clone()));
        tokio::spawn(crate::backup::run_schedule(self.clone()));
        tokio::spawn(crate::uplink::run(self.clone()));
        self.start_inputs().await?;
        self.notify.start();
        crate::health::start(self);
        Ok(())
    }

    /// Starts the devices of every desk and the task that stores their presses. Needs a runtime.
    pub async fn start_inputs(self: &Arc<Self>) -> Result<()> {
        let Some(presses) = self.presses.lock().expect("presses lock").take() else {
            return Ok(()); // started already
        };
        let all = self.store.reads.read(inputs::config::load_all).await?;
        self.inputs.apply(all);
        tokio::spawn(ingest(self.clone(), presses));
        for ev in self
            .store
            .reads
            .read(otklik_devices::evidence::config::load_all)
            .await?
        {
            self.open_evidence_devices(ev).await?;
        }
        Ok(())
    }

    /// Saves a desk's evidence setting and opens (or closes) its camera and microphone.
    pub async fn set_evidence(
        &self,
        ev: otklik_devices::evidence::config::DeskEvidence,
        actor: &'static str,
    ) -> Result<otklik_devices::evidence::config::DeskEvidence> {
        let saved = self
            .store
            .writer
            .write(move |ctx| otklik_devices::evidence::config::save(ctx, ev, actor))
            .await?;
        self.open_evidence_devices(saved.clone()).await?;
        Ok(saved)
    }

    /// Opens (or closes) a desk's camera and microphone as its saved setting says.
    pub async fn open_evidence_devices(
        &self,
        ev: otklik_devices::evidence::config::DeskEvidence,
    ) -> Result<()> {
        let desk_id = ev.desk_id;
        let password = self
            .store
            .reads
            .read(move |c| otklik_devices::evidence::config::camera_password(c, desk_id))
            .await?;
        // Opening a device may take a moment (a USB camera): off the async workers.
        let devices = tokio::task::spawn_blocking(move || {
            otklik_devices::evidence::open_devices(&ev, password)
        })
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
        let levels = self.store.scale();
        let saved = self
            .store
            .writer
            .write(move |ctx| inputs::config::save(ctx, input, levels, actor))
            .await?;
        let all = self.store.reads.read(inputs::config::load_all).await?;
        self.inputs.apply(all);
        Ok(saved)
    }

    /// Claims the patient panel of `desk_id` for a rating now, or says how long its lock-out lasts.
    pub fn claim_panel_tap(&self, desk_id: i64, now: Millis) -> Result<()> {
        let lockout = Millis::from(self.store.with_settings(|s| s.panel_lockout_secs)) * 1000;
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

/// Stores the devices' presses, one at a time in the order they came, after the debounce (the
/// serve key debounced on its own, so it never swallows the rating that follows it).
async fn ingest(engine: Arc<Engine>, mut presses: tokio::sync::mpsc::UnboundedReceiver<Press>) {
    let mut last_counted: HashMap<(i64, bool), Millis> = HashMap::new();
    while let Some(p) = presses.recv().await {
        let setting = engine.inputs.setting(p.desk_id);
        let window = Millis::from(setting.debounce_ms);
        let key = (p.desk_id, p.button == Button::Serve);
        if inputs::is_bounce(last_counted.get(&key).copied(), p.at, window) {
            tracing::debug!(
                desk = p.desk_id,
                "press ignored: within the debounce interval"
            );
            continue;
        }
        last_counted.insert(key, p.at);
        let stored = match p.button {
            Button::Score(score) => {
                let new = otklik_store::ratings::NewRating {
                    desk_id: p.desk_id,
                    score,
                    source: Some(p.source.to_string()),
                    at: Some(p.at),
                };
                engine.add_rating(new).await.map(drop)
            }
            Button::Serve => {
                let desk_id = p.desk_id;
                engine
                    .store
                    .writer
                    .write(move |ctx| serving::toggle(ctx, desk_id, serving::Source::Key))
                    .await
                    .map(drop)
            }
        };
        if let Err(e) = stored {
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
    let mut sub = engine.store.events.subscribe(None, false).rx;
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
            .store
            .leaderboard(Some(PeriodName::Today), None, None)
            .await
        {
            Ok(board) if last.as_ref() != Some(&board) => {
                engine.store.events.publish("leaderboard", &board);
                last = Some(board);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%e, "cannot compute the leaderboard"),
        }
    }
}

/// Queues the rating for each video surveillance target that takes its score (the webhook's
/// queue: a recorder that is down gets it when it is back).
fn video(
    ctx: &mut otklik_store::writer::WriteCtx<'_>,
    rating: &otklik_store::ratings::Rating,
    cfg: &otklik_notify::NotifyConfig,
    tz: chrono_tz::Tz,
) -> Result<usize> {
    let (desk, registrar, at): (String, Option<String>, Millis) = ctx.conn.query_row(
        "SELECT d.name, g.name, r.at FROM ratings r JOIN desks d ON d.id = r.desk_id
         LEFT JOIN registrars g ON g.id = r.registrar_id WHERE r.id = ?1",
        [rating.id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let facts = otklik_notify::video::Facts {
        rating_id: rating.id,
        at,
        desk_id: rating.desk_id,
        desk: &desk,
        registrar: registrar.as_deref(),
        score: rating.score,
        scale: rating.scale,
    };
    let mut queued = 0;
    for t in cfg
        .video
        .iter()
        .filter(|t| t.scores.is_empty() || t.scores.contains(&rating.score))
    {
        let (target, text) = otklik_notify::video::item(t, &facts, tz);
        queued += otklik_notify::outbox::enqueue(
            ctx.conn,
            ctx.now,
            &otklik_notify::outbox::NewItem {
                channel: otklik_notify::Channel::Webhook,
                target: &target,
                kind: otklik_notify::Kind::Webhook,
                alert_id: None,
                photo_of: None,
                priority: 1,
            },
            otklik_notify::Outgoing {
                text,
                ..Default::default()
            },
        )?
        .len();
    }
    Ok(queued)
}
