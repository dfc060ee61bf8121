//! Conversation export: every message matching the filters, as CSV or JSON, streamed in
//! pages of `PAGE` rows so 100,000 messages never sit in memory at once, and so the single
//! SQLite connection is held only for one short query at a time (webhooks keep flowing).

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use switchboard_shared::access::{mask_phone, Permission, Scope};

use crate::access::audit;
use crate::access::AuthUser;
use crate::clock::rfc3339;
use crate::error::{AppError, Result};
use crate::AppState;

/// Rows per query.
pub const PAGE: i64 = 2000;

/// One exported message.
#[derive(Debug, Serialize)]
pub struct ExportRow {
    pub message_id: i64,
    pub conversation_id: i64,
    pub number_id: String,
    pub contact: String,
    pub contact_name: String,
    pub direction: String,
    pub kind: String,
    pub body: String,
    pub status: String,
    pub error: String,
    pub sent_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_at_ms: i64,
}

/// `GET /api/v1/export/conversations`
pub async fn conversations(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<switchboard_shared::api::ExportQuery>,
) -> Result<Response> {
    let json = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "json" => true,
        other => return Err(AppError::bad_request("invalid_format", format!("format is csv or json, not {other:?}"))),
    };
    let mut conditions = vec![user.scope_sql("c.number_id", Some("c.assigned_to"))];
    if let Some(number) = &q.number {
        if !switchboard_shared::access::is_meta_id(number) {
            return Err(AppError::bad_request("invalid_number", "number is a phone-number id (digits only)"));
        }
        if !user.covers(number) {
            return Err(AppError::Forbidden("That number is outside your scope.".into()));
        }
        conditions.push(format!("c.number_id = '{number}'"));
    }
    if let Some(agent) = q.agent {
        conditions.push(format!("c.assigned_to = {agent}"));
    }
    if let Some(from) = q.from {
        conditions.push(format!("m.created_at >= {from}"));
    }
    if let Some(to) = q.to {
        conditions.push(format!("m.created_at < {to}"));
    }
    if let Some(label) = q.label.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        if label.contains(['\'', ',', '%', '_', '\\']) {
            return Err(AppError::bad_request("invalid_label", "A label filter cannot contain quotes, commas, % or _."));
        }
        // Labels are stored comma-separated; match one whole label, ignoring case.
        conditions.push(format!("LOWER(',' || c.labels || ',') LIKE '%,{},%'", label.to_lowercase()));
    }
    let filter = conditions.join(" AND ");
    {
        let mut conn = state.db.pool.acquire().await?;
        let filters = serde_json::to_value(&q).map_err(anyhow::Error::from)?;
        // On the numbers the export could cover: the one filtered on, else the exporter's scope.
        let numbers: Vec<&str> = match (q.number.as_deref(), &user.scope) {
            (Some(n), _) => vec![n],
            (None, Scope::Numbers(ids)) => ids.iter().map(String::as_str).collect(),
            (None, Scope::All) => Vec::new(),
        };
        audit::record_on(&mut conn, &user, &numbers, "export.conversations", "conversations", None, Some(filters)).await?;
    }
    let mask = !user.can(Permission::SeeFullPhoneNumbers);

    struct Cursor {
        after: i64,
        first: bool,
        done: bool,
    }
    let stream = futures::stream::unfold(Cursor { after: 0, first: true, done: false }, move |mut cursor| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            if cursor.done {
                return None;
            }
            let rows = super::store::export_page(&state.db.pool, &filter, cursor.after, PAGE).await;
            let rows = match rows {
                Ok(rows) => rows,
                // The status line is gone already; cutting the body short is the only signal left.
                Err(e) => return Some((Err(std::io::Error::other(e)), Cursor { done: true, ..cursor })),
            };
            let mut out = Vec::with_capacity(rows.len() * 160);
            if cursor.first && !json {
                out.extend_from_slice(b"\xEF\xBB\xBF"); // so spreadsheet apps read UTF-8 (Chinese names)
            }
            if cursor.first && json {
                out.extend_from_slice(b"[");
            }
            let mut writer = csv::WriterBuilder::new().has_headers(cursor.first).from_writer(Vec::new());
            let last_page = (rows.len() as i64) < PAGE;
            for (i, row) in rows.into_iter().enumerate() {
                cursor.after = row.id;
                let record = ExportRow {
                    message_id: row.id,
                    conversation_id: row.conversation_id,
                    number_id: row.number_id,
                    contact: if mask { mask_phone(&row.contact) } else { row.contact },
                    contact_name: row.contact_name.unwrap_or_default(),
                    direction: row.direction,
                    kind: row.kind,
                    body: row.body,
                    status: row.status.unwrap_or_default(),
                    error: row.error.unwrap_or_default(),
                    sent_by: row.sent_by.unwrap_or_default(),
                    created_at: rfc3339(row.created_at),
                    created_at_ms: row.created_at,
                };
                if json {
                    if !(cursor.first && i == 0) {
                        out.push(b',');
                    }
                    out.push(b'\n');
                    if let Err(e) = serde_json::to_writer(&mut out, &record) {
                        return Some((Err(std::io::Error::other(e)), Cursor { done: true, ..cursor }));
                    }
                } else if writer.serialize(&record).is_err() {
                    return Some((Err(std::io::Error::other("could not write a CSV row")), Cursor { done: true, ..cursor }));
                }
            }
            if !json {
                out.extend(writer.into_inner().unwrap_or_default());
            }
            if last_page {
                if json {
                    out.extend_from_slice(b"\n]\n");
                }
                cursor.done = true;
            }
            cursor.first = false;
            Some((Ok(Bytes::from(out)), cursor))
        }
    });
    let (content_type, name) =
        if json { ("application/json", "conversations.json") } else { ("text/csv; charset=utf-8", "conversations.csv") };
    Ok((
        [(CONTENT_TYPE, content_type.to_owned()), (CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))],
        Body::from_stream(stream),
    )
        .into_response())
}
