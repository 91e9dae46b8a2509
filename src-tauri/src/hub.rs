//! `otklik hub`: the network hub's commands (serve, token, sites).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Subcommand;

use otklik_hub::{Hub, HubConfig, db, sites};

#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Runs the network hub: the sites' uplinks post here; the network's figures are read here.
    Serve {
        /// PostgreSQL connection string or postgresql:// URL [default: $OTKLIK_HUB_DATABASE]
        #[arg(long)]
        database: Option<String>,
        /// Address and port to listen on
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: SocketAddr,
        /// The zone the network's days are counted in (IANA) [default: this machine's]
        #[arg(long)]
        time_zone: Option<String>,
        /// Levels of the scale the network's figures are shown on
        #[arg(long, default_value_t = 3)]
        scale: u8,
        /// Ratings a person needs in a period to be ranked
        #[arg(long, default_value_t = 5)]
        min_ratings: u32,
        /// Minutes of silence after which a site is reported stale
        #[arg(long, default_value_t = 10)]
        stale_after_min: u32,
        /// Serve HTTPS with this certificate chain (PEM); with --tls-key
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's private key (PEM)
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Prints the hub token, which reads the network's figures (made on first use).
    Token {
        #[arg(long)]
        database: Option<String>,
    },
    /// Registers a site and prints its key, once: paste it into the site's console.
    AddSite {
        /// The site's name as the network reports show it
        name: String,
        #[arg(long)]
        database: Option<String>,
    },
    /// Issues a new key for a site; the old one stops working at once.
    RekeySite {
        name: String,
        #[arg(long)]
        database: Option<String>,
    },
    /// Lists the sites: last seen, the last change applied, clock offset.
    Sites {
        #[arg(long)]
        database: Option<String>,
    },
}

fn database(given: Option<String>) -> Result<String, String> {
    given
        .or_else(|| std::env::var("OTKLIK_HUB_DATABASE").ok())
        .ok_or_else(|| {
            "give --database or set OTKLIK_HUB_DATABASE (a PostgreSQL connection string)".into()
        })
}

pub fn run(command: HubCommand) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start: {e}")),
    };
    match runtime.block_on(run_async(command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

async fn open_pool(given: Option<String>) -> Result<deadpool_postgres::Pool, String> {
    let url = database(given)?;
    let pool = db::pool(&url, 2).map_err(|e| e.to_string())?;
    db::migrate(&pool)
        .await
        .map_err(|e| format!("{} ({})", e, db::describe(&url)))?;
    Ok(pool)
}

async fn run_async(command: HubCommand) -> Result<(), String> {
    match command {
        HubCommand::Serve {
            database: given,
            listen,
            time_zone,
            scale,
            min_ratings,
            stale_after_min,
            tls_cert,
            tls_key,
        } => {
            let database = database(given)?;
            let time_zone = match time_zone {
                Some(z) => z,
                None => iana_time_zone::get_timezone().unwrap_or_else(|_| "UTC".into()),
            };
            let time_zone = time_zone
                .parse()
                .map_err(|_| format!("--time-zone: {time_zone:?} is not an IANA time zone"))?;
            otklik_domain::scale::validate("--scale", i64::from(scale))
                .map_err(|e| e.to_string())?;
            let described = db::describe(&database);
            let hub = Hub::open(HubConfig {
                database,
                listen,
                time_zone,
                scale,
                min_ratings,
                stale_after_ms: i64::from(stale_after_min) * 60_000,
            })
            .await
            .map_err(|e| format!("{e} ({described})"))?;
            let tls = match (&tls_cert, &tls_key) {
                (Some(cert), Some(key)) => Some(otklik_hub::tls_config(cert, key).await?),
                _ => None,
            };
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!("hub on {addr}, database {described}");
            let scheme = if tls.is_some() { "https" } else { "http" };
            // Scripts and tests read the address from this line (useful with port 0).
            println!("Otklik hub listening on {scheme}://{addr}");
            let _ = std::io::stdout().flush();
            match tls {
                Some(tls) => {
                    let listener = listener.into_std().map_err(|e| e.to_string())?;
                    otklik_hub::serve_tls(hub, listener, tls, crate::cli::shutdown_signal()).await
                }
                None => otklik_hub::serve(hub, listener, crate::cli::shutdown_signal())
                    .await
                    .map_err(|e| e.to_string()),
            }
        }
        HubCommand::Token { database } => {
            let pool = open_pool(database).await?;
            println!(
                "{}",
                otklik_hub::token(&pool).await.map_err(|e| e.to_string())?
            );
            Ok(())
        }
        HubCommand::AddSite { name, database } => {
            let pool = open_pool(database).await?;
            let client = pool.get().await.map_err(|e| e.to_string())?;
            let (id, key) = sites::add(&client, &name)
                .await
                .map_err(|e| e.to_string())?;
            println!("site {id} {name:?}, key (shown once):\n{key}");
            Ok(())
        }
        HubCommand::RekeySite { name, database } => {
            let pool = open_pool(database).await?;
            let client = pool.get().await.map_err(|e| e.to_string())?;
            let key = sites::rekey(&client, &name)
                .await
                .map_err(|e| e.to_string())?;
            println!("new key for {name:?} (shown once):\n{key}");
            Ok(())
        }
        HubCommand::Sites { database } => {
            let pool = open_pool(database).await?;
            let client = pool.get().await.map_err(|e| e.to_string())?;
            let list = sites::list(&client, 10 * 60_000)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?
            );
            Ok(())
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("otklik hub: {msg}");
    ExitCode::from(2)
}
