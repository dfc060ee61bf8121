//! What the reports read: numbers, agents, conversations and messages, across the tables their
//! features own (reports write nothing). Conditions come from `AuthUser::scope_sql` and checked
//! integers.

use sqlx::AnyPool;

use crate::error::Result;

/// A number as the live view lists it.
#[derive(sqlx::FromRow)]
pub(super) struct NumberRow {
    pub id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// 1 if it can send now (connected and not disabled).
    pub online: i64,
}

/// The numbers matching `scope`.
pub(super) async fn numbers(pool: &AnyPool, scope: &str) -> Result<Vec<NumberRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, display_phone_number, verified_name, CASE WHEN connected AND NOT disabled THEN 1 ELSE 0 END AS online
         FROM numbers WHERE {scope} ORDER BY display_phone_number, id"
    )))
    .fetch_all(pool)
    .await?)
}

/// (id, name) of the enabled users matching `colleagues`, by name.
pub(super) async fn agents(pool: &AnyPool, colleagues: &str) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, name FROM users WHERE disabled = FALSE AND {colleagues} ORDER BY LOWER(name), id"
    )))
    .fetch_all(pool)
    .await?)
}

/// A conversation as the live view counts it.
#[derive(sqlx::FromRow)]
pub(super) struct OpenRow {
    pub number_id: String,
    pub assigned_to: Option<i64>,
    pub last_direction: String,
    pub last_message_at: i64,
}

/// Conversations active since `since`.
pub(super) async fn open_conversations(pool: &AnyPool, since: i64, scope: &str) -> Result<Vec<OpenRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT number_id, assigned_to, last_direction, last_message_at FROM conversations
         WHERE last_message_at >= {since} AND {scope}"
    )))
    .fetch_all(pool)
    .await?)
}

/// (number, agent, count) of replies typed since `since`.
pub(super) async fn replies_since(pool: &AnyPool, since: i64, scope: &str) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT number_id, sent_by, COUNT(*) FROM messages
         WHERE direction = 'outbound' AND sent_by IS NOT NULL AND created_at >= {since} AND {scope}
         GROUP BY number_id, sent_by"
    )))
    .fetch_all(pool)
    .await?)
}

/// A message as first-response times read it.
#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub conversation_id: i64,
    pub number_id: String,
    pub direction: String,
    pub created_at: i64,
    /// The agent who typed it (outbound only).
    pub sent_by: Option<i64>,
}

/// Every message since `since`, by conversation and time.
pub(super) async fn messages_since(pool: &AnyPool, since: i64, scope: &str) -> Result<Vec<MessageRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT conversation_id, number_id, direction, created_at, sent_by FROM messages
         WHERE created_at >= {since} AND {scope} ORDER BY conversation_id, created_at, id"
    )))
    .fetch_all(pool)
    .await?)
}
