//! `/api/v1/auto-replies` (the rules) and `/api/v1/numbers/{id}/support` (a number's business
//! hours and assignment). Every change is checked first and audited.

use axum::extract::{Path, State};
use axum::Json;
use switchboard_shared::access::Scope;
use switchboard_shared::support::{AutoRule, AutoRuleSpec, SupportSettings};

use super::store;
use crate::access::{audit, AuthUser};
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

fn invalid(message: String) -> AppError {
    AppError::bad_request("invalid_rule", message)
}

/// A rule's numbers must be numbers the user may act for (a number outside their scope is not
/// found, as everywhere) and that are connected (an empty list means all numbers, which only a
/// user with every number may choose).
async fn check_numbers(conn: &mut sqlx::AnyConnection, user: &AuthUser, spec: &AutoRuleSpec) -> Result<()> {
    check_scope(user, spec)?;
    for n in &spec.number_ids {
        if crate::numbers::support_of(conn, n).await?.is_none() {
            return Err(AppError::bad_request("invalid_numbers", format!("there is no number {n}")));
        }
    }
    Ok(())
}

/// The user may act for every number of the rule.
fn check_scope(user: &AuthUser, spec: &AutoRuleSpec) -> Result<()> {
    if spec.number_ids.is_empty() && !matches!(user.scope, Scope::All) {
        return Err(AppError::bad_request("invalid_numbers", "choose the numbers the rule answers for"));
    }
    if spec.number_ids.iter().any(|n| !user.covers(n)) {
        return Err(AppError::NotFound);
    }
    Ok(())
}

fn visible(user: &AuthUser, rule: &AutoRule) -> bool {
    if rule.spec.number_ids.is_empty() {
        matches!(user.scope, Scope::All)
    } else {
        rule.spec.number_ids.iter().any(|n| user.covers(n))
    }
}

/// `GET /api/v1/auto-replies`: the rules on the user's numbers.
pub async fn rules(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<AutoRule>>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(store::all_rules(&mut conn).await?.into_iter().filter(|r| visible(&user, r)).collect()))
}

/// `POST /api/v1/auto-replies`.
pub async fn create_rule(State(state): State<AppState>, user: AuthUser, ApiJson(spec): ApiJson<AutoRuleSpec>) -> Result<Json<AutoRule>> {
    spec.check().map_err(invalid)?;
    let mut tx = state.db.pool.begin().await?;
    check_numbers(&mut tx, &user, &spec).await?;
    let id = store::insert_rule(&mut tx, &spec, state.clock.now_ms()).await?;
    let numbers: Vec<&str> = spec.number_ids.iter().map(String::as_str).collect();
    let after = serde_json::to_value(&spec).map_err(anyhow::Error::from)?;
    audit::record_on(&mut tx, &user, &numbers, "auto_reply.create", &spec.name, None, Some(after)).await?;
    tx.commit().await?;
    Ok(Json(AutoRule { id, spec, answered: 0 }))
}

/// `PUT /api/v1/auto-replies/{id}`.
pub async fn update_rule(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(spec): ApiJson<AutoRuleSpec>,
) -> Result<Json<AutoRule>> {
    spec.check().map_err(invalid)?;
    let mut tx = state.db.pool.begin().await?;
    let before = store::rule(&mut tx, id).await?.filter(|r| visible(&user, r)).ok_or(AppError::NotFound)?;
    check_scope(&user, &before.spec)?;
    check_numbers(&mut tx, &user, &spec).await?;
    store::update_rule(&mut tx, id, &spec).await?;
    let numbers: Vec<&str> = spec.number_ids.iter().chain(&before.spec.number_ids).map(String::as_str).collect();
    let (b, a) = (serde_json::to_value(&before.spec).ok(), serde_json::to_value(&spec).ok());
    audit::record_on(&mut tx, &user, &numbers, "auto_reply.update", &spec.name, b, a).await?;
    tx.commit().await?;
    Ok(Json(AutoRule { id, spec, answered: before.answered }))
}

/// `DELETE /api/v1/auto-replies/{id}`.
pub async fn delete_rule(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<axum::http::StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let before = store::rule(&mut tx, id).await?.filter(|r| visible(&user, r)).ok_or(AppError::NotFound)?;
    check_scope(&user, &before.spec)?;
    store::delete_rule(&mut tx, id).await?;
    let numbers: Vec<&str> = before.spec.number_ids.iter().map(String::as_str).collect();
    let b = serde_json::to_value(&before.spec).ok();
    audit::record_on(&mut tx, &user, &numbers, "auto_reply.delete", &before.spec.name, b, None).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /api/v1/numbers/{id}/support`.
pub async fn support_settings(State(state): State<AppState>, user: AuthUser, Path(number): Path<String>) -> Result<Json<SupportSettings>> {
    if !user.covers(&number) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.db.pool.acquire().await?;
    let (settings, _) = crate::numbers::support_of(&mut conn, &number).await?.ok_or(AppError::NotFound)?;
    Ok(Json(settings))
}

/// `PUT /api/v1/numbers/{id}/support`: business hours (checked: seven days, spans in order,
/// real holidays) and how conversations are assigned.
pub async fn update_support_settings(
    State(state): State<AppState>,
    user: AuthUser,
    Path(number): Path<String>,
    ApiJson(settings): ApiJson<SupportSettings>,
) -> Result<Json<SupportSettings>> {
    if !user.covers(&number) {
        return Err(AppError::NotFound);
    }
    if let Some(hours) = &settings.hours {
        hours.check().map_err(|m| AppError::bad_request("invalid_hours", m))?;
    }
    let mut tx = state.db.pool.begin().await?;
    let (before, _) = crate::numbers::support_of(&mut tx, &number).await?.ok_or(AppError::NotFound)?;
    crate::numbers::set_support(&mut tx, &number, &settings).await?;
    let (b, a) = (serde_json::to_value(&before).ok(), serde_json::to_value(&settings).ok());
    audit::record_on(&mut tx, &user, &[number.as_str()], "number.support", &number, b, a).await?;
    tx.commit().await?;
    // New hours or a new mode: automatic assignment looks at once.
    state.assignment_bell.notify_one();
    Ok(Json(settings))
}
