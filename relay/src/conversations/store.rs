//! The conversations table and the conversation model read from it: one home for its columns,
//! so every reader and writer (the inbox, the webhook processor) returns the same shape.

use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Direction};

use crate::error::Result;

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
