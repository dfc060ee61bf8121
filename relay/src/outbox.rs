//! The outbox and its lanes: every send is first a row with an idempotency key; one lane per
//! business number drains it at the number's throughput.
//!
//! A row is `queued`, then `inflight` while its request is out, then `sent` or `failed`. A row
//! whose request may have reached Meta without an answer coming back is `unknown`: its
//! idempotency key travels as `biz_opaque_callback_data`, so a status webhook settles it, and
//! only if none arrives within the reconcile window is it sent again. A relay that dies
//! mid-request finds those rows `inflight` at start and treats them the same way.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use switchboard_shared::api::{Event, EventKind};
use switchboard_shared::limits::{self, classify_error, codes, ErrorClass};
use switchboard_shared::wire::{MarkReadRequest, SuccessResponse};
use switchboard_shared::MessageStatus;
use tokio::sync::{Notify, Semaphore};

use crate::cloud::CloudError;
use crate::db::now_ms;
use crate::error::Result;
use crate::webhook::process::advance;
use crate::{events, AppState};

/// How long a send with an unknown outcome waits for a status webhook before it is retried.
pub const RECONCILE_WINDOW_MS: i64 = 30_000;
/// Requests one lane keeps in flight at once.
const LANE_CONCURRENCY: usize = 64;
/// Rows a lane claims per round.
const CLAIM: i64 = 200;

/// What a row asks the lane to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Payload {
    /// A message; `body` is the Cloud API request without `biz_opaque_callback_data`.
    Send { body: Value },
    /// Mark an inbound message read.
    MarkRead { wamid: String },
}

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

/// Settles an `unknown` or `inflight` row from a status webhook that carried its key.
pub async fn settle_from_status(conn: &mut AnyConnection, key: &str, wamid: &str) -> Result<()> {
    let row: Option<(Option<i64>,)> = sqlx::query_as(
        "UPDATE outbox SET state = 'sent', wamid = $1, updated_at = $2
         WHERE idempotency_key = $3 AND state IN ('unknown', 'inflight') RETURNING message_id",
    )
    .bind(wamid)
    .bind(now_ms())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((Some(message_id),)) = row {
        sqlx::query("UPDATE messages SET wamid = $1 WHERE id = $2 AND wamid IS NULL").bind(wamid).bind(message_id).execute(&mut *conn).await?;
    }
    Ok(())
}

struct Lane {
    bell: Notify,
    limiter: governor::DefaultDirectRateLimiter,
    in_flight: Arc<Semaphore>,
}

/// One lane per business number.
#[derive(Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

impl Lanes {
    /// Wakes a number's lane after rows were added.
    pub fn wake(&self, number_id: &str) {
        if let Some(lane) = self.lanes.lock().expect("lanes lock").get(number_id) {
            lane.bell.notify_one();
        }
    }
}

/// Rows a dead relay left `inflight` may have reached Meta: treat them as unknown.
pub async fn recover_after_restart(state: &AppState) -> Result<()> {
    let now = now_ms();
    let moved = sqlx::query("UPDATE outbox SET state = 'unknown', next_attempt_at = $1, updated_at = $2 WHERE state = 'inflight'")
        .bind(now + RECONCILE_WINDOW_MS)
        .bind(now)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
    if moved > 0 {
        tracing::warn!("{moved} sends were in flight when the relay stopped; reconciling them from status webhooks");
    }
    Ok(())
}

/// Starts a lane for every number that has none yet.
pub async fn start_lanes(state: &AppState) -> Result<()> {
    let numbers: Vec<(String, i64)> = sqlx::query_as("SELECT id, throughput_per_sec FROM numbers").fetch_all(&state.db.pool).await?;
    for (id, rate) in numbers {
        start_lane(state, &id, rate);
    }
    Ok(())
}

/// Starts one number's lane if it is not running.
pub fn start_lane(state: &AppState, number_id: &str, throughput_per_sec: i64) {
    let mut lanes = state.lanes.lanes.lock().expect("lanes lock");
    if lanes.contains_key(number_id) {
        return;
    }
    let rate = NonZeroU32::new(throughput_per_sec.clamp(1, 100_000) as u32).unwrap_or(NonZeroU32::MIN);
    // Burst of one: sends leave evenly spaced, never faster than Meta's limit in any window.
    let quota = governor::Quota::per_second(rate).allow_burst(NonZeroU32::MIN);
    let lane = Arc::new(Lane {
        bell: Notify::new(),
        limiter: governor::RateLimiter::direct(quota),
        in_flight: Arc::new(Semaphore::new(LANE_CONCURRENCY)),
    });
    lanes.insert(number_id.to_owned(), lane.clone());
    tokio::spawn(run_lane(state.clone(), number_id.to_owned(), lane));
}

async fn run_lane(state: AppState, number_id: String, lane: Arc<Lane>) {
    loop {
        match lane_round(&state, &number_id, &lane).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::select! {
                    _ = lane.bell.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            Err(e) => {
                tracing::error!("lane {number_id}: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

type Row = (i64, String, Option<i64>, String, i64);

/// Claims due rows and sends them paced; returns whether there was work.
async fn lane_round(state: &AppState, number_id: &str, lane: &Arc<Lane>) -> Result<bool> {
    reconcile_unknown(state, number_id).await?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, idempotency_key, message_id, payload, attempts FROM outbox
         WHERE number_id = $1 AND state = 'queued' AND next_attempt_at <= $2 ORDER BY id LIMIT $3",
    )
    .bind(number_id)
    .bind(now_ms())
    .bind(CLAIM)
    .fetch_all(&state.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(false);
    }
    // A disabled or removed number sends nothing; its queue waits for it to come back.
    let Some((sealed,)): Option<(String,)> = sqlx::query_as("SELECT access_token FROM numbers WHERE id = $1 AND disabled = FALSE")
        .bind(number_id)
        .fetch_optional(&state.db.pool)
        .await?
    else {
        return Ok(false);
    };
    let token = SecretString::from(crate::numbers::secret_key(state)?.open(&sealed)?);
    for row in rows {
        lane.limiter.until_ready().await;
        let permit = lane.in_flight.clone().acquire_owned().await.map_err(anyhow::Error::from)?;
        sqlx::query("UPDATE outbox SET state = 'inflight', attempts = attempts + 1, updated_at = $1 WHERE id = $2 AND state = 'queued'")
            .bind(now_ms())
            .bind(row.0)
            .execute(&state.db.pool)
            .await?;
        let (state, number_id, token) = (state.clone(), number_id.to_owned(), token.clone());
        tokio::spawn(async move {
            if let Err(e) = send_one(&state, &number_id, &token, row).await {
                tracing::error!("recording a send on {number_id} failed: {e}");
            }
            drop(permit);
        });
    }
    Ok(true)
}

/// Unknown rows past their window: settled if a status arrived meanwhile, else queued again.
async fn reconcile_unknown(state: &AppState, number_id: &str) -> Result<()> {
    let due: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, idempotency_key FROM outbox WHERE number_id = $1 AND state = 'unknown' AND next_attempt_at <= $2",
    )
    .bind(number_id)
    .bind(now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    for (id, key) in due {
        let seen: Option<(String,)> = sqlx::query_as("SELECT wamid FROM message_statuses WHERE callback_data = $1 LIMIT 1")
            .bind(&key)
            .fetch_optional(&state.db.pool)
            .await?;
        let mut conn = state.db.pool.acquire().await?;
        match seen {
            Some((wamid,)) => settle_from_status(&mut conn, &key, &wamid).await?,
            None => {
                sqlx::query("UPDATE outbox SET state = 'queued', updated_at = $1 WHERE id = $2 AND state = 'unknown'")
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Backoff before retry number `attempts` (1-based): Meta asks for 4^x seconds after a pair
/// rate refusal; everything else doubles from one second. Both are capped at five minutes.
fn backoff_ms(code: Option<i64>, attempts: i64) -> i64 {
    let x = (attempts - 1).clamp(0, 10) as u32;
    let secs = if code == Some(codes::PAIR_RATE) { 4_i64.pow(x) } else { 2_i64.pow(x) };
    secs.min(300) * 1000
}

async fn send_one(state: &AppState, number_id: &str, token: &SecretString, row: Row) -> Result<()> {
    let (id, key, message_id, payload, attempts) = row;
    let attempts = attempts + 1;
    let payload: Payload = serde_json::from_str(&payload).map_err(anyhow::Error::from)?;
    let result = match &payload {
        Payload::Send { body } => {
            let mut body = body.clone();
            body["biz_opaque_callback_data"] = Value::String(key.clone());
            state.cloud.send(number_id, token, &body).await.map(|r| r.messages.first().map(|m| m.id.clone()))
        }
        Payload::MarkRead { wamid } => state
            .cloud
            .post_messages::<_, SuccessResponse>(number_id, token, &MarkReadRequest::new(wamid.clone()))
            .await
            .map(|_| None),
    };
    let now = now_ms();
    let mut out: Vec<Event> = Vec::new();
    let mut tx = state.db.pool.begin().await?;
    match result {
        Ok(wamid) => {
            sqlx::query("UPDATE outbox SET state = 'sent', wamid = COALESCE($1, wamid), updated_at = $2 WHERE id = $3")
                .bind(&wamid)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if let (Some(message_id), Some(wamid)) = (message_id, &wamid) {
                sqlx::query("UPDATE messages SET wamid = $1 WHERE id = $2").bind(wamid).bind(message_id).execute(&mut *tx).await?;
                advance(&mut tx, number_id, wamid, MessageStatus::Accepted, None, &mut out).await?;
                // Statuses that raced ahead of this answer are already stored: apply the best.
                let seen: Vec<(String,)> = sqlx::query_as("SELECT status FROM message_statuses WHERE wamid = $1")
                    .bind(wamid)
                    .fetch_all(&mut *tx)
                    .await?;
                let best = seen.iter().filter_map(|(s,)| MessageStatus::parse(s)).max_by_key(|s| s.rank());
                if let Some(status) = best {
                    advance(&mut tx, number_id, wamid, status, None, &mut out).await?;
                }
            }
            state.metrics.sends.get_or_create(&vec![("outcome".to_owned(), "accepted".to_owned())]).inc();
        }
        Err(CloudError::NoAnswer(reason)) => {
            tracing::warn!("send {key} on {number_id}: {reason}; outcome unknown, reconciling");
            sqlx::query("UPDATE outbox SET state = 'unknown', next_attempt_at = $1, updated_at = $2 WHERE id = $3")
                .bind(now + RECONCILE_WINDOW_MS)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            state.metrics.sends.get_or_create(&vec![("outcome".to_owned(), "unknown".to_owned())]).inc();
        }
        Err(e) => {
            let code = e.code();
            let class = match &e {
                CloudError::Connect(_) => ErrorClass::Retry,
                CloudError::Decode { status, .. } if *status >= 500 => ErrorClass::Retry,
                CloudError::Graph { status, .. } if code.is_none() && *status >= 500 => ErrorClass::Retry,
                _ => code.map_or(ErrorClass::Permanent, classify_error),
            };
            let title = e.to_string();
            match class {
                ErrorClass::Retry | ErrorClass::PauseLane => {
                    let wait = if class == ErrorClass::PauseLane { 60_000 } else { backoff_ms(code, attempts) };
                    if class == ErrorClass::PauseLane {
                        sqlx::query("UPDATE numbers SET connected = FALSE, problem = $1 WHERE id = $2").bind(&title).bind(number_id).execute(&mut *tx).await?;
                    }
                    sqlx::query(
                        "UPDATE outbox SET state = 'queued', next_attempt_at = $1, error_code = $2, error_title = $3, updated_at = $4 WHERE id = $5",
                    )
                    .bind(now + wait)
                    .bind(code)
                    .bind(&title)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    state.metrics.sends.get_or_create(&vec![("outcome".to_owned(), "retry".to_owned())]).inc();
                }
                ErrorClass::Permanent => {
                    sqlx::query("UPDATE outbox SET state = 'failed', error_code = $1, error_title = $2, updated_at = $3 WHERE id = $4")
                        .bind(code)
                        .bind(&title)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    if let Some(message_id) = message_id {
                        let failed: Option<(i64, Option<i64>)> = sqlx::query_as(
                            "UPDATE messages SET status = 'failed', status_rank = $1, error = $2 WHERE id = $3
                             RETURNING conversation_id, (SELECT c.assigned_to FROM conversations c WHERE c.id = messages.conversation_id)",
                        )
                        .bind(MessageStatus::Failed.rank())
                        .bind(&title)
                        .bind(message_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some((conversation_id, assigned_to)) = failed {
                            let kind = EventKind::Status { conversation_id, message_id, wamid: None, status: MessageStatus::Failed, error: Some(title.clone()) };
                            out.push(events::append(&mut tx, number_id, assigned_to, kind).await?);
                        }
                    }
                    state.metrics.sends.get_or_create(&vec![("outcome".to_owned(), "failed".to_owned())]).inc();
                }
            }
        }
    }
    tx.commit().await?;
    state.events.publish(out);
    Ok(())
}

/// Sends beyond Meta's text limit are refused before they reach the outbox.
pub fn check_text(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        Err("The message is empty.".into())
    } else if n > limits::MAX_TEXT_BODY_CHARS {
        Err(format!("The message has {n} characters; WhatsApp allows {}.", limits::MAX_TEXT_BODY_CHARS))
    } else {
        Ok(())
    }
}
