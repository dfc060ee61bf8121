//! The webhook_inbox and dead_letters tables: every signed body as Meta sent it, whether it has
//! been processed, and what could not be understood.

use sqlx::{AnyConnection, AnyPool};

use crate::error::Result;

/// A body to store: when it was received, its bytes, and whether it carries nothing but status
/// updates (those are digested after everything else).
pub(super) struct NewBody<'a> {
    pub received_at: i64,
    pub body: &'a [u8],
    pub statuses_only: bool,
}

/// Stores bodies in one transaction.
pub(super) async fn store_bodies(pool: &AnyPool, bodies: &[NewBody<'_>]) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for chunk in crate::db::chunks(bodies) {
        let sql = format!(
            "INSERT INTO webhook_inbox (received_at, body, statuses_only) VALUES {}",
            crate::db::values_placeholders(chunk.len(), 3)
        );
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in chunk {
            query = query.bind(b.received_at).bind(b.body.to_vec()).bind(b.statuses_only);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// The bodies to process next, (id, body): those that carry more than statuses first (a
/// customer's message never waits behind a status storm), each kind oldest first; at most
/// `limit` of them, and no more than fill `bytes` (the first always comes, however large). A
/// body's size stands for its work: a message is a few hundred bytes, a thousand statuses a few
/// hundred kilobytes. Returned in the order read.
pub async fn unprocessed(conn: &mut AnyConnection, limit: i64, bytes: i64) -> Result<Vec<(i64, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT id, body FROM ( \
           SELECT id, body, statuses_only, \
             SUM(LENGTH(body)) OVER (ORDER BY statuses_only, id) - LENGTH(body) AS before \
           FROM (SELECT id, body, statuses_only FROM webhook_inbox WHERE processed = FALSE \
                 ORDER BY statuses_only, id LIMIT $1) AS next \
         ) AS sized WHERE before < $2 ORDER BY statuses_only, id",
    )
    .bind(limit)
    .bind(bytes)
    .fetch_all(&mut *conn)
    .await?)
}

/// How many bodies wait to be processed, and when the oldest of them was received.
pub(super) async fn backlog(conn: &mut AnyConnection) -> Result<(i64, Option<i64>)> {
    // Both from the unprocessed index: the count, and the row it lists first (ids are given in
    // the order bodies are stored).
    Ok(sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE), \
         (SELECT received_at FROM webhook_inbox WHERE processed = FALSE ORDER BY id LIMIT 1)",
    )
    .fetch_one(&mut *conn)
    .await?)
}

pub(super) async fn mark_processed(conn: &mut AnyConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    // The ids are integers we read, not outside input.
    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE webhook_inbox SET processed = TRUE WHERE id IN ({})", list.join(","))))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keeps what could not be understood, with why; returns its id.
pub(super) async fn dead_letter(conn: &mut AnyConnection, inbox_id: i64, reason: &str, body: &[u8], at: i64) -> Result<i64> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO dead_letters (inbox_id, reason, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(inbox_id)
            .bind(reason)
            .bind(body.to_vec())
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}
