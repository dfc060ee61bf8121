//! Contacts over HTTP: the list in the user's scope, tags and consent, and the CSV export.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use switchboard_shared::access::{mask_phone, Permission, Scope};
use switchboard_shared::api::{normalize_labels, Contact, ContactChange};
use switchboard_shared::segment::SegmentContact;

use super::store::*;
use crate::access::audit;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// Whether a user sees a contact: everyone with all numbers; others only contacts that talk
/// to one of their numbers.
pub(super) fn visible(user: &AuthUser, c: &SegmentContact) -> bool {
    matches!(user.scope, Scope::All) || c.numbers.iter().any(|n| user.covers(n))
}

/// `GET /api/v1/contacts`: every contact in scope, for the console's lists and segments.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Contact>>> {
    let mut conn = state.db.pool.acquire().await?;
    let all = load_all(&mut conn).await?;
    let full = user.can(Permission::SeeFullPhoneNumbers);
    Ok(Json(
        all.into_iter()
            .filter(|(_, _, c)| visible(&user, c))
            .map(|(phone, name, fields)| Contact { phone: if full { phone } else { mask_phone(&phone) }, name, fields })
            .collect(),
    ))
}

/// `PATCH /api/v1/contacts/{id}`: tags and consent.
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<ContactChange>,
) -> Result<StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let Some(row) = contact_by_id(&mut tx, id).await? else { return Err(AppError::NotFound) };
    let (_, _, c) = contact_from_row(row, &HashMap::new());
    if !visible(&user, &c) {
        return Err(AppError::NotFound);
    }
    let now = now_ms();
    if let Some(tags) = &change.tags {
        let tags = normalize_labels(tags).map_err(|m| AppError::bad_request("invalid_tag", m))?;
        set_tags(&mut tx, id, &tags, now).await?;
    }
    if let Some(opted_in) = change.opted_in {
        set_opted_in(&mut tx, id, opted_in, now).await?;
    }
    if let Some(opted_out) = change.opted_out {
        set_opted_out(&mut tx, id, opted_out, now).await?;
    }
    let numbers: Vec<&str> = c.numbers.iter().map(String::as_str).collect();
    audit::record_on(
        &mut tx,
        &user,
        &numbers,
        "contact.update",
        &format!("contact {id}"),
        None,
        Some(serde_json::to_value(&change).map_err(anyhow::Error::from)?),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/contacts/export`: every contact in scope as CSV.
pub async fn export(State(state): State<AppState>, user: AuthUser) -> Result<Response> {
    let mut conn = state.db.pool.acquire().await?;
    let all = load_all(&mut conn).await?;
    let full = user.can(Permission::SeeFullPhoneNumbers);
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut keys: Vec<String> = all.iter().flat_map(|(_, _, c)| c.attributes.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    let mut header = vec!["phone", "name", "tags", "opted_in", "opted_out", "last_inbound", "last_outbound", "numbers"];
    header.extend(keys.iter().map(String::as_str));
    w.write_record(&header).map_err(anyhow::Error::from)?;
    let mut count = 0;
    for (phone, name, c) in all.iter().filter(|(_, _, c)| visible(&user, c)) {
        let time = |t: Option<i64>| t.map(crate::clock::rfc3339).unwrap_or_default();
        let mut record = vec![
            if full { format!("+{phone}") } else { mask_phone(phone) },
            name.clone().unwrap_or_default(),
            c.tags.join(";"),
            if c.opted_in { "yes" } else { "no" }.to_owned(),
            if c.opted_out { "yes" } else { "no" }.to_owned(),
            time(c.last_inbound_at),
            time(c.last_outbound_at),
            c.numbers.join(";"),
        ];
        record.extend(keys.iter().map(|k| c.attributes.get(k).map(switchboard_shared::broadcast::attr_text).unwrap_or_default()));
        w.write_record(&record).map_err(anyhow::Error::from)?;
        count += 1;
    }
    audit::record(&mut conn, &user, "contacts.export", "contacts", None, Some(json!({"rows": count}))).await?;
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"contacts.csv\"")], bytes)
        .into_response())
}
