//! Durable webhook storage with group commit: concurrent POSTs share one transaction, and
//! each gets its 200 only after that transaction commits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::clock::now_ms;
use crate::db::Db;

/// Most bodies written in one transaction.
const MAX_BATCH: usize = 256;

struct Job {
    body: Bytes,
    received_at: i64,
    statuses_only: bool,
    done: oneshot::Sender<Result<(), String>>,
}

/// A handle to the writer task.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
    /// How many transactions the writer has finished (committed or not).
    writes: watch::Receiver<u64>,
}

impl Ingest {
    /// Starts the writer; `bell` rings after each commit.
    pub fn spawn(db: Db, bell: Arc<Notify>) -> Ingest {
        let (tx, rx) = mpsc::channel(16 * MAX_BATCH);
        let (wrote, writes) = watch::channel(0);
        tokio::spawn(writer(db, rx, bell, wrote));
        Ingest { tx, writes }
    }

    /// Bodies waiting for the writer.
    pub fn pending(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Lets the writer go first: if bodies wait for it, returns once it has finished a
    /// transaction (which takes every body waiting), or after `most`. Storing webhooks is what
    /// Meta waits for; whoever else writes (the processor) takes a turn after it, not many.
    pub async fn writer_first(&self, most: Duration) {
        let mut writes = self.writes.clone();
        writes.mark_unchanged();
        if self.pending() > 0 {
            let _ = tokio::time::timeout(most, writes.changed()).await;
        }
    }

    /// Returns once the body is committed.
    pub async fn store(&self, body: Bytes) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        // Read here, on the request's task, not on the writer's.
        let statuses_only = super::statuses_only(&body);
        self.tx
            .send(Job { body, received_at: now_ms(), statuses_only, done })
            .await
            .map_err(|_| "the webhook writer has stopped".to_owned())?;
        wait.await.map_err(|_| "the webhook writer has stopped".to_owned())?
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Job>, bell: Arc<Notify>, wrote: watch::Sender<u64>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let result = write(&db, &jobs).await.map_err(|e| e.to_string());
        if result.is_ok() {
            bell.notify_one();
        }
        wrote.send_modify(|n| *n += 1);
        for job in jobs {
            let _ = job.done.send(result.clone());
        }
    }
}

async fn write(db: &Db, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let bodies: Vec<super::store::NewBody> =
        jobs.iter().map(|j| super::store::NewBody { received_at: j.received_at, body: &j.body, statuses_only: j.statuses_only }).collect();
    super::store::store_bodies(&db.pool, &bodies).await
}
