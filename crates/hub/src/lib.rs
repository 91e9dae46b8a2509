//! The network hub (`otklik hub`): every site's ratings, sessions, registrars, desks, alerts and
//! reasons in PostgreSQL, fed by the sites' uplinks (see `otklik_domain::link`), and the
//! network's leaderboard and per-site figures from a daily roll-up. Built on the same domain as
//! the sites, so the two rank alike; nothing here knows SQLite.

pub mod board;
pub mod db;
pub mod error;
pub mod http;
pub mod ingest;
pub mod roster;
pub mod sites;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono_tz::Tz;
use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use otklik_domain::time::Millis;

pub use error::{HubError, HubResult};

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// A libpq connection string or postgresql:// URL (may hold a password: never logged).
    pub database: String,
    pub listen: SocketAddr,
    /// The zone the network's days and periods are counted in.
    pub time_zone: Tz,
    /// Levels of the scale the network's figures are shown on.
    pub scale: u8,
    pub min_ratings: u32,
    /// A site silent for longer is reported stale.
    pub stale_after_ms: Millis,
}

pub struct Hub {
    pub pool: Pool,
    pub partitions: db::Partitions,
    pub config: HubConfig,
    token_hash: Vec<u8>,
    /// (SSE event name, JSON data) for the hub's screens.
    events: broadcast::Sender<(&'static str, String)>,
}

impl Hub {
    /// Connects, brings the schema up to date and loads the hub token (made on first start).
    pub async fn open(config: HubConfig) -> HubResult<Arc<Hub>> {
        let pool = db::pool(&config.database, 16)?;
        db::migrate(&pool).await?;
        let token = token(&pool).await?;
        // A bump lost to a crash between a commit and its bump is made good at the next start.
        ingest::bump_roster(&pool.get().await.map_err(db::no_connection)?).await?;
        Ok(Arc::new(Hub {
            pool,
            partitions: db::Partitions::default(),
            config,
            token_hash: Sha256::digest(token.as_bytes()).to_vec(),
            events: broadcast::channel(256).0,
        }))
    }

    fn is_token(&self, t: &str) -> bool {
        Sha256::digest(t.as_bytes()).as_slice() == self.token_hash.as_slice()
    }
}

/// The hub token, made on first use.
pub async fn token(pool: &Pool) -> HubResult<String> {
    let client = pool.get().await.map_err(db::no_connection)?;
    let fresh = sites::fresh_secret("otk_hub_");
    client
        .execute(
            "INSERT INTO hub_secrets (name, value) VALUES ('token', $1) ON CONFLICT DO NOTHING",
            &[&fresh],
        )
        .await
        .map_err(error::db)?;
    Ok(client
        .query_one("SELECT value FROM hub_secrets WHERE name = 'token'", &[])
        .await
        .map_err(error::db)?
        .get(0))
}

/// Says once when a site falls silent (a warning in the log, a `site` event on the stream) and
/// once when it is back.
async fn watch_sites(hub: Arc<Hub>) {
    let mut stale: Option<std::collections::HashSet<i32>> = None;
    loop {
        if let Ok(client) = hub.pool.get().await
            && let Ok(list) = sites::list(&client, hub.config.stale_after_ms).await
        {
            let now: std::collections::HashSet<i32> =
                list.iter().filter(|s| s.stale).map(|s| s.id).collect();
            if let Some(before) = &stale {
                for s in &list {
                    if s.stale == before.contains(&s.id) {
                        continue;
                    }
                    if s.stale {
                        tracing::warn!(
                            "site {:?} has not reported for more than {} min",
                            s.name,
                            hub.config.stale_after_ms / 60_000
                        );
                    } else {
                        tracing::info!("site {:?} reports again", s.name);
                    }
                    let _ = hub
                        .events
                        .send(("site", serde_json::to_string(s).expect("sites serialize")));
                }
            }
            stale = Some(now);
        }
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
}

/// Serves the hub on `listener` until `shutdown` resolves.
pub async fn serve(
    hub: Arc<Hub>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = tokio::spawn(watch_sites(hub.clone()));
    let served = axum::serve(listener, http::router(hub))
        .with_graceful_shutdown(shutdown)
        .await;
    watcher.abort();
    served
}

pub use axum_server::tls_rustls::RustlsConfig;

/// The certificate chain and key in `cert` and `key` (PEM), or what is wrong with them.
pub async fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<RustlsConfig, String> {
    // One process-wide provider; a second install (tests) is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        format!(
            "--tls-cert {} / --tls-key {}: {e}",
            cert.display(),
            key.display()
        )
    })
}

/// Serves the hub over HTTPS until `shutdown` resolves.
pub async fn serve_tls(
    hub: Arc<Hub>,
    listener: std::net::TcpListener,
    tls: RustlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    let watcher = tokio::spawn(watch_sites(hub.clone()));
    let served = axum_server::from_tcp_rustls(listener, tls)
        .handle(handle)
        .serve(http::router(hub).into_make_service())
        .await
        .map_err(|e| e.to_string());
    watcher.abort();
    served
}
