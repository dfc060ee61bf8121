//! The shared inbox: conversations across all numbers, their messages, replies.

use axum::extract::{Path, State};
use axum::Json;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{
    normalize_labels, AssignRequest, Conversation, Direction, EventKind, InboxSnapshot, LabelsRequest, Message, ReplyRequest,
};
use switchboard_shared::limits;
use switchboard_shared::wire::{OutboundBody, SendRequest};
use switchboard_shared::MessageStatus;

use super::store::{conversation_from_row, load_conversation, ConversationRow};
use crate::access::AuthUser;
use crate::conversation_columns;
use crate::db::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::outbox::{self, Payload};
use crate::{events, AppState};

/// `GET /api/v1/conversations`: the 500 most recent conversations on the user's numbers (only
/// their own when they see assigned conversations only).
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<InboxSnapshot>> {
    // Read the event id first: anything newer arrives on the stream, at worst twice.
    let seq = events::last_seq(&state).await?;
    let rows: Vec<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM conversations WHERE {} ORDER BY last_message_at DESC, id DESC LIMIT 500",
        conversation_columns!(),
        user.scope_sql("number_id", Some("assigned_to"))
    )))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(InboxSnapshot { seq, conversations: rows.into_iter().map(|r| user.present_conversation(conversation_from_row(r))).collect() }))
}

/// The conversation if it exists and the user may see it; otherwise not found (so its
/// existence is not revealed).
async fn visible_conversation(conn: &mut sqlx::AnyConnection, user: &AuthUser, id: i64) -> Result<Conversation> {
    let conversation = load_conversation(conn, id).await?.ok_or(AppError::NotFound)?;
    if !user.may_see_conversation(&conversation.number_id, conversation.assigned_to) {
        return Err(AppError::NotFound);
    }
    Ok(conversation)
}

type MessageRow = (i64, i64, Option<String>, String, String, String, Option<String>, Option<String>, i64);

fn message_from(row: MessageRow) -> Message {
    let (id, conversation_id, wamid, direction, kind, body, status, error, created_at) = row;
    Message {
        id,
        conversation_id,
        wamid,
        direction: if direction == "outbound" { Direction::Outbound } else { Direction::Inbound },
        kind,
        body,
        status: status.as_deref().and_then(MessageStatus::parse),
        error,
        created_at,
    }
}

/// `GET /api/v1/conversations/{id}/messages`: the conversation's last 500 messages, oldest first.
pub async fn messages(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<Vec<Message>>> {
    let mut conn = state.db.pool.acquire().await?;
    visible_conversation(&mut conn, &user, id).await?;
    let mut rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, conversation_id, wamid, direction, kind, body, status, error, created_at
         FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.reverse();
    Ok(Json(rows.into_iter().map(message_from).collect()))
}

/// `POST /api/v1/conversations/{id}/messages`: an agent's reply, queued for the number's lane.
pub async fn reply(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ReplyRequest>,
) -> Result<Json<Message>> {
    outbox::check_text(&request.text).map_err(|m| AppError::bad_request("invalid_text", m))?;
    let mut tx = state.db.pool.begin().await?;
    let conversation = visible_conversation(&mut tx, &user, id).await?;
    if conversation.is_group {
        // Speaking in a group speaks to every member: a group action.
        user.require(Permission::ManageGroups)?;
    }
    let now = now_ms();
    if conversation.last_inbound_at.is_none_or(|t| now - t >= limits::CUSTOMER_SERVICE_WINDOW_MS) {
        return Err(AppError::bad_request(
            "outside_service_window",
            "The customer has not written in the last 24 hours; WhatsApp only allows a template now.",
        ));
    }
    let last_inbound: Option<(String,)> = sqlx::query_as(
        "SELECT wamid FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND wamid IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let text = request.text.trim().to_owned();
    let (message_id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at, sent_by)
         VALUES ($1, $2, NULL, 'outbound', 'text', $3, 'pending', 0, NULL, $4, $5) RETURNING id",
    )
    .bind(id)
    .bind(&conversation.number_id)
    .bind(&text)
    .bind(now)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    let row = sqlx::query_as(concat!(
        "UPDATE conversations SET last_message_at = $1, last_preview = $2, last_direction = 'outbound', unread = 0,
           assigned_to = COALESCE(assigned_to, $4)
         WHERE id = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(now)
    .bind(&text)
    .bind(id)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    let conversation = conversation_from_row(row);
    let body = OutboundBody::text(text.clone());
    let send = if conversation.is_group {
        SendRequest::group(conversation.contact.clone(), body)
    } else {
        SendRequest::individual(conversation.contact.clone(), body)
    };
    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
    outbox::enqueue(&mut tx, &format!("reply-{message_id}"), &conversation.number_id, Some(message_id), &payload).await?;
    if let Some((wamid,)) = last_inbound {
        outbox::enqueue(&mut tx, &format!("read-{wamid}"), &conversation.number_id, None, &Payload::MarkRead { wamid }).await?;
    }
    let message = Message {
        id: message_id,
        conversation_id: id,
        wamid: None,
        direction: Direction::Outbound,
        kind: "text".into(),
        body: text,
        status: Some(MessageStatus::Pending),
        error: None,
        created_at: now,
    };
    let number_id = conversation.number_id.clone();
    let assigned_to = conversation.assigned_to;
    let event = events::append(&mut tx, &number_id, assigned_to, EventKind::Message { conversation, message: message.clone() }).await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    state.lanes.wake(&number_id);
    Ok(Json(message))
}

/// `POST /api/v1/conversations/{id}/read`: the agent opened it; clears the unread count.
pub async fn mark_read(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let mut conn = state.db.pool.acquire().await?;
    visible_conversation(&mut conn, &user, id).await?;
    sqlx::query("UPDATE conversations SET unread = 0 WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/messages/{id}`: removes a message's content from the record. The row stays
/// as a tombstone (kind `deleted`, no text), so a late status or a duplicate webhook cannot
/// bring it back. The audit entry says what was deleted, never the text itself.
pub async fn delete_message(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let row: Option<(i64, String, String, String, i64)> =
        sqlx::query_as("SELECT conversation_id, direction, kind, body, created_at FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let (conversation_id, direction, kind, body, created_at) = row.ok_or(AppError::NotFound)?;
    let conversation = visible_conversation(&mut tx, &user, conversation_id).await?;
    if kind == "deleted" {
        return Ok(axum::http::StatusCode::NO_CONTENT);
    }
    sqlx::query("UPDATE messages SET kind = 'deleted', body = '', error = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE conversations SET last_preview = '' WHERE id = $1 AND last_preview = $2")
        .bind(conversation_id)
        .bind(&body)
        .execute(&mut *tx)
        .await?;
    let event = events::append(
        &mut tx,
        &conversation.number_id,
        conversation.assigned_to,
        EventKind::MessageDeleted { conversation_id, message_id: id },
    )
    .await?;
    crate::access::audit::record_on(
        &mut tx,
        &user,
        &[&conversation.number_id],
        "message.delete",
        &format!("message:{id}"),
        Some(serde_json::json!({"conversation_id": conversation_id, "direction": direction, "kind": kind,
                                "created_at": created_at, "characters": body.chars().count()})),
        None,
    )
    .await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/conversations/{id}/labels`: replaces the conversation's labels.
pub async fn set_labels(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<LabelsRequest>,
) -> Result<Json<Conversation>> {
    let labels = normalize_labels(&request.labels).map_err(|m| AppError::bad_request("invalid_label", m))?;
    let mut tx = state.db.pool.begin().await?;
    let before = visible_conversation(&mut tx, &user, id).await?;
    let row: ConversationRow =
        sqlx::query_as(concat!("UPDATE conversations SET labels = $1 WHERE id = $2 RETURNING ", conversation_columns!()))
            .bind(labels.join(","))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let conversation = conversation_from_row(row);
    let number_id = conversation.number_id.clone();
    let event =
        events::append(&mut tx, &number_id, conversation.assigned_to, EventKind::Conversation { conversation: conversation.clone() })
            .await?;
    crate::access::audit::record_on(
        &mut tx,
        &user,
        &[&number_id],
        "conversation.labels",
        &format!("conversation:{id}"),
        Some(serde_json::json!({"labels": before.labels})),
        Some(serde_json::json!({"labels": conversation.labels})),
    )
    .await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    Ok(Json(user.present_conversation(conversation)))
}

/// `POST /api/v1/conversations/{id}/assign`: to an agent (one who works on that number), to
/// oneself, or back to the queue with `null`. Taking one from the queue (or giving one's own
/// back) needs reply; taking over a colleague's or assigning to others also needs manage-agents
/// or view-reports (a supervisor).
pub async fn assign(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<AssignRequest>,
) -> Result<Json<Conversation>> {
    let supervises = user.can(Permission::ManageAgents) || user.can(Permission::ViewReports);
    let mut tx = state.db.pool.begin().await?;
    let before = visible_conversation(&mut tx, &user, id).await?;
    match request.agent_id {
        // Anyone who may reply takes a conversation from the queue, or gives their own back.
        Some(agent) if agent == user.id && before.assigned_to.is_none_or(|a| a == user.id) => {}
        None if before.assigned_to == Some(user.id) => {}
        _ if supervises => {}
        _ => return Err(AppError::Forbidden("Only a supervisor can take over a colleague's conversation or assign to others.".into())),
    }
    if let Some(agent) = request.agent_id {
        let target: Option<(i64, i64)> = sqlx::query_as(
            "SELECT CASE WHEN all_numbers THEN 1 ELSE 0 END,
                    (SELECT COUNT(*) FROM user_numbers un WHERE un.user_id = users.id AND un.number_id = $2)
             FROM users WHERE id = $1 AND disabled = FALSE",
        )
        .bind(agent)
        .bind(&before.number_id)
        .fetch_optional(&mut *tx)
        .await?;
        match target {
            Some((all, on_number)) if all == 1 || on_number > 0 => {}
            Some(_) => return Err(AppError::bad_request("out_of_scope", "That agent does not work on this number.")),
            None => return Err(AppError::bad_request("unknown_agent", "There is no active agent with that id.")),
        }
    }
    let row: ConversationRow =
        sqlx::query_as(concat!("UPDATE conversations SET assigned_to = $1 WHERE id = $2 RETURNING ", conversation_columns!()))
            .bind(request.agent_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let conversation = conversation_from_row(row);
    let number_id = conversation.number_id.clone();
    let event =
        events::append(&mut tx, &number_id, conversation.assigned_to, EventKind::Assignment { conversation: conversation.clone() }).await?;
    crate::access::audit::record_on(
        &mut tx,
        &user,
        &[&number_id],
        "conversation.assign",
        &format!("conversation:{id}"),
        Some(serde_json::json!({"assigned_to": before.assigned_to})),
        Some(serde_json::json!({"assigned_to": conversation.assigned_to})),
    )
    .await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    Ok(Json(user.present_conversation(conversation)))
}
