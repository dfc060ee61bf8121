//! Sign-in: argon2id password hashes, random session tokens in an HttpOnly cookie, stored
//! hashed so a database leak does not leak sessions.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_shared::access::Scope;
use switchboard_shared::api::LoginRequest;

use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::metrics::LoginResult;
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
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates or updates a user with a password (used by `demo` and `switchboard user add`):
/// role by name in any case (built in or custom), scope `all` or a list of numbers. Audited as
/// done from the command line.
pub async fn upsert_user(state: &AppState, email: &str, name: &str, password: &str, role: &str, scope: &Scope) -> anyhow::Result<i64> {
    let hash = hash_password(password)?;
    let email = email.trim().to_lowercase();
    if !email.contains('@') {
        anyhow::bail!("{email:?} is not an email address");
    }
    let mut tx = state.db.pool.begin().await?;
    let Some(role) = crate::access::canonical_role(&mut tx, role).await? else {
        let names = super::store::role_names(&mut tx).await?;
        anyhow::bail!("unknown role {role:?}: use one of {}", names.join(", "));
    };
    let id = super::store::upsert_with_password(&mut tx, &email, name, &hash, &role, now_ms()).await?;
    crate::access::save_scope(&mut tx, id, scope).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let after = serde_json::json!({"email": email, "name": name, "role": role, "scope": scope});
    crate::access::audit::record(&mut tx, crate::access::audit::Actor::Cli, "agent.upsert", &format!("agent:{id}"), None, Some(after))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(id)
}

pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn cookie(state: &AppState, value: &str, max_age_secs: u64) -> String {
    // A console on another origin needs SameSite=None to send the cookie at all.
    let same_site = if state.config.cors_origins.is_empty() { "Strict" } else { "None" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite={same_site}; Max-Age={max_age_secs}")
}

/// `POST /api/v1/session`: signs in and sets the session cookie.
pub async fn login(State(state): State<AppState>, ApiJson(request): ApiJson<LoginRequest>) -> Result<Response> {
    let email = request.email.trim().to_lowercase();
    if let Some(wait_ms) = state.sign_in_guard.locked_for(&email, now_ms()) {
        state.metrics.login(LoginResult::Locked);
        return Err(AppError::TooManyAttempts(format!(
            "Too many failed sign-ins for this email. Try again in {} minutes.",
            (wait_ms + 59_999) / 60_000
        )));
    }
    let row = super::store::password_of(&state.db.pool, &email).await?;
    // Hash even for an unknown email, so timing does not tell which emails exist.
    let (hash, user) = match row {
        Some((id, hash)) => (hash, Some(id)),
        None => (dummy_hash().to_owned(), None),
    };
    let password = request.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(anyhow::Error::from)?;
    let user = match (ok, user) {
        (true, Some(id)) => crate::access::load_user(&state, id).await?.ok_or(AppError::Unauthorized)?,
        _ => {
            state.sign_in_guard.failed(&email, now_ms());
            state.metrics.login(LoginResult::Rejected);
            return Err(AppError::Unauthorized);
        }
    };
    state.sign_in_guard.succeeded(&email);
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let now = now_ms();
    let lifetime_secs = state.config.session_hours * 3600;
    super::store::start_session(&state.db.pool, &token_hash(&token), user.id, now, now + lifetime_secs as i64 * 1000).await?;
    state.metrics.login(LoginResult::Accepted);
    Ok(([(SET_COOKIE, cookie(&state, &token, lifetime_secs))], Json(user.me())).into_response())
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
        super::store::end_session(&state.db.pool, &token_hash(&token)).await?;
    }
    Ok(([(SET_COOKIE, cookie(&state, "", 0))], axum::http::StatusCode::NO_CONTENT).into_response())
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
