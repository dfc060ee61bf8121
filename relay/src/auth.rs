//! Sign-in: argon2id password hashes, random session tokens in an HttpOnly cookie, stored
//! hashed so a database leak does not leak sessions.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_shared::api::{Event, LoginRequest, Me};

use crate::db::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Failed sign-ins for one email before it is locked for a while.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long the failures are remembered, and how long a lockout lasts.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// Recent failed sign-ins per email, in memory: a restart forgets them.
#[derive(Default)]
pub struct SignInGuard {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, i64)>>,
}

impl SignInGuard {
    /// Milliseconds until this email may try again, if it is locked.
    fn locked_for(&self, email: &str, now: i64) -> Option<i64> {
        let failures = self.failures.lock().expect("sign-in guard lock");
        let (count, since) = failures.get(email).copied()?;
        let until = since + LOCKOUT_MS;
        (count >= MAX_FAILED_SIGN_INS && until > now).then_some(until - now)
    }

    fn failed(&self, email: &str, now: i64) {
        let mut failures = self.failures.lock().expect("sign-in guard lock");
        let entry = failures.entry(email.to_owned()).or_insert((0, now));
        if now - entry.1 > LOCKOUT_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
        // Keep the map small: forget entries whose window has passed.
        failures.retain(|_, (_, since)| now - *since <= LOCKOUT_MS);
    }

    fn succeeded(&self, email: &str) {
        self.failures.lock().expect("sign-in guard lock").remove(email);
    }
}

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sb_session";

/// Hashes a password with argon2id and the crate's default parameters (19 MiB memory,
/// 2 iterations, 1 lane: OWASP's recommended minimum).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates or updates a user (used by `demo` and `switchboard user add`).
pub async fn upsert_user(state: &AppState, email: &str, name: &str, password: &str, role: &str) -> anyhow::Result<i64> {
    let hash = hash_password(password)?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, name, password_hash, role, disabled, created_at) VALUES ($1, $2, $3, $4, FALSE, $5)
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, name = excluded.name
         RETURNING id",
    )
    .bind(email.trim().to_lowercase())
    .bind(name)
    .bind(hash)
    .bind(role)
    .bind(now_ms())
    .fetch_one(&state.db.pool)
    .await?;
    Ok(id)
}

/// The signed-in user, read from the session cookie. Handlers that take it are closed to
/// anyone not signed in.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
}

impl AuthUser {
    /// Whether this user may see an event. Every signed-in user sees every number until
    /// per-number scopes arrive with roles.
    pub fn may_see(&self, _event: &Event) -> bool {
        true
    }
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = session_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let row: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.role FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = FALSE",
        )
        .bind(token_hash(&token))
        .bind(now_ms())
        .fetch_optional(&state.db.pool)
        .await?;
        let (id, email, name, role) = row.ok_or(AppError::Unauthorized)?;
        Ok(AuthUser { id, email, name, role })
    }
}

fn cookie(state: &AppState, value: &str, max_age_secs: u64) -> String {
    // A console on another origin needs SameSite=None to send the cookie at all.
    let same_site = if state.config.cors_origins.is_empty() { "Strict" } else { "None" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite={same_site}; Max-Age={max_age_secs}")
}

/// `POST /api/v1/session`: signs in and sets the session cookie.
pub async fn login(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response> {
    let request: LoginRequest = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("invalid_body", format!("expected {{\"email\", \"password\"}}: {e}")))?;
    let email = request.email.trim().to_lowercase();
    if let Some(wait_ms) = state.sign_in_guard.locked_for(&email, now_ms()) {
        state.metrics.logins.get_or_create(&vec![("result".to_owned(), "locked".to_owned())]).inc();
        return Err(AppError::TooManyAttempts(format!(
            "Too many failed sign-ins for this email. Try again in {} minutes.",
            (wait_ms + 59_999) / 60_000
        )));
    }
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, email, name, role, password_hash FROM users WHERE email = $1 AND disabled = FALSE",
    )
    .bind(&email)
    .fetch_optional(&state.db.pool)
    .await?;
    // Hash even for an unknown email, so timing does not tell which emails exist.
    let (hash, user) = match row {
        Some((id, email, name, role, hash)) => (hash, Some(Me { id, email, name, role })),
        None => (dummy_hash().to_owned(), None),
    };
    let password = request.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(anyhow::Error::from)?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            state.sign_in_guard.failed(&email, now_ms());
            state.metrics.logins.get_or_create(&vec![("result".to_owned(), "rejected".to_owned())]).inc();
            return Err(AppError::Unauthorized);
        }
    };
    state.sign_in_guard.succeeded(&email);
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let now = now_ms();
    let lifetime_secs = state.config.session_hours * 3600;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(user.id)
        .bind(now)
        .bind(now + lifetime_secs as i64 * 1000)
        .execute(&state.db.pool)
        .await?;
    state.metrics.logins.get_or_create(&vec![("result".to_owned(), "accepted".to_owned())]).inc();
    Ok(([(SET_COOKIE, cookie(&state, &token, lifetime_secs))], Json(user)).into_response())
}

/// A hash of a random password, verified against when the email is unknown.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        hash_password(&hex::encode(raw)).unwrap_or_default()
    })
}

/// `DELETE /api/v1/session`: signs out.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = session_token(&headers) {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash(&token)).execute(&state.db.pool).await?;
    }
    Ok(([(SET_COOKIE, cookie(&state, "", 0))], axum::http::StatusCode::NO_CONTENT).into_response())
}

/// `GET /api/v1/me`.
pub async fn me(user: AuthUser) -> Json<Me> {
    Json(Me { id: user.id, email: user.email, name: user.name, role: user.role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", dummy_hash()));
    }
}
