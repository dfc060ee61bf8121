//! Saved segments, checked with the same parser the console and the broadcasts use.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_shared::api::{SavedSegment, SegmentRequest};
use switchboard_shared::segment::Segment;

use crate::access::audit;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// `GET /api/v1/segments`.
pub async fn list_segments(State(state): State<AppState>) -> Result<Json<Vec<SavedSegment>>> {
    Ok(Json(super::store::segments(&state.db.pool).await?))
}

/// Checks a segment expression; the error points at the character.
pub fn check_expression(expression: &str) -> Result<Segment> {
    Segment::parse(expression).map_err(|e| {
        AppError::bad_request("invalid_segment", format!("{} (at character {})\n{}", e.message, e.at + 1, e.pointer(expression)))
    })
}

/// `POST /api/v1/segments`: saves a named segment (a second save under a name replaces it).
pub async fn save_segment(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<SegmentRequest>,
) -> Result<(StatusCode, Json<SavedSegment>)> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::bad_request("invalid_name", "a segment needs a name of 1 to 80 characters"));
    }
    check_expression(&request.expression)?;
    let mut tx = state.db.pool.begin().await?;
    let id = super::store::save_segment(&mut tx, name, &request.expression, user.id, now_ms()).await?;
    audit::record(&mut tx, &user, "segment.save", name, None, Some(json!({"expression": request.expression}))).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(SavedSegment { id, name: name.to_owned(), expression: request.expression })))
}

/// `DELETE /api/v1/segments/{id}`.
pub async fn delete_segment(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    if !super::store::delete_segment(&mut tx, id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&mut tx, &user, "segment.delete", &format!("segment {id}"), None, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
