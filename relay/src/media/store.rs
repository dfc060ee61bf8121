//! The `media` table: one row per file in a conversation, from Meta's media id to a file
//! under the data directory (inbound) or back (outbound).

use sqlx::AnyConnection;
use switchboard_shared::media::MediaState;

use crate::error::Result;

pub struct NewMedia<'a> {
    pub message_id: i64,
    pub conversation_id: i64,
    pub number_id: &'a str,
    pub direction: &'a str,
    pub meta_id: Option<&'a str>,
    pub kind: &'a str,
    pub mime_type: Option<&'a str>,
    pub filename: Option<&'a str>,
    pub sha256: Option<&'a str>,
    pub size: Option<i64>,
    pub state: MediaState,
    pub now: i64,
}

pub async fn add(conn: &mut AnyConnection, m: &NewMedia<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO media (message_id, conversation_id, number_id, direction, meta_id, kind, mime_type, filename, sha256, size, state, next_try_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(m.message_id)
    .bind(m.conversation_id)
    .bind(m.number_id)
    .bind(m.direction)
    .bind(m.meta_id)
    .bind(m.kind)
    .bind(m.mime_type)
    .bind(m.filename)
    .bind(m.sha256)
    .bind(m.size)
    .bind(m.state.as_str())
    .bind(m.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One file as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaRow {
    pub id: i64,
    pub message_id: i64,
    pub conversation_id: i64,
    pub number_id: String,
    pub meta_id: Option<String>,
    pub kind: String,
    pub mime_type: Option<String>,
    pub filename: Option<String>,
    pub sha256: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_try_at: i64,
}

const COLUMNS: &str =
    "id, message_id, conversation_id, number_id, meta_id, kind, mime_type, filename, sha256, state, attempts, next_try_at";

pub async fn by_message(conn: &mut AnyConnection, message_id: i64) -> Result<Option<MediaRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM media WHERE message_id = $1")))
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Files waiting to be fetched whose time has come, oldest first.
pub async fn due(conn: &mut AnyConnection, now: i64, limit: i64) -> Result<Vec<MediaRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM media WHERE state = 'pending' AND next_try_at <= $1 ORDER BY next_try_at, id LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// When the next waiting file is due, if any.
pub async fn next_due(conn: &mut AnyConnection) -> Result<Option<i64>> {
    let (at,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_try_at) FROM media WHERE state = 'pending'").fetch_one(&mut *conn).await?;
    Ok(at)
}

/// Takes a due file for this relay until `until` (another relay sharing the database skips
/// it meanwhile); false when someone else took it first.
pub async fn claim(conn: &mut AnyConnection, row: &MediaRow, until: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE media SET next_try_at = $1 WHERE id = $2 AND state = 'pending' AND next_try_at = $3")
        .bind(until)
        .bind(row.id)
        .bind(row.next_try_at)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The file is here.
pub async fn ready(conn: &mut AnyConnection, id: i64, sha: &str, size: i64, mime_type: Option<&str>) -> Result<()> {
    sqlx::query(
        "UPDATE media SET state = 'ready', sha256 = $1, size = $2, mime_type = COALESCE($3, mime_type), error = NULL, attempts = attempts + 1
         WHERE id = $4",
    )
    .bind(sha)
    .bind(size)
    .bind(mime_type)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The file will not come (`next_try_at` None) or is tried again then.
pub async fn not_yet(conn: &mut AnyConnection, id: i64, error: &str, next_try_at: Option<i64>) -> Result<()> {
    let state = if next_try_at.is_some() { "pending" } else { "failed" };
    sqlx::query("UPDATE media SET state = $1, error = $2, attempts = attempts + 1, next_try_at = COALESCE($3, next_try_at) WHERE id = $4")
        .bind(state)
        .bind(error)
        .bind(next_try_at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes a message's file row; returns the file's hash if it had one here.
pub async fn remove(conn: &mut AnyConnection, message_id: i64) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("DELETE FROM media WHERE message_id = $1 RETURNING sha256").bind(message_id).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(|(sha,)| sha).filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())))
}

/// Whether another message still shows this file.
pub async fn still_used(conn: &mut AnyConnection, sha: &str) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM media WHERE sha256 = $1 LIMIT 1").bind(sha).fetch_optional(&mut *conn).await?;
    Ok(row.is_some())
}
