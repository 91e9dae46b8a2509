//! The single writer: every change to the database goes through one thread that commits
//! concurrent requests together (group commit). Each change runs in its own savepoint, so one
//! bad request never spoils its neighbours; callers get their answer only after the commit that
//! holds their change is on disk, and live events are published only then.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::events::EventHub;
use crate::ledger::ChainState;
use otklik_domain::error::{Error, Result};
use otklik_domain::time::{Millis, now_ms};

/// Changes committed together at most; bounds a batch's latency under a flood.
const MAX_BATCH: usize = 1024;

/// What a change sees: the connection inside the open transaction, the hash chain, and a place
/// to leave the events it causes.
pub struct WriteCtx<'a> {
    pub conn: &'a Connection,
    pub chain: &'a mut ChainState,
    /// One clock reading per change, so every row it writes carries the same time.
    pub now: Millis,
    events: Vec<(&'static str, String)>,
}

impl WriteCtx<'_> {
    pub fn emit(&mut self, name: &'static str, payload: &impl Serialize) {
        self.events.push((
            name,
            serde_json::to_string(payload).expect("events serialize"),
        ));
    }
}

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (bool, Finish) + Send>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on an open, migrated connection.
    pub fn start(conn: Connection, hub: Arc<EventHub>) -> Result<(Writer, JoinHandle<()>)> {
        let chain = ChainState::load(&conn)?;
        let (tx, rx) = mpsc::channel::<Job>(MAX_BATCH * 4);
        let handle = std::thread::Builder::new()
            .name("otklik-writer".into())
            .spawn(move || run(conn, chain, rx, hub))
            .map_err(|e| Error::io("cannot start the database writer thread", e))?;
        Ok((Writer { tx }, handle))
    }

    /// Runs `change` inside the next group commit and returns its result once it is durable.
    pub async fn write<T, F>(&self, change: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T>>();
        let job: Job = Box::new(move |ctx| match change(ctx) {
            Ok(value) => (
                true,
                Box::new(move |committed: Result<(), String>| {
                    let _ = reply.send(committed.map(|()| value).map_err(Error::CommitFailed));
                }),
            ),
            Err(e) => (
                false,
                Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }),
            ),
        });
        self.tx.send(job).await.map_err(|_| Error::ShuttingDown)?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

fn run(conn: Connection, mut chain: ChainState, mut rx: mpsc::Receiver<Job>, hub: Arc<EventHub>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let before = chain.clone();
        let mut finishes = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        let outcome = apply_batch(&conn, &mut chain, &mut batch, &mut finishes, &mut events);
        let outcome = outcome.and_then(|()| conn.execute_batch("COMMIT"));
        match outcome {
            Ok(()) => {
                for (name, data) in events {
                    hub.publish_json(name, data);
                }
                for finish in finishes {
                    finish(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(%e, "a group commit failed; its changes were not saved");
                let _ = conn.execute_batch("ROLLBACK");
                chain = before;
                let msg = e.to_string();
                for finish in finishes {
                    finish(Err(msg.clone()));
                }
            }
        }
        batch.clear();
    }
    tracing::debug!("database writer stopped");
}

fn apply_batch(
    conn: &Connection,
    chain: &mut ChainState,
    batch: &mut Vec<Job>,
    finishes: &mut Vec<Finish>,
    events: &mut Vec<(&'static str, String)>,
) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.drain(..) {
        conn.execute_batch("SAVEPOINT change")?;
        let saved = chain.clone();
        let mut ctx = WriteCtx {
            conn,
            chain,
            now: now_ms(),
            events: Vec::new(),
        };
        let (ok, finish) = match std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut ctx))) {
            Ok(done) => done,
            Err(_) => {
                tracing::error!("a change panicked; it was rolled back");
                (false, Box::new(|_| {}) as Finish)
            }
        };
        let emitted = std::mem::take(&mut ctx.events);
        if ok {
            conn.execute_batch("RELEASE change")?;
            events.extend(emitted);
        } else {
            conn.execute_batch("ROLLBACK TO change; RELEASE change")?;
            *chain = saved;
        }
        finishes.push(finish);
    }
    Ok(())
}
