//! The events table: the log every live update is read from, in commit order.

use sqlx::{AnyConnection, AnyPool};
use switchboard_shared::api::{Event, EventKind};

use crate::clock::now_ms;
use crate::error::Result;

/// Appends an event inside the caller's transaction; publish it after the commit.
pub async fn append(conn: &mut AnyConnection, number_id: &str, assigned_to: Option<i64>, kind: EventKind) -> Result<Event> {
    let at = now_ms();
    if state_is_postgres(conn) {
        // Postgres hands out sequence numbers before commit, so two writers could commit out
        // of order and a live reader could skip one. One event writer at a time keeps the log
        // in commit order; SQLite's single write lock already does.
        sqlx::query("SELECT pg_advisory_xact_lock(7350001)").execute(&mut *conn).await?;
    }
    let payload = serde_json::to_string(&kind).map_err(anyhow::Error::from)?;
    let (seq,): (i64,) =
        sqlx::query_as("INSERT INTO events (number_id, kind, payload, at, assigned_to) VALUES ($1, $2, $3, $4, $5) RETURNING seq")
            .bind(number_id)
            .bind(kind.name())
            .bind(payload)
            .bind(at)
            .bind(assigned_to)
            .fetch_one(&mut *conn)
            .await?;
    Ok(Event { seq, number_id: number_id.to_owned(), at, assigned_to, kind })
}

fn state_is_postgres(conn: &AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("postgres") || conn.backend_name().eq_ignore_ascii_case("postgresql")
}

/// Events after `after`, oldest first.
/// An event as stored: its kind is the JSON payload.
#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    number_id: String,
    payload: String,
    at: i64,
    assigned_to: Option<i64>,
}

pub(super) async fn since(pool: &AnyPool, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> =
        sqlx::query_as("SELECT seq, number_id, payload, at, assigned_to FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|r| {
            let kind: EventKind = serde_json::from_str(&r.payload).map_err(anyhow::Error::from)?;
            Ok(Event { seq: r.seq, number_id: r.number_id, at: r.at, assigned_to: r.assigned_to, kind })
        })
        .collect()
}

/// The newest event id (0 when the log is empty).
pub(super) async fn last_seq(pool: &AnyPool) -> Result<i64> {
    let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events").fetch_one(pool).await?;
    Ok(seq.unwrap_or(0))
}
