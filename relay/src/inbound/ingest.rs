//! Durable webhook storage with group commit: concurrent POSTs share one transaction, and
//! each gets its 200 only after that transaction commits.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::clock::now_ms;
use crate::db::Db;

/// Most bodies written in one transaction.
const MAX_BATCH: usize = 256;

struct Job {
    body: Bytes,
    received_at: i64,
    done: oneshot::Sender<Result<(), String>>,
}

/// A handle to the writer task.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer; `bell` rings after each commit.
    pub fn spawn(db: Db, bell: Arc<Notify>) -> Ingest {
        let (tx, rx) = mpsc::channel(16 * MAX_BATCH);
        tokio::spawn(writer(db, rx, bell));
        Ingest { tx }
    }

    /// Bodies waiting for the writer.
    pub fn pending(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Returns once the body is committed.
    pub async fn store(&self, body: Bytes) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Job { body, received_at: now_ms(), done }).await.map_err(|_| "the webhook writer has stopped".to_owned())?;
        wait.await.map_err(|_| "the webhook writer has stopped".to_owned())?
    }
}

async fn writer(db: Db, mut rx: mpsc::Receiver<Job>, bell: Arc<Notify>) {
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
        for job in jobs {
            let _ = job.done.send(result.clone());
        }
    }
}

async fn write(db: &Db, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let bodies: Vec<(i64, &[u8])> = jobs.iter().map(|j| (j.received_at, &j.body[..])).collect();
    super::store::store_bodies(&db.pool, &bodies).await
}
