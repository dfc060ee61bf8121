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

/// A template a number may send now: the number is connected, the template is among its
/// account's (synced) and approved, and `values` fill its body's `{{n}}` exactly. Returns the
/// number and the template; otherwise the refusal the console explains.
pub async fn approved(
    conn: &mut sqlx::AnyConnection,
    number_id: &str,
    name: &str,
    language: &str,
    values: usize,
) -> Result<(super::ForBroadcast, Template)> {
    let bad = |code: &'static str, message: String| AppError::bad_request(code, message);
    let Some(number) = super::for_broadcast(conn, number_id).await? else {
        return Err(bad("unknown_number", format!("number {number_id} is not connected")));
    };
    let Some(template) = super::template(conn, &number.waba_id, name, language).await? else {
        return Err(bad(
            "unknown_template",
            format!("template {name} ({language}) is not among number {number_id}'s templates; sync templates first"),
        ));
    };
    if !template.status.eq_ignore_ascii_case("APPROVED") {
        return Err(bad("template_not_approved", format!("template {name} is {}; only approved templates can be sent", template.status)));
    }
    let wanted = switchboard_shared::broadcast::body_text(&template.components).map_or(0, switchboard_shared::broadcast::placeholders);
    if values != wanted {
        return Err(bad("parameters", format!("template {name} takes {wanted} values; {values} given")));
    }
    Ok((number, template))
}

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
