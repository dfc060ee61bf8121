//! Each WABA's message templates, synced from the Graph API: when a number is connected, every
//! five minutes with the health checks, and on demand from the console.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use secrecy::SecretString;
use switchboard_shared::api::Template;

use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Replaces one WABA's templates with what Meta lists now; returns how many.
pub async fn sync_waba(state: &AppState, waba_id: &str, token: &SecretString) -> Result<usize> {
    let list = state
        .cloud
        .templates(waba_id, token)
        .await
        .map_err(|e| AppError::bad_request("graph_error", format!("WhatsApp did not list the templates of {waba_id}: {e}")))?;
    let now = now_ms();
    let mut tx = state.db.pool.begin().await?;
    super::store::replace_templates(&mut tx, waba_id, &list, now).await?;
    tx.commit().await?;
    Ok(list.len())
}

/// Syncs every WABA that has an enabled number, with that number's token.
pub async fn sync_all(state: &AppState) -> Result<usize> {
    let rows = super::store::waba_tokens(&state.db.pool).await?;
    let mut by_waba: BTreeMap<String, String> = BTreeMap::new();
    for (waba, sealed) in rows {
        by_waba.entry(waba).or_insert(sealed);
    }
    let mut total = 0;
    for (waba, sealed) in by_waba {
        let token = SecretString::from(state.config.sealing_key()?.open(&sealed)?);
        total += sync_waba(state, &waba, &token).await?;
    }
    Ok(total)
}

/// The templates of the WABAs behind the user's numbers.
async fn visible(state: &AppState, user: &AuthUser) -> Result<Vec<Template>> {
    let numbers = super::store::wabas(&state.db.pool).await?;
    let wabas: Vec<String> = numbers.into_iter().filter(|(id, _)| user.covers(id)).map(|(_, w)| w).collect();
    let mut all = super::store::templates(&state.db.pool).await?;
    all.retain(|t| wabas.contains(&t.waba_id));
    Ok(all)
}

/// `GET /api/v1/templates`.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Template>>> {
    Ok(Json(visible(&state, &user).await?))
}

/// `POST /api/v1/templates/sync`: asks Meta again now.
pub async fn sync(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Template>>> {
    sync_all(&state).await?;
    Ok(Json(visible(&state, &user).await?))
}
