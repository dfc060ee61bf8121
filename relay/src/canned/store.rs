//! The canned replies table.

use sqlx::AnyConnection;
use switchboard_shared::support::{CannedReply, CannedReplySpec};

use crate::error::Result;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    shortcut: String,
    text: String,
    numbers: String,
}

impl From<Row> for CannedReply {
    fn from(r: Row) -> Self {
        CannedReply {
            id: r.id,
            spec: CannedReplySpec {
                shortcut: r.shortcut,
                text: r.text,
                number_ids: r.numbers.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect(),
            },
        }
    }
}

fn numbers_column(spec: &CannedReplySpec) -> String {
    if spec.number_ids.is_empty() {
        String::new()
    } else {
        format!(",{},", spec.number_ids.join(","))
    }
}

/// Every canned reply, by shortcut.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<CannedReply>> {
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, shortcut, text, numbers FROM canned_replies ORDER BY shortcut").fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(CannedReply::from).collect())
}

pub async fn one(conn: &mut AnyConnection, id: i64) -> Result<Option<CannedReply>> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, shortcut, text, numbers FROM canned_replies WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.map(CannedReply::from))
}

/// The reply with this shortcut other than `except`.
pub async fn shortcut_taken(conn: &mut AnyConnection, shortcut: &str, except: i64) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM canned_replies WHERE shortcut = $1 AND id <> $2")
        .bind(shortcut)
        .bind(except)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// Stores a checked spec (its shortcut already as [`CannedReplySpec::key`] makes it).
pub async fn insert(conn: &mut AnyConnection, spec: &CannedReplySpec, now: i64) -> Result<i64> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO canned_replies (shortcut, text, numbers, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(&spec.shortcut)
            .bind(&spec.text)
            .bind(numbers_column(spec))
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}

pub async fn update(conn: &mut AnyConnection, id: i64, spec: &CannedReplySpec) -> Result<()> {
    sqlx::query("UPDATE canned_replies SET shortcut = $1, text = $2, numbers = $3 WHERE id = $4")
        .bind(&spec.shortcut)
        .bind(&spec.text)
        .bind(numbers_column(spec))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM canned_replies WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}
