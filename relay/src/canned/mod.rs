//! Canned replies: a shared library of answers with shortcuts (`/hours`), optionally offered
//! only on some numbers. Everyone who works on a number reads the ones for it; those who manage
//! numbers write them. Placeholders are filled by the console when an agent inserts one (it
//! knows the contact and the agent); the agent sees and may edit the text before sending.

mod store;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use switchboard_shared::access::Scope;
use switchboard_shared::support::{CannedReply, CannedReplySpec};

use crate::access::{audit, AuthUser};
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// Offered to this user: on every number, or on one of theirs.
fn offered_to(user: &AuthUser, reply: &CannedReply) -> bool {
    reply.spec.number_ids.is_empty() || reply.spec.number_ids.iter().any(|n| user.covers(n))
}

/// A manager may change a reply only if they cover all its numbers (every number: all).
fn may_change(user: &AuthUser, spec: &CannedReplySpec) -> bool {
    if spec.number_ids.is_empty() {
        matches!(user.scope, Scope::All)
    } else {
        spec.number_ids.iter().all(|n| user.covers(n))
    }
}

/// A spec as stored (shortcut as matched, text trimmed, numbers once each), or why it cannot be.
fn normalised(mut spec: CannedReplySpec) -> Result<CannedReplySpec> {
    spec.check().map_err(|m| AppError::bad_request("invalid_canned", m))?;
    spec.shortcut = CannedReplySpec::key(&spec.shortcut);
    spec.text = spec.text.trim().to_owned();
    spec.number_ids.sort();
    spec.number_ids.dedup();
    Ok(spec)
}

/// Checks a user's spec against what they may do and what exists, normalised.
async fn checked(conn: &mut sqlx::AnyConnection, user: &AuthUser, spec: CannedReplySpec, id: i64) -> Result<CannedReplySpec> {
    let spec = normalised(spec)?;
    if spec.number_ids.is_empty() && !matches!(user.scope, Scope::All) {
        return Err(AppError::bad_request("invalid_numbers", "choose the numbers it is offered on"));
    }
    if spec.number_ids.iter().any(|n| !user.covers(n)) {
        return Err(AppError::NotFound);
    }
    for n in &spec.number_ids {
        if crate::numbers::support_of(conn, n).await?.is_none() {
            return Err(AppError::bad_request("invalid_numbers", format!("there is no number {n}")));
        }
    }
    if store::shortcut_taken(conn, &spec.shortcut, id).await? {
        return Err(AppError::Conflict(format!("Another canned reply already has the shortcut /{}.", spec.shortcut)));
    }
    Ok(spec)
}

/// Adds replies whose shortcuts are not taken yet (the demo's starting library), unaudited.
pub async fn seed(conn: &mut sqlx::AnyConnection, specs: &[CannedReplySpec], now_ms: i64) -> Result<()> {
    for spec in specs {
        let spec = normalised(spec.clone())?;
        if !store::shortcut_taken(conn, &spec.shortcut, 0).await? {
            store::insert(conn, &spec, now_ms).await?;
        }
    }
    Ok(())
}

/// `GET /api/v1/canned-replies`: the ones offered on the user's numbers.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<CannedReply>>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(store::all(&mut conn).await?.into_iter().filter(|r| offered_to(&user, r)).collect()))
}

/// `POST /api/v1/canned-replies`.
pub async fn create(State(state): State<AppState>, user: AuthUser, ApiJson(spec): ApiJson<CannedReplySpec>) -> Result<Json<CannedReply>> {
    let mut tx = state.db.pool.begin().await?;
    let spec = checked(&mut tx, &user, spec, 0).await?;
    let id = store::insert(&mut tx, &spec, state.clock.now_ms()).await?;
    let numbers: Vec<&str> = spec.number_ids.iter().map(String::as_str).collect();
    let after = serde_json::to_value(&spec).map_err(anyhow::Error::from)?;
    audit::record_on(&mut tx, &user, &numbers, "canned_reply.create", &format!("/{}", spec.shortcut), None, Some(after)).await?;
    tx.commit().await?;
    Ok(Json(CannedReply { id, spec }))
}

/// `PUT /api/v1/canned-replies/{id}`.
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(spec): ApiJson<CannedReplySpec>,
) -> Result<Json<CannedReply>> {
    let mut tx = state.db.pool.begin().await?;
    let before = store::one(&mut tx, id).await?.filter(|r| offered_to(&user, r)).ok_or(AppError::NotFound)?;
    if !may_change(&user, &before.spec) {
        return Err(AppError::NotFound);
    }
    let spec = checked(&mut tx, &user, spec, id).await?;
    store::update(&mut tx, id, &spec).await?;
    let numbers: Vec<&str> = spec.number_ids.iter().chain(&before.spec.number_ids).map(String::as_str).collect();
    let (b, a) = (serde_json::to_value(&before.spec).ok(), serde_json::to_value(&spec).ok());
    audit::record_on(&mut tx, &user, &numbers, "canned_reply.update", &format!("/{}", spec.shortcut), b, a).await?;
    tx.commit().await?;
    Ok(Json(CannedReply { id, spec }))
}

/// `DELETE /api/v1/canned-replies/{id}`.
pub async fn delete(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let before = store::one(&mut tx, id).await?.filter(|r| offered_to(&user, r)).ok_or(AppError::NotFound)?;
    if !may_change(&user, &before.spec) {
        return Err(AppError::NotFound);
    }
    store::delete(&mut tx, id).await?;
    let numbers: Vec<&str> = before.spec.number_ids.iter().map(String::as_str).collect();
    let b = serde_json::to_value(&before.spec).ok();
    audit::record_on(&mut tx, &user, &numbers, "canned_reply.delete", &format!("/{}", before.spec.shortcut), b, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
