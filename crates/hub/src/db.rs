//! The hub's PostgreSQL: the connection pool, the migrations applied at start, and the
//! month partitions of `ratings` made before their first rating.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{Datelike, NaiveDate};
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use otklik_domain::Error;
use otklik_domain::time::{Millis, to_datetime};

use crate::error::{HubError, HubResult, db};

/// Migrations, applied in order; the number is the hub schema version each one brings.
const MIGRATIONS: &[(i32, &str)] = &[(1, include_str!("../../../migrations/hub/0001_network.sql"))];

/// Connects to `database` (a libpq connection string or a postgresql:// URL).
pub fn pool(database: &str, size: usize) -> HubResult<Pool> {
    let config: tokio_postgres::Config = database.parse().map_err(|e| {
        Error::invalid(
            "database",
            format!("is not a PostgreSQL connection string: {e}"),
        )
    })?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| db(std::io::Error::other(e.to_string())))
}

/// Where the hub's database is, for logs: host, port and database name, never a password.
pub fn describe(database: &str) -> String {
    match database.parse::<tokio_postgres::Config>() {
        Ok(c) => {
            let host = c
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".into());
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!(
                "{host}:{port}/{}",
                c.get_dbname().unwrap_or(c.get_user().unwrap_or("postgres"))
            )
        }
        Err(_) => "(unreadable connection string)".into(),
    }
}

/// Brings the schema up to date, one migration per transaction, under an advisory lock so two
/// hubs starting at once do not both apply one.
pub async fn migrate(pool: &Pool) -> HubResult<i32> {
    let mut client = pool.get().await.map_err(no_connection)?;
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock(7065320)", &[])
        .await
        .map_err(db)?;
    let fresh: bool = tx
        .query_one("SELECT to_regclass('hub_migrations') IS NULL", &[])
        .await
        .map_err(db)?
        .get(0);
    if fresh {
        tx.batch_execute(
            "CREATE TABLE hub_migrations (version int PRIMARY KEY, applied_at bigint NOT NULL)",
        )
        .await
        .map_err(db)?;
    }
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM hub_migrations", &[])
        .await
        .map_err(db)?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > known {
        return Err(Error::Conflict(format!(
            "the hub database has schema version {current}, newer than this Otklik knows \
             (up to {known}); run the newer Otklik hub that wrote it"
        ))
        .into());
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql).await.map_err(db)?;
        tx.execute(
            "INSERT INTO hub_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &otklik_domain::time::now_ms()],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(known)
}

pub fn no_connection(e: deadpool_postgres::PoolError) -> HubError {
    HubError::Domain(Error::Storage(
        format!("cannot reach the hub's PostgreSQL: {e}").into(),
    ))
}

/// The first day of the month `at` falls in (UTC) and of the next one.
fn month_of(at: Millis) -> (NaiveDate, NaiveDate) {
    let d = to_datetime(at).date_naive();
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("a first of the month");
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .expect("a first of the month");
    (first, next)
}

fn start_ms(d: NaiveDate) -> Millis {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis()
}

/// Months whose partition exists, so the common case asks PostgreSQL nothing.
#[derive(Default)]
pub struct Partitions {
    known: Mutex<HashSet<NaiveDate>>,
}

impl Partitions {
    /// Makes sure the partitions holding `ats` exist (in UTC months), inside the caller's
    /// transaction; returns the months to [`Partitions::remember`] once it has committed.
    pub async fn ensure(
        &self,
        client: &impl GenericClient,
        ats: impl Iterator<Item = Millis>,
    ) -> HubResult<Vec<NaiveDate>> {
        let mut missing: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        {
            let known = self.known.lock().expect("partitions lock");
            for at in ats {
                let m = month_of(at);
                if !known.contains(&m.0) && !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
        let mut made = Vec::new();
        for (first, next) in missing {
            // Serialized: two batches making one month's partition at once would collide.
            client
                .execute("SELECT pg_advisory_xact_lock(7065321)", &[])
                .await
                .map_err(db)?;
            let name = format!("ratings_{}", first.format("%Y_%m"));
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF ratings
                     FOR VALUES FROM ({}) TO ({})",
                    start_ms(first),
                    start_ms(next)
                ))
                .await
                .map_err(db)?;
            made.push(first);
        }
        Ok(made)
    }

    pub fn remember(&self, months: Vec<NaiveDate>) {
        self.known.lock().expect("partitions lock").extend(months);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn december_rolls_over_to_january() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-31T23:59:59Z")
            .unwrap()
            .timestamp_millis();
        let (first, next) = month_of(at);
        assert_eq!(first.to_string(), "2026-12-01");
        assert_eq!(next.to_string(), "2027-01-01");
    }

    #[test]
    fn a_password_never_reaches_the_description() {
        let d = describe("postgresql://otklik:s3cret@db.example:5433/network");
        assert_eq!(d, "db.example:5433/network");
        assert!(!describe("host=/run/pg user=u password=s3cret").contains("s3cret"));
    }
}
