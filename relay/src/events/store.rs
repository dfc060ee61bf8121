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

/// An event to be written with the rest of its transaction's by [`write_pending`]; its `seq` is
/// 0 until then. A transaction that makes many events (a webhook batch: each message, each
/// answer, each status) writes them in a statement or two instead of one each.
pub fn pending(number_id: &str, assigned_to: Option<i64>, kind: EventKind) -> Event {
    Event { seq: 0, number_id: number_id.to_owned(), at: now_ms(), assigned_to, kind }
}

/// Writes the events in `events` that are still pending (seq 0), in their order, and gives
/// each its seq. Call it inside the transaction that made them, before the commit.
pub async fn write_pending(conn: &mut AnyConnection, events: &mut [Event]) -> Result<()> {
    let mut rest: Vec<&mut Event> = events.iter_mut().filter(|e| e.seq == 0).collect();
    if rest.is_empty() {
        return Ok(());
    }
    if state_is_postgres(conn) {
        // As in `append`: one event writer at a time keeps the log in commit order.
        sqlx::query("SELECT pg_advisory_xact_lock(7350001)").execute(&mut *conn).await?;
    }
    while !rest.is_empty() {
        let size = crate::db::chunk_size(rest.len());
        let tail = rest.split_off(size);
        let sql = format!(
            "INSERT INTO events (number_id, kind, payload, at, assigned_to) VALUES {} RETURNING seq",
            crate::db::values_placeholders(size, 5)
        );
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql)));
        for e in &rest {
            let payload = serde_json::to_string(&e.kind).map_err(anyhow::Error::from)?;
            query = query.bind(e.number_id.clone()).bind(e.kind.name()).bind(payload).bind(e.at).bind(e.assigned_to);
        }
        // Rows are inserted in the order of the VALUES list, so their seqs rise in that order.
        let mut seqs: Vec<i64> = query.fetch_all(&mut *conn).await?.into_iter().map(|(seq,)| seq).collect();
        seqs.sort_unstable();
        if seqs.len() != rest.len() {
            return Err(anyhow::anyhow!("wrote {} events but got {} ids back", rest.len(), seqs.len()).into());
        }
        for (e, seq) in rest.iter_mut().zip(seqs) {
            e.seq = seq;
        }
        rest = tail;
    }
    Ok(())
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
