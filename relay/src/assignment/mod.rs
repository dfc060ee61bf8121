//! Who takes a conversation. The agents who may take one on a number are those enabled, whose
//! role may reply, whose scope covers the number and who have a public code (the team that
//! faces customers); each counts their open conversations against their capacity. Of those,
//! the agents on duty are the ones with a console open who are not away.
//!
//! One runner decides for every number whose assignment is automatic (round-robin or
//! least-open), whenever something changes: a customer writes, an agent comes online, goes
//! offline or away, or the clock reaches a number's opening, the end of a grace period or of a
//! snooze. Each time it does the same thing, which is why each case comes out right:
//! while a number is open, every open conversation that has nobody (or whose agent has been
//! offline or away for longer than the grace period) goes to an agent on duty with room. At
//! the opening that is the night's conversations, shared evenly; during the day it is each new
//! one as it arrives; when an agent leaves it is theirs. While a number is closed nothing moves
//! (the away message's reservation holds until the opening).
//!
//! Every decision is recorded: an entry in the conversation's timeline and in the audit log
//! saying who and why, and events for the consoles.

mod pick;
mod store;

pub use pick::{hand_out, OnDuty};
pub use store::{candidates, Candidate};

use std::collections::HashMap;

use sqlx::AnyConnection;
use switchboard_shared::api::{ActivityKind, Conversation, ConversationStatus, Event, EventKind};
use switchboard_shared::support::AssignmentMode;

use crate::access::audit::{self, Actor};
use crate::conversations::NewActivity;
use crate::error::Result;
use crate::numbers::NumberSupport;
use crate::AppState;

/// The runner looks at least this often, whatever it is waiting for.
const LOOK_AT_LEAST_EVERY_MS: i64 = 60_000;

/// The agent of a conversation: the one it is assigned to, else one reserved for it now — the
/// candidate with the fewest open conversations who has room — so an away message can name
/// who will follow up. `None` when nobody can take it.
pub async fn reserve(
    conn: &mut AnyConnection,
    conversation: &Conversation,
    why: &str,
    now: i64,
    out: &mut Vec<Event>,
) -> Result<Option<Candidate>> {
    let all = candidates(conn, &conversation.number_id).await?;
    if let Some(id) = conversation.assigned_to {
        return Ok(all.into_iter().find(|c| c.id == id));
    }
    let Some(chosen) = all.into_iter().find(Candidate::has_room) else { return Ok(None) };
    let reason = format!(
        "reserved by the auto-reply {why:?} for {}: fewest open conversations ({}) among the agents of the number",
        chosen.public_name(),
        chosen.open
    );
    decide(conn, conversation, Some(chosen.id), "reserved", &reason, now, out).await?;
    Ok(Some(chosen))
}

/// Records one decision: the conversation moves from whoever has it to `to` (if nobody
/// changed it meanwhile), with a timeline entry, an audit entry and events. Returns whether it
/// moved.
async fn decide(
    conn: &mut AnyConnection,
    conversation: &Conversation,
    to: Option<i64>,
    reason: &str,
    text: &str,
    now: i64,
    out: &mut Vec<Event>,
) -> Result<bool> {
    let from = conversation.assigned_to;
    let Some(moved) = crate::conversations::set_assignee_if(conn, conversation.id, from, to).await? else { return Ok(false) };
    let number_id = moved.number_id.clone();
    audit::record_on(
        conn,
        Actor::System,
        &[number_id.as_str()],
        "conversation.assign",
        &format!("conversation:{}", moved.id),
        Some(serde_json::json!({"assigned_to": from})),
        Some(serde_json::json!({"assigned_to": to, "reason": reason, "why": text, "at": now})),
    )
    .await?;
    let entry = NewActivity { text, agent: to, reason: Some(reason), ..Default::default() };
    let activity = crate::conversations::add_activity(conn, moved.id, ActivityKind::Assignment, entry, now).await?;
    out.push(crate::events::append(conn, &number_id, to, EventKind::Activity { activity }).await?);
    out.push(crate::events::append(conn, &number_id, to, EventKind::Assignment { conversation: moved }).await?);
    Ok(true)
}

/// Runs automatic assignment for good: looks, then sleeps until something changes.
pub async fn run(state: AppState) {
    state.events.started(state.clock.now_ms());
    let mut memory = Memory::default();
    loop {
        let presence = state.events.presence_changed.notified();
        let bell = state.assignment_bell.notified();
        let next = match settle(&state, &mut memory).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!("automatic assignment: {e}");
                state.clock.now_ms() + 1_000
            }
        };
        tokio::select! {
            () = presence => {}
            () = bell => {
                // New conversations come in bursts: one look a moment later takes them all,
                // instead of one transaction per batch of webhooks.
                tokio::time::sleep(GATHER_ARRIVALS).await;
            }
            () = state.clock.sleep_until(next) => {}
        }
    }
}

/// How long a look waits after new messages ring, for the rest of their burst.
const GATHER_ARRIVALS: std::time::Duration = std::time::Duration::from_millis(100);

/// What the runner remembers between looks.
#[derive(Debug, Default)]
pub struct Memory {
    /// Per number, the last agent given one in turn (round-robin).
    turns: HashMap<String, i64>,
    /// Per number, whether it was open at the last look: closed then open now is the opening.
    was_open: HashMap<String, bool>,
}

/// One look at every number: snoozes that ended open again, and each open number's waiting
/// conversations go to agents on duty. Returns when to look again at the latest.
pub async fn settle(state: &AppState, memory: &mut Memory) -> Result<i64> {
    let now = state.clock.now_ms();
    let grace = state.config.away_grace_ms;
    let mut next = now + LOOK_AT_LEAST_EVERY_MS;
    let mut out = Vec::new();
    let mut tx = state.db.pool.begin().await?;
    for conversation in crate::conversations::wake_snoozed(&mut tx, now).await? {
        let entry = NewActivity { text: "the snooze ended", status: Some(ConversationStatus::Open), ..Default::default() };
        let activity = crate::conversations::add_activity(&mut tx, conversation.id, ActivityKind::Status, entry, now).await?;
        let (number_id, agent) = (conversation.number_id.clone(), conversation.assigned_to);
        out.push(crate::events::append(&mut tx, &number_id, agent, EventKind::Activity { activity }).await?);
        out.push(crate::events::append(&mut tx, &number_id, agent, EventKind::Conversation { conversation }).await?);
    }
    if let Some(at) = crate::conversations::next_snooze_end(&mut tx).await? {
        next = next.min(at);
    }
    for (number_id, settings, tz) in crate::numbers::automatic_assignment(&mut tx).await? {
        let mode = settings.assignment;
        let support = NumberSupport::new(settings, &tz);
        let open = support.is_open(now);
        let opening = memory.was_open.insert(number_id.clone(), open) == Some(false) && open;
        if !open {
            if let Some(at) = support.schedule.as_ref().and_then(|s| s.next_opening(now)) {
                next = next.min(at);
            }
            continue;
        }
        let team = candidates(&mut tx, &number_id).await?;
        let mut on_duty = Vec::new();
        for c in &team {
            match state.events.unavailable_since(c.id, c.away == 1) {
                None => on_duty.push(OnDuty { id: c.id, load: c.open, capacity: c.capacity }),
                Some(since) if since + grace > now => next = next.min(since + grace),
                Some(_) => {}
            }
        }
        // Whoever holds open conversations here and has been gone longer than the grace period.
        let mut released: Vec<(i64, i64)> = Vec::new();
        for agent in crate::conversations::assignees(&mut tx, &number_id).await? {
            let away = team.iter().any(|c| c.id == agent && c.away == 1);
            match state.events.unavailable_since(agent, away) {
                Some(since) if since + grace <= now => released.push((agent, since)),
                Some(since) => next = next.min(since + grace),
                None => {}
            }
        }
        let released_ids: Vec<i64> = released.iter().map(|(id, _)| *id).collect();
        let waiting = crate::conversations::waiting(&mut tx, &number_id, &released_ids).await?;
        if waiting.is_empty() {
            continue;
        }
        let (chosen, last) = hand_out(mode, &mut on_duty, waiting.len(), memory.turns.get(&number_id).copied());
        if let Some(last) = last {
            memory.turns.insert(number_id.clone(), last);
        }
        let how = match mode {
            AssignmentMode::RoundRobin => "in turn",
            _ => "fewest open conversations",
        };
        for (conversation, to) in waiting.into_iter().zip(chosen) {
            if to.is_none() && conversation.assigned_to.is_none() {
                continue; // nobody on duty has room: it waits in the queue
            }
            let names = |id: i64| team.iter().find(|c| c.id == id).map(|c| format!("{} {}", c.public_name(), c.name));
            let to_name = to.and_then(names).unwrap_or_else(|| "the queue".into());
            let on_duty_n = on_duty.len();
            let (reason, text) = match (conversation.assigned_to, opening) {
                (Some(from), _) => {
                    let since = released.iter().find(|(id, _)| *id == from).map_or(0, |(_, s)| *s);
                    let minutes = (now - since) / 60_000;
                    let from_name = store::name_of(&mut tx, from).await?.unwrap_or_else(|| format!("user {from}"));
                    let text = match to {
                        Some(_) => format!("{from_name} offline or away for {minutes} min: to {to_name} ({how} among {on_duty_n} on duty)"),
                        None => format!("{from_name} offline or away for {minutes} min: back to the queue (nobody on duty has room)"),
                    };
                    ("released", text)
                }
                (None, true) => ("opening", format!("left from before the opening: to {to_name} ({how} among {on_duty_n} on duty)")),
                (None, false) => ("arrival", format!("to {to_name} ({how} among {on_duty_n} on duty)")),
            };
            decide(&mut tx, &conversation, to, reason, &text, now, &mut out).await?;
        }
    }
    tx.commit().await?;
    state.events.publish(out);
    Ok(next)
}
