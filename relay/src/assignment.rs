//! Who takes a conversation. The agents who may take one on a number are those enabled, whose
//! role may reply, whose scope covers the number and who have a public code (the team that
//! faces customers); each counts the conversations assigned to them against their capacity.
//!
//! Every decision is recorded: an `assignment` event for the consoles and an entry in the audit
//! log saying who and why.

use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Event, EventKind};

use crate::access::audit::{self, Actor};
use crate::error::Result;

/// An agent who may take conversations on a number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub capacity: Option<i64>,
    /// Conversations assigned to them now.
    pub open: i64,
}

impl Candidate {
    /// How customers see them: `#103`.
    pub fn public_name(&self) -> String {
        format!("#{}", self.code)
    }

    fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.open < c)
    }
}

/// The agents who may take conversations on `number_id`, fewest open first (then by id).
pub async fn candidates(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<Candidate>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.code, u.capacity,
                (SELECT COUNT(*) FROM conversations c WHERE c.assigned_to = u.id) AS open
         FROM users u JOIN roles r ON r.name = u.role
         WHERE u.code IS NOT NULL AND NOT u.disabled AND r.permissions LIKE '%\"reply\"%'
           AND (u.all_numbers OR EXISTS (SELECT 1 FROM user_numbers n WHERE n.user_id = u.id AND n.number_id = $1))
         ORDER BY open, u.id",
    )
    .bind(number_id)
    .fetch_all(&mut *conn)
    .await?)
}

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
