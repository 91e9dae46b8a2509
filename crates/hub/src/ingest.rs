//! A site's batch of changes applied in one transaction: ratings in bulk, everything else one by
//! one, in the site's order; the daily roll-up moved with every rating's state. A batch that
//! repeats changes already applied skips them (a resend after a lost answer); one that leaves a
//! gap is refused with the seq the hub expects.

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::Row;

use otklik_domain::Error;
use otklik_domain::link::{Ack, Batch, Change, Event, PROTOCOL};
use otklik_domain::time::Millis;

use crate::db::{Partitions, no_connection};
use crate::error::{HubError, HubResult, db};

/// The site's local day of the press time `at`, in the zone `tz` (SQL expressions both).
fn day(at: &str, tz: &str) -> String {
    format!("(to_timestamp({at} / 1000.0) AT TIME ZONE {tz})::date")
}

/// Refuses, naming the problem, a batch the hub cannot apply as it stands.
pub fn check(batch: &Batch) -> HubResult<()> {
    if batch.protocol != PROTOCOL {
        let advice = if batch.protocol > PROTOCOL {
            "update the hub to the site's version of Otklik"
        } else {
            "update the site's Otklik"
        };
        return Err(Error::invalid(
            "protocol",
            format!(
                "the site speaks uplink protocol {}, this hub {PROTOCOL}: {advice}",
                batch.protocol
            ),
        )
        .into());
    }
    if batch.time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(Error::invalid(
            "time_zone",
            format!("{:?} is not an IANA time zone", batch.time_zone),
        )
        .into());
    }
    Ok(batch.check_shape()?)
}

/// Applies `batch` from `site` and answers with what is now stored.
pub async fn apply(
    pool: &Pool,
    partitions: &Partitions,
    site: i32,
    batch: &Batch,
    now: Millis,
) -> HubResult<Ack> {
    check(batch)?;
    let mut client = pool.get().await.map_err(no_connection)?;
    let tx = client.transaction().await.map_err(db)?;
    // Statements prepared once per connection: a batch is a handful of round trips, not twice that.
    let lock = tx
        .prepare_cached("SELECT last_seq FROM sites WHERE id = $1 FOR UPDATE")
        .await
        .map_err(db)?;
    let last: i64 = tx.query_one(&lock, &[&site]).await.map_err(db)?.get(0);
    let fresh: Vec<&Event> = batch
        .after(last)
        .map_err(|expected| HubError::Gap { expected })?
        .iter()
        .collect();
    let made = partitions
        .ensure(
            &tx,
            fresh.iter().filter_map(|e| match e.change {
                Change::Rating { at, .. } => Some(at),
                _ => None,
            }),
        )
        .await?;
    let tz = batch.time_zone.as_str();
    let mut people_changed = false;
    let mut i = 0;
    while i < fresh.len() {
        let run = fresh[i..]
            .iter()
            .take_while(|e| matches!(e.change, Change::Rating { .. }))
            .count();
        if run > 0 {
            insert_ratings(&tx, site, tz, &fresh[i..i + run]).await?;
            i += run;
        } else {
            people_changed |= apply_one(&tx, site, tz, &fresh[i].change).await?;
            i += 1;
        }
    }
    let acked = fresh.last().map_or(last, |e| e.seq);
    let seen = tx
        .prepare_cached(
            "UPDATE sites SET last_seq = $2, last_seen = $3, schema_version = $4, time_zone = $5,
                              clock_skew_ms = $6
             WHERE id = $1",
        )
        .await
        .map_err(db)?;
    tx.execute(
        &seen,
        &[
            &site,
            &acked,
            &now,
            &batch.schema,
            &tz,
            &(batch.sent_at - now),
        ],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    partitions.remember(made);
    // Bumped after the commit, so a site that sees the new version sees the new people too.
    if people_changed {
        bump_roster(&client).await?;
    }
    let roster = client
        .prepare_cached("SELECT last_value FROM roster_version")
        .await
        .map_err(db)?;
    let roster_version: i64 = client.query_one(&roster, &[]).await.map_err(db)?.get(0);
    Ok(Ack {
        acked,
        hub_time: now,
        roster_version,
    })
}

async fn insert_ratings(
    tx: &Transaction<'_>,
    site: i32,
    tz: &str,
    events: &[&Event],
) -> HubResult<()> {
    let n = events.len();
    let (mut ids, mut ats, mut desks, mut registrars, mut sessions) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut scores, mut scales, mut sources, mut received, mut seqs) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for e in events {
        let Change::Rating {
            id,
            desk_id,
            score,
            scale,
            source,
            at,
            received_at,
            registrar_id,
            session_id,
        } = &e.change
        else {
            unreachable!("a run of ratings")
        };
        ids.push(*id);
        ats.push(*at);
        desks.push(*desk_id);
        registrars.push(*registrar_id);
        sessions.push(*session_id);
        scores.push(i16::from(*score));
        scales.push(i16::from(*scale));
        sources.push(source.as_str());
        received.push(*received_at);
        seqs.push(e.seq);
    }
    // New ratings only (a repeat is skipped by the key), each counted once in the roll-up.
    let sql = format!(
        "WITH new AS (
             INSERT INTO ratings (site_id, id, at, desk_id, registrar_id, session_id, score,
                                  scale, source, received_at, seq)
             SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                                      $6::bigint[], $7::smallint[], $8::smallint[], $9::text[],
                                      $10::bigint[], $11::bigint[])
             ON CONFLICT DO NOTHING
             RETURNING at, desk_id, registrar_id, score, scale)
         INSERT INTO daily (site_id, day, registrar_id, desk_id, score, scale, state, n)
         SELECT $1, {day}, COALESCE(registrar_id, 0), desk_id, score, scale, 'ok', COUNT(*)
         FROM new GROUP BY 2, 3, 4, 5, 6
         ON CONFLICT (day, site_id, registrar_id, desk_id, score, scale, state)
         DO UPDATE SET n = daily.n + EXCLUDED.n",
        day = day("at", "$12")
    );
    let insert = tx.prepare_cached(&sql).await.map_err(db)?;
    tx.execute(
        &insert,
        &[
            &site,
            &ids,
            &ats,
            &desks,
            &registrars,
            &sessions,
            &scores,
            &scales,
            &sources,
            &received,
            &seqs,
            &tz,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// The people or the template changed: sites pull the roster again. A sequence, not a row, so
/// no two batches wait on each other for it; called after the change is committed.
pub async fn bump_roster(client: &impl deadpool_postgres::GenericClient) -> HubResult<()> {
    client
        .execute("SELECT nextval('roster_version')", &[])
        .await
        .map_err(db)?;
    Ok(())
}

fn bucket(flag: bool, annulled: bool) -> &'static str {
    match (annulled, flag) {
        (true, _) => "annulled",
        (false, true) => "flagged",
        (false, false) => "ok",
    }
}

/// Moves one rating (a row of at, desk_id, registrar_id, score, scale) between roll-up states.
async fn move_bucket(
    tx: &Transaction<'_>,
    site: i32,
    tz: &str,
    r: &Row,
    from: &str,
    to: &str,
) -> HubResult<()> {
    if from == to {
        return Ok(());
    }
    let at: i64 = r.get(0);
    let desk: i64 = r.get(1);
    let registrar: i64 = r.get::<_, Option<i64>>(2).unwrap_or(0);
    let score: i16 = r.get(3);
    let scale: i16 = r.get(4);
    let day = day("$2::bigint", "$3");
    tx.execute(
        &format!(
            "UPDATE daily SET n = n - 1
             WHERE day = {day} AND site_id = $1 AND registrar_id = $4 AND desk_id = $5
               AND score = $6 AND scale = $7 AND state = $8"
        ),
        &[&site, &at, &tz, &registrar, &desk, &score, &scale, &from],
    )
    .await
    .map_err(db)?;
    tx.execute(
        &format!(
            "INSERT INTO daily (site_id, day, registrar_id, desk_id, score, scale, state, n)
             VALUES ($1, {day}, $4, $5, $6, $7, $8, 1)
             ON CONFLICT (day, site_id, registrar_id, desk_id, score, scale, state)
             DO UPDATE SET n = daily.n + 1"
        ),
        &[&site, &at, &tz, &registrar, &desk, &score, &scale, &to],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Applies one change; `true` if the people changed (a new one, or one renamed).
async fn apply_one(tx: &Transaction<'_>, site: i32, tz: &str, change: &Change) -> HubResult<bool> {
    let mut people_changed = false;
    match change {
        Change::Desk { id, name, active } => {
            tx.execute(
                "INSERT INTO desks (site_id, id, name, active) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (site_id, id) DO UPDATE SET name = EXCLUDED.name,
                                                         active = EXCLUDED.active",
                &[&site, id, name, active],
            )
            .await
            .map_err(db)?;
        }
        Change::Registrar {
            id,
            name,
            active,
            person_id,
        } => {
            // A person the site named is used only if the hub knows them.
            let wanted: Option<i64> = match person_id {
                Some(p) => tx
                    .query_opt("SELECT id FROM people WHERE id = $1", &[p])
                    .await
                    .map_err(db)?
                    .map(|r| r.get(0)),
                None => None,
            };
            let person: Option<i64> = tx
                .query_opt(
                    "UPDATE registrars SET name = $3, active = $4,
                                           person_id = COALESCE($5, person_id)
                     WHERE site_id = $1 AND id = $2 RETURNING person_id",
                    &[&site, id, name, active, &wanted],
                )
                .await
                .map_err(db)?
                .map(|r| r.get(0));
            match (person, wanted) {
                (Some(_), Some(_)) => {}
                (Some(person), None) => {
                    // A person of this registrar only takes the new name.
                    let renamed = tx
                        .execute(
                            "UPDATE people SET name = $2 WHERE id = $1 AND name <> $2
                               AND (SELECT count(*) FROM registrars WHERE person_id = $1) = 1",
                            &[&person, name],
                        )
                        .await
                        .map_err(db)?;
                    people_changed = renamed > 0;
                }
                (None, Some(p)) => {
                    tx.execute(
                        "INSERT INTO registrars (site_id, id, name, active, person_id)
                         VALUES ($1, $2, $3, $4, $5)",
                        &[&site, id, name, active, &p],
                    )
                    .await
                    .map_err(db)?;
                }
                (None, None) => {
                    // First seen: a person of their own until someone maps them to another.
                    tx.execute(
                        "WITH p AS (INSERT INTO people (name, created_at)
                                    VALUES ($3, (extract(epoch FROM now()) * 1000)::bigint)
                                    RETURNING id)
                         INSERT INTO registrars (site_id, id, name, active, person_id)
                         SELECT $1, $2, $3, $4, id FROM p",
                        &[&site, id, name, active],
                    )
                    .await
                    .map_err(db)?;
                    people_changed = true;
                }
            }
        }
        Change::Session {
            id,
            desk_id,
            registrar_id,
            started_at,
            ended_at,
        } => {
            tx.execute(
                "INSERT INTO sessions (site_id, id, desk_id, registrar_id, started_at, ended_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (site_id, id) DO UPDATE SET ended_at = EXCLUDED.ended_at",
                &[&site, id, desk_id, registrar_id, started_at, ended_at],
            )
            .await
            .map_err(db)?;
        }
        Change::Rating { .. } => unreachable!("ratings go in bulk"),
        Change::Flag { rating_id, reason } => {
            if let Some(r) = tx
                .query_opt(
                    "UPDATE ratings SET flag = $3 WHERE site_id = $1 AND id = $2 AND flag IS NULL
                     RETURNING at, desk_id, registrar_id, score, scale, annulled",
                    &[&site, rating_id, reason],
                )
                .await
                .map_err(db)?
            {
                let annulled: bool = r.get(5);
                move_bucket(
                    tx,
                    site,
                    tz,
                    &r,
                    bucket(false, annulled),
                    bucket(true, annulled),
                )
                .await?;
            }
        }
        Change::Correction {
            id,
            rating_id,
            action,
            at,
        } => {
            let annul = match action.as_str() {
                "annul" => true,
                "restore" => false,
                other => {
                    return Err(Error::invalid(
                        "change.action",
                        format!("{other:?} is neither annul nor restore"),
                    )
                    .into());
                }
            };
            tx.execute(
                "INSERT INTO corrections (site_id, id, rating_id, action, at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&site, id, rating_id, action, at],
            )
            .await
            .map_err(db)?;
            if let Some(r) = tx
                .query_opt(
                    "UPDATE ratings SET annulled = $3
                     WHERE site_id = $1 AND id = $2 AND annulled <> $3
                     RETURNING at, desk_id, registrar_id, score, scale, flag IS NOT NULL",
                    &[&site, rating_id, &annul],
                )
                .await
                .map_err(db)?
            {
                let flag: bool = r.get(5);
                move_bucket(tx, site, tz, &r, bucket(flag, !annul), bucket(flag, annul)).await?;
            }
        }
        Change::Reason {
            rating_id,
            code,
            label,
            picked_at,
        } => {
            tx.execute(
                "INSERT INTO reasons (site_id, rating_id, code, label, picked_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&site, rating_id, code, label, picked_at],
            )
            .await
            .map_err(db)?;
        }
        Change::Alert {
            id,
            rating_id,
            state,
            created_at,
            rule,
            taken_at,
            resolved_at,
        } => {
            tx.execute(
                "INSERT INTO alerts (site_id, id, rating_id, state, created_at, rule, taken_at,
                                     resolved_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (site_id, id) DO UPDATE SET state = EXCLUDED.state,
                     taken_at = EXCLUDED.taken_at, resolved_at = EXCLUDED.resolved_at",
                &[
                    &site,
                    id,
                    rating_id,
                    state,
                    created_at,
                    rule,
                    taken_at,
                    resolved_at,
                ],
            )
            .await
            .map_err(db)?;
        }
    }
    Ok(people_changed)
}
