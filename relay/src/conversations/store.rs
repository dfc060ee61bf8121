//! The conversations and messages tables: the conversation model read from them (one home for
//! its columns, so the inbox and the webhook processor return the same shape), and a message
//! status that only moves forward (`accepted < sent < delivered < read`; `failed` is final).

use futures::future::BoxFuture;
use sqlx::AnyConnection;
use switchboard_shared::api::{Activity, ActivityKind, Conversation, ConversationStatus, Direction, Event, EventKind, Message};
use switchboard_shared::media::Attachment;
use switchboard_shared::MessageStatus;

use crate::error::Result;
use crate::events;
use crate::outbox::outcomes::{OutcomeListener, SendOutcome};

/// A conversation as stored, read with [`conversation_columns!`].
#[derive(Debug, sqlx::FromRow)]
struct ConversationRow {
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
    pub status: String,
    pub snoozed_until: Option<i64>,
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
            status: ConversationStatus::parse(&row.status).unwrap_or_default(),
            snoozed_until: row.snoozed_until,
        }
    }
}

/// The columns of a conversation, as [`ConversationRow`] reads them (a macro so SQL stays
/// `&'static str`).
macro_rules! conversation_columns {
    () => {
        "id, number_id, contact, contact_name, last_message_at, last_preview, last_direction, unread, last_inbound_at, assigned_to, labels,
         CASE WHEN is_group THEN 1 ELSE 0 END AS is_group, status, snoozed_until"
    };
}

pub async fn load_conversation(conn: &mut AnyConnection, id: i64) -> Result<Option<Conversation>> {
    let row: Option<ConversationRow> = sqlx::query_as(concat!("SELECT ", conversation_columns!(), " FROM conversations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Conversation::from))
}

/// The most recent conversations matching `scope_sql` (a condition from
/// `AuthUser::scope_sql`), newest first.
pub async fn recent(conn: &mut AnyConnection, scope_sql: &str, limit: i64) -> Result<Vec<Conversation>> {
    let rows: Vec<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM conversations WHERE {scope_sql} ORDER BY last_message_at DESC, id DESC LIMIT {limit}",
        conversation_columns!(),
    )))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// Conversations matching `scope_sql` whose contact's name or number, or any message,
/// contains `needle` (compared in lower case), newest first.
pub async fn search(conn: &mut AnyConnection, scope_sql: &str, needle: &str, limit: i64) -> Result<Vec<Conversation>> {
    let escaped: String =
        needle.to_lowercase().chars().flat_map(|c| if matches!(c, '%' | '_' | '\\') { vec!['\\', c] } else { vec![c] }).collect();
    let pattern = format!("%{escaped}%");
    let rows: Vec<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM conversations WHERE {scope_sql} AND (
            LOWER(COALESCE(contact_name, '')) LIKE $1 ESCAPE '\\' OR contact LIKE $1 ESCAPE '\\'
            OR id IN (SELECT m.conversation_id FROM messages m WHERE LOWER(m.body) LIKE $1 ESCAPE '\\'))
         ORDER BY last_message_at DESC, id DESC LIMIT {limit}",
        conversation_columns!(),
    )))
    .bind(pattern)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// A message as stored.
#[derive(Debug, sqlx::FromRow)]
struct MessageRow {
    id: i64,
    conversation_id: i64,
    wamid: Option<String>,
    direction: String,
    kind: String,
    body: String,
    status: Option<String>,
    error: Option<String>,
    created_at: i64,
    auto_rule: Option<String>,
    /// JSON of an [`Attachment`].
    attachment: Option<String>,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Message {
            id: row.id,
            conversation_id: row.conversation_id,
            wamid: row.wamid,
            direction: if row.direction == "outbound" { Direction::Outbound } else { Direction::Inbound },
            kind: row.kind,
            body: row.body,
            status: row.status.as_deref().and_then(MessageStatus::parse),
            error: row.error,
            created_at: row.created_at,
            auto_rule: row.auto_rule,
            attachment: row.attachment.as_deref().and_then(|a| serde_json::from_str(a).ok()),
        }
    }
}

/// A conversation's last `limit` messages, oldest first.
pub async fn messages_of(conn: &mut AnyConnection, conversation_id: i64, limit: i64) -> Result<Vec<Message>> {
    let mut rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, conversation_id, wamid, direction, kind, body, status, error, created_at, auto_rule, attachment
         FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.reverse();
    Ok(rows.into_iter().map(Message::from).collect())
}

/// The id of the customer's last message in a conversation, to mark read with a reply.
pub async fn last_inbound_wamid(conn: &mut AnyConnection, conversation_id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT wamid FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND wamid IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(wamid,)| wamid))
}

/// Records a message an agent (`sent_by`) sends, of any kind (a file with its attachment),
/// waiting to be sent; returns its message id.
pub async fn add_outbound(
    conn: &mut AnyConnection,
    conversation: &Conversation,
    kind: &str,
    body: &str,
    attachment: Option<&Attachment>,
    at: i64,
    sent_by: Option<i64>,
) -> Result<i64> {
    let attachment = attachment.map(serde_json::to_string).transpose().map_err(anyhow::Error::from)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at, sent_by, attachment)
         VALUES ($1, $2, NULL, 'outbound', $3, $4, 'pending', 0, NULL, $5, $6, $7) RETURNING id",
    )
    .bind(conversation.id)
    .bind(&conversation.number_id)
    .bind(kind)
    .bind(body)
    .bind(at)
    .bind(sent_by)
    .bind(attachment)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A message's attachment changed (its file arrived, or could not be fetched).
pub async fn set_attachment(conn: &mut AnyConnection, message_id: i64, attachment: &Attachment) -> Result<()> {
    let json = serde_json::to_string(attachment).map_err(anyhow::Error::from)?;
    sqlx::query("UPDATE messages SET attachment = $1 WHERE id = $2").bind(json).bind(message_id).execute(&mut *conn).await?;
    Ok(())
}

/// A message's attachment as stored.
pub async fn attachment_of(conn: &mut AnyConnection, message_id: i64) -> Result<Option<Attachment>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT attachment FROM messages WHERE id = $1").bind(message_id).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(|(a,)| a).and_then(|a| serde_json::from_str(&a).ok()))
}

/// Records an automatic message waiting to be sent; returns its id.
pub async fn add_automatic(
    conn: &mut AnyConnection,
    conversation: &Conversation,
    kind: &str,
    body: &str,
    at: i64,
    rule: &str,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at, auto_rule)
         VALUES ($1, $2, NULL, 'outbound', $3, $4, 'pending', 0, NULL, $5, $6) RETURNING id",
    )
    .bind(conversation.id)
    .bind(&conversation.number_id)
    .bind(kind)
    .bind(body)
    .bind(at)
    .bind(rule)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A person replied: the conversation shows the reply, is read, and is theirs if nobody's.
pub async fn replied(conn: &mut AnyConnection, id: i64, text: &str, at: i64, agent: i64) -> Result<Conversation> {
    let row: ConversationRow = sqlx::query_as(concat!(
        "UPDATE conversations SET last_message_at = $1, last_preview = $2, last_direction = 'outbound', unread = 0,
           assigned_to = COALESCE(assigned_to, $4)
         WHERE id = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(at)
    .bind(text)
    .bind(id)
    .bind(agent)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Conversation::from(row))
}

pub async fn mark_read(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("UPDATE conversations SET unread = 0 WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// What deleting a message needs to know of it.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredMessage {
    pub conversation_id: i64,
    pub direction: String,
    pub kind: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn message(conn: &mut AnyConnection, id: i64) -> Result<Option<StoredMessage>> {
    Ok(sqlx::query_as("SELECT conversation_id, direction, kind, body, created_at FROM messages WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Removes a message's content for good: the row stays (kind `deleted`), and the conversation's
/// preview is cleared if it showed that text.
pub async fn tombstone(conn: &mut AnyConnection, id: i64, conversation_id: i64, body: &str) -> Result<()> {
    sqlx::query("UPDATE messages SET kind = 'deleted', body = '', error = NULL, attachment = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE conversations SET last_preview = '' WHERE id = $1 AND last_preview = $2")
        .bind(conversation_id)
        .bind(body)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces a conversation's labels (already normalised).
pub async fn set_labels(conn: &mut AnyConnection, id: i64, labels: &[String]) -> Result<Conversation> {
    let row: ConversationRow =
        sqlx::query_as(concat!("UPDATE conversations SET labels = $1 WHERE id = $2 RETURNING ", conversation_columns!()))
            .bind(labels.join(","))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(Conversation::from(row))
}

/// Assigns a conversation to an agent, or back to the queue with `None`.
pub async fn assign(conn: &mut AnyConnection, id: i64, agent: Option<i64>) -> Result<Conversation> {
    let row: ConversationRow =
        sqlx::query_as(concat!("UPDATE conversations SET assigned_to = $1 WHERE id = $2 RETURNING ", conversation_columns!()))
            .bind(agent)
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(Conversation::from(row))
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

/// A status for a conversation message, as a webhook reported it.
pub struct StatusChange<'a> {
    pub number_id: &'a str,
    pub wamid: &'a str,
    pub status: MessageStatus,
    pub error: Option<&'a str>,
}

/// [`advance`] for a batch's statuses, set-based: each message moves once, to the furthest
/// status the batch has for it (a message delivered and read in one batch shows read), in one
/// statement per status value and up to 64 messages (a failure, which carries its own error,
/// in one of its own). Each move makes a pending event, written with the batch's others.
pub async fn advance_all(conn: &mut AnyConnection, changes: &[StatusChange<'_>], out: &mut Vec<Event>) -> Result<()> {
    let mut furthest: std::collections::HashMap<&str, &StatusChange> = Default::default();
    for c in changes {
        let best = furthest.entry(c.wamid).or_insert(c);
        if c.status.rank() > best.status.rank() {
            *best = c;
        }
    }
    let mut by_status: std::collections::BTreeMap<(i64, Option<&str>), Vec<&StatusChange>> = Default::default();
    for c in furthest.into_values() {
        let error = if c.status == MessageStatus::Failed { c.error } else { None };
        by_status.entry((c.status.rank(), error)).or_default().push(c);
    }
    for ((_, error), group) in by_status {
        let status = group[0].status;
        let numbers: std::collections::HashMap<&str, &str> = group.iter().map(|c| (c.wamid, c.number_id)).collect();
        let mut rest: Vec<&str> = numbers.keys().copied().collect();
        rest.sort_unstable();
        while !rest.is_empty() {
            let size = crate::db::chunk_size(rest.len());
            let tail = rest.split_off(size);
            let sql = format!(
                "UPDATE messages SET status = $1, status_rank = $2, error = COALESCE($3, error)
                 WHERE wamid IN ({}) AND status_rank < $2 AND (status IS NULL OR status <> 'failed')
                 RETURNING id, conversation_id, wamid, (SELECT c.assigned_to FROM conversations c WHERE c.id = messages.conversation_id)",
                crate::db::list_placeholders_after(3, size)
            );
            // Only placeholders are formatted into the text; the values are bound.
            let mut query = sqlx::query_as::<_, (i64, i64, Option<String>, Option<i64>)>(sqlx::AssertSqlSafe(sql))
                .bind(status.as_str())
                .bind(status.rank())
                .bind(error);
            for wamid in &rest {
                query = query.bind(*wamid);
            }
            let mut moved = query.fetch_all(&mut *conn).await?;
            moved.sort_by_key(|m| m.0);
            for (message_id, conversation_id, wamid, assigned_to) in moved {
                let number_id = wamid.as_deref().and_then(|w| numbers.get(w)).copied().unwrap_or_default();
                let kind = EventKind::Status { conversation_id, message_id, wamid, status, error: error.map(str::to_owned) };
                out.push(events::pending(number_id, assigned_to, kind));
            }
            rest = tail;
        }
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
        let conversation = Conversation::from(row);
        let number_id = conversation.number_id.clone();
        out.push(events::append(conn, &number_id, None, EventKind::Assignment { conversation }).await?);
    }
    Ok(out)
}

/// A sent message learns its WhatsApp id, unless it already has one.
pub async fn learn_wamid(conn: &mut AnyConnection, message_id: i64, wamid: &str) -> Result<()> {
    sqlx::query("UPDATE messages SET wamid = $1 WHERE id = $2 AND wamid IS NULL").bind(wamid).bind(message_id).execute(&mut *conn).await?;
    Ok(())
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
                        // The wamid and the move to accepted in one statement (unless a
                        // status got further first).
                        let moved: Option<(i64, Option<String>, Option<i64>)> = sqlx::query_as(
                            "UPDATE messages SET wamid = $1,
                               status = CASE WHEN status_rank < $2 AND (status IS NULL OR status <> 'failed') THEN $3 ELSE status END,
                               status_rank = CASE WHEN status_rank < $2 AND (status IS NULL OR status <> 'failed') THEN $2 ELSE status_rank END
                             WHERE id = $4
                             RETURNING conversation_id, status, (SELECT c.assigned_to FROM conversations c WHERE c.id = messages.conversation_id)",
                        )
                        .bind(wamid)
                        .bind(MessageStatus::Accepted.rank())
                        .bind(MessageStatus::Accepted.as_str())
                        .bind(message_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let Some((conversation_id, Some(status), assigned_to)) = moved {
                            if status == MessageStatus::Accepted.as_str() {
                                let kind = EventKind::Status {
                                    conversation_id,
                                    message_id,
                                    wamid: Some(wamid.to_owned()),
                                    status: MessageStatus::Accepted,
                                    error: None,
                                };
                                events.push(events::pending(number_id, assigned_to, kind));
                            }
                        }
                        // Statuses that raced ahead of this answer are already stored: apply the best.
                        let seen = crate::outbox::statuses_seen(conn, wamid).await?;
                        let best = seen.into_iter().max_by_key(|s| s.rank());
                        if let Some(status) = best {
                            advance(conn, number_id, wamid, status, None, events).await?;
                        }
                    }
                    SendOutcome::Settled { message_id, wamid } => learn_wamid(conn, message_id, wamid).await?,
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

/// Which of these WhatsApp message ids are already stored (Meta delivers some twice).
pub async fn wamids_already_stored(conn: &mut AnyConnection, wamids: &[&str]) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<(String,)> =
        crate::db::select_in(conn, wamids, |list| format!("SELECT wamid FROM messages WHERE wamid IN ({list})")).await?;
    Ok(rows.into_iter().map(|(w,)| w).collect())
}

/// A message a customer (or a group member) sent, as the webhook gave it.
pub struct Incoming<'a> {
    pub number_id: &'a str,
    /// The customer, or the group whose conversation this is.
    pub contact: &'a str,
    /// The customer's profile name, or the group's subject.
    pub contact_name: Option<&'a str>,
    pub is_group: bool,
    pub wamid: &'a str,
    pub kind: &'a str,
    /// What the inbox shows of it.
    pub body: String,
    pub attachment: Option<Attachment>,
    pub error: Option<String>,
    pub at: i64,
}

/// What [`receive`] stored: the conversations its messages went to, as the batch left them, and
/// each message, in the order given, with the index of its conversation.
pub struct Received {
    pub conversations: Vec<Conversation>,
    pub messages: Vec<(usize, Message)>,
}

/// Stores a batch of inbound messages, set-based. Each conversation (made if new) is written
/// once: it shows the batch's latest message (unless a later one is shown already) and counts
/// them all unread. The messages go in multi-row INSERTs of up to 64.
pub async fn receive(conn: &mut AnyConnection, incoming: Vec<Incoming<'_>>) -> Result<Received> {
    /// One conversation's share of the batch.
    struct Upsert<'a> {
        number_id: &'a str,
        contact: &'a str,
        contact_name: Option<&'a str>,
        is_group: bool,
        latest_at: i64,
        preview: &'a str,
        count: i64,
    }
    let mut keys: std::collections::HashMap<(&str, &str), usize> = Default::default();
    let mut upserts: Vec<Upsert> = Vec::new();
    let mut of_message = Vec::with_capacity(incoming.len());
    for m in &incoming {
        let i = *keys.entry((m.number_id, m.contact)).or_insert_with(|| {
            upserts.push(Upsert {
                number_id: m.number_id,
                contact: m.contact,
                contact_name: None,
                is_group: m.is_group,
                latest_at: i64::MIN,
                preview: "",
                count: 0,
            });
            upserts.len() - 1
        });
        let u = &mut upserts[i];
        u.count += 1;
        u.contact_name = m.contact_name.or(u.contact_name);
        // As when they come one by one: of equal times, the later shows.
        if m.at >= u.latest_at {
            u.latest_at = m.at;
            u.preview = &m.body;
        }
        of_message.push(i);
    }

    let mut conversations: Vec<Option<Conversation>> = vec![None; upserts.len()];
    for chunk in crate::db::chunks(&upserts) {
        let sql = format!(
            concat!(
                "INSERT INTO conversations (number_id, contact, contact_name, last_message_at, last_preview, last_direction, unread, last_inbound_at, is_group)
                 VALUES {}
                 ON CONFLICT (number_id, contact) DO UPDATE SET
                   contact_name = COALESCE(excluded.contact_name, conversations.contact_name),
                   last_preview = CASE WHEN excluded.last_message_at >= conversations.last_message_at THEN excluded.last_preview ELSE conversations.last_preview END,
                   last_direction = CASE WHEN excluded.last_message_at >= conversations.last_message_at THEN 'inbound' ELSE conversations.last_direction END,
                   last_message_at = CASE WHEN excluded.last_message_at >= conversations.last_message_at THEN excluded.last_message_at ELSE conversations.last_message_at END,
                   last_inbound_at = CASE WHEN conversations.last_inbound_at IS NULL OR excluded.last_inbound_at > conversations.last_inbound_at THEN excluded.last_inbound_at ELSE conversations.last_inbound_at END,
                   unread = conversations.unread + excluded.unread,
                   status = 'open', snoozed_until = NULL
                 RETURNING ",
                conversation_columns!()
            ),
            crate::db::values_placeholders(chunk.len(), 9)
        );
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query_as::<_, ConversationRow>(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql)));
        for u in chunk {
            query = query
                .bind(u.number_id)
                .bind(u.contact)
                .bind(u.contact_name)
                .bind(u.latest_at)
                .bind(u.preview)
                .bind("inbound")
                .bind(u.count)
                .bind(u.latest_at)
                .bind(u.is_group);
        }
        for row in query.fetch_all(&mut *conn).await? {
            if let Some(&i) = keys.get(&(row.number_id.as_str(), row.contact.as_str())) {
                conversations[i] = Some(Conversation::from(row));
            }
        }
    }
    let conversations = conversations
        .into_iter()
        .collect::<Option<Vec<Conversation>>>()
        .ok_or_else(|| anyhow::anyhow!("a conversation written for the batch's messages was not returned"))?;

    let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::with_capacity(incoming.len());
    for chunk in crate::db::chunks(&incoming) {
        // `status` and `status_rank` keep their defaults (none, 0): an inbound message has no status.
        let sql = format!(
            "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, error, created_at, attachment)
             VALUES {} RETURNING id, wamid",
            crate::db::values_placeholders(chunk.len(), 9)
        );
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql)));
        for m in chunk {
            let conversation = &conversations[keys[&(m.number_id, m.contact)]];
            let attachment = m.attachment.as_ref().map(serde_json::to_string).transpose().map_err(anyhow::Error::from)?;
            query = query
                .bind(conversation.id)
                .bind(m.number_id)
                .bind(m.wamid)
                .bind("inbound")
                .bind(m.kind)
                .bind(m.body.as_str())
                .bind(m.error.as_deref())
                .bind(m.at)
                .bind(attachment);
        }
        ids.extend(query.fetch_all(&mut *conn).await?.into_iter().map(|(id, wamid)| (wamid, id)));
    }

    let mut messages = Vec::with_capacity(incoming.len());
    for (m, i) in incoming.into_iter().zip(of_message) {
        let id = *ids.get(m.wamid).ok_or_else(|| anyhow::anyhow!("message {} was written but its id not returned", m.wamid))?;
        messages.push((
            i,
            Message {
                id,
                conversation_id: conversations[i].id,
                wamid: Some(m.wamid.to_owned()),
                direction: Direction::Inbound,
                kind: m.kind.to_owned(),
                body: m.body,
                status: None,
                error: m.error,
                created_at: m.at,
                auto_rule: None,
                attachment: m.attachment,
            },
        ));
    }
    Ok(Received { conversations, messages })
}

/// A group was renamed: its conversation shows the new subject (with an event).
pub async fn rename(conn: &mut AnyConnection, number_id: &str, contact: &str, name: &str, out: &mut Vec<Event>) -> Result<()> {
    let rows: Vec<ConversationRow> = sqlx::query_as(concat!(
        "UPDATE conversations SET contact_name = $1 WHERE number_id = $2 AND contact = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(name)
    .bind(number_id)
    .bind(contact)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let conversation = Conversation::from(row);
        let assigned_to = conversation.assigned_to;
        out.push(events::append(conn, number_id, assigned_to, EventKind::Conversation { conversation }).await?);
    }
    Ok(())
}

/// One message as the export writes it.
#[derive(sqlx::FromRow)]
pub(super) struct ExportedMessage {
    pub id: i64,
    pub conversation_id: i64,
    pub number_id: String,
    pub contact: String,
    pub contact_name: Option<String>,
    pub direction: String,
    pub kind: String,
    pub body: String,
    pub status: Option<String>,
    pub error: Option<String>,
    /// The email of the agent who sent it.
    pub sent_by: Option<String>,
    pub created_at: i64,
}

/// Up to `page` messages after message `after`, matching `filter` (a condition on `m`
/// (messages) and `c` (conversations) built from checked values), by id.
pub(super) async fn export_page(pool: &sqlx::AnyPool, filter: &str, after: i64, page: i64) -> Result<Vec<ExportedMessage>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT m.id, m.conversation_id, c.number_id, c.contact, c.contact_name, m.direction, m.kind, m.body, m.status, m.error,
                u.email AS sent_by, m.created_at
         FROM messages m JOIN conversations c ON c.id = m.conversation_id LEFT JOIN users u ON u.id = m.sent_by
         WHERE m.id > $1 AND {filter} ORDER BY m.id LIMIT {page}"
    )))
    .bind(after)
    .fetch_all(pool)
    .await
}

/// Sets a conversation's status (and when a snooze ends).
pub async fn set_status(conn: &mut AnyConnection, id: i64, status: ConversationStatus, until: Option<i64>) -> Result<Conversation> {
    let row: ConversationRow = sqlx::query_as(concat!(
        "UPDATE conversations SET status = $1, snoozed_until = $2 WHERE id = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(status.as_str())
    .bind(until)
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Conversation::from(row))
}

/// Assigns a conversation to `to` only if it is still with `from` (`None`: the queue), so a
/// decision made on what was read never overrides a person's change made meanwhile.
pub async fn assign_if(conn: &mut AnyConnection, id: i64, from: Option<i64>, to: Option<i64>) -> Result<Option<Conversation>> {
    let row: Option<ConversationRow> = sqlx::query_as(concat!(
        "UPDATE conversations SET assigned_to = $1 WHERE id = $2 AND COALESCE(assigned_to, 0) = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(to)
    .bind(id)
    .bind(from.unwrap_or(0))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Conversation::from))
}

/// The agents who have open conversations on a number.
pub async fn assignees(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT assigned_to FROM conversations WHERE number_id = $1 AND status = 'open' AND assigned_to IS NOT NULL",
    )
    .bind(number_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A number's open 1:1 conversations that need an agent: in the queue, or with one of
/// `released` (agents away or offline too long). Oldest customer first.
pub async fn waiting(conn: &mut AnyConnection, number_id: &str, released: &[i64]) -> Result<Vec<Conversation>> {
    let ids: Vec<String> = released.iter().map(i64::to_string).collect();
    let released_sql = if ids.is_empty() { String::new() } else { format!(" OR assigned_to IN ({})", ids.join(",")) };
    let rows: Vec<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM conversations
         WHERE number_id = $1 AND status = 'open' AND NOT is_group AND (assigned_to IS NULL{released_sql})
         ORDER BY COALESCE(last_inbound_at, last_message_at), id",
        conversation_columns!()
    )))
    .bind(number_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// Snoozed conversations whose time has come open again; returns them.
pub async fn wake_snoozed(conn: &mut AnyConnection, now: i64) -> Result<Vec<Conversation>> {
    let rows: Vec<ConversationRow> = sqlx::query_as(concat!(
        "UPDATE conversations SET status = 'open', snoozed_until = NULL WHERE status = 'snoozed' AND snoozed_until <= $1 RETURNING ",
        conversation_columns!()
    ))
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Conversation::from).collect())
}

/// When the next snooze ends.
pub async fn next_snooze_end(conn: &mut AnyConnection) -> Result<Option<i64>> {
    let (at,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(snoozed_until) FROM conversations WHERE status = 'snoozed'").fetch_one(&mut *conn).await?;
    Ok(at)
}

/// An entry of a conversation's timeline, to be written.
#[derive(Debug, Default)]
pub struct NewActivity<'a> {
    pub author: Option<i64>,
    pub text: &'a str,
    pub agent: Option<i64>,
    pub reason: Option<&'a str>,
    pub status: Option<ConversationStatus>,
    pub mentions: &'a [i64],
}

#[derive(sqlx::FromRow)]
struct ActivityRow {
    id: i64,
    conversation_id: i64,
    kind: String,
    author: Option<i64>,
    author_name: Option<String>,
    text: String,
    agent: Option<i64>,
    agent_name: Option<String>,
    reason: Option<String>,
    status: Option<String>,
    mentions: String,
    at: i64,
}

impl From<ActivityRow> for Activity {
    fn from(r: ActivityRow) -> Self {
        Activity {
            id: r.id,
            conversation_id: r.conversation_id,
            kind: ActivityKind::parse(&r.kind).unwrap_or(ActivityKind::Note),
            author: r.author,
            author_name: r.author_name,
            text: r.text,
            agent: r.agent,
            agent_name: r.agent_name,
            reason: r.reason,
            status: r.status.as_deref().and_then(ConversationStatus::parse),
            mentions: r.mentions.split(',').filter_map(|m| m.parse().ok()).collect(),
            at: r.at,
        }
    }
}

macro_rules! activity_select {
    () => {
        "SELECT a.id, a.conversation_id, a.kind, a.author, u.name AS author_name, a.text, a.agent, g.name AS agent_name,
                a.reason, a.status, a.mentions, a.at
         FROM conversation_activity a LEFT JOIN users u ON u.id = a.author LEFT JOIN users g ON g.id = a.agent "
    };
}

/// Writes a timeline entry and returns it as the console shows it.
pub async fn add_activity(
    conn: &mut AnyConnection,
    conversation_id: i64,
    kind: ActivityKind,
    entry: NewActivity<'_>,
    at: i64,
) -> Result<Activity> {
    let mentions = if entry.mentions.is_empty() {
        String::new()
    } else {
        format!(",{},", entry.mentions.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
    };
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO conversation_activity (conversation_id, kind, author, text, agent, reason, status, mentions, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(conversation_id)
    .bind(kind.as_str())
    .bind(entry.author)
    .bind(entry.text)
    .bind(entry.agent)
    .bind(entry.reason)
    .bind(entry.status.map(ConversationStatus::as_str))
    .bind(mentions)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    let row: ActivityRow = sqlx::query_as(concat!(activity_select!(), "WHERE a.id = $1")).bind(id).fetch_one(&mut *conn).await?;
    Ok(Activity::from(row))
}

/// A conversation's timeline entries besides its messages, oldest first (the last `limit`).
pub async fn activity_of(conn: &mut AnyConnection, conversation_id: i64, limit: i64) -> Result<Vec<Activity>> {
    let mut rows: Vec<ActivityRow> =
        sqlx::query_as(concat!(activity_select!(), "WHERE a.conversation_id = $1 ORDER BY a.id DESC LIMIT $2"))
            .bind(conversation_id)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
    rows.reverse();
    Ok(rows.into_iter().map(Activity::from).collect())
}
