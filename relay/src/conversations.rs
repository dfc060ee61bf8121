//! The shared inbox: conversations across all numbers, their messages, replies.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use switchboard_shared::api::{Conversation, Direction, EventKind, Message, ReplyRequest};
use switchboard_shared::limits;
use switchboard_shared::wire::{OutboundBody, SendRequest};
use switchboard_shared::MessageStatus;

use crate::auth::AuthUser;
use crate::db::now_ms;
use crate::error::{AppError, Result};
use crate::outbox::{self, Payload};
use crate::webhook::process::{conversation_from_row, load_conversation};
use crate::conversation_columns;
use crate::{events, AppState};

/// The inbox snapshot; `seq` is the event id it is current to, so the console follows the
/// event stream from there.
#[derive(Debug, Serialize)]
pub struct InboxSnapshot {
    pub seq: i64,
    pub conversations: Vec<Conversation>,
}

/// `GET /api/v1/conversations`: the 500 most recent conversations across all numbers.
pub async fn list(State(state): State<AppState>, _user: AuthUser) -> Result<Json<InboxSnapshot>> {
    // Read the event id first: anything newer arrives on the stream, at worst twice.
    let seq = events::last_seq(&state).await?;
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        conversation_columns!(),
        " FROM conversations ORDER BY last_message_at DESC, id DESC LIMIT 500"
    ))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(InboxSnapshot { seq, conversations: rows.into_iter().map(conversation_from_row).collect() }))
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
pub async fn messages(State(state): State<AppState>, _user: AuthUser, Path(id): Path<i64>) -> Result<Json<Vec<Message>>> {
    let mut conn = state.db.pool.acquire().await?;
    load_conversation(&mut conn, id).await?.ok_or(AppError::NotFound)?;
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
    _user: AuthUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<Message>> {
    let request: ReplyRequest =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request("invalid_body", format!("expected {{\"text\"}}: {e}")))?;
    outbox::check_text(&request.text).map_err(|m| AppError::bad_request("invalid_text", m))?;
    let mut tx = state.db.pool.begin().await?;
    let conversation = load_conversation(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let now = now_ms();
    if !conversation.last_inbound_at.is_some_and(|t| now - t < limits::CUSTOMER_SERVICE_WINDOW_MS) {
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
        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at)
         VALUES ($1, $2, NULL, 'outbound', 'text', $3, 'pending', 0, NULL, $4) RETURNING id",
    )
    .bind(id)
    .bind(&conversation.number_id)
    .bind(&text)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let row = sqlx::query_as(concat!(
        "UPDATE conversations SET last_message_at = $1, last_preview = $2, last_direction = 'outbound', unread = 0
         WHERE id = $3 RETURNING ",
        conversation_columns!()
    ))
    .bind(now)
    .bind(&text)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let conversation = conversation_from_row(row);
    let send = SendRequest::individual(conversation.contact.clone(), OutboundBody::text(text.clone()));
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
    let event = events::append(&mut tx, &number_id, EventKind::Message { conversation, message: message.clone() }).await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    state.lanes.wake(&number_id);
    Ok(Json(message))
}

/// `POST /api/v1/conversations/{id}/read`: the agent opened it; clears the unread count.
pub async fn mark_read(State(state): State<AppState>, _user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let done = sqlx::query("UPDATE conversations SET unread = 0 WHERE id = $1").bind(id).execute(&state.db.pool).await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}
