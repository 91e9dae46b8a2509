//! One delivery worker per channel: takes the oldest waiting message, sends it, and only then
//! marks it sent. While the channel is down it keeps the message at the head and tries again
//! with a doubling wait, so the backlog goes out in order and nothing twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::OptionalExtension;

use super::Notifier;
use super::config::{Channel, Condition, Every};
use super::email::Email;
use super::message::{Attachment, AttachmentRole, Kind, Outgoing, SendError, Sent, Transport};
use super::outbox::{self, NewItem};
use super::telegram::Telegram;
use super::webhook::Webhook;
use super::{alerts, digest, schedule, secrets};
use otklik_domain::error::Result;
use otklik_domain::time::{Millis, Span, now_ms};

/// How long an alert waits for its photo before it goes without.
const PHOTO_WAIT_MS: Millis = 8_000;
/// A send with no answer by then counts as failed for now, and is tried again.
const SEND_LIMIT: Duration = Duration::from_secs(90);
/// Sent messages are kept this long as a record, then forgotten.
const KEEP_SENT_MS: Millis = 30 * 24 * 3_600_000;

/// Transports built from the current settings and secrets; cleared when either changes.
#[derive(Default)]
pub(super) struct Transports {
    telegram: Option<Arc<Telegram>>,
    email: Option<Arc<Email>>,
    webhook: Option<Arc<Webhook>>,
}

impl Transports {
    pub(super) fn clear(&mut self) {
        *self = Transports::default();
    }
}

enum Tx {
    Telegram(Arc<Telegram>),
    Email(Arc<Email>),
    Webhook(Arc<Webhook>),
}

impl Tx {
    async fn send(&self, target: &str, msg: &Outgoing) -> std::result::Result<Sent, SendError> {
        match self {
            Tx::Telegram(t) => t.send(target, msg).await,
            Tx::Email(t) => t.send(target, msg).await,
            Tx::Webhook(t) => t.send(target, msg).await,
        }
    }
}

impl Notifier {
    /// The Telegram bot as set up now, or why there is none.
    pub(super) fn telegram(&self) -> std::result::Result<Arc<Telegram>, String> {
        let n = self;
        let cfg = n.config();
        if !cfg.telegram.enabled {
            return Err("Telegram is off".into());
        }
        let mut cache = n.transports.lock().expect("transports lock");
        if let Some(t) = &cache.telegram {
            return Ok(t.clone());
        }
        let token = n
            .secrets
            .get(secrets::TELEGRAM_TOKEN)
            .map_err(|e| e.to_string())?
            .ok_or("no bot token is set")?;
        let t = Arc::new(Telegram::new(&cfg.telegram.api_url, &token)?);
        cache.telegram = Some(t.clone());
        Ok(t)
    }

    fn transport(&self, channel: Channel) -> std::result::Result<Tx, String> {
        let n = self;
        let cfg = n.config();
        match channel {
            Channel::Telegram => self.telegram().map(Tx::Telegram),
            Channel::Email => {
                if !cfg.email.enabled {
                    return Err("email is off".into());
                }
                let mut cache = n.transports.lock().expect("transports lock");
                if let Some(t) = &cache.email {
                    return Ok(Tx::Email(t.clone()));
                }
                let password = n
                    .secrets
                    .get(secrets::SMTP_PASSWORD)
                    .map_err(|e| e.to_string())?;
                let t = Arc::new(Email::new(&cfg.email, password.as_deref())?);
                cache.email = Some(t.clone());
                Ok(Tx::Email(t))
            }
            Channel::Webhook => {
                let mut cache = n.transports.lock().expect("transports lock");
                Ok(Tx::Webhook(
                    cache
                        .webhook
                        .get_or_insert_with(|| Arc::new(Webhook::new()))
                        .clone(),
                ))
            }
        }
    }
}

/// Waits `d`, or less if the settings change; new messages do not cut it short, so a channel
/// that is down is tried at its own pace, not on every rating.
async fn nap(notifier: &Notifier, d: Duration) {
    let _ = tokio::time::timeout(d, notifier.changed.notified()).await;
}

/// What a try of the "was away" notice came to.
enum Told {
    /// Nobody to tell (no usual recipient, or the webhook): the head is tried instead.
    Nobody,
    /// The channel took it (or answered refusing that one recipient): the outage is over.
    Back,
    Failed(SendError),
}

/// While a channel is down, each try is the notice that it was away, to its first usual
/// recipient, composed then: when one goes through, the outage is over, the notice is ahead of
/// everything held, and its count is what follows it. The other recipients get theirs queued
/// ahead of their backlog.
async fn tell_back(
    notifier: &Arc<Notifier>,
    channel: Channel,
    tx: &Tx,
    since: Millis,
    last_sent: &mut HashMap<String, Instant>,
) -> Told {
    if channel == Channel::Webhook {
        return Told::Nobody;
    }
    let cfg = notifier.config();
    let c2 = cfg.clone();
    let first = notifier
        .store
        .reads
        .read(move |c| {
            let targets = alerts::targets(c, &c2, &[channel], false)?;
            let Some((_, target)) = targets.into_iter().next() else {
                return Ok(None);
            };
            let held = outbox::held_for(c, channel, &target)?;
            Ok(Some((target, held)))
        })
        .await;
    let (target, held) = match first {
        Ok(Some(t)) => t,
        Ok(None) => return Told::Nobody,
        Err(e) => {
            tracing::warn!(%e, "cannot read the outbox");
            return Told::Nobody;
        }
    };
    let words = notifier.words(&notifier.store.settings());
    let now = now_ms();
    let msg = digest::down_notice(channel.as_str(), since, now, held, words.lang, words.tz);
    let outcome = match tokio::time::timeout(SEND_LIMIT, tx.send(&target, &msg)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::Down("no answer in 90 s".into())),
    };
    let refused = match outcome {
        Ok(_) => None,
        Err(SendError::Rejected(why)) => Some(why),
        Err(e) => return Told::Failed(e),
    };
    last_sent.insert(target.clone(), Instant::now());
    notifier.recovered(channel, now_ms());
    let r = notifier
        .store
        .writer
        .write(move |ctx| {
            for (ch, to) in alerts::targets(ctx.conn, &cfg, &[channel], false)? {
                let first = to == target;
                let held = if first {
                    held
                } else {
                    outbox::held_for(ctx.conn, ch, &to)?
                };
                let msg = digest::down_notice(ch.as_str(), since, now, held, words.lang, words.tz);
                let ids = outbox::enqueue(
                    ctx.conn,
                    ctx.now,
                    &NewItem {
                        channel: ch,
                        target: &to,
                        kind: Kind::Notice,
                        alert_id: None,
                        photo_of: None,
                        priority: 0,
                    },
                    msg,
                )?;
                if first {
                    // Already gone: kept as a record.
                    for id in ids {
                        match &refused {
                            None => outbox::mark_sent(ctx.conn, id, ctx.now, None)?,
                            Some(why) => outbox::mark_failed(ctx.conn, id, ctx.now, why)?,
                        }
                    }
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(%e, "cannot record the notice that a channel is back");
    }
    Told::Back
}

/// The files under `<data>/outbox/` (report charts) a sent message carried, once no message
/// that may still be sent needs them.
async fn remove_spent_files(notifier: &Notifier, body: &Outgoing) {
    let dir = notifier.store.data_dir.join("outbox");
    for a in &body.attachments {
        if a.path.parent() != Some(dir.as_path()) {
            continue;
        }
        let Some(name) = a.path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let n2 = name.clone();
        match notifier
            .store
            .reads
            .read(move |c| outbox::file_needed(c, &n2))
            .await
        {
            Ok(false) => {
                if let Err(e) = std::fs::remove_file(&a.path) {
                    tracing::warn!(%e, file = %name, "cannot remove a sent message's file");
                }
            }
            Ok(true) => {}
            Err(e) => tracing::warn!(%e, "cannot read the outbox"),
        }
    }
}

enum Photo {
    Ready(Attachment),
    Missing,
    NotYet,
}

fn photo_of(notifier: &Notifier, conn: &rusqlite::Connection, rating_id: i64) -> Result<Photo> {
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT m.state, m.file FROM media m JOIN rating_media rm ON rm.media_id = m.id
             WHERE rm.rating_id = ?1 AND m.kind = 'photo' ORDER BY m.id LIMIT 1",
            [rating_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        None => Photo::NotYet,
        Some((state, Some(file))) if state == "saved" => {
            match otklik_store::media::file_path(&notifier.store.data_dir, &file) {
                Some(path) => Photo::Ready(Attachment {
                    role: AttachmentRole::Photo,
                    path,
                    file_name: format!("otklik-{rating_id}.jpg"),
                    mime: "image/jpeg".into(),
                }),
                None => Photo::Missing,
            }
        }
        Some(_) => Photo::Missing,
    })
}

/// The delivery loop of one channel.
pub(super) async fn run(notifier: Arc<Notifier>, channel: Channel) {
    let mut backoff = Duration::from_secs(1);
    let mut last_sent: HashMap<String, Instant> = HashMap::new();
    loop {
        let wake = notifier.wake.notified();
        let head = notifier
            .store
            .reads
            .read(move |c| outbox::head(c, channel))
            .await;
        let mut item = match head {
            Ok(Some(item)) => item,
            Ok(None) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), wake).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(%e, channel = channel.as_str(), "cannot read the outbox");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        drop(wake);
        let tx = match notifier.transport(channel) {
            Ok(tx) => tx,
            Err(why) => {
                // Messages wait for the channel to be set up (or switched back on).
                notifier.set_health(channel, Some(why), now_ms());
                nap(&notifier, Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Some(since) = notifier.down_since(channel) {
            match tell_back(&notifier, channel, &tx, since, &mut last_sent).await {
                Told::Nobody => {}
                Told::Back => {
                    backoff = Duration::from_secs(1);
                    continue;
                }
                Told::Failed(SendError::RetryAfter(wait)) => {
                    tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
                    continue;
                }
                Told::Failed(e) => {
                    tracing::info!(channel = channel.as_str(), %e, "channel still down");
                    notifier.set_health(channel, Some(e.to_string()), now_ms());
                    nap(&notifier, backoff).await;
                    backoff = next_backoff(&notifier, backoff);
                    continue;
                }
            }
        }
        if let Some(rating_id) = item.photo_of {
            let n2 = notifier.clone();
            match notifier
                .store
                .reads
                .read(move |c| photo_of(&n2, c, rating_id))
                .await
            {
                Ok(Photo::Ready(photo)) => item.body.attachments.insert(0, photo),
                Ok(Photo::NotYet)
                    if item.kind == Kind::Alert && now_ms() - item.created_at < PHOTO_WAIT_MS =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(%e, "cannot look for an alert's photo"),
            }
        }
        if channel == Channel::Telegram {
            let gap = Duration::from_millis(u64::from(notifier.config().telegram.min_interval_ms));
            if let Some(last) = last_sent.get(&item.target) {
                let ready = *last + gap;
                if ready > Instant::now() {
                    tokio::time::sleep_until(ready.into()).await;
                }
            }
        }
        let outcome =
            match tokio::time::timeout(SEND_LIMIT, tx.send(&item.target, &item.body)).await {
                Ok(r) => r,
                Err(_) => Err(SendError::Down("no answer in 90 s".into())),
            };
        let now = now_ms();
        match outcome {
            Ok(sent) => {
                last_sent.insert(item.target.clone(), Instant::now());
                backoff = Duration::from_secs(1);
                // Back with nobody to tell (see `tell_back`).
                notifier.recovered(channel, now);
                let (id, remote) = (item.id, sent.remote_ref);
                let r = notifier
                    .store
                    .writer
                    .write(move |ctx| {
                        outbox::mark_sent(ctx.conn, id, ctx.now, remote.as_deref())?;
                        ctx.emit("outbox", &serde_json::json!({ "id": id, "state": "sent" }));
                        Ok(())
                    })
                    .await;
                match r {
                    Ok(()) => remove_spent_files(&notifier, &item.body).await,
                    Err(e) => {
                        // Sent but not marked: it would go twice after a restart; say so.
                        tracing::error!(%e, id, "a sent message could not be marked as sent");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Err(SendError::Rejected(why)) => {
                tracing::warn!(id = item.id, channel = channel.as_str(), %why, "message refused for good");
                let id = item.id;
                let _ = notifier
                    .store
                    .writer
                    .write(move |ctx| {
                        outbox::mark_failed(ctx.conn, id, ctx.now, &why)?;
                        ctx.emit(
                            "outbox",
                            &serde_json::json!({ "id": id, "state": "failed" }),
                        );
                        Ok(())
                    })
                    .await;
            }
            Err(SendError::RetryAfter(wait)) => {
                tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
            }
            Err(SendError::Down(why)) => {
                notifier.set_health(channel, Some(why.clone()), now);
                let (id, error) = (item.id, why.clone());
                let _ = notifier
                    .store
                    .writer
                    .write(move |ctx| outbox::mark_attempt(ctx.conn, id, &error))
                    .await;
                // Logged once recorded, so what the log says the console (and diagnostics) show.
                tracing::info!(channel = channel.as_str(), %why, attempts = item.attempts + 1, "channel down; the message waits");
                nap(&notifier, backoff).await;
                backoff = next_backoff(&notifier, backoff);
            }
        }
    }
}

/// 1, 2, 4 … s, up to `retry_max_secs`.
fn next_backoff(notifier: &Notifier, backoff: Duration) -> Duration {
    let max = Duration::from_secs(u64::from(notifier.config().retry_max_secs));
    (backoff * 2).min(max)
}

/// The clock: due reports, due escalations, and forgetting old sent messages.
pub(super) async fn clock(notifier: Arc<Notifier>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut last_prune = 0;
    loop {
        tick.tick().await;
        let now = now_ms();
        if let Err(e) = reports_due(&notifier, now).await {
            tracing::warn!(%e, "cannot make a scheduled report");
        }
        if let Err(e) = notifier.escalate_due(now).await {
            tracing::warn!(%e, "cannot escalate alerts");
        }
        if now - last_prune > 3_600_000 {
            last_prune = now;
            if let Err(e) = notifier
                .store
                .writer
                .write(move |ctx| outbox::prune(ctx.conn, now - KEEP_SENT_MS))
                .await
            {
                tracing::warn!(%e, "cannot prune the outbox");
            }
        }
    }
}

/// A rule's key in `report_runs`, so one rule's period is sent once.
fn rule_key(r: &super::config::ReportRule) -> String {
    serde_json::to_string(r).expect("rules serialize")
}

/// Queues every report whose period has just ended (or ended while the PC was off, within its
/// catch-up window) and has not been handled yet.
pub(super) async fn reports_due(notifier: &Notifier, now: Millis) -> Result<usize> {
    let cfg = notifier.config();
    let s = notifier.store.settings();
    let tz = s.tz();
    let mut queued = 0;
    for rule in &cfg.reports {
        let Some(every) = Every::parse(&rule.every) else {
            continue;
        };
        let span = schedule::latest(every, tz, now);
        if now - span.to > schedule::catch_up(every) {
            continue;
        }
        let key = rule_key(rule);
        let k2 = key.clone();
        let end = span.to;
        let done: bool = notifier
            .store
            .reads
            .read(move |c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM report_runs WHERE rule = ?1 AND period_end = ?2",
                    (&k2, end),
                    |r| r.get::<_, i64>(0),
                )? > 0)
            })
            .await?;
        if done {
            continue;
        }
        let (channels, c2) = (rule.channels.clone(), cfg.clone());
        let targets = notifier
            .store
            .reads
            .read(move |c| alerts::targets(c, &c2, &channels, false))
            .await?;
        if targets.is_empty() {
            // Nobody to send to yet (a chat not paired, a channel off): nothing is drawn; the
            // next tick looks again, within the catch-up window.
            continue;
        }
        let levels = s.scale;
        let link = notifier.words(&s);
        // Email carries the printed report too; Telegram has the chart and the text.
        let printed = targets.iter().any(|(ch, _)| *ch == Channel::Email);
        let (lang, clinic) = (s.language, s.clinic_name.clone());
        let (report, negatives, document) = notifier
            .store
            .reads
            .read(move |c| {
                let r = otklik_reports::figures::report(
                    c,
                    span,
                    otklik_reports::figures::Filter {
                        registrar_id: None,
                        desk_id: None,
                    },
                    tz,
                    levels,
                )?;
                let neg = negatives(c, span, &link)?;
                let doc = if printed {
                    Some(otklik_reports::render::document(c, &r, lang, tz, &clinic)?)
                } else {
                    None
                };
                Ok((r, neg, doc))
            })
            .await?;
        let send = match rule.condition {
            Condition::Always => true,
            Condition::Any => report.totals.count + report.totals.flagged > 0,
            Condition::Negative => !negatives.is_empty(),
        };
        let dir = notifier.store.data_dir.join("outbox");
        let chart = dir.join(otklik_store::media::new_file_name("png"));
        let pdf = dir.join(otklik_store::media::new_file_name("pdf"));
        let msg = if send {
            std::fs::create_dir_all(&dir).map_err(|e| {
                otklik_domain::Error::io(format!("cannot create {}", dir.display()), e)
            })?;
            let (chart, pdf) = (chart.clone(), pdf.clone());
            let clinic = s.clinic_name.clone();
            let m = tokio::task::spawn_blocking(move || {
                let m = digest::report(
                    &report, &negatives, &clinic, span.from, span.to, lang, tz, &chart,
                )?;
                let printed = document
                    .map(|doc| digest::report_pdf(doc, span.from, span.to, lang, tz, &pdf))
                    .transpose()?;
                Ok::<_, String>((m, printed))
            })
            .await
            .map_err(|e| {
                otklik_domain::Error::CommitFailed(format!("the report thread failed: {e}"))
            })?
            .map_err(|e| {
                otklik_domain::Error::CommitFailed(format!("cannot draw the report: {e}"))
            })?;
            Some(m)
        } else {
            None
        };
        let channels = rule.channels.clone();
        let cfg2 = cfg.clone();
        let (n, emailed) = notifier
            .store.writer
            .write(move |ctx| {
                let targets = match &msg {
                    Some(_) => alerts::targets(ctx.conn, &cfg2, &channels, false)?,
                    None => Vec::new(),
                };
                if msg.is_some() && targets.is_empty() {
                    // The last recipient went since the look above: as with none.
                    return Ok((0, false));
                }
                let outcome = if targets.is_empty() { "skipped" } else { "queued" };
                let fresh = ctx.conn.execute(
                    "INSERT OR IGNORE INTO report_runs (rule, period_end, outcome) VALUES (?1, ?2, ?3)",
                    (&key, end, outcome),
                )?;
                if fresh == 0 {
                    return Ok((0, false));
                }
                if let Some((msg, printed)) = msg {
                    for (ch, target) in &targets {
                        let mut msg = msg.clone();
                        if *ch == Channel::Email {
                            msg.attachments.extend(printed.clone());
                        }
                        outbox::enqueue(
                            ctx.conn,
                            ctx.now,
                            &NewItem {
                                channel: *ch,
                                target,
                                kind: Kind::Report,
                                alert_id: None,
                                photo_of: None,
                                priority: 1,
                            },
                            msg,
                        )?;
                    }
                }
                let emailed = targets.iter().any(|(ch, _)| *ch == Channel::Email);
                Ok((targets.len(), emailed))
            })
            .await?;
        if n == 0 {
            // Drawn for nobody (or the period was handled meanwhile).
            let _ = std::fs::remove_file(&chart);
        }
        if !emailed {
            // Printed for an address that went meanwhile, or for nobody.
            let _ = std::fs::remove_file(&pdf);
        }
        queued += n;
    }
    if queued > 0 {
        notifier.wake();
    }
    Ok(queued)
}

/// The period's ratings at the lowest level, with their evidence and alert, oldest first.
fn negatives(
    conn: &rusqlite::Connection,
    span: Span,
    words: &alerts::Words,
) -> Result<Vec<digest::Negative>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.at, d.name, g.name, r.score,
            EXISTS (SELECT 1 FROM rating_media rm JOIN media m ON m.id = rm.media_id
                    WHERE rm.rating_id = r.id AND m.kind = 'photo' AND m.state = 'saved'),
            EXISTS (SELECT 1 FROM rating_media rm JOIN media m ON m.id = rm.media_id
                    WHERE rm.rating_id = r.id AND m.kind = 'audio' AND m.state = 'saved'),
            a.state, a.taken_by, a.taken_at, a.resolved_by, a.resolved_at, a.cause, a.created_at
         FROM ratings r JOIN desks d ON d.id = r.desk_id
         LEFT JOIN registrars g ON g.id = r.registrar_id
         LEFT JOIN alerts a ON a.rating_id = r.id
         WHERE r.at >= ?1 AND r.at < ?2 AND r.score = 1
           AND r.id NOT IN (SELECT rating_id FROM annulled_ratings)
         ORDER BY r.at",
    )?;
    let rows = stmt.query_map((span.from, span.to), |r| {
        let id: i64 = r.get(0)?;
        let state: Option<String> = r.get(7)?;
        let (taken_by, taken_at): (Option<String>, Option<Millis>) = (r.get(8)?, r.get(9)?);
        let (resolved_by, resolved_at): (Option<String>, Option<Millis>) = (r.get(10)?, r.get(11)?);
        let (cause, created): (Option<String>, Option<Millis>) = (r.get(12)?, r.get(13)?);
        let alert = state.map(|state| {
            let s = match (
                state.as_str(),
                &resolved_by,
                resolved_at,
                &taken_by,
                taken_at,
            ) {
                ("resolved", Some(by), Some(at), _, _) => Some(digest::AlertState::Resolved {
                    by,
                    at,
                    cause: cause.as_deref().unwrap_or(""),
                    minutes: (at - created.unwrap_or(at)) / 60_000,
                }),
                ("taken", _, _, Some(by), Some(at)) => Some(digest::AlertState::Taken { by, at }),
                _ => None,
            };
            digest::alert_summary(s.as_ref(), words.lang, words.tz)
        });
        Ok(digest::Negative {
            rating_id: id,
            at: r.get(1)?,
            desk: r.get(2)?,
            registrar: r.get(3)?,
            score: r.get(4)?,
            has_photo: r.get(5)?,
            has_voice: r.get(6)?,
            link: words.rating_link(id),
            alert,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
