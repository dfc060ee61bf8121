//! Who takes a conversation. The agents who may take one on a number are those enabled, whose
//! role may reply, whose scope covers the number and who have a public code (the team that
//! faces customers); each counts the conversations assigned to them against their capacity.
//!
//! Every decision is recorded: an `assignment` event for the consoles and an entry in the audit
//! log saying who and why.

mod store;

pub use store::{candidates, Candidate};

use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Event, EventKind};

use crate::access::audit::{self, Actor};
use crate::error::Result;

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
    let assigned = crate::conversations::set_assignee(conn, conversation.id, Some(chosen.id)).await?;
    let reason = format!("reserved by the auto-reply {why:?}: fewest open conversations ({}) among the agents of the number", chosen.open);
    let after = serde_json::json!({"agent": chosen.id, "code": chosen.code, "why": reason, "at": now});
    audit::record_on(
        conn,
        Actor::System,
        &[conversation.number_id.as_str()],
        "conversation.assign",
        &conversation.id.to_string(),
        None,
        Some(after),
    )
    .await?;
    out.push(
        crate::events::append(conn, &assigned.number_id.clone(), assigned.assigned_to, EventKind::Assignment { conversation: assigned })
            .await?,
    );
    Ok(Some(chosen))
}
