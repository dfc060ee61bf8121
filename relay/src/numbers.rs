//! Business numbers: their credentials, health from the Graph API, and the overview list.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use secrecy::SecretString;
use switchboard_shared::api::Number;

use anyhow::Context;

use crate::auth::AuthUser;
use crate::secrets::SecretKey;
use crate::db::now_ms;
use crate::error::Result;
use crate::AppState;

/// What it takes to connect a number.
#[derive(Clone)]
pub struct NewNumber {
    pub id: String,
    pub waba_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
}

/// The configured key, or a clear error for commands run without one.
pub fn secret_key(state: &AppState) -> anyhow::Result<&SecretKey> {
    state.config.secret_key.as_ref().context("no secret key configured (SWITCHBOARD_SECRET_KEY or --secret-key-file)")
}

/// Checks a number against the Graph API, then saves it (or updates its credentials) and
/// starts its lane. A bad token or id is a clear error and nothing is saved.
pub async fn upsert(state: &AppState, n: &NewNumber) -> anyhow::Result<()> {
    let key = secret_key(state)?;
    let token = SecretString::from(n.access_token.clone());
    state
        .cloud
        .phone_number(&n.id, &token)
        .await
        .map_err(|e| anyhow::anyhow!("WhatsApp did not accept phone number id {} with this access token: {e}", n.id))?;
    sqlx::query(
        "INSERT INTO numbers (id, waba_id, access_token, app_secret, verify_token, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET waba_id = excluded.waba_id, access_token = excluded.access_token,
           app_secret = excluded.app_secret, verify_token = excluded.verify_token",
    )
    .bind(&n.id)
    .bind(&n.waba_id)
    .bind(key.seal(&n.access_token))
    .bind(key.seal(&n.app_secret))
    .bind(&n.verify_token)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    reload_app_secrets(state).await?;
    check_health(state, &n.id, &token).await?;
    let (rate,): (i64,) = sqlx::query_as("SELECT throughput_per_sec FROM numbers WHERE id = $1").bind(&n.id).fetch_one(&state.db.pool).await?;
    crate::outbox::start_lane(state, &n.id, rate);
    Ok(())
}

/// Re-reads the app secrets that may sign webhooks.
pub async fn reload_app_secrets(state: &AppState) -> anyhow::Result<()> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT app_secret FROM numbers").fetch_all(&state.db.pool).await?;
    let mut secrets: Vec<SecretString> = Vec::new();
    if !rows.is_empty() {
        let key = secret_key(state)?;
        for (sealed,) in rows {
            secrets.push(SecretString::from(key.open(&sealed)?));
        }
    }
    if let Some(s) = &state.config.app_secret {
        secrets.push(s.clone());
    }
    *state.app_secrets.write().await = secrets;
    Ok(())
}

/// Whether a webhook verification token is the configured one or any number's.
pub async fn is_verify_token(state: &AppState, token: &str) -> bool {
    if state.config.verify_token.as_deref() == Some(token) {
        return true;
    }
    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM numbers WHERE verify_token = $1 AND verify_token <> ''")
        .bind(token)
        .fetch_one(&state.db.pool)
        .await
        .is_ok_and(|(n,)| n > 0)
}

/// Asks the Graph API for a number's health and stores what it says (or the problem).
pub async fn check_health(state: &AppState, id: &str, token: &SecretString) -> anyhow::Result<()> {
    match state.cloud.phone_number(id, token).await {
        Ok(info) => {
            let throughput = match info.throughput.as_ref().and_then(|t| t.level.as_deref()) {
                Some("HIGH") => switchboard_shared::limits::HIGH_THROUGHPUT_PER_SEC,
                _ => switchboard_shared::limits::DEFAULT_THROUGHPUT_PER_SEC,
            };
            sqlx::query(
                "UPDATE numbers SET display_phone_number = $1, verified_name = $2, quality_rating = $3, messaging_limit = $4,
                   throughput_per_sec = $5, connected = TRUE, problem = NULL WHERE id = $6",
            )
            .bind(info.display_phone_number.unwrap_or_default())
            .bind(info.verified_name.unwrap_or_default())
            .bind(info.quality_rating.unwrap_or_else(|| "UNKNOWN".into()))
            .bind(info.whatsapp_business_manager_messaging_limit.unwrap_or_default())
            .bind(throughput as i64)
            .bind(id)
            .execute(&state.db.pool)
            .await?;
        }
        Err(e) => {
            tracing::warn!("health check of {id} failed: {e}");
            sqlx::query("UPDATE numbers SET connected = FALSE, problem = $1 WHERE id = $2")
                .bind(e.to_string())
                .bind(id)
                .execute(&state.db.pool)
                .await?;
        }
    }
    Ok(())
}

/// Checks every number's health every five minutes.
pub async fn health_loop(state: AppState) {
    loop {
        let numbers: Vec<(String, String)> =
            sqlx::query_as("SELECT id, access_token FROM numbers").fetch_all(&state.db.pool).await.unwrap_or_default();
        for (id, sealed) in numbers {
            let token = match secret_key(&state).and_then(|k| k.open(&sealed)) {
                Ok(t) => SecretString::from(t),
                Err(e) => {
                    tracing::error!("cannot read the access token of {id}: {e:#}");
                    continue;
                }
            };
            if let Err(e) = check_health(&state, &id, &token).await {
                tracing::error!("recording health of {id}: {e}");
            }
        }
        tokio::time::sleep(Duration::from_secs(300)).await;
    }
}

type NumberRow = (String, String, String, String, String, String, i64, i64, Option<String>, Option<i64>, i64);

/// `GET /api/v1/numbers`
pub async fn list(State(state): State<AppState>, _user: AuthUser) -> Result<Json<Vec<Number>>> {
    let rows: Vec<NumberRow> = sqlx::query_as(
        "SELECT n.id, n.waba_id, n.display_phone_number, n.verified_name, n.quality_rating, n.messaging_limit,
                n.throughput_per_sec, CASE WHEN n.connected THEN 1 ELSE 0 END, n.problem, n.last_webhook_at,
                CAST(COALESCE((SELECT SUM(c.unread) FROM conversations c WHERE c.number_id = n.id), 0) AS BIGINT)
         FROM numbers n ORDER BY n.display_phone_number, n.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, waba_id, display, name, quality, limit, throughput, connected, problem, last_webhook_at, unread)| Number {
                id,
                waba_id,
                display_phone_number: display,
                verified_name: name,
                quality_rating: quality,
                messaging_limit: limit,
                throughput_per_sec: throughput as u32,
                connected: connected != 0,
                problem,
                unread,
                last_webhook_at,
            })
            .collect(),
    ))
}
