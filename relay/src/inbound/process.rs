//! Turns stored webhook bodies into domain changes: every entry, every change, every message
//! and status, in one transaction per batch of bodies.
//!
//! Idempotent: a message is stored once per wamid and a status once per (wamid, status), so
//! Meta's retries and duplicates change nothing. Statuses only move a message forward.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use crate::outbox::Payload;
use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Direction, Event, EventKind, Message};
use switchboard_shared::groups::ProviderKind;
use switchboard_shared::wire::{
    GroupsValue, InboundMessage, MessagesValue, OutboundBody, QualityUpdate, SendRequest, StatusUpdate, WebhookEnvelope, WebhookError,
};
use switchboard_shared::MessageStatus;

use super::store;
use crate::clock::now_ms;
use crate::error::Result;
use crate::{contacts, events, AppState};

/// Longest the processor waits for the webhook writer before each transaction.
const WRITER_TURN: Duration = Duration::from_millis(20);
/// With nothing to do and no bell, the processor looks for stored bodies this often anyway.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// How long one processing transaction should take. Transactions stay short so that the webhook
/// writer and the lanes' claims, waiting for the same database, never wait long (a body can
/// carry a thousand statuses; at 32 such bodies a transaction, the lanes' claims queued behind
/// them and ten lanes fell to ~6,000/s), yet bodies of one message or one status (Meta's worst
/// case) share a transaction by the dozen instead of paying for one each.
const TRANSACTION_TARGET: Duration = Duration::from_millis(8);
/// Bodies per transaction: [`Pace`] moves between these, starting low.
const MIN_BODIES: i64 = 4;
const MAX_BODIES: i64 = 256;
/// Most bytes of bodies per transaction (the first body always comes, however large): a body's
/// size stands for its work, a message being a few hundred bytes and a thousand statuses a few
/// hundred kilobytes.
const BATCH_BYTES: i64 = 1 << 20;

/// How many bodies the next transaction takes: doubled while transactions are quick, halved
/// when one takes longer than [`TRANSACTION_TARGET`].
struct Pace {
    bodies: i64,
}

impl Default for Pace {
    fn default() -> Self {
        Pace { bodies: MIN_BODIES }
    }
}

impl Pace {
    fn took(&mut self, bodies: usize, took: Duration) {
        if took > TRANSACTION_TARGET {
            self.bodies = (self.bodies / 2).max(MIN_BODIES);
        } else if took < TRANSACTION_TARGET / 2 && bodies as i64 >= self.bodies {
            // Only a full batch says more would fit.
            self.bodies = (self.bodies * 2).min(MAX_BODIES);
        }
    }
}

/// Processes stored bodies forever, woken by the ingest writer (and every second regardless,
/// which also picks up what a crash left behind).
pub async fn run(state: AppState) {
    let mut heard = Heard::default();
    let mut pace = Pace::default();
    loop {
        // Storing webhooks (what Meta waits for) goes first: bodies waiting for the writer are
        // committed before the next transaction here. One turn each, so neither starves.
        state.ingest.writer_first(WRITER_TURN).await;
        match process_pending(&state, &mut heard, &mut pace).await {
            Ok(0) => {
                tokio::select! {
                    _ = state.processor_bell.notified() => {}
                    _ = tokio::time::sleep(IDLE_LOOK) => {}
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!("webhook processing failed, retrying: {e}");
                tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
            }
        }
    }
}

/// A number's last webhook time is written at most this often (it shows on the Numbers page;
/// a busy number would otherwise rewrite its row in every batch).
const HEARD_EVERY_MS: i64 = 1_000;

/// When the processor last wrote each number's last webhook time.
#[derive(Default)]
pub struct Heard(HashMap<String, i64>);

/// Processes one batch of unprocessed bodies; returns how many.
///
/// What the batch's messages answered (auto-replies, an opt-out's confirmation) is claimed for
/// sending in the same transaction and handed to the numbers' lanes after the commit: an
/// answer never waits for a lane to come back for it.
async fn process_pending(state: &AppState, heard: &mut Heard, pace: &mut Pace) -> Result<usize> {
    let mut tx = state.db.pool.begin().await?;
    // The transaction's own time, not the wait for the connection.
    let started = std::time::Instant::now();
    let rows = store::unprocessed(&mut tx, pace.bodies, BATCH_BYTES).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Read first (no database), then look up once what the batch's messages need to know.
    let bodies: Vec<(i64, &[u8], Vec<Part>)> = rows.iter().map(|(id, body)| (*id, &body[..], read_body(body))).collect();
    let mut known = Known::read(&mut tx, &bodies).await?;
    let mut new_events = Vec::new();
    let mut deferred = Deferred::default();
    let mut automation = crate::automation::Batch::new(state.clock.now_ms());
    for (id, body, parts) in bodies {
        apply_body(&mut tx, id, body, parts, &mut deferred, &mut new_events).await?;
    }
    // Customers' messages before the statuses, which may be about them.
    let messages = std::mem::take(&mut deferred.messages);
    let files_to_fetch = apply_messages(&mut tx, &messages, &mut known, &mut automation, &mut new_events).await?;
    let now = now_ms();
    deferred.heard_from.retain(|n| heard.0.get(n).is_none_or(|at| now - at >= HEARD_EVERY_MS));
    let heard_now = deferred.heard_from.clone();
    let recheck = std::mem::take(&mut deferred.recheck);
    apply_deferred(&mut tx, deferred, &mut new_events).await?;
    events::write_pending(&mut tx, &mut new_events).await?;
    let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    store::mark_processed(&mut tx, &ids).await?;
    // A customer wrote: automatic assignment looks at the queue, and what the rules (or an
    // opt-out) answered goes out at once.
    let wrote: BTreeSet<String> = new_events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Message { message, .. } if message.direction == Direction::Inbound))
        .map(|e| e.number_id.clone())
        .collect();
    let claimed = crate::outbox::claim_answers(state, &mut tx, &wrote).await?;
    tx.commit().await?;
    pace.took(rows.len(), started.elapsed());
    heard.0.extend(heard_now.into_iter().map(|n| (n, now)));
    crate::outbox::hand_over(state, claimed);
    if !recheck.is_empty() {
        let state = state.clone();
        tokio::spawn(async move {
            for id in recheck {
                crate::numbers::recheck(&state, &id).await;
            }
        });
    }
    state.metrics.events.inc_by(new_events.len() as u64);
    if files_to_fetch {
        state.media_bell.notify_one();
    }
    if !wrote.is_empty() {
        state.assignment_bell.notify_one();
    }
    state.events.publish(new_events);
    Ok(rows.len())
}

async fn dead_letter(conn: &mut AnyConnection, inbox_id: i64, reason: String, body: &[u8], out: &mut Vec<Event>) -> Result<()> {
    tracing::warn!("webhook {inbox_id} to dead letters: {reason}");
    let id = store::dead_letter(conn, inbox_id, &reason, body, now_ms()).await?;
    out.push(events::append(conn, "", None, EventKind::DeadLetter { id, reason }).await?);
    Ok(())
}

/// What the bodies of a batch leave to be applied together, set-based: the numbers they came
/// for, their messages and their statuses (three per send, the bulk of a busy installation's
/// webhooks).
#[derive(Default)]
struct Deferred {
    heard_from: BTreeSet<String>,
    /// Numbers whose health to fetch again once the batch is committed.
    recheck: BTreeSet<String>,
    /// (number, status), in arrival order.
    statuses: Vec<(String, StatusUpdate)>,
    /// The `messages` changes, their statuses taken out.
    messages: Vec<MessagesValue>,
}

/// One change of a stored body, read (no database yet).
enum Part {
    Messages(MessagesValue),
    Quality(QualityUpdate),
    Groups(GroupsValue),
    /// Could not be understood: why, and what to keep (the whole body, or the change's value).
    Unreadable {
        reason: String,
        kept: Option<Vec<u8>>,
    },
}

/// Reads a stored body into its changes. A body (or a change inside it) that cannot be
/// understood becomes [`Part::Unreadable`]; the rest of the body is still read.
fn read_body(body: &[u8]) -> Vec<Part> {
    let envelope: WebhookEnvelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => return vec![Part::Unreadable { reason: format!("not a webhook envelope: {e}"), kept: None }],
    };
    if envelope.object != "whatsapp_business_account" {
        return vec![Part::Unreadable { reason: format!("unexpected object {:?}", envelope.object), kept: None }];
    }
    let mut parts = Vec::new();
    for change in envelope.entry.iter().flat_map(|entry| &entry.changes) {
        let unreadable = |what: String, e: serde_json::Error| Part::Unreadable {
            reason: format!("unreadable {what}: {e}"),
            kept: Some(serde_json::to_vec(&change.value).unwrap_or_default()),
        };
        parts.push(if change.field == "messages" {
            change.messages_value().map_or_else(|e| unreadable("messages change".into(), e), Part::Messages)
        } else if change.field == "phone_number_quality_update" {
            change.quality_value().map_or_else(|e| unreadable("quality update".into(), e), Part::Quality)
        } else if change.is_group_field() {
            change.groups_value().map_or_else(|e| unreadable(format!("{} change", change.field), e), Part::Groups)
        } else {
            tracing::debug!("ignoring webhook field {}", change.field);
            continue;
        });
    }
    parts
}

/// What a batch looks up once for all its messages instead of once per message.
struct Known {
    /// Messages already stored (Meta delivers some twice), and those this batch stores.
    wamids: HashSet<String>,
    /// (customer, number) pairs with a broadcast send whose reply is not yet counted.
    awaiting_reply: HashSet<(String, String)>,
    /// The opt-out keywords, read when the first 1:1 text needs them.
    opt_out: Option<switchboard_shared::api::OptOutSettings>,
}

impl Known {
    async fn read(conn: &mut AnyConnection, bodies: &[(i64, &[u8], Vec<Part>)]) -> Result<Known> {
        let messages = || {
            bodies.iter().flat_map(|(_, _, parts)| parts).flat_map(|p| match p {
                Part::Messages(v) => v.messages.as_slice(),
                _ => &[],
            })
        };
        let wamids: Vec<&str> = messages().map(|m| m.id.as_str()).collect();
        let mut senders: Vec<&str> = messages().filter(|m| m.group_id.is_none()).filter_map(|m| m.sender()).collect();
        senders.sort_unstable();
        senders.dedup();
        Ok(Known {
            wamids: crate::conversations::wamids_already_stored(conn, &wamids).await?,
            awaiting_reply: crate::broadcasts::awaiting_reply(conn, &senders).await?,
            opt_out: None,
        })
    }
}

/// Applies one stored body: group and quality changes now, messages and statuses into
/// `deferred` for the whole batch. What could not be understood goes to the dead-letter table.
async fn apply_body(
    conn: &mut AnyConnection,
    inbox_id: i64,
    body: &[u8],
    parts: Vec<Part>,
    deferred: &mut Deferred,
    out: &mut Vec<Event>,
) -> Result<()> {
    for part in parts {
        match part {
            Part::Messages(value) => defer_messages(value, deferred),
            Part::Quality(value) => apply_quality(conn, value, deferred).await?,
            Part::Groups(value) => apply_groups(conn, value, out).await?,
            Part::Unreadable { reason, kept } => dead_letter(conn, inbox_id, reason, kept.as_deref().unwrap_or(body), out).await?,
        }
    }
    Ok(())
}

/// Meta re-rated a number (known by its display number only). Falling to RED pauses its
/// broadcasts at once, in this transaction; whatever the event, the number's rating and limit
/// are fetched again after the commit.
async fn apply_quality(conn: &mut AnyConnection, value: QualityUpdate, deferred: &mut Deferred) -> Result<()> {
    let shown = value.display_phone_number.as_deref().unwrap_or_default();
    let Some(id) = crate::numbers::find_by_display_number(conn, shown).await? else {
        tracing::warn!("quality update {:?} for an unknown number {shown:?}", value.event);
        return Ok(());
    };
    tracing::warn!("number {id}: quality update {:?}", value.event);
    if value.event.eq_ignore_ascii_case("FLAGGED") {
        crate::numbers::record_quality(conn, &id, switchboard_shared::numbers::QualityRating::Red).await?;
    }
    deferred.recheck.insert(id);
    Ok(())
}

/// Group webhooks: each becomes changes to the stored group (members, requests, settings,
/// lifecycle), which also confirm bulk-job items and name the group's conversation.
async fn apply_groups(conn: &mut AnyConnection, value: GroupsValue, out: &mut Vec<Event>) -> Result<()> {
    let number_id = value.metadata.phone_number_id.clone().unwrap_or_default();
    for g in &value.groups {
        if let (Some(request_id), "group_create") = (g.request_id.as_deref(), g.normalized_kind()) {
            let error = error_text(&g.errors).map(|(_, text)| text);
            crate::groups::creation_answered(conn, request_id, g.group_id.as_deref(), error.as_deref(), out).await?;
        }
        let Some(group_id) = g.group_id.as_deref() else { continue };
        let changes = crate::groups::cloud_changes(g);
        if changes.is_empty() {
            continue;
        }
        // A group we have not listed yet is remembered first, so nothing it says is lost.
        crate::groups::remember(conn, group_id, &number_id, None, None).await?;
        for change in &changes {
            crate::groups::apply_change(conn, &number_id, ProviderKind::Cloud, group_id, change, out).await?;
        }
    }
    Ok(())
}

fn error_text(errors: &[WebhookError]) -> Option<(Option<i64>, String)> {
    errors.first().map(|e| {
        let title = e.title.clone().or_else(|| e.message.clone()).unwrap_or_else(|| "error".into());
        (
            e.code,
            match e.code {
                Some(code) => format!("{code}: {title}"),
                None => title,
            },
        )
    })
}

/// A `messages` change: its messages wait for [`apply_messages`], its statuses for
/// [`apply_deferred`] (both set-based, for the whole batch).
fn defer_messages(mut value: MessagesValue, deferred: &mut Deferred) {
    let number_id = value.metadata.phone_number_id.clone().unwrap_or_default();
    for e in &value.errors {
        tracing::warn!("system error from Meta on {number_id}: {:?} {:?}", e.code, e.title);
    }
    deferred.statuses.extend(std::mem::take(&mut value.statuses).into_iter().map(|s| (number_id.clone(), s)));
    deferred.heard_from.insert(number_id);
    deferred.messages.push(value);
}

/// One message of a batch, read, before it is stored.
struct Arrival<'a> {
    number_id: &'a str,
    m: &'a InboundMessage,
    sender: &'a str,
    /// The sender's profile name.
    name: Option<&'a str>,
    at: i64,
}

/// Stores a batch's customer messages together (contacts, conversations, messages: a few
/// statements for the lot), then, message by message in the order they came, what each asks
/// for: its file fetched, a broadcast's reply counted, an opt-out, the auto-replies. Returns
/// whether a file waits to be fetched.
async fn apply_messages(
    conn: &mut AnyConnection,
    values: &[MessagesValue],
    known: &mut Known,
    automation: &mut crate::automation::Batch,
    out: &mut Vec<Event>,
) -> Result<bool> {
    let now = now_ms();
    let mut arrivals = Vec::new();
    for value in values {
        let number_id = value.metadata.phone_number_id.as_deref().unwrap_or_default();
        let names: HashMap<&str, &str> = value.contacts.iter().filter_map(|c| Some((c.key()?, c.profile.name.as_deref()?))).collect();
        for m in &value.messages {
            let Some(sender) = m.sender() else {
                tracing::warn!("message {} has no sender; skipped", m.id);
                continue;
            };
            if !known.wamids.insert(m.id.clone()) {
                continue;
            }
            let at = m.timestamp.map_or(now, |s| s * 1000);
            arrivals.push(Arrival { number_id, m, sender, name: names.get(sender).copied(), at });
        }
    }
    if arrivals.is_empty() {
        return Ok(false);
    }

    // Who wrote: a 1:1 message's contact talks to the number; a group member is only known.
    let heard: Vec<contacts::Heard> = arrivals
        .iter()
        .filter(|a| a.m.group_id.is_none())
        .map(|a| contacts::Heard { wa_id: a.sender, name: a.name, number_id: a.number_id, at: a.at })
        .collect();
    contacts::heard_from(conn, &heard, now).await?;
    let in_groups: Vec<(&str, Option<&str>)> = arrivals.iter().filter(|a| a.m.group_id.is_some()).map(|a| (a.sender, a.name)).collect();
    contacts::seen_in_groups(conn, &in_groups, now).await?;
    // A group's conversation is named by its subject, read once per group.
    let mut subjects: HashMap<&str, Option<String>> = HashMap::new();
    for group in arrivals.iter().filter_map(|a| a.m.group_id.as_deref()) {
        if !subjects.contains_key(group) {
            subjects.insert(group, crate::groups::subject(conn, group).await?);
        }
    }

    // A group message belongs to the group's conversation; a 1:1 message to the sender's.
    let incoming = arrivals
        .iter()
        .map(|a| {
            let mut preview = a.m.summary();
            let contact_name = match a.m.group_id.as_deref() {
                Some(group) => {
                    preview = format!("{}: {preview}", a.name.unwrap_or(a.sender));
                    subjects.get(group).and_then(|s| s.as_deref())
                }
                None => a.name,
            };
            crate::conversations::Incoming {
                number_id: a.number_id,
                contact: a.m.group_id.as_deref().unwrap_or(a.sender),
                contact_name,
                is_group: a.m.group_id.is_some(),
                wamid: &a.m.id,
                kind: &a.m.kind,
                body: preview,
                attachment: a.m.attachment(),
                error: error_text(&a.m.errors).map(|(_, text)| text),
                at: a.at,
            }
        })
        .collect();
    let crate::conversations::Received { mut conversations, messages } = crate::conversations::receive(conn, incoming).await?;

    let mut files_to_fetch = false;
    for (a, (i, mut message)) in arrivals.iter().zip(messages) {
        let one_to_one = a.m.group_id.is_none();
        // The first reply after a broadcast counts for it (within 24 h of delivery).
        if one_to_one && known.awaiting_reply.remove(&(a.sender.to_owned(), a.number_id.to_owned())) {
            crate::broadcasts::count_reply(conn, a.sender, a.number_id, a.at).await?;
        }
        if let switchboard_shared::wire::MessageContent::Media { id, .. } = &a.m.content() {
            let fetching = crate::media::expect(conn, a.number_id, &message, id.as_deref(), now).await?;
            files_to_fetch |= fetching;
            if !fetching {
                // No id to fetch it by: the message shows why at once.
                message.attachment = crate::conversations::attachment_of(conn, message.id).await?;
            }
        }
        let mut keyword = false;
        if one_to_one && a.m.kind == "text" {
            // Read once per batch, and only when a 1:1 text could be a keyword.
            if known.opt_out.is_none() {
                known.opt_out = Some(contacts::opt_out_settings(conn).await?);
            }
            keyword = known.opt_out.as_ref().is_some_and(|s| contacts::is_keyword(s, &message.body));
        }
        let conversation = &mut conversations[i];
        out.push(events::pending(
            a.number_id,
            conversation.assigned_to,
            EventKind::Message { conversation: conversation.clone(), message: message.clone() },
        ));
        if keyword {
            let confirmation = known.opt_out.as_ref().map(|s| s.confirmation.as_str()).unwrap_or_default();
            opt_out_contact(conn, conversation, &a.m.id, a.at, confirmation, out).await?;
        } else {
            crate::automation::on_inbound(conn, automation, conversation, &message, out).await?;
        }
    }
    Ok(files_to_fetch)
}

/// One status, read.
struct StatusRow {
    number_id: String,
    wamid: String,
    status: MessageStatus,
    at: i64,
    key: Option<String>,
    error: Option<(Option<i64>, String)>,
}

/// Applies what a batch's bodies deferred: marks the numbers heard from, then the statuses.
async fn apply_deferred(conn: &mut AnyConnection, deferred: Deferred, out: &mut Vec<Event>) -> Result<()> {
    let heard_from: Vec<&str> = deferred.heard_from.iter().map(String::as_str).collect();
    crate::numbers::heard_from(conn, &heard_from, now_ms()).await?;
    apply_statuses(conn, deferred.statuses, out).await
}

/// Applies a batch's statuses in a handful of statements whatever their number: stores each
/// (wamid, status) once, settles sends whose answer was lost, moves broadcast recipients
/// forward, and advances conversation messages (which also makes their events).
async fn apply_statuses(conn: &mut AnyConnection, statuses: Vec<(String, StatusUpdate)>, out: &mut Vec<Event>) -> Result<()> {
    let now = now_ms();
    let mut once = HashSet::new();
    let mut rows: Vec<StatusRow> = Vec::with_capacity(statuses.len());
    for (number_id, s) in statuses {
        let Some(status) = MessageStatus::parse(&s.status) else {
            tracing::debug!("ignoring unknown status {:?} for {}", s.status, s.id);
            continue;
        };
        if !once.insert((s.id.clone(), status)) {
            continue;
        }
        let error = error_text(&s.errors);
        let at = s.timestamp.map_or(now, |t| t * 1000);
        rows.push(StatusRow { number_id, wamid: s.id, status, at, key: s.biz_opaque_callback_data, error });
    }
    if rows.is_empty() {
        return Ok(());
    }
    // Stored once per (wamid, status): only what is new goes on.
    let logged: Vec<crate::outbox::StatusLog> = rows
        .iter()
        .map(|r| crate::outbox::StatusLog {
            wamid: &r.wamid,
            status: r.status,
            at: r.at,
            callback_data: r.key.as_deref(),
            error_code: r.error.as_ref().and_then(|e| e.0),
            error_title: r.error.as_ref().map(|e| e.1.as_str()),
        })
        .collect();
    let new = crate::outbox::log_statuses(conn, &logged).await?;
    rows.retain(|r| new.contains(&(r.wamid.clone(), r.status)));

    // A send whose HTTP answer we never saw is settled by its status: it was sent.
    let mut settle: Vec<(&str, &str)> = Vec::new();
    let mut keys = HashSet::new();
    for r in &rows {
        if let Some(key) = r.key.as_deref().filter(|k| keys.insert(*k)) {
            settle.push((key, &r.wamid));
        }
    }
    for (message_id, wamid) in crate::outbox::settle_from_statuses(conn, &settle).await? {
        crate::conversations::learn_wamid(conn, message_id, &wamid).await?;
    }

    // A broadcast send has no message in a conversation: its recipient row is its record.
    let (broadcast, conversation): (Vec<StatusRow>, Vec<StatusRow>) =
        rows.into_iter().partition(|r| r.key.as_deref().is_some_and(|k| k.starts_with(crate::broadcasts::KEY_PREFIX)));
    crate::broadcasts::apply_statuses(conn, &broadcast_progress(&broadcast)).await?;
    let changes: Vec<crate::conversations::StatusChange> = conversation
        .iter()
        .map(|r| crate::conversations::StatusChange {
            number_id: &r.number_id,
            wamid: &r.wamid,
            status: r.status,
            error: r.error.as_ref().map(|e| e.1.as_str()),
        })
        .collect();
    crate::conversations::advance_all(conn, &changes, out).await
}

/// Folds a batch's statuses for broadcast sends into one change per recipient: the furthest
/// status (with its error), and the first time each milestone was seen.
fn broadcast_progress(rows: &[StatusRow]) -> Vec<crate::broadcasts::Progress> {
    let mut by_key: HashMap<&str, crate::broadcasts::Progress> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for r in rows {
        let Some(key) = r.key.as_deref() else { continue };
        let delivered = r.status.rank() >= MessageStatus::Delivered.rank() && r.status != MessageStatus::Failed;
        let read = r.status == MessageStatus::Read;
        let p = by_key.entry(key).or_insert_with(|| {
            order.push(key);
            crate::broadcasts::Progress {
                key: key.to_owned(),
                wamid: r.wamid.clone(),
                status: r.status,
                first_at: r.at,
                delivered_at: None,
                read_at: None,
                error: r.error.clone(),
            }
        });
        if r.status.rank() > p.status.rank() {
            p.status = r.status;
            p.error = r.error.clone();
        }
        p.first_at = p.first_at.min(r.at);
        let earliest = |old: Option<i64>| Some(old.map_or(r.at, |t| t.min(r.at)));
        if delivered {
            p.delivered_at = earliest(p.delivered_at);
        }
        if read {
            p.read_at = earliest(p.read_at);
        }
    }
    order.into_iter().filter_map(|k| by_key.remove(k)).collect()
}

/// How the timeline names the opt-out confirmation, an automatic message.
const OPT_OUT_RULE: &str = "Opt-out confirmation";

/// A contact sent an opt-out keyword: no more marketing, confirmed once (a second STOP changes
/// nothing and sends nothing).
async fn opt_out_contact(
    conn: &mut AnyConnection,
    conversation: &Conversation,
    wamid: &str,
    at: i64,
    confirmation: &str,
    out: &mut Vec<Event>,
) -> Result<()> {
    let changed = crate::contacts::opt_out(conn, &conversation.contact, at).await?;
    if !changed || confirmation.trim().is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let message_id = crate::conversations::add_automatic(conn, conversation, "text", confirmation, now, OPT_OUT_RULE).await?;
    let send = SendRequest::individual(conversation.contact.clone(), OutboundBody::text(confirmation.to_owned()));
    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
    crate::outbox::enqueue(conn, &format!("optout-{wamid}"), &conversation.number_id, Some(message_id), &payload).await?;
    let message = Message {
        id: message_id,
        conversation_id: conversation.id,
        wamid: None,
        direction: Direction::Outbound,
        kind: "text".into(),
        body: confirmation.to_owned(),
        status: Some(MessageStatus::Pending),
        error: None,
        created_at: now,
        auto_rule: Some(OPT_OUT_RULE.into()),
        attachment: None,
    };
    out.push(events::pending(
        &conversation.number_id,
        conversation.assigned_to,
        EventKind::Message { conversation: conversation.clone(), message },
    ));
    Ok(())
}
