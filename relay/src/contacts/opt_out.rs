//! Opt-out keywords (STOP, 取消訂閱, …) and the confirmation sent once.

use axum::extract::State;
use axum::Json;
use sqlx::AnyConnection;
use switchboard_shared::api::OptOutSettings;

use crate::access::audit;
use crate::access::AuthUser;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// The default opt-out keywords: English and Traditional Chinese.
pub fn default_opt_out() -> OptOutSettings {
    OptOutSettings {
        keywords: ["STOP", "UNSUBSCRIBE", "取消訂閱", "退訂"].map(String::from).to_vec(),
        confirmation: "You will not get marketing messages from us any more. 您已取消訂閱，我們不會再向您發送推廣訊息。".into(),
    }
}

/// The opt-out settings in force.
pub async fn opt_out_settings(conn: &mut AnyConnection) -> Result<OptOutSettings> {
    let value = super::store::setting(conn, "opt_out").await?;
    Ok(value.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_else(default_opt_out))
}

/// Whether an inbound text is one of the keywords: the whole message, any case, ignoring
/// spaces and trailing punctuation.
pub fn is_keyword(settings: &OptOutSettings, text: &str) -> bool {
    let clean = |s: &str| s.trim().trim_end_matches(['.', '!', '。', '！']).trim().to_lowercase();
    let text = clean(text);
    !text.is_empty() && settings.keywords.iter().any(|k| clean(k) == text)
}

/// `GET /api/v1/settings/opt-out`.
pub async fn get_opt_out(State(state): State<AppState>) -> Result<Json<OptOutSettings>> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(Json(opt_out_settings(&mut conn).await?))
}

/// `PUT /api/v1/settings/opt-out`.
pub async fn put_opt_out(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(mut request): ApiJson<OptOutSettings>,
) -> Result<Json<OptOutSettings>> {
    request.keywords = request.keywords.iter().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect();
    if request.keywords.is_empty() {
        return Err(AppError::bad_request("invalid_keywords", "keep at least one opt-out keyword"));
    }
    if request.confirmation.trim().is_empty() || request.confirmation.chars().count() > 1024 {
        return Err(AppError::bad_request("invalid_confirmation", "the confirmation is 1 to 1,024 characters"));
    }
    let mut tx = state.db.pool.begin().await?;
    let value = serde_json::to_string(&request).map_err(anyhow::Error::from)?;
    super::store::save_setting(&mut tx, "opt_out", &value).await?;
    audit::record(
        &mut tx,
        &user,
        "settings.opt_out",
        "opt-out keywords",
        None,
        Some(serde_json::to_value(&request).map_err(anyhow::Error::from)?),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_the_whole_message_in_any_case() {
        let s = default_opt_out();
        assert!(is_keyword(&s, " stop "));
        assert!(is_keyword(&s, "Stop!"));
        assert!(is_keyword(&s, "取消訂閱。"));
        assert!(!is_keyword(&s, "please don't stop"));
        assert!(!is_keyword(&s, ""));
    }
}
