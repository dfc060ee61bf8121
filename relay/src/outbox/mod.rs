//! The outbox and its lanes: every send is first a row with an idempotency key; one lane per
//! business number drains it at the number's throughput.
//!
//! A row is `queued`, then `inflight` while its request is out, then `sent` or `failed`. A row
//! whose request may have reached Meta without an answer coming back is `unknown`: its
//! idempotency key travels as `biz_opaque_callback_data`, so a status webhook settles it, and
//! only if none arrives within the reconcile window is it sent again. A relay that dies
//! mid-request finds those rows `inflight` at start and treats them the same way.

pub mod outcomes;
mod store;

pub use store::{
    cancel_broadcast, delay_broadcast, enqueue, log_statuses, queue_broadcast, settle_from_statuses, statuses_seen, OutboxState, StatusLog,
};

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use switchboard_shared::api::Event;
use switchboard_shared::limits::{self, classify_error, codes, ErrorClass};
use switchboard_shared::wire::{MarkReadRequest, SuccessResponse};
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::clock::now_ms;
use crate::cloud::CloudError;
use crate::error::Result;
use crate::metrics::SendResult;
use crate::AppState;
use outcomes::SendOutcome;

/// How long a send with an unknown outcome waits for a status webhook before it is retried.
pub const RECONCILE_WINDOW_MS: i64 = 30_000;
/// Requests one lane keeps in flight at once.
const LANE_CONCURRENCY: usize = 64;
/// With nothing to claim and no bell, a lane looks again this often (rows waiting for a retry
/// time or a scheduled start come due without one).
const CLAIM_IDLE_LOOK: Duration = Duration::from_millis(500);
/// Most rows a lane claims per round.
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

struct Lane {
    bell: Notify,
    limiter: governor::DefaultDirectRateLimiter,
    /// Meta's pair rate, mirrored: one message per 6 s to a user, bursts of 45 borrowed.
    pair: governor::DefaultKeyedRateLimiter<String>,
    in_flight: Arc<Semaphore>,
    /// Rows claimed per round: a fifth of a second of sending, so a live reply queued behind
    /// a broadcast waits at most that long.
    claim: i64,
    /// Batches claimed elsewhere (answers claimed in the transaction that queued them): the
    /// sender takes these before its own claimer's.
    handed: mpsc::UnboundedSender<Batch>,
}

impl Lane {
    /// Waits for the next send's turn at the number's rate. On tokio's own timer: governor's
    /// `until_ready` waits on a timer thread of its own, whose wake-ups cost more than the
    /// sends themselves at thousands a second.
    async fn paced(&self) {
        while let Err(not_until) = self.limiter.check() {
            tokio::time::sleep(not_until.wait_time_from(governor::clock::Clock::now(self.limiter.clock()))).await;
        }
    }
}

/// One lane per business number, the portfolios' messaging-limit windows, and the recorder
/// that writes send outcomes in batches.
#[derive(Default)]
pub struct Lanes {
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
    budget: Budget,
    recorder: OnceLock<mpsc::UnboundedSender<Outcome>>,
}

impl Lanes {
    /// Wakes a number's lane after rows were added.
    pub fn wake(&self, number_id: &str) {
        if let Some(lane) = self.lanes.lock().expect("lanes lock").get(number_id) {
            lane.bell.notify_one();
        }
    }

    /// Wakes every lane (a broadcast started or resumed).
    pub fn wake_all(&self) {
        for lane in self.lanes.lock().expect("lanes lock").values() {
            lane.bell.notify_one();
        }
    }
}

/// Shown on a broadcast's rows that wait for the portfolio's messaging limit.
pub const LIMIT_WAIT: &str = "Waiting for the messaging limit window";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Each portfolio's moving 24-hour window of unique business-initiated recipients.
#[derive(Default)]
struct Budget {
    portfolios: Mutex<HashMap<String, Window>>,
}

#[derive(Default)]
struct Window {
    /// (when counted, recipient), oldest first.
    order: VecDeque<(i64, String)>,
    /// Recipient → when last counted.
    members: HashMap<String, i64>,
}

impl Window {
    fn expire(&mut self, now: i64) {
        while let Some((at, who)) = self.order.front() {
            if *at > now - DAY_MS {
                break;
            }
            if self.members.get(who) == Some(at) {
                self.members.remove(who);
            }
            self.order.pop_front();
        }
    }

    fn count(&mut self, recipient: &str, at: i64) {
        self.members.insert(recipient.to_owned(), at);
        self.order.push_back((at, recipient.to_owned()));
    }
}

impl Budget {
    /// Admits a business-initiated send to `recipient`, or says when the window has room.
    fn admit(&self, portfolio: &str, limit: Option<u64>, recipient: &str, now: i64) -> Result<(), i64> {
        let mut all = self.portfolios.lock().expect("budget lock");
        let w = all.entry(portfolio.to_owned()).or_default();
        w.expire(now);
        if w.members.contains_key(recipient) || limit.is_none_or(|l| (w.members.len() as u64) < l) {
            w.count(recipient, now);
            return Ok(());
        }
        // The oldest member that is still a member leaves the window first.
        let opens = w.order.iter().find(|(at, who)| w.members.get(who) == Some(at)).map_or(now + 1000, |(at, _)| at + DAY_MS);
        Err(opens)
    }
}

/// Loads the last 24 hours of business-initiated recipients into the budget.
async fn load_budget(state: &AppState) -> Result<()> {
    let mut rows = store::recent_recipients(&state.db.pool, now_ms() - DAY_MS).await?;
    rows.sort_by_key(|r| r.2);
    let mut all = state.lanes.budget.portfolios.lock().expect("budget lock");
    for (portfolio, recipient, at) in rows {
        all.entry(portfolio).or_default().count(&recipient, at);
    }
    Ok(())
}

/// Rows a dead relay left `inflight` may have reached Meta: treat them as unknown.
pub async fn recover_after_restart(state: &AppState) -> Result<()> {
    let now = now_ms();
    let moved = store::inflight_to_unknown(&state.db.pool, now + RECONCILE_WINDOW_MS, now).await?;
    if moved > 0 {
        tracing::warn!("{moved} sends were in flight when the relay stopped; reconciling them from status webhooks");
    }
    Ok(())
}

/// Starts the recorder and a lane for every number that has none yet.
pub async fn start_lanes(state: &AppState) -> Result<()> {
    load_budget(state).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    if state.lanes.recorder.set(tx).is_ok() {
        tokio::spawn(run_recorder(state.clone(), rx));
    }
    for (id, rate) in store::throughputs(&state.db.pool).await? {
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
    let rate = throughput_per_sec.clamp(1, 100_000) as u32;
    // Evenly spaced at the number's rate, with a burst of a tenth of a second so timer jitter
    // is caught up: never more than rate × t + rate/10 in any window t, well inside what Meta
    // (and the sandbox) allow.
    let burst = NonZeroU32::new((rate / 10).max(1)).unwrap_or(NonZeroU32::MIN);
    let quota = governor::Quota::per_second(NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN)).allow_burst(burst);
    let pair = governor::Quota::with_period(Duration::from_millis(limits::PAIR_RATE_INTERVAL_MS))
        .expect("pair interval is non-zero")
        .allow_burst(NonZeroU32::new(limits::PAIR_RATE_BURST).expect("burst is non-zero"));
    let (handed, handed_rx) = mpsc::unbounded_channel();
    let lane = Arc::new(Lane {
        handed,
        bell: Notify::new(),
        limiter: governor::RateLimiter::direct(quota),
        pair: governor::RateLimiter::keyed(pair),
        in_flight: Arc::new(Semaphore::new(LANE_CONCURRENCY)),
        claim: ((rate as i64) / 5).clamp(1, CLAIM),
    });
    lanes.insert(number_id.to_owned(), lane.clone());
    tokio::spawn(run_lane(state.clone(), number_id.to_owned(), lane, handed_rx));
}

/// Claimed rows and the token to send them with.
struct Batch {
    token: SecretString,
    rows: Vec<store::Claimed>,
}

/// A lane is two tasks: the claimer reads the next batch from the database while the sender
/// paces the current one out, so database work never leaves a gap in the sending. Batches
/// handed over by the webhook processor (answers to customers) go first.
async fn run_lane(state: AppState, number_id: String, lane: Arc<Lane>, mut handed: mpsc::UnboundedReceiver<Batch>) {
    // One batch waiting beside the one being sent: a fifth of a second each.
    let (tx, mut rx) = mpsc::channel::<Batch>(1);
    tokio::spawn(claimer(state.clone(), number_id.clone(), lane.clone(), tx));
    loop {
        let batch = tokio::select! {
            biased;
            Some(batch) = handed.recv() => batch,
            Some(batch) = rx.recv() => batch,
            else => return,
        };
        if let Err(e) = send_batch(&state, &number_id, &lane, batch).await {
            tracing::error!("lane {number_id}: {e}");
        }
    }
}

async fn claimer(state: AppState, number_id: String, lane: Arc<Lane>, tx: mpsc::Sender<Batch>) {
    let mut rounds: u64 = 0;
    loop {
        rounds += 1;
        if rounds.is_multiple_of(1_000) {
            lane.pair.retain_recent();
        }
        match claim(&state, &number_id, &lane).await {
            Ok(Claim { batch, more }) => {
                let took = batch.is_some();
                if let Some(batch) = batch {
                    if tx.send(batch).await.is_err() {
                        return;
                    }
                }
                // A full batch: more may be due, so claim again as soon as the sender has room.
                // Otherwise the next rows are announced by the bell (or come due by the idle
                // look), and no empty claim follows each batch.
                if !(took && more) {
                    tokio::select! {
                        _ = lane.bell.notified() => {}
                        _ = tokio::time::sleep(CLAIM_IDLE_LOOK) => {}
                    }
                }
            }
            Err(e) => {
                tracing::error!("lane {number_id}: {e}");
                tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
            }
        }
    }
}

/// Sends a claimed batch, evenly spaced at the number's throughput.
async fn send_batch(state: &AppState, number_id: &str, lane: &Arc<Lane>, batch: Batch) -> Result<()> {
    let recorder = state.lanes.recorder.get().cloned().ok_or_else(|| anyhow::anyhow!("the recorder is not running"))?;
    for row in batch.rows {
        lane.paced().await;
        let permit = lane.in_flight.clone().acquire_owned().await.map_err(anyhow::Error::from)?;
        let (state, number_id, token, recorder) = (state.clone(), number_id.to_owned(), batch.token.clone(), recorder.clone());
        tokio::spawn(async move {
            let outcome = attempt(&state, &number_id, &token, row).await;
            drop(permit);
            if recorder.send(outcome).is_err() {
                tracing::error!("the recorder stopped; the send's outcome will be reconciled at restart");
            }
        });
    }
    Ok(())
}

/// What one claim found: a batch to send (`None` when nothing can go now), and whether the
/// queue may hold more due rows than it took.
struct Claim {
    batch: Option<Batch>,
    more: bool,
}

impl Claim {
    const NOTHING: Claim = Claim { batch: None, more: false };
}

/// Claims due rows — live sends first, then running broadcasts' — checked against the pair
/// rate and the messaging limit, and marks them in flight.
///
/// One transaction on one connection: the claim waits for the database once, not once per
/// statement behind every other writer (with ten busy lanes that wait was what held each lane
/// below its rate), and its writes share one commit.
async fn claim(state: &AppState, number_id: &str, lane: &Arc<Lane>) -> Result<Claim> {
    let mut tx = state.db.pool.begin().await?;
    let claim = claim_in(state, &mut tx, number_id, lane).await?;
    tx.commit().await?;
    Ok(claim)
}

/// Batches claimed by [`claim_answers`], to hand to their lanes once their transaction commits.
#[must_use = "hand the claimed batches to their lanes after the commit"]
pub struct Answers(Vec<(Arc<Lane>, String, Claim)>);

/// Claims, inside the webhook processor's transaction, what is due on the numbers customers
/// just wrote to (the answers that transaction queued among it), so an automatic answer leaves
/// as soon as the transaction commits instead of waiting for the lane's next claim.
pub async fn claim_answers(state: &AppState, conn: &mut AnyConnection, numbers: &std::collections::BTreeSet<String>) -> Result<Answers> {
    let mut claimed = Vec::new();
    for number_id in numbers {
        let Some(lane) = state.lanes.lanes.lock().expect("lanes lock").get(number_id).cloned() else { continue };
        let claim = claim_in(state, conn, number_id, &lane).await?;
        claimed.push((lane, number_id.clone(), claim));
    }
    Ok(Answers(claimed))
}

/// Hands batches claimed by [`claim_answers`] to their lanes (after the commit); a lane whose
/// queue may hold more is woken to claim the rest.
pub fn hand_over(state: &AppState, answers: Answers) {
    for (lane, number_id, claim) in answers.0 {
        if let Some(batch) = claim.batch {
            if lane.handed.send(batch).is_err() {
                // The lane has stopped: its rows stay in flight and are reconciled at restart.
                tracing::error!("lane {number_id} has stopped; its claimed sends wait for the restart's reconciling");
            }
        }
        if claim.more {
            state.lanes.wake(&number_id);
        }
    }
}

async fn claim_in(state: &AppState, conn: &mut AnyConnection, number_id: &str, lane: &Arc<Lane>) -> Result<Claim> {
    reconcile_unknown(state, conn, number_id).await?;
    // A disabled or removed number sends nothing; its queue waits for it to come back.
    let Some(sending) = store::sending_credentials(conn, number_id).await? else {
        return Ok(Claim::NOTHING);
    };
    let now = now_ms();
    let rows = store::due(conn, number_id, now, lane.claim).await?;
    if rows.is_empty() {
        return Ok(Claim::NOTHING);
    }
    let more = rows.len() as i64 >= lane.claim;
    let tier = switchboard_shared::numbers::MessagingTier::parse(&sending.messaging_limit).limit();
    let mut admitted: Vec<store::Claimed> = Vec::with_capacity(rows.len());
    let mut deferred: Vec<(i64, i64, Option<&str>)> = Vec::new();
    for row in rows {
        let to = row.recipient.clone().or_else(|| recipient_of(&row.payload));
        if let Some(to) = &to {
            if let Err(not_until) = lane.pair.check_key(to) {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(lane.pair.clock()));
                deferred.push((row.id, now + wait.as_millis() as i64 + 1, None));
                continue;
            }
        }
        if let (Some(_), Some(to)) = (row.broadcast_id, &row.recipient) {
            if let Err(opens) = state.lanes.budget.admit(&sending.portfolio, tier, to, now) {
                deferred.push((row.id, opens, Some(LIMIT_WAIT)));
                continue;
            }
        }
        admitted.push(row);
    }
    store::defer(conn, &deferred, now).await?;
    if admitted.is_empty() {
        // Everything claimed waits (pair rate, messaging limit) until its new time.
        return Ok(Claim { batch: None, more });
    }
    // Only the rows this update moved are ours to send: one cancelled (or claimed elsewhere)
    // since the read stays unsent.
    let ids: Vec<i64> = admitted.iter().map(|r| r.id).collect();
    let moved = store::mark_inflight(conn, &ids, now).await?;
    admitted.retain(|r| moved.contains(&r.id));
    if admitted.is_empty() {
        return Ok(Claim { batch: None, more });
    }
    let token = SecretString::from(state.config.sealing_key()?.open(&sending.sealed_token)?);
    Ok(Claim { batch: Some(Batch { token, rows: admitted }), more })
}

/// The `to` of a message payload (mark-as-read has none).
fn recipient_of(payload: &str) -> Option<String> {
    match serde_json::from_str::<Payload>(payload).ok()? {
        Payload::Send { body } => body.get("to").and_then(Value::as_str).map(str::to_owned),
        Payload::MarkRead { .. } => None,
    }
}

/// Unknown rows past their window: settled if a status arrived meanwhile, else queued again.
/// Nothing is requeued while stored webhooks wait to be processed: the status that settles a
/// row may be among them.
async fn reconcile_unknown(state: &AppState, conn: &mut AnyConnection, number_id: &str) -> Result<()> {
    let due = store::unknown_due(conn, number_id, now_ms()).await?;
    if due.is_empty() || state.ingest.pending() > 0 {
        return Ok(());
    }
    let backlog = store::webhooks_waiting(conn).await?;
    if backlog > 0 {
        return Ok(());
    }
    for (id, key) in due {
        let seen = store::wamid_from_statuses(conn, &key).await?;
        match seen {
            Some(wamid) => {
                let settled = store::settle_from_statuses(conn, &[(&key, &wamid)]).await?;
                let outcomes: Vec<SendOutcome> =
                    settled.iter().map(|(message_id, wamid)| SendOutcome::Settled { message_id: *message_id, wamid }).collect();
                tell_listeners(conn, state, &outcomes, now_ms(), &mut Vec::new()).await?;
            }
            None => {
                store::requeue_unknown(conn, id, now_ms()).await?;
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

/// What came of one request, waiting to be recorded.
struct Outcome {
    number_id: String,
    row: store::Claimed,
    result: Result<Option<String>, CloudError>,
}

/// A stored payload read without building it: the body stays the JSON text it was stored as.
#[derive(Deserialize)]
struct StoredPayload<'a> {
    kind: &'a str,
    #[serde(borrow, default)]
    body: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    wamid: Option<String>,
}

/// A request body (a JSON object) with `biz_opaque_callback_data` added, by splicing the text.
fn with_callback_data(body: &str, key: &str) -> Option<String> {
    let rest = body.trim_start().strip_prefix('{')?.trim_start();
    let key = serde_json::to_string(key).ok()?;
    Some(if rest.starts_with('}') {
        format!("{{\"biz_opaque_callback_data\":{key}}}")
    } else {
        format!("{{\"biz_opaque_callback_data\":{key},{rest}")
    })
}

/// The request itself: no database work, so lanes never wait for the disk.
async fn attempt(state: &AppState, number_id: &str, token: &SecretString, row: store::Claimed) -> Outcome {
    let unreadable = |e: String| Err(CloudError::Decode { status: 0, message: format!("unreadable outbox payload: {e}") });
    let result = match serde_json::from_str::<StoredPayload>(&row.payload) {
        Ok(StoredPayload { kind: "send", body: Some(body), .. }) => match with_callback_data(body.get(), &row.idempotency_key) {
            Some(request) => state.cloud.send_json(number_id, token, request).await.map(|r| r.messages.first().map(|m| m.id.clone())),
            None => unreadable("the body is not a JSON object".into()),
        },
        Ok(StoredPayload { kind: "mark_read", wamid: Some(wamid), .. }) => {
            state.cloud.post_messages::<_, SuccessResponse>(number_id, token, &MarkReadRequest::new(wamid)).await.map(|_| None)
        }
        Ok(other) => unreadable(format!("kind {:?} without its fields", other.kind)),
        Err(e) => unreadable(e.to_string()),
    };
    Outcome { number_id: number_id.to_owned(), row, result }
}

/// Writes outcomes as they come, many per transaction. A batch that cannot be written is
/// retried until it is: an outcome is never dropped (and if the relay dies first, the rows
/// are still `inflight` and are reconciled at restart).
async fn run_recorder(state: AppState, mut rx: mpsc::UnboundedReceiver<Outcome>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        loop {
            match record(&state, &batch).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!("recording {} send outcomes failed, retrying: {e}", batch.len());
                    tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
                }
            }
        }
    }
}

async fn record(state: &AppState, batch: &[Outcome]) -> Result<()> {
    let now = now_ms();
    let mut out: Vec<Event> = Vec::new();
    // Accepted sends with no conversation message (broadcasts: nearly all of a busy day's) are
    // written set-based; the rest one by one, with their events.
    let (accepted, others): (Vec<&Outcome>, Vec<&Outcome>) =
        batch.iter().partition(|o| o.row.message_id.is_none() && matches!(o.result, Ok(Some(_))));
    let mut tx = state.db.pool.begin().await?;
    record_accepted(&mut tx, state, &accepted, now, &mut out).await?;
    for o in others {
        record_one(&mut tx, state, o, now, &mut out).await?;
    }
    tx.commit().await?;
    if !accepted.is_empty() {
        state.metrics.sends(SendResult::Accepted, accepted.len() as u64);
    }
    state.events.publish(out);
    Ok(())
}

/// Outcomes per transaction: short, so a lane's claim never waits long behind it.
const RECORD_BATCH: usize = 1_000;
/// Rows per statement when recording accepted sends.
const RECORD_CHUNK: usize = 500;

/// Accepted sends without a conversation message: the outbox rows in one statement per 500,
/// then what the features keep in step (broadcast recipients, contacts' last outbound time).
async fn record_accepted(tx: &mut AnyConnection, state: &AppState, accepted: &[&Outcome], now: i64, out: &mut Vec<Event>) -> Result<()> {
    for chunk in accepted.chunks(RECORD_CHUNK) {
        let sent: Vec<(i64, Option<&str>)> = chunk.iter().map(|o| (o.row.id, o.result.as_ref().ok().and_then(Option::as_deref))).collect();
        store::mark_sent_many(tx, &sent, now).await?;
        let outcomes: Vec<SendOutcome> = chunk.iter().map(|o| accepted_outcome(o)).collect();
        tell_listeners(tx, state, &outcomes, now, out).await?;
    }
    Ok(())
}

/// The outcome the features hear of, for a send Meta accepted.
fn accepted_outcome(o: &Outcome) -> SendOutcome<'_> {
    SendOutcome::Accepted {
        key: &o.row.idempotency_key,
        number_id: &o.number_id,
        message_id: o.row.message_id,
        recipient: o.row.recipient.as_deref(),
        broadcast: o.row.broadcast_id.is_some(),
        wamid: o.result.as_ref().ok().and_then(Option::as_deref),
    }
}

/// Hands outcomes to every feature that keeps its tables in step with its sends.
async fn tell_listeners(
    tx: &mut AnyConnection,
    state: &AppState,
    outcomes: &[SendOutcome<'_>],
    now: i64,
    out: &mut Vec<Event>,
) -> Result<()> {
    for listener in &state.send_listeners {
        listener.record(tx, outcomes, now, out).await?;
    }
    // Listeners may leave their events pending: they are written here, in the caller's
    // transaction, whichever caller it is.
    crate::events::write_pending(tx, out).await
}

async fn record_one(tx: &mut AnyConnection, state: &AppState, o: &Outcome, now: i64, out: &mut Vec<Event>) -> Result<()> {
    let number_id = o.number_id.as_str();
    let store::Claimed { id, idempotency_key: key, message_id, attempts, broadcast_id, .. } = &o.row;
    let id = *id;
    let attempts = attempts + 1;
    match &o.result {
        Ok(wamid) => {
            store::mark_sent(tx, id, wamid.as_deref(), now).await?;
            tell_listeners(tx, state, &[accepted_outcome(o)], now, out).await?;
            state.metrics.sends(SendResult::Accepted, 1);
        }
        // A failed request whose send a status webhook has meanwhile proven (the row is no
        // longer in flight: Meta answered too late, or not at all) stays sent.
        Err(e) if !store::still_in_flight(tx, id).await? => {
            tracing::warn!("send {key} on {number_id}: {e}; already settled by its status webhook");
            state.metrics.sends(SendResult::SettledByStatus, 1);
        }
        Err(e @ (CloudError::NoAnswer(_) | CloudError::Decode { status: 200..=299, .. })) => {
            // No answer, or a success we could not read: it may have been sent.
            tracing::warn!("send {key} on {number_id}: {e}; outcome unknown, reconciling");
            store::mark_unknown(tx, id, now + RECONCILE_WINDOW_MS, now).await?;
            state.metrics.sends(SendResult::Unknown, 1);
        }
        Err(e) => {
            let code = e.code();
            let class = match e {
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
                        tell_listeners(tx, state, &[SendOutcome::NumberStopped { number_id, reason: &title }], now, out).await?;
                    }
                    store::retry_later(tx, id, now + wait, code, &title, now).await?;
                    state.metrics.sends(SendResult::Retry, 1);
                }
                ErrorClass::Permanent => {
                    store::mark_failed(tx, id, code, &title, now).await?;
                    let failed = SendOutcome::Failed {
                        key,
                        number_id,
                        message_id: *message_id,
                        broadcast: broadcast_id.is_some(),
                        code,
                        title: &title,
                    };
                    tell_listeners(tx, state, &[failed], now, out).await?;
                    state.metrics.sends(SendResult::Failed, 1);
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{with_callback_data, Payload};

    #[test]
    fn the_key_is_spliced_into_the_stored_body_as_json() {
        let payload = Payload::Send {
            body: serde_json::json!({"messaging_product": "whatsapp", "to": "85251234567", "text": {"body": "hi \"there\""}}),
        };
        let stored = serde_json::to_string(&payload).unwrap();
        let read: super::StoredPayload = serde_json::from_str(&stored).unwrap();
        let request = with_callback_data(read.body.unwrap().get(), "bc:1:\"odd\"").unwrap();
        let value: serde_json::Value = serde_json::from_str(&request).unwrap();
        assert_eq!(value["biz_opaque_callback_data"], "bc:1:\"odd\"");
        assert_eq!(value["text"]["body"], "hi \"there\"");
        assert_eq!(value["to"], "85251234567");
        let empty: serde_json::Value = serde_json::from_str(&with_callback_data(" { } ", "k").unwrap()).unwrap();
        assert_eq!(empty, serde_json::json!({"biz_opaque_callback_data": "k"}));
        assert!(with_callback_data("[1]", "k").is_none());
    }
}
