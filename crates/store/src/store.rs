//! The handle every service gets instead of the whole engine: the writer, the read pool, the
//! live events, the settings in force and the data directory.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde_json::json;

use crate::db::ReadPool;
use crate::events::EventHub;
use crate::leaderboard;
use crate::settings::{Settings, SettingsPatch};
use crate::writer::Writer;
use otklik_domain::Result;
use otklik_domain::time::{Millis, PeriodName, now_ms};

pub struct Store {
    pub data_dir: PathBuf,
    pub db_path: PathBuf,
    pub writer: Writer,
    pub reads: Arc<ReadPool>,
    pub events: Arc<EventHub>,
    /// Shared with the writer's callers, which update it before the `settings` event goes out.
    settings: Arc<RwLock<Settings>>,
}

impl Store {
    pub fn new(
        data_dir: PathBuf,
        db_path: PathBuf,
        writer: Writer,
        events: Arc<EventHub>,
        settings: Settings,
    ) -> Store {
        Store {
            reads: Arc::new(ReadPool::new(db_path.clone())),
            data_dir,
            db_path,
            writer,
            events,
            settings: Arc::new(RwLock::new(settings)),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().expect("settings lock").clone()
    }

    /// Reads the settings in force without copying them.
    pub fn with_settings<T>(&self, f: impl FnOnce(&Settings) -> T) -> T {
        f(&self.settings.read().expect("settings lock"))
    }

    /// Levels of the current scale, read without copying the settings.
    pub fn scale(&self) -> u8 {
        self.with_settings(|s| s.scale)
    }

    /// What storing a rating needs from the settings (every rating asks).
    pub fn rating_rules(&self) -> crate::ratings::Rules {
        self.with_settings(crate::ratings::Rules::from_settings)
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
        let span = otklik_domain::time::span_for(period, from, to, s.tz(), now_ms());
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
