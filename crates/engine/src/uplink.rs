//! The uplink to the network hub: sends the journal of changes (`otklik_store::uplink`) oldest
//! first, in batches, and forgets what the hub acknowledged. The journal is on disk, so a site
//! that is offline for a day, or killed mid-batch, carries on from its first unacknowledged
//! change; the hub drops what it already has, so a resend costs nothing but the bytes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use otklik_domain::error::{Error, Result};
use otklik_domain::link::{Ack, Batch, Change, Event, Gap, PROTOCOL, Person, Roster};
use otklik_domain::time::{Millis, now_ms};
use otklik_notify::secrets::{RECEPTION_TOKEN, UPLINK_KEY};
use otklik_store::uplink::{self, Link, LinkKind};

use crate::engine::Engine;

/// Changes per batch: a day's backlog of a busy reception goes in a few dozen requests.
const BATCH: u32 = 1000;
/// An idle link still says it is alive this often, so the hub can tell a quiet site from a dead one.
const HEARTBEAT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often the roster (people, settings template) is asked for; it is versioned, so an
/// unchanged one costs a few bytes.
const PULL: Duration = Duration::from_secs(60);

/// Why a batch did not land.
#[derive(Debug)]
pub enum SendError {
    /// The hub expects another seq next.
    Gap(i64),
    /// The hub answered and said no (a wrong key, another protocol): retrying will not help
    /// until someone acts, but the link keeps trying slowly.
    Refused(String),
    /// No answer, or not one from a hub (down, unreachable, slow, a proxy's error page).
    Unreachable(String),
}

/// Where batches go: the real hub over HTTP, or a stand-in in tests.
type Answer<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = std::result::Result<T, SendError>> + Send + 'a>>;

pub trait HubClient: Send + Sync {
    fn send<'a>(&'a self, batch: &'a Batch) -> Answer<'a, Ack>;
    /// The roster, if it changed since version `since`.
    fn roster(&self, since: Option<i64>) -> Answer<'_, Roster>;
}

pub struct HttpHub {
    client: reqwest::Client,
    url: String,
    key: String,
    /// Who answers, in the link's errors: "hub" or "reception".
    peer: &'static str,
    /// Where batches go under `url`.
    path: &'static str,
}

impl HttpHub {
    /// The hub's ingest, or the reception's for a desk PC (with its desk_pc token): the same
    /// batches and answers either way.
    pub fn to(
        kind: LinkKind,
        base_url: &str,
        key: String,
        roots: &[reqwest::Certificate],
    ) -> HttpHub {
        let (path, peer) = match kind {
            LinkKind::Hub => ("/hub/v1/ingest", "hub"),
            LinkKind::Reception => ("/api/v1/desk-pc/ingest", "reception"),
        };
        HttpHub {
            peer,
            client: roots
                .iter()
                .fold(reqwest::Client::builder(), |b, c| {
                    b.add_root_certificate(c.clone())
                })
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            url: base_url.trim_end_matches('/').to_owned(),
            path,
            key,
        }
    }
}

impl HttpHub {
    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> std::result::Result<T, SendError> {
        let answer = req
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| SendError::Unreachable(unreachable(&e, self.peer)))?;
        {
            let status = answer.status();
            let body = answer
                .bytes()
                .await
                .map_err(|e| SendError::Unreachable(unreachable(&e, self.peer)))?;
            let peer = self.peer;
            if status.is_success() {
                return serde_json::from_slice::<T>(&body).map_err(|_| {
                    SendError::Unreachable(format!(
                        "the {peer}'s answer ({status}) is not one a {peer} gives"
                    ))
                });
            }
            if status == reqwest::StatusCode::CONFLICT
                && let Ok(gap) = serde_json::from_slice::<Gap>(&body)
            {
                return Err(SendError::Gap(gap.expected));
            }
            let said = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error")?.as_str().map(str::to_owned));
            match said {
                Some(error) if status.is_client_error() => Err(SendError::Refused(format!(
                    "the {peer} refused ({status}): {error}"
                ))),
                _ => Err(SendError::Unreachable(format!(
                    "the {peer} answered {status}"
                ))),
            }
        }
    }
}

impl HubClient for HttpHub {
    fn send<'a>(&'a self, batch: &'a Batch) -> Answer<'a, Ack> {
        Box::pin(
            self.answer(
                self.client
                    .post(format!("{}{}", self.url, self.path))
                    .json(batch),
            ),
        )
    }

    fn roster(&self, since: Option<i64>) -> Answer<'_, Roster> {
        let mut url = format!("{}/hub/v1/roster", self.url);
        if let Some(v) = since {
            url.push_str(&format!("?since={v}"));
        }
        Box::pin(self.answer(self.client.get(url)))
    }
}

fn unreachable(e: &reqwest::Error, peer: &str) -> String {
    if e.is_timeout() {
        format!("the {peer} did not answer in time")
    } else if e.is_connect() {
        format!("cannot connect to the {peer}")
    } else {
        format!("the {peer} could not be reached: {e}")
    }
}

/// The link's state as the console and health show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct LinkState {
    /// When a batch last landed.
    pub last_ok_at: Option<Millis>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
    /// The hub's clock minus this PC's, at the last answer.
    pub hub_clock_offset_ms: Option<Millis>,
    /// The last seq the hub acknowledged.
    pub acked: i64,
    /// The hub's roster version at its last answer.
    pub roster_version: i64,
    /// Why the hub's settings template was not applied here, if it was not.
    pub template_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Uplink {
    /// Null when this installation is not linked to a hub.
    pub link: Option<Link>,
    pub state: LinkState,
    /// The network's people as last pulled from the hub (a registrar is mapped to one of them
    /// with PUT /api/v1/registrars/{id}/person).
    pub people: Vec<Person>,
    /// The hub's settings template version last applied here (0: none).
    pub template_applied: i64,
}

#[derive(Default)]
pub struct UplinkRunner {
    state: Mutex<LinkState>,
    /// Bumped on link and unlink, so the worker drops a client made for the old address.
    generation: std::sync::atomic::AtomicU64,
    /// A stand-in for the hub, in tests.
    client: Mutex<Option<Arc<dyn HubClient>>>,
    /// On a reception: one desk PC's batch applied at a time.
    pub(crate) ingest_lock: tokio::sync::Mutex<()>,
}

impl UplinkRunner {
    pub fn state(&self) -> LinkState {
        self.state.lock().expect("uplink state").clone()
    }

    fn set(&self, f: impl FnOnce(&mut LinkState)) {
        f(&mut self.state.lock().expect("uplink state"));
    }

    /// Linked anew (another address or credential): the worker makes a new client.
    pub(crate) fn relinked(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sends batches to `client` instead of the hub the link names (tests).
    pub fn use_client(&self, client: Arc<dyn HubClient>) {
        *self.client.lock().expect("uplink client") = Some(client);
    }
}

/// Checks what the console sends before anything is saved.
fn check_link(hub_url: &str, key: &str) -> Result<String> {
    let url = hub_url.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return Err(Error::invalid(
            "hub_url",
            "must be the hub's address, https://host:port",
        ));
    }
    if !key.trim().starts_with("otk_site_") {
        return Err(Error::invalid(
            "site_key",
            "is not a site key (the hub prints one with `otklik hub add-site`)",
        ));
    }
    Ok(url.to_owned())
}

/// The certificates in a PEM file, for a hub whose HTTPS certificate a private CA signed.
fn ca_roots(path: &str) -> Result<Vec<reqwest::Certificate>> {
    let pem = std::fs::read(path).map_err(|e| Error::invalid("ca_file", format!("{path}: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| Error::invalid("ca_file", format!("{path}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(
            "ca_file",
            format!("{path} holds no PEM certificate"),
        ));
    }
    Ok(certs)
}

impl Engine {
    pub async fn uplink(&self) -> Result<Uplink> {
        let (link, pulled) = self
            .store
            .reads
            .read(|c| Ok((uplink::status(c)?, uplink::pulled(c)?)))
            .await?;
        Ok(Uplink {
            link,
            state: self.uplink.state(),
            template_applied: pulled.as_ref().map_or(0, |p| p.applied_template_version),
            people: pulled.map(|p| p.people).unwrap_or_default(),
        })
    }

    /// Links this installation to a hub with the key it issued; the first link journals what is
    /// already stored, so the hub receives the whole history.
    pub async fn link_to_hub(
        &self,
        hub_url: String,
        site_key: String,
        ca_file: Option<String>,
        actor: String,
    ) -> Result<Uplink> {
        let url = check_link(&hub_url, &site_key)?;
        let ca_file = ca_file
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        if let Some(path) = &ca_file {
            ca_roots(path)?;
        }
        self.notify
            .secrets()
            .set(UPLINK_KEY, Some(site_key.trim()))?;
        let journaled = self
            .store
            .writer
            .write({
                let url = url.clone();
                move |ctx| {
                    let n = uplink::link(ctx.conn, &url, ctx.now)?;
                    uplink::set_ca_file(ctx.conn, ca_file.as_deref())?;
                    otklik_store::audit::record(
                        ctx.conn,
                        ctx.now,
                        &actor,
                        "link",
                        "uplink",
                        None,
                        serde_json::json!({ "hub_url": url, "journaled": n }),
                    )?;
                    Ok(n)
                }
            })
            .await?;
        tracing::info!("linked to the hub at {url}: {journaled} stored changes to send");
        self.uplink
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.uplink().await
    }

    pub async fn unlink_from_hub(&self, actor: String) -> Result<Uplink> {
        self.store
            .writer
            .write(move |ctx| {
                uplink::unlink(ctx.conn)?;
                otklik_store::audit::record(
                    ctx.conn,
                    ctx.now,
                    &actor,
                    "unlink",
                    "uplink",
                    None,
                    serde_json::json!({}),
                )
            })
            .await?;
        self.notify.secrets().set(UPLINK_KEY, None)?;
        self.notify.secrets().set(RECEPTION_TOKEN, None)?;
        self.uplink
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.uplink.set(|s| *s = LinkState::default());
        self.uplink().await
    }
}

/// What a client was made for: the link's generation, kind, address and start.
type ClientFor = (u64, LinkKind, String, Millis);

/// The worker: runs for the engine's life, idle while unlinked.
pub async fn run(engine: Arc<Engine>) {
    let mut backoff = Duration::from_secs(1);
    let mut client: Option<(ClientFor, Arc<dyn HubClient>)> = None;
    let mut last_sent = std::time::Instant::now() - HEARTBEAT;
    let mut last_pull: Option<(u64, std::time::Instant)> = None;
    // The roster version kept here; the hub's answers say when it moved on.
    let mut pulled_version = 0;
    // A desk PC's photos and clips follow their ratings, when no batch is waiting.
    let media = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .expect("an HTTP client");
    loop {
        let generation = engine
            .uplink
            .generation
            .load(std::sync::atomic::Ordering::SeqCst);
        let hub_version = engine
            .uplink
            .state
            .lock()
            .expect("uplink state")
            .roster_version;
        let due = last_pull.is_none_or(|(g, at)| g != generation || at.elapsed() >= PULL)
            || hub_version != pulled_version;
        // Only a network hub has a roster; a desk PC's reception has none.
        if due && let Some(((_, LinkKind::Hub, ..), hub)) = &client {
            let hub = hub.clone();
            last_pull = Some((generation, std::time::Instant::now()));
            match pull(&engine, hub.as_ref()).await {
                Ok(v) => pulled_version = v,
                Err(message) => engine.uplink.set(|s| {
                    s.last_error = Some(message);
                    s.last_error_at = Some(now_ms());
                }),
            }
        }
        let sent = match step(&engine, &mut client, &mut last_sent).await {
            Ok(false) => crate::desk_pc::forward_media(&engine, &media).await,
            other => other,
        };
        match sent {
            Ok(true) => backoff = Duration::from_secs(1),
            Ok(false) => tokio::time::sleep(POLL).await,
            Err(message) => {
                engine.uplink.set(|s| {
                    s.last_error = Some(message.clone());
                    s.last_error_at = Some(now_ms());
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One batch, if there is one to send (or a heartbeat is due): `Ok(true)` if it landed and more
/// may wait, `Ok(false)` if there was nothing to do.
async fn step(
    engine: &Arc<Engine>,
    client: &mut Option<(ClientFor, Arc<dyn HubClient>)>,
    last_sent: &mut std::time::Instant,
) -> std::result::Result<bool, String> {
    let Some(link) = engine
        .store
        .reads
        .read(uplink::status)
        .await
        .map_err(|e| e.to_string())?
    else {
        *client = None;
        return Ok(false);
    };
    if link.backlog == 0 && last_sent.elapsed() < HEARTBEAT {
        return Ok(false);
    }
    let generation = engine
        .uplink
        .generation
        .load(std::sync::atomic::Ordering::SeqCst);
    // Linked from the command line while running: a new address or kind makes a new client.
    let made_for = (generation, link.kind, link.hub_url.clone(), link.linked_at);
    let hub = match client {
        Some((k, c)) if *k == made_for => c.clone(),
        _ => {
            let stand_in = engine.uplink.client.lock().expect("uplink client").clone();
            let c: Arc<dyn HubClient> = match stand_in {
                Some(c) => c,
                None => {
                    let (name, missing) = match link.kind {
                        LinkKind::Hub => {
                            (UPLINK_KEY, "the site key is missing: link to the hub again")
                        }
                        LinkKind::Reception => (
                            RECEPTION_TOKEN,
                            "the desk PC's token is missing: pair with the reception again",
                        ),
                    };
                    let key = engine
                        .notify
                        .secrets()
                        .get(name)
                        .map_err(|e| e.to_string())?
                        .ok_or(missing)?;
                    let roots = match &link.ca_file {
                        Some(path) => ca_roots(path).map_err(|e| e.to_string())?,
                        None => Vec::new(),
                    };
                    Arc::new(HttpHub::to(link.kind, &link.hub_url, key, &roots))
                }
            };
            *client = Some((made_for, c.clone()));
            c
        }
    };
    let pending = engine
        .store
        .reads
        .read(|c| uplink::pending(c, BATCH))
        .await
        .map_err(|e| e.to_string())?;
    let mut events = Vec::with_capacity(pending.len());
    for (seq, body) in pending {
        let change: Change = serde_json::from_str(&body)
            .map_err(|e| format!("journal entry {seq} is unreadable: {e}"))?;
        events.push(Event { seq, change });
    }
    let batch = Batch {
        protocol: PROTOCOL,
        schema: otklik_store::db::latest_version(),
        sent_at: now_ms(),
        time_zone: engine.store.with_settings(|s| s.timezone.clone()),
        events,
    };
    *last_sent = std::time::Instant::now();
    match hub.send(&batch).await {
        Ok(ack) => {
            let now = now_ms();
            if ack.acked > 0 {
                engine
                    .store
                    .writer
                    .write(move |ctx| uplink::acknowledge(ctx.conn, ack.acked))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            engine.uplink.set(|s| {
                s.last_ok_at = Some(now);
                s.last_error = None;
                s.acked = ack.acked;
                s.roster_version = ack.roster_version;
                s.hub_clock_offset_ms = Some(ack.hub_time - now);
            });
            Ok(!batch.events.is_empty())
        }
        Err(SendError::Gap(expected)) => {
            let first = batch.events.first().map_or(expected, |e| e.seq);
            if expected > first {
                // The hub has more than the last ack said (the answer was lost): forget those.
                engine
                    .store
                    .writer
                    .write(move |ctx| uplink::acknowledge(ctx.conn, expected - 1))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(true)
            } else {
                Err(format!(
                    "the hub expects change {expected}, but this site's journal starts at \
                     {first}: changes are missing here (was a backup restored?)"
                ))
            }
        }
        Err(SendError::Refused(m)) => {
            // The credential may have changed meanwhile (paired again): read it afresh.
            *client = None;
            Err(m)
        }
        Err(SendError::Unreachable(m)) => Err(m),
    }
}

/// Asks the hub for its roster and keeps it; applies a new settings template like a
/// supervisor's change of settings (checked the same way; refused, it is not applied).
async fn pull(engine: &Arc<Engine>, hub: &dyn HubClient) -> std::result::Result<i64, String> {
    let have = engine
        .store
        .reads
        .read(uplink::pulled)
        .await
        .map_err(|e| e.to_string())?;
    let roster = hub
        .roster(have.as_ref().map(|p| p.version))
        .await
        .map_err(|e| match e {
            SendError::Gap(_) => "the hub answered the roster with a gap".to_string(),
            SendError::Refused(m) | SendError::Unreachable(m) => m,
        })?;
    let template = roster.template.clone();
    let template_version = roster.template_version;
    let applied = have.as_ref().map_or(0, |p| p.applied_template_version);
    let version = roster.version;
    if have.is_none() && roster.people.is_none() {
        return Ok(version);
    }
    engine
        .store
        .writer
        .write(move |ctx| uplink::save_roster(ctx.conn, &roster))
        .await
        .map_err(|e| e.to_string())?;
    if template_version > applied {
        let applied = match template {
            None => Ok(()),
            Some(t) => {
                match serde_path_to_error::deserialize::<_, otklik_store::settings::SettingsPatch>(
                    t,
                ) {
                    Err(e) => Err(format!("{}: {}", e.path(), e.inner())),
                    Ok(patch) => engine
                        .store
                        .update_settings(patch, "hub")
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                }
            }
        };
        match applied {
            Ok(()) => {
                engine
                    .store
                    .writer
                    .write(move |ctx| uplink::template_applied(ctx.conn, template_version))
                    .await
                    .map_err(|e| e.to_string())?;
                engine.uplink.set(|s| s.template_error = None);
                tracing::info!("applied the hub's settings template {template_version}");
            }
            // Kept apart from the link's errors: the link works, this version will not apply.
            Err(e) => {
                let message =
                    format!("the hub's settings template {template_version} was not applied: {e}");
                tracing::warn!("{message}");
                engine.uplink.set(|s| s.template_error = Some(message));
            }
        }
    }
    Ok(version)
}
