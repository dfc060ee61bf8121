//! What the reports read: numbers, agents, conversations and messages, across the tables their
//! features own (reports write nothing). Conditions come from `AuthUser::scope_sql` and checked
//! integers.

use sqlx::AnyPool;

use crate::error::Result;

/// (id, display number, verified name, 1 if it can send) of the numbers matching `scope`.
pub(super) async fn numbers(pool: &AnyPool, scope: &str) -> Result<Vec<(String, String, String, i64)>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, display_phone_number, verified_name, CASE WHEN connected AND NOT disabled THEN 1 ELSE 0 END
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

/// (number, assignee, last direction, last message time) of conversations active since `since`.
pub(super) async fn open_conversations(pool: &AnyPool, since: i64, scope: &str) -> Result<Vec<(String, Option<i64>, String, i64)>> {
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

/// (conversation, number, direction, time, sender) of every message since `since`, by
/// conversation and time.
pub(super) async fn messages_since(pool: &AnyPool, since: i64, scope: &str) -> Result<Vec<(i64, String, String, i64, Option<i64>)>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT conversation_id, number_id, direction, created_at, sent_by FROM messages
         WHERE created_at >= {since} AND {scope} ORDER BY conversation_id, created_at, id"
    )))
    .fetch_all(pool)
    .await?)
}
