//! The groups table.

use sqlx::AnyConnection;

use crate::clock::now_ms;
use crate::error::Result;

/// Remembers what a webhook said of a group; what it did not say stays as it was.
pub async fn remember(
    conn: &mut AnyConnection,
    group_id: &str,
    number_id: &str,
    subject: Option<&str>,
    invite_link: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, number_id, subject, invite_link, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET subject = COALESCE(excluded.subject, groups.subject),
           invite_link = COALESCE(excluded.invite_link, groups.invite_link), updated_at = excluded.updated_at",
    )
    .bind(group_id)
    .bind(number_id)
    .bind(subject)
    .bind(invite_link)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A group's subject, if a webhook has told us.
pub async fn subject(conn: &mut AnyConnection, group_id: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT subject FROM groups WHERE id = $1").bind(group_id).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(|(s,)| s))
}
