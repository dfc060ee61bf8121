//! The conversations and messages tables: the conversation model read from them (one home for
//! its columns, so the inbox and the webhook processor return the same shape), and a message
//! status that only moves forward (`accepted < sent < delivered < read`; `failed` is final).

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Direction, Event, EventKind};
use switchboard_shared::MessageStatus;

use crate::error::Result;
use crate::events;
use crate::outbox::outcomes::{OutcomeListener, SendOutcome};

/// A conversation as stored, read with [`conversation_columns!`].
#[derive(Debug, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: i64,
    pub number_id: String,
    pub contact: String,
    pub contact_name: Option<String>,
    pub last_message_at: i64,
    pub last_preview: String,
    pub last_direction: String,
    pub unread: i64,
    pub last_inbound_at: Option<i64>,
    pub assigned_to: Option<i64>,
    pub labels: String,
    /// 1 for a WhatsApp group's conversation (its contact is the group id).
    pub is_group: i64,
}

impl From<ConversationRow> for Conversation {
    fn from(row: ConversationRow) -> Self {
        Conversation {
            id: row.id,
            number_id: row.number_id,
            contact: row.contact,
            contact_name: row.contact_name,
            last_message_at: row.last_message_at,
            last_preview: row.last_preview,
            last_direction: if row.last_direction == "outbound" { Direction::Outbound } else { Direction::Inbound },
            unread: row.unread,
            last_inbound_at: row.last_inbound_at,
            assigned_to: row.assigned_to,
            labels: row.labels.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            is_group: row.is_group == 1,
        }
    }
}

/// A conversation from its stored row.
pub fn conversation_from_row(row: ConversationRow) -> Conversation {
    row.into()
}

/// The columns of a conversation, as [`ConversationRow`] reads them (a macro so SQL stays
/// `&'static str`).
#[macro_export]
macro_rules! conversation_columns {
    () => {
        "id, number_id, contact, contact_name, last_message_at, last_preview, last_direction, unread, last_inbound_at, assigned_to, labels,
         CASE WHEN is_group THEN 1 ELSE 0 END AS is_group"
    };
}

pub async fn load_conversation(conn: &mut AnyConnection, id: i64) -> Result<Option<Conversation>> {
    let row: Option<ConversationRow> = sqlx::query_as(concat!("SELECT ", conversation_columns!(), " FROM conversations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(conversation_from_row))
}

/// Moves a message forward to `status` if that is progress, and records the event.
pub async fn advance(
    conn: &mut AnyConnection,
    number_id: &str,
    wamid: &str,
    status: MessageStatus,
    error: Option<String>,
    out: &mut Vec<Event>,
) -> Result<()> {
    let moved: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "UPDATE messages SET status = $1, status_rank = $2, error = COALESCE($3, error)
         WHERE wamid = $4 AND status_rank < $2 AND (status IS NULL OR status <> 'failed')
         RETURNING id, conversation_id, (SELECT c.assigned_to FROM conversations c WHERE c.id = messages.conversation_id)",
    )
    .bind(status.as_str())
    .bind(status.rank())
    .bind(&error)
    .bind(wamid)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((message_id, conversation_id, assigned_to)) = moved {
        let kind = EventKind::Status { conversation_id, message_id, wamid: Some(wamid.to_owned()), status, error };
        out.push(events::append(conn, number_id, assigned_to, kind).await?);
    }
    Ok(())
}

/// Puts every conversation assigned to `agent` back in the queue; returns the events to publish.
pub async fn requeue_conversations_of(conn: &mut AnyConnection, agent: i64) -> Result<Vec<Event>> {
    let rows: Vec<ConversationRow> =
        sqlx::query_as(concat!("UPDATE conversations SET assigned_to = NULL WHERE assigned_to = $1 RETURNING ", conversation_columns!()))
            .bind(agent)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::new();
    for row in rows {
        let conversation = conversation_from_row(row);
        let number_id = conversation.number_id.clone();
        out.push(events::append(conn, &number_id, None, EventKind::Assignment { conversation }).await?);
    }
    Ok(out)
}

/// Keeps conversation messages in step with their sends: the message learns its wamid and moves
/// to accepted (or straight to a status that raced ahead of the answer), or shows why it failed.
pub struct SendListener;

impl OutcomeListener for SendListener {
    fn record<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        outcomes: &'a [SendOutcome<'a>],
        _at: i64,
        events: &'a mut Vec<Event>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for o in outcomes {
                match *o {
                    SendOutcome::Accepted { number_id, message_id: Some(message_id), wamid: Some(wamid), .. } => {
                        sqlx::query("UPDATE messages SET wamid = $1 WHERE id = $2")
                            .bind(wamid)
                            .bind(message_id)
                            .execute(&mut *conn)
                            .await?;
                        advance(conn, number_id, wamid, MessageStatus::Accepted, None, events).await?;
                        // Statuses that raced ahead of this answer are already stored: apply the best.
                        let seen: Vec<(String,)> = sqlx::query_as("SELECT status FROM message_statuses WHERE wamid = $1")
                            .bind(wamid)
                            .fetch_all(&mut *conn)
                            .await?;
                        let best = seen.iter().filter_map(|(s,)| MessageStatus::parse(s)).max_by_key(|s| s.rank());
                        if let Some(status) = best {
                            advance(conn, number_id, wamid, status, None, events).await?;
                        }
                    }
                    SendOutcome::Failed { number_id, message_id: Some(message_id), title, .. } => {
                        let failed: Option<(i64, Option<i64>)> = sqlx::query_as(
                            "UPDATE messages SET status = 'failed', status_rank = $1, error = $2 WHERE id = $3
                             RETURNING conversation_id, (SELECT c.assigned_to FROM conversations c WHERE c.id = messages.conversation_id)",
                        )
                        .bind(MessageStatus::Failed.rank())
                        .bind(title)
                        .bind(message_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let Some((conversation_id, assigned_to)) = failed {
                            let kind = EventKind::Status {
                                conversation_id,
                                message_id,
                                wamid: None,
                                status: MessageStatus::Failed,
                                error: Some(title.to_owned()),
                            };
                            events.push(events::append(conn, number_id, assigned_to, kind).await?);
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })
    }
}
