//! Desk PCs: an Otklik on the PC at a desk (its button receiver, camera, microphone) records the
//! presses at its one local desk in its own database and forwards them to the reception's Otklik
//! through the uplink journal (`crate::uplink`, link kind `reception`). It is paired once from
//! the reception's console with a code, like a panel of role `desk_pc`.
//!
//! The reception applies each forwarded press as a rating at the paired desk through
//! [`Engine::add_rating`]'s path (alerts, window rules, webhook, flags), bound to the session
//! open at the press time, and keeps it once by the desk PC's own rating id; the other changes
//! in a desk PC's journal (its desks, registrars, sessions) are acknowledged and ignored: the
//! reception owns those.

use std::time::Duration;

use serde_json::json;

use otklik_domain::error::{Error, Result};
use otklik_domain::link::{Ack, Batch, CLOCK_DRIFT_WARN_MS, Change, Gap, PROTOCOL};
use otklik_domain::time::{Millis, now_ms};
use otklik_notify::secrets::RECEPTION_TOKEN;
use otklik_store::desk_pcs;
use otklik_store::panels::{PanelKey, Role};
use otklik_store::ratings::NewRating;
use otklik_store::uplink::{self, LinkKind};

use crate::engine::Engine;
use crate::uplink::Uplink;

/// Changes in one batch at most, as the hub takes.
pub const MAX_EVENTS: usize = 5000;

/// A press forwarded by a desk PC: who sent it, its id there, its place in its journal.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded {
    pub panel_id: i64,
    pub local_id: i64,
    pub seq: i64,
}

/// What the reception said when the desk PC sent its code.
#[derive(Debug, Clone)]
pub struct Redeemed {
    /// The reception's address, as stored.
    pub url: String,
    pub token: String,
    pub desk_id: i64,
    pub desk_name: String,
}

/// Checks the reception's address and the code before anything is sent.
fn check_pairing(reception_url: &str, code: &str) -> Result<(String, String)> {
    let url = reception_url.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
        || url.len() < "http://x".len()
    {
        return Err(Error::invalid(
            "reception_url",
            "must be the reception's address, http://host:port",
        ));
    }
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "code",
            "must be the six digits the reception's console shows",
        ));
    }
    Ok((url.to_owned(), code.to_owned()))
}

/// Sends the code to the reception and takes the desk PC's token from its answer. Needs no
/// database: `otklik desk-pc pair` uses it too.
pub async fn redeem(reception_url: &str, code: &str) -> Result<Redeemed> {
    let (url, code) = check_pairing(reception_url, code)?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("otklik-desk-pc/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client");
    let answer = client
        .post(format!("{url}/api/v1/panels/pair"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .map_err(|e| {
            Error::invalid(
                "reception_url",
                format!("cannot reach the reception at {url}: {}", reach_error(&e)),
            )
        })?;
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    let said = body["error"].as_str().unwrap_or("").to_string();
    match status.as_u16() {
        201 => {}
        403 => return Err(Error::Forbidden(said)),
        429 => {
            return Err(Error::TooSoon {
                message: said,
                retry_after_secs: 60,
            });
        }
        _ => {
            return Err(Error::invalid(
                "reception_url",
                format!("{url} answered {status}, not as an Otklik reception: {said}"),
            ));
        }
    }
    let (Some(token), Some(desk_id), Some(role)) = (
        body["token"].as_str(),
        body["panel"]["desk_id"].as_i64(),
        body["panel"]["role"].as_str(),
    ) else {
        return Err(Error::invalid(
            "reception_url",
            format!("{url} answered the pairing in a way this Otklik does not understand"),
        ));
    };
    if role != "desk_pc" {
        return Err(Error::invalid(
            "code",
            format!(
                "that code paired a {role} panel, not a desk PC: revoke it in the reception's \
                 console (Panels) and show a code for a desk PC"
            ),
        ));
    }
    Ok(Redeemed {
        url,
        token: token.to_owned(),
        desk_id,
        desk_name: body["panel"]["desk_name"].as_str().unwrap_or("").to_owned(),
    })
}

/// `otklik desk-pc pair`: pairs the installation in `data_dir` without starting its engine.
pub async fn pair_offline(
    data_dir: &std::path::Path,
    reception_url: &str,
    code: &str,
) -> Result<Redeemed> {
    check_pairing(reception_url, code)?;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::io(format!("cannot create {}", data_dir.display()), e))?;
    let conn = otklik_store::db::open_writer(&data_dir.join(crate::DB_FILE))?;
    if let Some(link) = uplink::status(&conn)?
        && link.kind == LinkKind::Hub
    {
        return Err(Error::Conflict(
            "this installation is linked to a network hub: unlink it first".into(),
        ));
    }
    let paired = redeem(reception_url, code).await?;
    otklik_notify::secrets::open(data_dir).set(RECEPTION_TOKEN, Some(&paired.token))?;
    let now = now_ms();
    uplink::link_as(&conn, &paired.url, LinkKind::Reception, now)?;
    otklik_store::audit::record(
        &conn,
        now,
        "cli",
        "link",
        "uplink",
        None,
        json!({ "reception_url": paired.url, "desk_id": paired.desk_id }),
    )?;
    Ok(paired)
}

fn reach_error(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    }
}

/// A photo or clip sent on by a desk PC: its own id for it, what it is, the desk PC's ratings it
/// belongs to, the span it covers.
#[derive(Debug, Clone)]
pub struct MediaUpload {
    pub local_id: i64,
    pub kind: String,
    pub ratings: Vec<i64>,
    pub span: Option<(Millis, Millis)>,
}

/// On the desk PC: sends the photos and clips whose ratings the reception has, a few at a time.
/// `Ok(true)` if some went (more may wait); a file the reception cannot place (its rating never
/// reached it) is given up on, with why, rather than retried for ever.
pub async fn forward_media(
    engine: &Engine,
    client: &reqwest::Client,
) -> std::result::Result<bool, String> {
    let Some(link) = engine
        .store
        .reads
        .read(uplink::status)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    if link.kind != LinkKind::Reception {
        return Ok(false);
    }
    let linked_at = link.linked_at;
    let outgoing = engine
        .store
        .reads
        .read(move |c| desk_pcs::outgoing_media(c, linked_at, 4))
        .await
        .map_err(|e| e.to_string())?;
    if outgoing.is_empty() {
        return Ok(false);
    }
    let token = engine
        .notify
        .secrets()
        .get(RECEPTION_TOKEN)
        .map_err(|e| e.to_string())?
        .ok_or("the desk PC's token is missing: pair with the reception again")?;
    for m in outgoing {
        let outcome = match otklik_store::media::file_path(&engine.store.data_dir, &m.file) {
            None => "its file name is not one Otklik made".to_string(),
            Some(path) => match tokio::fs::read(&path).await {
                Err(e) => format!("its file cannot be read: {e}"),
                Ok(bytes) => {
                    let ratings: Vec<String> = m.ratings.iter().map(i64::to_string).collect();
                    let mut query = vec![("kind", m.kind.clone()), ("ratings", ratings.join(","))];
                    if let Some((from, to)) = m.span {
                        query.push(("from", from.to_string()));
                        query.push(("to", to.to_string()));
                    }
                    let answer = client
                        .post(format!(
                            "{}/api/v1/desk-pc/media/{}",
                            link.hub_url, m.media_id
                        ))
                        .query(&query)
                        .bearer_auth(&token)
                        .header("content-type", m.mime.as_str())
                        .body(bytes)
                        .send()
                        .await
                        .map_err(|e| {
                            format!("the reception took no photo or clip: {}", reach_error(&e))
                        })?;
                    match answer.status().as_u16() {
                        200 | 201 => "sent".to_string(),
                        404 | 422 => {
                            let body: serde_json::Value = answer.json().await.unwrap_or_default();
                            format!("refused: {}", body["error"].as_str().unwrap_or("?"))
                        }
                        other => {
                            return Err(format!("the reception refused a photo or clip ({other})"));
                        }
                    }
                }
            },
        };
        if outcome != "sent" {
            tracing::warn!(
                "media {} is not sent to the reception: {outcome}",
                m.media_id
            );
        }
        let id = m.media_id;
        engine
            .store
            .writer
            .write(move |ctx| desk_pcs::media_done(ctx.conn, id, ctx.now, &outcome))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(true)
}

/// Refuses, naming the field, a batch that cannot be applied as it stands (the hub's rules).
fn check(batch: &Batch) -> Result<()> {
    if batch.protocol != PROTOCOL {
        return Err(Error::invalid(
            "protocol",
            format!(
                "the desk PC speaks uplink protocol {}, this reception {PROTOCOL}: run the same \
                 version of Otklik on both",
                batch.protocol
            ),
        ));
    }
    if batch.events.len() > MAX_EVENTS {
        return Err(Error::invalid(
            "events",
            format!(
                "at most {MAX_EVENTS} in one batch, not {}",
                batch.events.len()
            ),
        ));
    }
    let first = batch.events.first().map_or(1, |e| e.seq);
    for (i, e) in batch.events.iter().enumerate() {
        if e.seq < 1 || e.seq != first + i as i64 {
            return Err(Error::invalid(
                format!("events[{i}].seq"),
                "seqs must be positive and consecutive",
            ));
        }
        if let Change::Rating { score, scale, .. } = &e.change
            && (!(2..=10).contains(scale) || !(1..=*scale).contains(score))
        {
            return Err(Error::invalid(
                format!("events[{i}].change.score"),
                format!("{score} is not a score on a {scale}-level scale"),
            ));
        }
    }
    Ok(())
}

/// Whether a desk PC's clock is far enough off to warn about.
pub fn drifts(drift_ms: Millis) -> bool {
    drift_ms.abs() > CLOCK_DRIFT_WARN_MS
}

impl Engine {
    /// On the desk PC: pairs with the reception at `reception_url` with the code its console
    /// showed, keeps the token with the other secrets, and links the journal there. Presses
    /// made from now on are forwarded.
    pub async fn pair_with_reception(
        &self,
        reception_url: String,
        code: String,
        actor: String,
    ) -> Result<Uplink> {
        check_pairing(&reception_url, &code)?;
        if let Some(link) = self.store.reads.read(uplink::status).await?
            && link.kind == LinkKind::Hub
        {
            return Err(Error::Conflict(
                "this installation is linked to a network hub: unlink it first".into(),
            ));
        }
        let paired = redeem(&reception_url, &code).await?;
        self.notify
            .secrets()
            .set(RECEPTION_TOKEN, Some(&paired.token))?;
        let url = paired.url.clone();
        self.store
            .writer
            .write(move |ctx| {
                uplink::link_as(ctx.conn, &url, LinkKind::Reception, ctx.now)?;
                otklik_store::audit::record(
                    ctx.conn,
                    ctx.now,
                    &actor,
                    "link",
                    "uplink",
                    None,
                    json!({ "reception_url": url, "desk_id": paired.desk_id }),
                )
            })
            .await?;
        // The new token joins the secrets the log files never carry (once per pairing: a few
        // small reads, not worth a blocking thread).
        crate::logs::set_secrets(
            &self.store.data_dir,
            crate::diagnostics::known_secrets(self),
        );
        tracing::info!(
            "paired with the reception at {} as the desk PC of its desk {} ({})",
            paired.url,
            paired.desk_id,
            paired.desk_name
        );
        self.uplink.relinked();
        self.uplink().await
    }

    /// On the reception: applies a batch from the desk PC `key`. Answers the `Ack`, or the
    /// `Gap` when the batch does not continue where the last one ended.
    pub async fn ingest_from_desk_pc(
        &self,
        key: PanelKey,
        batch: Batch,
    ) -> Result<std::result::Result<Ack, Gap>> {
        if key.role != Role::DeskPc {
            return Err(Error::Forbidden(
                "only a paired desk PC sends batches here".into(),
            ));
        }
        check(&batch)?;
        // One batch of a desk PC at a time: a resend racing the batch it repeats adds nothing.
        let _one = self.uplink.ingest_lock.lock().await;
        let panel_id = key.id;
        let last = self
            .store
            .reads
            .read(move |c| desk_pcs::last_seq(c, panel_id))
            .await?;
        if let Some(first) = batch.events.first()
            && last > 0
            && first.seq > last + 1
        {
            return Ok(Err(Gap {
                expected: last + 1,
                error: format!(
                    "this batch starts at change {}, but change {} is next from this desk PC",
                    first.seq,
                    last + 1
                ),
            }));
        }
        let levels = self.store.scale();
        for e in batch.events.iter().filter(|e| e.seq > last) {
            let Change::Rating {
                id,
                score,
                scale,
                source,
                at,
                ..
            } = &e.change
            else {
                continue;
            };
            let new = NewRating {
                desk_id: key.desk_id,
                score: i64::from(otklik_domain::scale::normalize(*score, *scale, levels)),
                source: Some(source.clone()),
                // The press time is the desk PC's, so a press sent late binds to the session
                // open then; a clock ahead of this one cannot put it in the future.
                at: Some((*at).min(now_ms())),
            };
            let forwarded = Forwarded {
                panel_id,
                local_id: *id,
                seq: e.seq,
            };
            self.store_rating(new, Some(forwarded))
                .await
                .map_err(|err| match err {
                    Error::Invalid { message, .. } => Error::invalid(
                        format!("events[{}].change", e.seq - batch.events[0].seq),
                        message,
                    ),
                    other => other,
                })?;
        }
        let now = now_ms();
        let acked = batch.events.last().map_or(last, |e| e.seq.max(last));
        let drift = batch.sent_at - now;
        self.store
            .writer
            .write(move |ctx| desk_pcs::advance(ctx.conn, panel_id, acked, now, Some(drift)))
            .await?;
        // A drift past the limit shows in health (`desk_pc:{id}`), not on every heartbeat's log.
        Ok(Ok(Ack {
            acked,
            hub_time: now,
            // A reception sends no roster down to its desk PCs.
            roster_version: 0,
        }))
    }

    /// On the reception: a photo or clip the desk PC `key` took around its presses, kept with
    /// the ratings they became here, once by the desk PC's own media id. `Ok(false)` when it
    /// was here already.
    pub async fn media_from_desk_pc(
        &self,
        key: PanelKey,
        upload: MediaUpload,
        bytes: Vec<u8>,
    ) -> Result<(bool, otklik_store::media::Media)> {
        let (kind, mime, ext, magic): (&'static str, &'static str, &str, &[u8]) =
            match upload.kind.as_str() {
                "photo" => ("photo", "image/jpeg", "jpg", b"\xFF\xD8\xFF"),
                "audio" => ("audio", "audio/ogg", "ogg", b"OggS"),
                other => {
                    return Err(Error::invalid(
                        "kind",
                        format!("{other:?} is not `photo` or `audio`"),
                    ));
                }
            };
        if !bytes.starts_with(magic) {
            return Err(Error::invalid(
                "body",
                format!(
                    "is not {} ({mime})",
                    if kind == "photo" {
                        "a JPEG photo"
                    } else {
                        "an Ogg clip"
                    }
                ),
            ));
        }
        if upload.ratings.is_empty() || upload.ratings.len() > 100 {
            return Err(Error::invalid(
                "ratings",
                "1 to 100 of the desk PC's rating ids",
            ));
        }
        let _one = self.uplink.ingest_lock.lock().await;
        let (panel_id, local_id) = (key.id, upload.local_id);
        let locals = upload.ratings.clone();
        let (known, ours) = self
            .store
            .reads
            .read(move |c| {
                let known = desk_pcs::forwarded_media(c, panel_id, local_id)?;
                let mut ours = Vec::new();
                for l in locals {
                    ours.extend(desk_pcs::forwarded(c, panel_id, l)?);
                }
                Ok((known, ours))
            })
            .await?;
        if let Some(id) = known {
            let media = self
                .store
                .reads
                .read(move |c| otklik_store::media::get(c, id))
                .await?;
            return Ok((false, media));
        }
        if ours.is_empty() {
            return Err(Error::NotFound {
                what: "forwarded rating",
                id: upload.ratings[0],
            });
        }
        let file = otklik_store::media::new_file_name(ext);
        otklik_store::media::write_file(&self.store.data_dir, &file, &bytes)?;
        let size = bytes.len() as i64;
        let name = file.clone();
        let stored = self
            .store
            .writer
            .write(move |ctx| {
                let media = otklik_store::media::insert(
                    ctx,
                    &otklik_store::media::NewMedia {
                        desk_id: key.desk_id,
                        kind,
                        ratings: &ours,
                        outcome: Ok((name, mime, size)),
                        span: upload.span,
                    },
                )?;
                desk_pcs::remember_media(ctx.conn, panel_id, local_id, media.id)?;
                Ok(media)
            })
            .await;
        match stored {
            Ok(media) => Ok((true, media)),
            Err(e) => {
                if let Some(path) = otklik_store::media::file_path(&self.store.data_dir, &file) {
                    let _ = std::fs::remove_file(path);
                }
                Err(e)
            }
        }
    }

    /// The paired desk PCs, where their journals stand and their clocks.
    pub async fn desk_pcs(&self) -> Result<Vec<desk_pcs::DeskPc>> {
        self.store.reads.read(desk_pcs::list).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otklik_domain::link::Event;

    fn batch(seqs: &[i64], score: u8) -> Batch {
        Batch {
            protocol: PROTOCOL,
            schema: 14,
            sent_at: 0,
            time_zone: "UTC".into(),
            events: seqs
                .iter()
                .map(|&seq| Event {
                    seq,
                    change: Change::Rating {
                        id: seq,
                        desk_id: 1,
                        score,
                        scale: 3,
                        source: "keys".into(),
                        at: 0,
                        received_at: 0,
                        registrar_id: None,
                        session_id: None,
                    },
                })
                .collect(),
        }
    }

    fn field(e: Error) -> String {
        match e {
            Error::Invalid { field, .. } => field,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_batch_is_checked_field_by_field() {
        assert!(check(&batch(&[4, 5, 6], 3)).is_ok());
        assert_eq!(
            field(check(&batch(&[4, 6], 3)).unwrap_err()),
            "events[1].seq"
        );
        assert_eq!(field(check(&batch(&[0], 3)).unwrap_err()), "events[0].seq");
        assert_eq!(
            field(check(&batch(&[1], 4)).unwrap_err()),
            "events[0].change.score"
        );
        let mut b = batch(&[], 3);
        b.protocol = PROTOCOL + 1;
        assert_eq!(field(check(&b).unwrap_err()), "protocol");
    }

    #[test]
    fn pairing_input_is_checked_before_anything_is_sent() {
        assert_eq!(
            field(check_pairing("ftp://x", "123456").unwrap_err()),
            "reception_url"
        );
        assert_eq!(
            field(check_pairing("http://10.0.0.2:8787", "12345").unwrap_err()),
            "code"
        );
        assert_eq!(
            check_pairing(" http://10.0.0.2:8787/ ", " 012345 ").unwrap(),
            ("http://10.0.0.2:8787".into(), "012345".into())
        );
    }

    #[test]
    fn drift_warns_past_the_limit_either_way() {
        assert!(!drifts(CLOCK_DRIFT_WARN_MS));
        assert!(drifts(CLOCK_DRIFT_WARN_MS + 1));
        assert!(drifts(-CLOCK_DRIFT_WARN_MS - 1));
    }
}
