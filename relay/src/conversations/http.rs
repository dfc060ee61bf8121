//! The shared inbox: conversations across all numbers, their messages, replies.

use axum::extract::{Path, State};
use axum::Json;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{
    normalize_labels, Activity, ActivityKind, AssignRequest, BulkAssignRequest, Colleague, Conversation, ConversationStatus, Direction,
    EventKind, InboxSnapshot, LabelsRequest, Message, NoteRequest, ReplyRequest, StatusRequest,
};
use switchboard_shared::limits;
use switchboard_shared::media::Attachment;
use switchboard_shared::wire::{OutboundBody, SendRequest};
use switchboard_shared::MessageStatus;

use super::store;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::outbox::{self, Payload};
use crate::{events, AppState};

/// Conversations the inbox snapshot holds, and messages a conversation shows.
const INBOX_SIZE: i64 = 500;

/// `GET /api/v1/conversations`: the 500 most recent conversations on the user's numbers (only
/// their own when they see assigned conversations only).
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<InboxSnapshot>> {
    // Read the event id first: anything newer arrives on the stream, at worst twice.
    let seq = events::last_seq(&state).await?;
    let mut conn = state.db.pool.acquire().await?;
    let recent = store::recent(&mut conn, &user.scope_sql("number_id", Some("assigned_to")), INBOX_SIZE).await?;
    Ok(Json(InboxSnapshot { seq, conversations: recent.into_iter().map(|c| user.present_conversation(c)).collect() }))
}

/// Most conversations a search answers with.
const SEARCH_SIZE: i64 = 100;

/// `GET /api/v1/conversations/search?q=`: conversations in the user's scope whose customer's
/// name or phone, or any message, contains the words.
pub async fn search(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Query(q): axum::extract::Query<switchboard_shared::api::SearchQuery>,
) -> Result<Json<Vec<Conversation>>> {
    let needle = q.q.trim();
    if needle.is_empty() || needle.chars().count() > 100 {
        return Err(AppError::bad_request("invalid_search", "Search for 1 to 100 characters."));
    }
    let mut conn = state.db.pool.acquire().await?;
    let found = store::search(&mut conn, &user.scope_sql("number_id", Some("assigned_to")), needle, SEARCH_SIZE).await?;
    Ok(Json(found.into_iter().map(|c| user.present_conversation(c)).collect()))
}

/// The conversation if it exists and the user may see it; otherwise not found (so its
/// existence is not revealed).
async fn visible_conversation(conn: &mut sqlx::AnyConnection, user: &AuthUser, id: i64) -> Result<Conversation> {
    let conversation = store::load_conversation(conn, id).await?.ok_or(AppError::NotFound)?;
    if !user.may_see_conversation(&conversation.number_id, conversation.assigned_to) {
        return Err(AppError::NotFound);
    }
    Ok(conversation)
}

/// `GET /api/v1/conversations/{id}/messages`: the conversation's last 500 messages, oldest first.
pub async fn messages(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<Vec<Message>>> {
    let mut conn = state.db.pool.acquire().await?;
    visible_conversation(&mut conn, &user, id).await?;
    Ok(Json(store::messages_of(&mut conn, id, INBOX_SIZE).await?))
}

/// `POST /api/v1/conversations/{id}/messages`: an agent's reply, queued for the number's lane.
pub async fn reply(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ReplyRequest>,
) -> Result<Json<Message>> {
    outbox::check_text(&request.text).map_err(|m| AppError::bad_request("invalid_text", m))?;
    let text = request.text.trim().to_owned();
    let outgoing = Outgoing { preview: text.clone(), body: OutboundBody::text(text), attachment: None };
    let mut tx = state.db.pool.begin().await?;
    let (message, event) = queue_from_agent(&mut tx, &user, id, outgoing).await?;
    tx.commit().await?;
    sent(&state, event);
    Ok(Json(message))
}

/// `POST /api/v1/conversations/{id}/template`: an approved template of the number's account,
/// with its values; WhatsApp allows it outside the 24-hour window (and inside it too).
pub async fn send_template(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<switchboard_shared::api::TemplateReplyRequest>,
) -> Result<Json<Message>> {
    use switchboard_shared::broadcast as templates;
    use switchboard_shared::wire::{TemplateLanguage, TemplateSend};
    let bad = |code: &'static str, message: String| AppError::bad_request(code, message);
    let mut tx = state.db.pool.begin().await?;
    let conversation = visible_conversation(&mut tx, &user, id).await?;
    let values: Vec<String> = request.parameters.iter().map(|p| p.trim().to_owned()).collect();
    let (_, template) =
        crate::numbers::templates::approved(&mut tx, &conversation.number_id, &request.name, &request.language, values.len()).await?;
    if templates::needs_header_media(&template.components) {
        return Err(bad(
            "template_needs_media",
            format!("template {} has a photo or document header; send it from Broadcasts, which takes the header", request.name),
        ));
    }
    if values.iter().any(|v| v.is_empty() || v.chars().count() > 1024) {
        return Err(bad("parameters", format!("each value of template {} has 1 to 1,024 characters", request.name)));
    }
    let body = templates::body_text(&template.components).unwrap_or_default();
    let send = TemplateSend {
        name: template.name.clone(),
        language: TemplateLanguage { code: template.language.clone(), policy: None },
        components: templates::components(None, &values),
    };
    let outgoing =
        Outgoing { preview: templates::render(body, &values), body: OutboundBody::Template { template: send }, attachment: None };
    let (message, event) = queue_from_agent(&mut tx, &user, id, outgoing).await?;
    tx.commit().await?;
    sent(&state, event);
    Ok(Json(message))
}

/// What an agent sends: a text, or a file (by the media id its upload gave) with its caption.
pub struct Outgoing {
    /// What the conversation and the inbox show of it.
    pub preview: String,
    pub body: OutboundBody,
    pub attachment: Option<Attachment>,
}

/// The conversation, if the user may send in it now: it is in their scope, a group needs the
/// right to manage groups, and the customer wrote in the last 24 hours (else only a template
/// may go, and WhatsApp would refuse anything else).
pub async fn sendable(conn: &mut sqlx::AnyConnection, user: &AuthUser, id: i64) -> Result<Conversation> {
    sendable_as(conn, user, id, false).await
}

async fn sendable_as(conn: &mut sqlx::AnyConnection, user: &AuthUser, id: i64, template: bool) -> Result<Conversation> {
    let conversation = visible_conversation(conn, user, id).await?;
    if conversation.is_group {
        // Speaking in a group speaks to every member: a group action.
        user.require(Permission::ManageGroups)?;
    }
    if !template && conversation.last_inbound_at.is_none_or(|t| now_ms() - t >= limits::CUSTOMER_SERVICE_WINDOW_MS) {
        return Err(AppError::bad_request(
            "outside_service_window",
            "The customer has not written in the last 24 hours; WhatsApp only allows a template now.",
        ));
    }
    Ok(conversation)
}

/// Records an agent's message in `tx` and queues its send (and marks the customer's last
/// message read): the message and the event to publish once `tx` commits (then call [`sent`]).
pub async fn queue_from_agent(
    tx: &mut sqlx::AnyConnection,
    user: &AuthUser,
    id: i64,
    outgoing: Outgoing,
) -> Result<(Message, switchboard_shared::api::Event)> {
    let conversation = sendable_as(tx, user, id, outgoing.body.is_template()).await?;
    let now = now_ms();
    let kind = outgoing.body.kind();
    let last_inbound = store::last_inbound_wamid(tx, id).await?;
    let message_id =
        store::add_outbound(tx, &conversation, kind, &outgoing.preview, outgoing.attachment.as_ref(), now, Some(user.id)).await?;
    let conversation = store::replied(tx, id, &outgoing.preview, now, user.id).await?;
    let send = if conversation.is_group {
        SendRequest::group(conversation.contact.clone(), outgoing.body)
    } else {
        SendRequest::individual(conversation.contact.clone(), outgoing.body)
    };
    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
    outbox::enqueue(tx, &format!("reply-{message_id}"), &conversation.number_id, Some(message_id), &payload).await?;
    if let Some(wamid) = last_inbound {
        outbox::enqueue(tx, &format!("read-{wamid}"), &conversation.number_id, None, &Payload::MarkRead { wamid }).await?;
    }
    let message = Message {
        id: message_id,
        conversation_id: id,
        wamid: None,
        direction: Direction::Outbound,
        kind: kind.into(),
        body: outgoing.preview,
        status: Some(MessageStatus::Pending),
        error: None,
        created_at: now,
        auto_rule: None,
        attachment: outgoing.attachment,
    };
    let number_id = conversation.number_id.clone();
    let assigned_to = conversation.assigned_to;
    let event = events::append(tx, &number_id, assigned_to, EventKind::Message { conversation, message: message.clone() }).await?;
    Ok((message, event))
}

/// After the commit: the console hears of the message and the number's lane sends it.
pub fn sent(state: &AppState, event: switchboard_shared::api::Event) {
    let number_id = event.number_id.clone();
    state.events.publish(vec![event]);
    state.lanes.wake(&number_id);
}

/// `POST /api/v1/conversations/{id}/read`: the agent opened it; clears the unread count.
pub async fn mark_read(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let mut conn = state.db.pool.acquire().await?;
    visible_conversation(&mut conn, &user, id).await?;
    store::mark_read(&mut conn, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/messages/{id}`: removes a message's content from the record. The row stays
/// as a tombstone (kind `deleted`, no text), so a late status or a duplicate webhook cannot
/// bring it back. The audit entry says what was deleted, never the text itself.
pub async fn delete_message(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let store::StoredMessage { conversation_id, direction, kind, body, created_at } =
        store::message(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let conversation = visible_conversation(&mut tx, &user, conversation_id).await?;
    if kind == "deleted" {
        return Ok(axum::http::StatusCode::NO_CONTENT);
    }
    store::tombstone(&mut tx, id, conversation_id, &body).await?;
    let orphan = crate::message_deleted(&mut tx, &state.config.data_dir, id).await?;
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
    if let Some(path) = orphan {
        // Its file goes too, unless another message shows the same one.
        if let Err(e) = tokio::fs::remove_file(&path).await {
            tracing::warn!("could not remove {}: {e}", path.display());
        }
    }
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
    let conversation = store::set_labels(&mut tx, id, &labels).await?;
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
        match crate::access::works_on(&mut tx, agent, &before.number_id).await? {
            Some(true) => {}
            Some(false) => return Err(AppError::bad_request("out_of_scope", "That agent does not work on this number.")),
            None => return Err(AppError::bad_request("unknown_agent", "There is no active agent with that id.")),
        }
    }
    let conversation = store::assign(&mut tx, id, request.agent_id).await?;
    let number_id = conversation.number_id.clone();
    let reason = if request.agent_id == Some(user.id) { "took it" } else { "assigned by hand" };
    let entry =
        store::NewActivity { author: Some(user.id), text: reason, agent: request.agent_id, reason: Some("manual"), ..Default::default() };
    let activity = store::add_activity(&mut tx, id, ActivityKind::Assignment, entry, state.clock.now_ms()).await?;
    let noted = events::append(&mut tx, &number_id, conversation.assigned_to, EventKind::Activity { activity }).await?;
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
    state.events.publish(vec![noted, event]);
    Ok(Json(user.present_conversation(conversation)))
}

/// The longest note, in characters.
const NOTE_MAX_CHARS: usize = 4096;
/// A snooze ends within a year.
const SNOOZE_MAX_MS: i64 = 366 * 24 * 3_600_000;

/// `GET /api/v1/conversations/{id}/activity`: the conversation's notes, assignment decisions
/// and status changes, oldest first.
pub async fn activity(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<Vec<Activity>>> {
    let mut conn = state.db.pool.acquire().await?;
    visible_conversation(&mut conn, &user, id).await?;
    Ok(Json(store::activity_of(&mut conn, id, INBOX_SIZE).await?))
}

/// `POST /api/v1/conversations/{id}/status`: open, pending (waiting on the customer),
/// resolved, or snoozed until a time.
pub async fn set_status(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Json<Conversation>> {
    let now = state.clock.now_ms();
    let until = match (request.status, request.snoozed_until) {
        (ConversationStatus::Snoozed, Some(t)) if t > now && t - now <= SNOOZE_MAX_MS => Some(t),
        (ConversationStatus::Snoozed, _) => {
            return Err(AppError::bad_request("invalid_snooze", "A snooze needs a time in the future, within a year."));
        }
        (_, Some(_)) => return Err(AppError::bad_request("invalid_snooze", "Only a snoozed conversation has a time to wake.")),
        (_, None) => None,
    };
    let mut tx = state.db.pool.begin().await?;
    let before = visible_conversation(&mut tx, &user, id).await?;
    if before.status == request.status && before.snoozed_until == until {
        return Ok(Json(user.present_conversation(before)));
    }
    let conversation = store::set_status(&mut tx, id, request.status, until).await?;
    let entry =
        store::NewActivity { author: Some(user.id), text: request.status.as_str(), status: Some(request.status), ..Default::default() };
    let activity = store::add_activity(&mut tx, id, ActivityKind::Status, entry, now).await?;
    let (number_id, agent) = (conversation.number_id.clone(), conversation.assigned_to);
    let events = vec![
        events::append(&mut tx, &number_id, agent, EventKind::Activity { activity }).await?,
        events::append(&mut tx, &number_id, agent, EventKind::Conversation { conversation: conversation.clone() }).await?,
    ];
    crate::access::audit::record_on(
        &mut tx,
        &user,
        &[&number_id],
        "conversation.status",
        &format!("conversation:{id}"),
        Some(serde_json::json!({"status": before.status, "snoozed_until": before.snoozed_until})),
        Some(serde_json::json!({"status": conversation.status, "snoozed_until": conversation.snoozed_until})),
    )
    .await?;
    tx.commit().await?;
    state.events.publish(events);
    // A conversation opened again (or closed) changes who has room.
    state.assignment_bell.notify_one();
    Ok(Json(user.present_conversation(conversation)))
}

/// `POST /api/v1/conversations/{id}/notes`: an internal note, never sent to the customer; the
/// colleagues it mentions (who must work on the number) see it live.
pub async fn add_note(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<NoteRequest>,
) -> Result<Json<Activity>> {
    let text = request.text.trim();
    if text.is_empty() || text.chars().count() > NOTE_MAX_CHARS {
        return Err(AppError::bad_request("invalid_note", format!("A note has 1 to {NOTE_MAX_CHARS} characters.")));
    }
    let mut mentions = request.mentions.clone();
    mentions.sort_unstable();
    mentions.dedup();
    let mut tx = state.db.pool.begin().await?;
    let conversation = visible_conversation(&mut tx, &user, id).await?;
    for m in &mentions {
        if crate::access::works_on(&mut tx, *m, &conversation.number_id).await? != Some(true) {
            return Err(AppError::bad_request("invalid_mention", format!("User {m} does not work on this conversation's number.")));
        }
    }
    let entry = store::NewActivity { author: Some(user.id), text, mentions: &mentions, ..Default::default() };
    let activity = store::add_activity(&mut tx, id, ActivityKind::Note, entry, state.clock.now_ms()).await?;
    let event =
        events::append(&mut tx, &conversation.number_id, conversation.assigned_to, EventKind::Activity { activity: activity.clone() })
            .await?;
    tx.commit().await?;
    state.events.publish(vec![event]);
    Ok(Json(activity))
}

/// `GET /api/v1/conversations/{id}/colleagues`: who may work on it (for assigning and
/// `@mentions`), with who is on duty now.
pub async fn colleagues(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<Vec<Colleague>>> {
    let mut conn = state.db.pool.acquire().await?;
    let conversation = visible_conversation(&mut conn, &user, id).await?;
    let rows = crate::access::colleagues_on(&mut conn, &conversation.number_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, name, code, away)| Colleague { id, name, code, online: state.events.unavailable_since(id, away == 1).is_none() })
            .collect(),
    ))
}

/// Most conversations moved at once.
const BULK_MAX: usize = 1000;

/// `POST /api/v1/conversations/assign`: a supervisor moves many conversations to one agent
/// (or back to the queue); if any of them is not visible, or the agent does not work on one's
/// number, nothing moves.
pub async fn assign_many(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<BulkAssignRequest>,
) -> Result<Json<Vec<Conversation>>> {
    if !(user.can(Permission::ManageAgents) || user.can(Permission::ViewReports)) {
        return Err(AppError::Forbidden("Only a supervisor can move conversations in bulk.".into()));
    }
    let mut ids = request.conversation_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > BULK_MAX {
        return Err(AppError::bad_request("invalid_selection", format!("Choose 1 to {BULK_MAX} conversations.")));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.pool.begin().await?;
    let mut moved = Vec::with_capacity(ids.len());
    let mut out = Vec::new();
    for id in ids {
        let before = visible_conversation(&mut tx, &user, id).await?;
        if let Some(agent) = request.agent_id {
            match crate::access::works_on(&mut tx, agent, &before.number_id).await? {
                Some(true) => {}
                Some(false) => {
                    return Err(AppError::bad_request(
                        "out_of_scope",
                        format!("That agent does not work on the number of conversation {id}."),
                    ))
                }
                None => return Err(AppError::bad_request("unknown_agent", "There is no active agent with that id.")),
            }
        }
        if before.assigned_to == request.agent_id {
            moved.push(user.present_conversation(before));
            continue;
        }
        let conversation = store::assign(&mut tx, id, request.agent_id).await?;
        let number_id = conversation.number_id.clone();
        let entry = store::NewActivity {
            author: Some(user.id),
            text: "moved in bulk",
            agent: request.agent_id,
            reason: Some("bulk"),
            ..Default::default()
        };
        let activity = store::add_activity(&mut tx, id, ActivityKind::Assignment, entry, now).await?;
        out.push(events::append(&mut tx, &number_id, conversation.assigned_to, EventKind::Activity { activity }).await?);
        out.push(
            events::append(&mut tx, &number_id, conversation.assigned_to, EventKind::Assignment { conversation: conversation.clone() })
                .await?,
        );
        crate::access::audit::record_on(
            &mut tx,
            &user,
            &[&number_id],
            "conversation.assign",
            &format!("conversation:{id}"),
            Some(serde_json::json!({"assigned_to": before.assigned_to})),
            Some(serde_json::json!({"assigned_to": conversation.assigned_to, "bulk": true})),
        )
        .await?;
        moved.push(user.present_conversation(conversation));
    }
    tx.commit().await?;
    state.events.publish(out);
    Ok(Json(moved))
}
