//! Reports: the supervisor's live view of load per number and per agent.
//!
//! First response follows peers-and-complaints.md §4.3: counted per waiting episode (from the
//! customer's first message after our last reply to the next reply typed by a person), reported
//! as median and P90, attributed to the person who replied; automated sends do not count.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use switchboard_shared::access::Scope;
use switchboard_shared::api::{Load, SupervisorView};
use switchboard_shared::limits;

use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::Result;
use crate::AppState;

mod store;

/// Median and 90th percentile (nearest rank) of some durations.
pub fn median_p90(values: &mut [i64]) -> (Option<i64>, Option<i64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_unstable();
    let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    (Some(rank(0.5)), Some(rank(0.9)))
}

/// One message as the first-response walk needs it.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub inbound: bool,
    pub at: i64,
    /// The person who typed an outbound message; `None` for automated sends.
    pub sent_by: Option<i64>,
}

/// Response times per waiting episode in one conversation's messages (oldest first):
/// `(responder, milliseconds)`.
pub fn first_responses(steps: &[Step]) -> Vec<(i64, i64)> {
    let mut waiting_since: Option<i64> = None;
    let mut out = Vec::new();
    for s in steps {
        if s.inbound {
            waiting_since.get_or_insert(s.at);
        } else if let (Some(since), Some(agent)) = (waiting_since, s.sent_by) {
            out.push((agent, (s.at - since).max(0)));
            waiting_since = None;
        }
    }
    out
}

/// `GET /api/v1/supervisor`
pub async fn supervisor(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<switchboard_shared::api::SupervisorQuery>,
) -> Result<Json<SupervisorView>> {
    let now = now_ms();
    let day_start = q.day_start.unwrap_or(now - now.rem_euclid(86_400_000));
    let open_since = now - limits::CUSTOMER_SERVICE_WINDOW_MS;
    let in_scope = user.scope_sql("number_id", None);

    let numbers = store::numbers(&state.db.pool, &user.scope_sql("id", None)).await?;
    // A viewer limited to some numbers sees the colleagues who work on at least one of them.
    let colleagues = match &user.scope {
        Scope::All => "1 = 1".to_owned(),
        Scope::Numbers(_) => format!("(all_numbers OR id IN (SELECT user_id FROM user_numbers WHERE {in_scope}))"),
    };
    let agents = store::agents(&state.db.pool, &colleagues).await?;

    let mut by_number: HashMap<String, Load> = numbers
        .iter()
        .map(|n| {
            let name = if n.verified_name.is_empty() {
                n.display_phone_number.clone()
            } else {
                format!("{} · {}", n.verified_name, n.display_phone_number)
            };
            (n.id.clone(), Load { id: n.id.clone(), name, online: n.online == 1, ..Load::default() })
        })
        .collect();
    let online = state.events.online_users();
    let mut by_agent: HashMap<i64, Load> = agents
        .iter()
        .map(|(id, name)| (*id, Load { id: id.to_string(), name: name.clone(), online: online.contains(id), ..Load::default() }))
        .collect();

    // Open and waiting conversations.
    let open = store::open_conversations(&state.db.pool, open_since, &in_scope).await?;
    for store::OpenRow { number_id, assigned_to, last_direction, last_message_at: last_at } in open {
        let waiting = last_direction == "inbound";
        let count = |load: &mut Load| {
            load.open += 1;
            if waiting {
                load.waiting += 1;
                let wait = now - last_at;
                load.longest_wait_ms = Some(load.longest_wait_ms.map_or(wait, |w| w.max(wait)));
            }
        };
        if let Some(load) = by_number.get_mut(&number_id) {
            count(load);
        }
        if let Some(load) = assigned_to.and_then(|a| by_agent.get_mut(&a)) {
            count(load);
        }
    }

    // Replies typed in the last hour.
    let handled = store::replies_since(&state.db.pool, now - 3_600_000, &in_scope).await?;
    for (number_id, agent, n) in handled {
        if let Some(load) = by_number.get_mut(&number_id) {
            load.handled_last_hour += n;
        }
        if let Some(load) = by_agent.get_mut(&agent) {
            load.handled_last_hour += n;
        }
    }

    // First responses today, per waiting episode.
    let rows = store::messages_since(&state.db.pool, day_start, &in_scope).await?;
    let mut times_by_number: HashMap<String, Vec<i64>> = HashMap::new();
    let mut times_by_agent: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut start = 0;
    while start < rows.len() {
        let conversation = rows[start].conversation_id;
        let end = rows[start..].iter().position(|r| r.conversation_id != conversation).map_or(rows.len(), |p| start + p);
        let steps: Vec<Step> =
            rows[start..end].iter().map(|r| Step { inbound: r.direction == "inbound", at: r.created_at, sent_by: r.sent_by }).collect();
        for (agent, ms) in first_responses(&steps) {
            times_by_number.entry(rows[start].number_id.clone()).or_default().push(ms);
            times_by_agent.entry(agent).or_default().push(ms);
        }
        start = end;
    }
    for (id, mut times) in times_by_number {
        if let Some(load) = by_number.get_mut(&id) {
            (load.median_first_response_ms, load.p90_first_response_ms) = median_p90(&mut times);
        }
    }
    for (id, mut times) in times_by_agent {
        if let Some(load) = by_agent.get_mut(&id) {
            (load.median_first_response_ms, load.p90_first_response_ms) = median_p90(&mut times);
        }
    }

    let mut numbers: Vec<Load> = by_number.into_values().collect();
    numbers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut agents: Vec<Load> = by_agent.into_values().collect();
    agents.sort_by(|a, b| b.online.cmp(&a.online).then(a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    Ok(Json(SupervisorView { generated_at: now, numbers, agents, backlog: state.events.backlog() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(at: i64) -> Step {
        Step { inbound: true, at, sent_by: None }
    }
    fn reply(at: i64, by: Option<i64>) -> Step {
        Step { inbound: false, at, sent_by: by }
    }

    #[test]
    fn each_waiting_episode_counts_once_from_its_first_message() {
        let steps = [inbound(0), inbound(50), reply(100, Some(7)), reply(150, Some(7)), inbound(1000), reply(1300, Some(8))];
        assert_eq!(first_responses(&steps), [(7, 100), (8, 300)]);
    }

    #[test]
    fn automated_sends_do_not_end_the_wait() {
        let steps = [inbound(0), reply(10, None), reply(500, Some(3))];
        assert_eq!(first_responses(&steps), [(3, 500)]);
        assert!(first_responses(&[reply(0, Some(1)), inbound(5)]).is_empty());
    }

    #[test]
    fn median_and_p90_use_nearest_rank() {
        let mut v = vec![10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
        assert_eq!(median_p90(&mut v), (Some(5), Some(9)));
        assert_eq!(median_p90(&mut []), (None, None));
        assert_eq!(median_p90(&mut [42]), (Some(42), Some(42)));
    }
}
