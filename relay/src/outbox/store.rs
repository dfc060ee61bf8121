//! The outbox and message_statuses tables: queueing sends, claiming them for a lane, recording
//! what came of each request, and the log of every status Meta reported for a send.
//!
//! A row's state is one of [`OutboxState`], stored as its text.

use std::collections::HashSet;

use sqlx::{AnyConnection, AnyPool};
use switchboard_shared::MessageStatus;

use super::Payload;
use crate::clock::now_ms;
use crate::error::Result;

/// Where an outbox row is. Stored as [`OutboxState::as_str`]; the SQL below names the same
/// texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for its lane (or for `next_attempt_at`).
    Queued,
    /// Its request is out.
    Inflight,
    /// The request may have reached Meta without an answer: a status webhook settles it.
    Unknown,
    Sent,
    Failed,
    /// Its broadcast was cancelled before it was sent.
    Cancelled,
}

impl OutboxState {
    pub const ALL: [OutboxState; 6] = [Self::Queued, Self::Inflight, Self::Unknown, Self::Sent, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Inflight => "inflight",
            Self::Unknown => "unknown",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A claimed row.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub idempotency_key: String,
    /// The conversation message this send carries, if any.
    pub message_id: Option<i64>,
    pub payload: String,
    /// Attempts before this one.
    pub attempts: i64,
    pub recipient: Option<String>,
    pub broadcast_id: Option<i64>,
}

const CLAIMED_COLUMNS: &str = "id, idempotency_key, message_id, payload, attempts, recipient, broadcast_id";

/// Adds a row inside the caller's transaction. A second row with the same key is ignored, so
/// callers can retry freely. Returns whether the row was new.
pub async fn enqueue(conn: &mut AnyConnection, key: &str, number_id: &str, message_id: Option<i64>, payload: &Payload) -> Result<bool> {
    let now = now_ms();
    let payload = serde_json::to_string(payload).map_err(anyhow::Error::from)?;
    let done = sqlx::query(
        "INSERT INTO outbox (idempotency_key, number_id, message_id, payload, state, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $5) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(key)
    .bind(number_id)
    .bind(message_id)
    .bind(payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keys per statement when settling: 2 parameters each.
const SETTLE_CHUNK: usize = 1_000;

/// Settles `unknown` or `inflight` rows from status webhooks that carried their keys: one
/// statement per thousand (key, wamid) pairs, which is what a batch of status webhooks needs
/// (nearly always settling nothing). Returns the conversation messages the settled sends
/// carry, with their wamids, for the conversations to learn (the outbox writes only its own
/// tables).
pub async fn settle_from_statuses(conn: &mut AnyConnection, pairs: &[(&str, &str)]) -> Result<Vec<(i64, String)>> {
    let now = now_ms();
    let mut messages = Vec::new();
    for chunk in pairs.chunks(SETTLE_CHUNK) {
        let sql = format!(
            "UPDATE outbox SET state = 'sent', wamid = v.column2, updated_at = $1 FROM (VALUES {}) AS v
             WHERE outbox.idempotency_key = v.column1 AND outbox.state IN ('unknown', 'inflight') RETURNING outbox.message_id, outbox.wamid",
            crate::db::values_placeholders_after(1, chunk.len(), 2)
        );
        let mut q = sqlx::query_as::<_, (Option<i64>, Option<String>)>(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql))).bind(now);
        for (key, wamid) in chunk {
            q = q.bind(*key).bind(*wamid);
        }
        let settled = q.fetch_all(&mut *conn).await?;
        messages.extend(settled.into_iter().filter_map(|(message_id, wamid)| Some((message_id?, wamid?))));
    }
    Ok(messages)
}

/// The business-initiated recipients of the sends since `since`, per portfolio, with when each
/// was last sent to.
pub(super) async fn recent_recipients(pool: &AnyPool, since: i64) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT n.portfolio, o.recipient, MAX(o.updated_at) FROM outbox o JOIN numbers n ON n.id = o.number_id
         WHERE o.recipient IS NOT NULL AND o.state IN ('sent', 'inflight', 'unknown') AND o.updated_at > $1
         GROUP BY n.portfolio, o.recipient",
    )
    .bind(since)
    .fetch_all(pool)
    .await?)
}

/// Rows a dead relay left `inflight` become `unknown`, to be reconciled after `reconcile_at`.
pub(super) async fn inflight_to_unknown(pool: &AnyPool, reconcile_at: i64, now: i64) -> Result<u64> {
    Ok(sqlx::query("UPDATE outbox SET state = 'unknown', next_attempt_at = $1, updated_at = $2 WHERE state = 'inflight'")
        .bind(reconcile_at)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected())
}

/// Up to `limit` queued rows due now: live sends first, then running broadcasts'.
pub(super) async fn due(conn: &mut AnyConnection, number_id: &str, now: i64, limit: i64) -> Result<Vec<Claimed>> {
    // Live sends (answers, agents' replies) by id, then running broadcasts' rows by their time:
    // one statement, so a claim costs the database one round trip.
    let mut rows: Vec<Claimed> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CLAIMED_COLUMNS} FROM (
           SELECT {CLAIMED_COLUMNS}, 0 AS part, 0 AS due_at FROM (
             SELECT {CLAIMED_COLUMNS} FROM outbox
             WHERE number_id = $1 AND state = 'queued' AND broadcast_id IS NULL AND next_attempt_at <= $2 ORDER BY id LIMIT $3) live
           UNION ALL
           SELECT {CLAIMED_COLUMNS}, 1 AS part, next_attempt_at AS due_at FROM (
             SELECT {CLAIMED_COLUMNS}, next_attempt_at FROM outbox
             WHERE number_id = $1 AND state = 'queued' AND broadcast_id IN (SELECT id FROM broadcasts WHERE state = 'running')
               AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3) running
         ) due ORDER BY part, due_at, id"
    )))
    .bind(number_id)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.truncate(limit.max(0) as usize);
    Ok(rows)
}

/// Queued rows wait until their new time: (row, when, why — shown on the row).
pub(super) async fn defer(conn: &mut AnyConnection, rows: &[(i64, i64, Option<&str>)], now: i64) -> Result<()> {
    for (id, at, why) in rows {
        sqlx::query("UPDATE outbox SET next_attempt_at = $1, error_title = COALESCE($2, error_title), updated_at = $3 WHERE id = $4 AND state = 'queued'")
            .bind(at)
            .bind(why)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Moves still-queued rows in flight; returns the ids it moved.
pub(super) async fn mark_inflight(conn: &mut AnyConnection, ids: &[i64], now: i64) -> Result<std::collections::HashSet<i64>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    // The ids are integers, not outside input.
    let moved: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET state = 'inflight', attempts = attempts + 1, updated_at = $1 WHERE id IN ({}) AND state = 'queued' RETURNING id",
        list.join(",")
    )))
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(moved.into_iter().map(|(id,)| id).collect())
}

/// `unknown` rows of a number whose reconcile window has passed: (id, key).
pub(super) async fn unknown_due(conn: &mut AnyConnection, number_id: &str, now: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, idempotency_key FROM outbox WHERE number_id = $1 AND state = 'unknown' AND next_attempt_at <= $2")
        .bind(number_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
}

/// Stored webhooks not yet processed (a status among them may settle an unknown send).
pub(super) async fn webhooks_waiting(conn: &mut AnyConnection) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").fetch_one(&mut *conn).await?;
    Ok(n)
}

/// An `unknown` row goes back to the queue.
pub(super) async fn requeue_unknown(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET state = 'queued', updated_at = $1 WHERE id = $2 AND state = 'unknown'")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Accepted sends, many per statement: (row, wamid).
pub(super) async fn mark_sent_many(conn: &mut AnyConnection, sent: &[(i64, Option<&str>)], now: i64) -> Result<()> {
    if sent.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE outbox SET state = 'sent', wamid = v.column2, updated_at = $1 FROM (VALUES {}) AS v WHERE outbox.id = v.column1",
        crate::db::values_placeholders_after(1, sent.len(), 2)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql))).bind(now);
    for (id, wamid) in sent {
        q = q.bind(*id).bind(*wamid);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

pub(super) async fn mark_sent(conn: &mut AnyConnection, id: i64, wamid: Option<&str>, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET state = 'sent', wamid = COALESCE($1, wamid), updated_at = $2 WHERE id = $3")
        .bind(wamid)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The request may have reached Meta: wait for a status until `reconcile_at`.
pub(super) async fn mark_unknown(conn: &mut AnyConnection, id: i64, reconcile_at: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET state = 'unknown', next_attempt_at = $1, updated_at = $2 WHERE id = $3")
        .bind(reconcile_at)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Back to the queue, to be tried again at `at`.
pub(super) async fn retry_later(conn: &mut AnyConnection, id: i64, at: i64, code: Option<i64>, title: &str, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'queued', next_attempt_at = $1, error_code = $2, error_title = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(at)
    .bind(code)
    .bind(title)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn mark_failed(conn: &mut AnyConnection, id: i64, code: Option<i64>, title: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET state = 'failed', error_code = $1, error_title = $2, updated_at = $3 WHERE id = $4")
        .bind(code)
        .bind(title)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a row is still waiting for its request's outcome (a status webhook may have settled
/// it first).
pub(super) async fn still_in_flight(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT state FROM outbox WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.is_some_and(|(state,)| OutboxState::parse(&state) == Some(OutboxState::Inflight)))
}

/// The wamid of the send whose key a stored status carried, if one did.
pub(super) async fn wamid_from_statuses(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    let seen: Option<(String,)> =
        sqlx::query_as("SELECT wamid FROM message_statuses WHERE callback_data = $1 LIMIT 1").bind(key).fetch_optional(&mut *conn).await?;
    Ok(seen.map(|(w,)| w))
}

/// Every status stored for a message, in no order.
pub async fn statuses_seen(conn: &mut AnyConnection, wamid: &str) -> Result<Vec<MessageStatus>> {
    let seen: Vec<(String,)> =
        sqlx::query_as("SELECT status FROM message_statuses WHERE wamid = $1").bind(wamid).fetch_all(&mut *conn).await?;
    Ok(seen.iter().filter_map(|(s,)| MessageStatus::parse(s)).collect())
}

/// One status Meta reported, to be logged.
pub struct StatusLog<'a> {
    pub wamid: &'a str,
    pub status: MessageStatus,
    pub at: i64,
    /// The key of the send it reports on, when Meta echoed it.
    pub callback_data: Option<&'a str>,
    pub error_code: Option<i64>,
    pub error_title: Option<&'a str>,
}

/// Statuses per statement: 6 parameters each, well inside both backends' limits.
const STATUS_CHUNK: usize = 500;

/// Logs statuses, each (wamid, status) once; returns those that were new.
pub async fn log_statuses(conn: &mut AnyConnection, rows: &[StatusLog<'_>]) -> Result<HashSet<(String, MessageStatus)>> {
    let mut new = HashSet::with_capacity(rows.len());
    for chunk in rows.chunks(STATUS_CHUNK) {
        let sql = format!(
            "INSERT INTO message_statuses (wamid, status, at, callback_data, error_code, error_title) VALUES {}
             ON CONFLICT (wamid, status) DO NOTHING RETURNING wamid, status",
            crate::db::values_placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql)));
        for r in chunk {
            q = q.bind(r.wamid).bind(r.status.as_str()).bind(r.at).bind(r.callback_data).bind(r.error_code).bind(r.error_title);
        }
        for (wamid, status) in q.fetch_all(&mut *conn).await? {
            if let Some(status) = MessageStatus::parse(&status) {
                new.insert((wamid, status));
            }
        }
    }
    Ok(new)
}

/// Withdraws a cancelled broadcast's sends still queued.
pub async fn cancel_broadcast(conn: &mut AnyConnection, broadcast_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE outbox SET state = 'cancelled', updated_at = $1 WHERE broadcast_id = $2 AND state = 'queued'")
        .bind(now)
        .bind(broadcast_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Queues up to `limit` of a running or paused broadcast's frozen recipients (after `cursor`,
/// in contact order) that have no send yet; returns the recipients queued. The outbox is
/// written here only: broadcasts freeze their audience, the outbox turns it into sends.
pub async fn queue_broadcast(conn: &mut AnyConnection, broadcast_id: i64, cursor: &str, now: i64, limit: i64) -> Result<Vec<String>> {
    let queued: Vec<(String,)> = sqlx::query_as(
        "INSERT INTO outbox (idempotency_key, number_id, message_id, payload, state, attempts, next_attempt_at, created_at, updated_at, broadcast_id, recipient)
         SELECT r.outbox_key, r.number_id, NULL, r.payload, 'queued', 0, $3, $3, $3, r.broadcast_id, r.contact
         FROM broadcast_recipients r
         WHERE r.broadcast_id = $1 AND r.contact > $2 AND r.state = 'queued' AND r.outbox_key IS NOT NULL
           AND EXISTS (SELECT 1 FROM broadcasts b WHERE b.id = r.broadcast_id AND b.state IN ('running', 'paused'))
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = r.outbox_key)
         ORDER BY r.contact LIMIT $4
         RETURNING recipient",
    )
    .bind(broadcast_id)
    .bind(cursor)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(queued.into_iter().map(|(r,)| r).collect())
}

/// A broadcast's queued sends through `number_id` wait until `at` (that number starts later).
pub async fn delay_broadcast(conn: &mut AnyConnection, broadcast_id: i64, number_id: &str, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET next_attempt_at = $1 WHERE broadcast_id = $2 AND number_id = $3 AND state = 'queued' AND next_attempt_at < $1",
    )
    .bind(at)
    .bind(broadcast_id)
    .bind(number_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- what the lanes read of the numbers (the numbers feature writes them)

/// Every number's sends per second, to start its lane.
pub(super) async fn throughputs(pool: &AnyPool) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT id, throughput_per_sec FROM numbers").fetch_all(pool).await?)
}

/// What a lane needs to send for a number.
#[derive(sqlx::FromRow)]
pub struct Sending {
    pub sealed_token: String,
    /// The business portfolio whose messaging limit the number shares.
    pub portfolio: String,
    pub messaging_limit: String,
}

/// A number's sending credentials, unless it is disabled or removed.
pub(super) async fn sending_credentials(conn: &mut AnyConnection, id: &str) -> Result<Option<Sending>> {
    Ok(sqlx::query_as("SELECT access_token AS sealed_token, portfolio, messaging_limit FROM numbers WHERE id = $1 AND disabled = FALSE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}
