//! Durable webhook storage with group commit: concurrent POSTs share one transaction, and
//! each gets its 200 only after that transaction commits.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::db::{now_ms, Db};

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

/// Rows per INSERT. Fixed sizes keep the set of statement texts small, so prepared
/// statements are reused.
const CHUNKS: [usize; 4] = [64, 16, 4, 1];

fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows).map(|i| format!("(${}, ${}, FALSE)", 2 * i + 1, 2 * i + 2)).collect();
    format!("INSERT INTO webhook_inbox (received_at, body, processed) VALUES {}", values.join(","))
}

async fn write(db: &Db, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let mut rest = jobs;
    while !rest.is_empty() {
        let size = CHUNKS.into_iter().find(|c| *c <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_sql(size)));
        for job in chunk {
            query = query.bind(job.received_at).bind(job.body.to_vec());
        }
        query.execute(&mut *tx).await?;
        rest = tail;
    }
    tx.commit().await
}
