//! The broadcasts and broadcast_recipients tables: recording what the outbox and the status
//! webhooks report, and reading broadcasts back with their live reports.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use sqlx::AnyConnection;
use switchboard_shared::api::Broadcast;
use switchboard_shared::broadcast::{BroadcastCounts, BroadcastSpec, BroadcastState, RecipientState};
use switchboard_shared::{limits, MessageStatus};

use crate::clock::now_ms;
use crate::error::Result;
use crate::outbox::LIMIT_WAIT;
use futures::future::BoxFuture;
use switchboard_shared::api::Event;

use crate::access::audit;
use crate::outbox::outcomes::{OutcomeListener, SendOutcome};
use crate::AppState;

/// Every broadcast idempotency key starts with this.
pub const KEY_PREFIX: &str = "bc:";
/// Rows per INSERT when freezing an audience.
pub(super) const CHUNK: usize = 300;
/// Sends queued in the freeze's own transaction; the rest follow in chunks of `QUEUE_CHUNK`.
pub(super) const FIRST_CHUNK: i64 = 1_000;
pub(super) const QUEUE_CHUNK: i64 = 5_000;
/// Largest uploaded list.
pub(super) const MAX_LIST: usize = 200_000;

/// Moves with every write here that can change a report: recipients' outcomes, replies, a
/// broadcast's state or audience. The reporter counts reports again only when it moved (so a
/// relay with nothing going on does not count 50,000 recipients twice a second). Shared by the
/// relays of one process (tests run several): another's writes only cost a needless count.
static CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn changed() {
    CHANGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// How many report-changing writes this process has made (see [`CHANGES`]).
pub(super) fn changes() -> u64 {
    CHANGES.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn key(broadcast_id: i64, contact: &str) -> String {
    format!("{KEY_PREFIX}{broadcast_id}:{contact}")
}

/// A send was accepted (200 and a wamid).
/// How many of a broadcast's recipients share one outcome, and how many of those replied.
#[derive(sqlx::FromRow)]
struct OutcomeCount {
    broadcast_id: i64,
    state: String,
    skipped: Option<String>,
    status: Option<String>,
    number_id: Option<String>,
    error_code: Option<i64>,
    n: i64,
    accepted: i64,
    replied: i64,
}

/// Keys per statement when recording acceptances: 2 parameters each.
pub(super) const ACCEPTED_CHUNK: usize = 500;

/// Marks broadcast sends accepted by their (key, wamid) pairs: one statement per 500, which is what the recorder
/// needs for a busy broadcast's outcomes.
pub async fn accepted_many(conn: &mut AnyConnection, sends: &[(&str, Option<&str>)], at: i64) -> Result<()> {
    changed();
    for chunk in sends.chunks(ACCEPTED_CHUNK) {
        let sql = format!(
            "UPDATE broadcast_recipients SET state = 'accepted', wamid = COALESCE(broadcast_recipients.wamid, v.column2),
               accepted_at = COALESCE(accepted_at, $1)
             FROM (VALUES {}) AS v WHERE broadcast_recipients.outbox_key = v.column1 AND broadcast_recipients.state <> 'accepted'",
            crate::db::values_placeholders_after(1, chunk.len(), 2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql))).bind(at);
        for (key, wamid) in chunk {
            q = q.bind(*key).bind(*wamid);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Meta refused the send for good.
pub async fn failed(conn: &mut AnyConnection, key: &str, code: Option<i64>, title: &str) -> Result<()> {
    changed();
    sqlx::query(
        "UPDATE broadcast_recipients SET state = 'failed', error_code = $1, error_title = $2 WHERE outbox_key = $3 AND state = 'queued'",
    )
    .bind(code)
    .bind(title)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a batch of status webhooks says of one recipient's send.
pub struct Progress {
    pub key: String,
    pub wamid: String,
    /// The furthest status seen, and its error.
    pub status: MessageStatus,
    pub error: Option<(Option<i64>, String)>,
    /// When the first status was seen (it proves acceptance), and the first delivered and read.
    pub first_at: i64,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

/// Recipients per statement: 9 parameters each.
pub(super) const PROGRESS_CHUNK: usize = 500;

/// Status webhooks for broadcast sends prove acceptance and move each recipient forward (never
/// back): one statement per 500 recipients, since this runs for every status of every send.
pub async fn apply_statuses(conn: &mut AnyConnection, progress: &[Progress]) -> Result<()> {
    changed();
    for chunk in progress.chunks(PROGRESS_CHUNK) {
        let sql = format!(
            "UPDATE broadcast_recipients SET state = 'accepted', wamid = COALESCE(broadcast_recipients.wamid, v.column2),
               accepted_at = COALESCE(accepted_at, v.column5),
               status = CASE WHEN status_rank < v.column4 THEN v.column3 ELSE status END,
               error_code = CASE WHEN status_rank < v.column4 THEN COALESCE(v.column8, error_code) ELSE error_code END,
               error_title = CASE WHEN status_rank < v.column4 THEN COALESCE(v.column9, error_title) ELSE error_title END,
               delivered_at = COALESCE(delivered_at, v.column6),
               read_at = COALESCE(read_at, v.column7),
               status_rank = CASE WHEN status_rank < v.column4 THEN v.column4 ELSE status_rank END
             FROM (VALUES {}) AS v WHERE broadcast_recipients.outbox_key = v.column1",
            crate::db::values_placeholders(chunk.len(), 9)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql)));
        for p in chunk {
            q = q
                .bind(&p.key)
                .bind(&p.wamid)
                .bind(p.status.as_str())
                .bind(p.status.rank())
                .bind(p.first_at)
                .bind(p.delivered_at)
                .bind(p.read_at)
                .bind(p.error.as_ref().and_then(|e| e.0))
                .bind(p.error.as_ref().map(|e| e.1.clone()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A broadcast as stored; its report is counted from its recipients.
#[derive(sqlx::FromRow)]
struct BroadcastRow {
    id: i64,
    /// The request (`BroadcastSpec`) as JSON.
    spec: String,
    state: String,
    send_at: i64,
    created_at: i64,
    started_at: Option<i64>,
    completed_at: Option<i64>,
    audience: i64,
    paused_reason: Option<String>,
}

/// A broadcast with its report.
pub async fn load(state: &AppState, id: i64) -> Result<Option<Broadcast>> {
    Ok(load_many(state, &format!("id = {id}")).await?.pop())
}

/// The broadcasts `condition` selects (trusted SQL: ids and limits we wrote), newest first,
/// with their reports: four statements whatever their number.
pub(super) async fn load_many(state: &AppState, condition: &str) -> Result<Vec<Broadcast>> {
    let rows: Vec<BroadcastRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, spec, state, send_at, created_at, started_at, completed_at, audience, paused_reason FROM broadcasts WHERE {condition} ORDER BY id DESC"
    )))
    .fetch_all(&state.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The ids are integers we just read, not outside input.
    let ids = rows.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(",");
    let mut counts: HashMap<i64, BroadcastCounts> =
        rows.iter().map(|r| (r.id, BroadcastCounts { audience: r.audience as u64, ..Default::default() })).collect();
    // One pass over the report's index (broadcast_recipients_report covers every column
    // read here, in the order grouped), by outcome and number.
    let groups: Vec<OutcomeCount> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT broadcast_id, state, status, number_id, skipped, error_code, COUNT(*) AS n,
                SUM(CASE WHEN accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS accepted,
                SUM(CASE WHEN replied_at IS NOT NULL AND replied_at - COALESCE(delivered_at, accepted_at) <= $1 THEN 1 ELSE 0 END) AS replied
         FROM broadcast_recipients WHERE broadcast_id IN ({ids})
         GROUP BY broadcast_id, state, status, number_id, skipped, error_code"
    )))
    .bind(switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS)
    .fetch_all(&state.db.pool)
    .await?;
    let mut accepted_by_number: HashMap<i64, BTreeMap<String, u64>> = HashMap::new();
    for OutcomeCount { broadcast_id: id, state: st, skipped, status, number_id, error_code: code, n, accepted, replied } in groups {
        let Some(counts) = counts.get_mut(&id) else { continue };
        if accepted > 0 {
            *accepted_by_number.entry(id).or_default().entry(number_id.unwrap_or_default()).or_default() += accepted as u64;
        }
        let n = n as u64;
        counts.replied += replied as u64;
        let status = status.as_deref().and_then(MessageStatus::parse);
        match RecipientState::parse(&st) {
            Some(RecipientState::Skipped) => *counts.skipped.entry(skipped.unwrap_or_default()).or_default() += n,
            Some(RecipientState::Queued) => counts.waiting += n,
            Some(RecipientState::Cancelled) => counts.cancelled += n,
            Some(RecipientState::Failed) => {
                counts.failed += n;
                *counts.failed_by_code.entry(code.unwrap_or(0).to_string()).or_default() += n;
            }
            _ => {
                counts.accepted += n;
                match status {
                    Some(MessageStatus::Failed) => {
                        counts.failed += n;
                        *counts.failed_by_code.entry(code.unwrap_or(0).to_string()).or_default() += n;
                    }
                    Some(MessageStatus::Read) => {
                        counts.delivered += n;
                        counts.read += n;
                    }
                    Some(MessageStatus::Delivered) => counts.delivered += n,
                    _ => {}
                }
            }
        }
    }
    let limits: Vec<(Option<i64>, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT broadcast_id, COUNT(*), MIN(next_attempt_at) FROM outbox
         WHERE broadcast_id IN ({ids}) AND state = 'queued' AND error_title = $1 AND next_attempt_at > $2 GROUP BY broadcast_id"
    )))
    .bind(LIMIT_WAIT)
    .bind(now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    let mut opens_at: HashMap<i64, i64> = HashMap::new();
    for (id, waiting, opens) in limits {
        if let (Some(id), Some(opens)) = (id, opens) {
            if let Some(c) = counts.get_mut(&id) {
                c.waiting_for_limit = waiting as u64;
                opens_at.insert(id, opens);
            }
        }
    }
    let opted_out: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        // From the customers who opted out (few, by contacts_opted_out) to their sends, not
        // from every send to its customer.
        "SELECT r.broadcast_id, COUNT(*) FROM contacts c CROSS JOIN broadcast_recipients r
         WHERE c.opted_out_at IS NOT NULL AND r.contact = c.wa_id AND r.broadcast_id IN ({ids}) AND r.accepted_at IS NOT NULL
           AND c.opted_out_at >= r.accepted_at AND c.opted_out_at - r.accepted_at <= $1
         GROUP BY r.broadcast_id"
    )))
    .bind(switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS)
    .fetch_all(&state.db.pool)
    .await?;
    for (id, n) in opted_out {
        if let Some(c) = counts.get_mut(&id) {
            c.opted_out = n as u64;
        }
    }
    rows.into_iter()
        .map(|r| {
            let id = r.id;
            Ok(Broadcast {
                id,
                spec: serde_json::from_str(&r.spec).map_err(anyhow::Error::from)?,
                state: BroadcastState::parse(&r.state)
                    .ok_or_else(|| anyhow::anyhow!("broadcast {id} has an unknown state {:?}", r.state))?,
                send_at: r.send_at,
                created_at: r.created_at,
                started_at: r.started_at,
                completed_at: r.completed_at,
                paused_reason: r.paused_reason,
                counts: counts.remove(&id).unwrap_or_default(),
                accepted_by_number: accepted_by_number.remove(&id).unwrap_or_default(),
                limit_window_opens_at: opens_at.get(&id).copied(),
            })
        })
        .collect()
}

/// What `paused_reason` says when a number's quality fell to RED.
pub const LOW_QUALITY: &str = "low_quality";

/// The quality kill switch: pauses every running or scheduled broadcast that sends through
/// `number_id`, saying why, so a number Meta rates RED stops sending marketing at once instead
/// of being restricted. Only people resume them. Returns the broadcasts paused.
pub async fn pause_for_low_quality(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<i64>> {
    changed();
    let active: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, spec FROM broadcasts WHERE state IN ('running', 'scheduled')").fetch_all(&mut *conn).await?;
    let reason = format!("{LOW_QUALITY}:{number_id}");
    let mut paused = Vec::new();
    for (id, spec) in active {
        let spec: BroadcastSpec = serde_json::from_str(&spec).map_err(anyhow::Error::from)?;
        if !spec.numbers.iter().any(|n| n == number_id) {
            continue;
        }
        let (before,): (String,) = sqlx::query_as("SELECT state FROM broadcasts WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
        sqlx::query("UPDATE broadcasts SET state = 'paused', paused_reason = $1 WHERE id = $2 AND state IN ('running', 'scheduled')")
            .bind(&reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let numbers: Vec<&str> = spec.numbers.iter().map(String::as_str).collect();
        audit::record_on(
            conn,
            audit::Actor::System,
            &numbers,
            "broadcast.pause",
            &format!("broadcast {id}"),
            Some(json!({"state": before})),
            Some(json!({"state": "paused", "reason": reason})),
        )
        .await?;
        tracing::warn!("broadcast {id} paused: number {number_id}'s quality rating fell to RED");
        paused.push(id);
    }
    Ok(paused)
}

/// Keeps broadcast recipients in step with their sends: accepted ones set-based, refused ones
/// marked failed with Meta's reason.
pub struct SendListener;

impl OutcomeListener for SendListener {
    fn record<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        outcomes: &'a [SendOutcome<'a>],
        at: i64,
        _events: &'a mut Vec<Event>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let accepted: Vec<(&str, Option<&str>)> = outcomes
                .iter()
                .filter_map(|o| match *o {
                    SendOutcome::Accepted { key, broadcast: true, wamid, .. } => Some((key, wamid)),
                    _ => None,
                })
                .collect();
            accepted_many(conn, &accepted, at).await?;
            for o in outcomes {
                if let SendOutcome::Failed { key, broadcast: true, code, title, .. } = *o {
                    failed(conn, key, code, title).await?;
                }
            }
            Ok(())
        })
    }
}

/// A customer wrote to `number_id` at `at`: the first reply after a broadcast counts for it,
/// within 24 hours of its delivery.
pub async fn count_reply(conn: &mut AnyConnection, contact: &str, number_id: &str, at: i64) -> Result<()> {
    changed();
    sqlx::query(
        "UPDATE broadcast_recipients SET replied_at = $1
         WHERE contact = $2 AND number_id = $3 AND replied_at IS NULL AND accepted_at IS NOT NULL
           AND accepted_at <= $1 AND $1 - COALESCE(delivered_at, accepted_at) <= $4",
    )
    .bind(at)
    .bind(contact)
    .bind(number_id)
    .bind(limits::CUSTOMER_SERVICE_WINDOW_MS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Of these customers, those a broadcast sent to whose reply is not yet counted, as
/// (contact, number): only their messages can count as a reply (see [`count_reply`]).
pub async fn awaiting_reply(conn: &mut AnyConnection, contacts: &[&str]) -> Result<std::collections::HashSet<(String, String)>> {
    let rows: Vec<(String, String)> = crate::db::select_in(conn, contacts, |list| {
        format!(
            "SELECT DISTINCT contact, number_id FROM broadcast_recipients
             WHERE contact IN ({list}) AND replied_at IS NULL AND accepted_at IS NOT NULL AND number_id IS NOT NULL"
        )
    })
    .await?;
    Ok(rows.into_iter().collect())
}

/// Saves a new broadcast, scheduled; returns its id.
pub(super) async fn insert(conn: &mut AnyConnection, spec: &BroadcastSpec, send_at: i64, created_by: i64, now: i64) -> Result<i64> {
    changed();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO broadcasts (name, spec, state, send_at, created_by, created_at) VALUES ($1, $2, 'scheduled', $3, $4, $5) RETURNING id",
    )
    .bind(spec.name.trim())
    .bind(serde_json::to_string(spec).map_err(anyhow::Error::from)?)
    .bind(send_at)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A broadcast's request, if there is such a broadcast.
pub(super) async fn spec_of(conn: &mut AnyConnection, id: i64) -> Result<Option<BroadcastSpec>> {
    let source: Option<(String,)> = sqlx::query_as("SELECT spec FROM broadcasts WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(source.and_then(|(s,)| serde_json::from_str::<BroadcastSpec>(&s).ok()))
}

/// Someone paused, resumed or cancelled a broadcast.
pub(super) async fn set_state(conn: &mut AnyConnection, id: i64, state: BroadcastState) -> Result<()> {
    changed();
    sqlx::query("UPDATE broadcasts SET state = $1, paused_reason = NULL WHERE id = $2")
        .bind(state.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A cancelled broadcast's recipients whose sends were withdrawn (or never queued) are
/// cancelled too, and the broadcast is complete.
pub(super) async fn cancel_unsent(conn: &mut AnyConnection, id: i64, now: i64) -> Result<()> {
    changed();
    sqlx::query(
        "UPDATE broadcast_recipients SET state = 'cancelled' WHERE broadcast_id = $1 AND state = 'queued'
           AND (outbox_key IN (SELECT idempotency_key FROM outbox WHERE broadcast_id = $1 AND state = 'cancelled')
                OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = broadcast_recipients.outbox_key))",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE broadcasts SET completed_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// A recipient and what came of their send.
#[derive(sqlx::FromRow)]
pub(super) struct RecipientRow {
    pub contact: String,
    pub name: Option<String>,
    pub number_id: Option<String>,
    pub state: String,
    pub skipped: Option<String>,
    pub status: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub accepted_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub replied_at: Option<i64>,
}

const RECIPIENT_SQL: &str = "SELECT r.contact, c.name, r.number_id, r.state, r.skipped, r.status, r.error_code, r.error_title,
        r.accepted_at, r.delivered_at, r.read_at, r.replied_at
     FROM broadcast_recipients r LEFT JOIN contacts c ON c.wa_id = r.contact WHERE r.broadcast_id = $1";

/// The condition a recipient filter adds (`skipped | queued | accepted | failed | cancelled |
/// delivered | read | replied`, or none / `all`).
fn filter_sql(filter: Option<&str>) -> Result<&'static str> {
    Ok(match filter.unwrap_or("") {
        "" | "all" => "",
        "skipped" => " AND r.state = 'skipped'",
        "queued" => " AND r.state = 'queued'",
        "accepted" => " AND r.state = 'accepted'",
        "failed" => " AND (r.state = 'failed' OR r.status = 'failed')",
        "cancelled" => " AND r.state = 'cancelled'",
        "delivered" => " AND r.delivered_at IS NOT NULL",
        "read" => " AND r.read_at IS NOT NULL",
        "replied" => " AND r.replied_at IS NOT NULL",
        other => return Err(crate::error::AppError::bad_request("invalid_filter", format!("{other:?} is not a recipient filter"))),
    })
}

/// A broadcast's recipients by phone, filtered, one page (limit, offset) or all.
pub(super) async fn recipient_rows(
    pool: &sqlx::AnyPool,
    id: i64,
    filter: Option<&str>,
    page: Option<(i64, i64)>,
) -> Result<Vec<RecipientRow>> {
    let filter = filter_sql(filter)?;
    Ok(match page {
        Some((limit, offset)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{RECIPIENT_SQL}{filter} ORDER BY r.contact LIMIT $2 OFFSET $3")))
                .bind(id)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?
        }
        None => sqlx::query_as(sqlx::AssertSqlSafe(format!("{RECIPIENT_SQL}{filter} ORDER BY r.contact"))).bind(id).fetch_all(pool).await?,
    })
}

/// A scheduled broadcast becomes running; false if it was not scheduled (someone else started
/// it, or it was cancelled).
pub(super) async fn mark_started(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    changed();
    let claimed = sqlx::query("UPDATE broadcasts SET state = 'running', started_at = $1 WHERE id = $2 AND state = 'scheduled'")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(claimed > 0)
}

/// What came of one recipient's send, for "send again".
#[derive(sqlx::FromRow)]
pub(super) struct Outcome {
    pub contact: String,
    pub state: String,
    pub status: Option<String>,
    pub error_code: Option<i64>,
}

/// A broadcast's recipients by phone.
pub(super) async fn outcomes_of(conn: &mut AnyConnection, id: i64) -> Result<Vec<Outcome>> {
    Ok(sqlx::query_as("SELECT contact, state, status, error_code FROM broadcast_recipients WHERE broadcast_id = $1 ORDER BY contact")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?)
}

/// Every send accepted since `since`: (contact, its broadcast's request, when accepted).
pub(super) async fn accepted_since(conn: &mut AnyConnection, since: i64) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT r.contact, b.spec, r.accepted_at FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id
         WHERE r.accepted_at IS NOT NULL AND r.accepted_at >= $1",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// One frozen recipient before it is written.
pub(super) struct Frozen {
    pub contact: String,
    pub number_id: Option<String>,
    /// Why they are not sent to, with a detail.
    pub skipped: Option<(&'static str, Option<String>)>,
    /// The stored outbox payload of their send.
    pub payload: Option<String>,
}

/// Writes a broadcast's frozen audience.
pub(super) async fn insert_recipients(conn: &mut AnyConnection, id: i64, frozen: &[Frozen]) -> Result<()> {
    changed();
    for chunk in frozen.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO broadcast_recipients (broadcast_id, contact, number_id, outbox_key, skipped, error_title, state, payload) VALUES {}",
            crate::db::values_placeholders(chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql)));
        for f in chunk {
            q = q
                .bind(id)
                .bind(f.contact.clone())
                .bind(f.number_id.clone())
                .bind(f.payload.as_ref().map(|_| key(id, &f.contact)))
                .bind(f.skipped.as_ref().map(|s| s.0))
                .bind(f.skipped.as_ref().and_then(|s| s.1.clone()))
                .bind(if f.skipped.is_some() { RecipientState::Skipped } else { RecipientState::Queued }.as_str())
                .bind(f.payload.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn set_audience(conn: &mut AnyConnection, id: i64, size: i64) -> Result<()> {
    changed();
    sqlx::query("UPDATE broadcasts SET audience = $1 WHERE id = $2").bind(size).bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Scheduled broadcasts whose time has come, earliest first.
pub(super) async fn due(pool: &sqlx::AnyPool, now: i64) -> Result<Vec<i64>> {
    let due: Vec<(i64,)> = sqlx::query_as("SELECT id FROM broadcasts WHERE state = 'scheduled' AND send_at <= $1 ORDER BY send_at, id")
        .bind(now)
        .fetch_all(pool)
        .await?;
    Ok(due.into_iter().map(|(id,)| id).collect())
}

/// Running broadcasts with nothing left to send or queue are done.
pub(super) async fn finish_sent(pool: &sqlx::AnyPool, now: i64) -> Result<()> {
    let finished = sqlx::query(
        "UPDATE broadcasts SET state = 'done', completed_at = $1 WHERE state = 'running'
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id AND o.state IN ('queued', 'inflight', 'unknown'))
           AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = broadcasts.id AND r.state = 'queued'
                             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = r.outbox_key))",
    )
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    if finished > 0 {
        changed();
    }
    Ok(())
}

/// Running and paused broadcasts, with their requests.
pub(super) async fn started(pool: &sqlx::AnyPool) -> Result<Vec<(i64, BroadcastSpec)>> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, spec FROM broadcasts WHERE state IN ('running', 'paused')").fetch_all(pool).await?;
    rows.into_iter().map(|(id, spec)| Ok((id, serde_json::from_str(&spec).map_err(anyhow::Error::from)?))).collect()
}
