//! `GET|POST /webhooks/whatsapp`: Meta's verification handshake and webhook delivery.
//!
//! A POST is checked against `X-Hub-Signature-256` on the raw bytes, stored durably, and only
//! then answered 200. Processing happens after, from the stored copy, so nothing accepted is
//! lost even if the relay dies a moment later.

pub mod ingest;
pub mod process;

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use switchboard_shared::{limits, signature};

use crate::error::error_response;
use crate::numbers::SignerCheck;
use crate::AppState;

/// `GET /webhooks/whatsapp?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`
pub async fn verify(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
    if mode == Some("subscribe") && !token.is_empty() && crate::numbers::is_verify_token(&state, token).await {
        (StatusCode::OK, challenge).into_response()
    } else {
        error_response(StatusCode::FORBIDDEN, "verify_token_mismatch", "The verify token does not match.")
    }
}

/// `POST /webhooks/whatsapp`
///
/// The body is read only up to Meta's 3 MiB limit. A declared `Content-Length` over the limit is
/// refused before a byte of the body is read (so a client that sent `Expect: 100-continue` gets
/// the 413 instead of being asked for the body); a chunked body is cut off at the limit.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = |r: &str| vec![("result".to_owned(), r.to_owned())];
    let too_large = || {
        state.metrics.webhooks.get_or_create(&result("too_large")).inc();
        error_response(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Webhook bodies are at most 3 MiB.")
    };
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits::MAX_WEBHOOK_BODY_BYTES as u64) {
        return too_large();
    }
    let body: Bytes = match axum::body::to_bytes(body, limits::MAX_WEBHOOK_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) if is_length_limit(&e) => return too_large(),
        Err(e) => {
            state.metrics.webhooks.get_or_create(&result("unreadable")).inc();
            return error_response(StatusCode::BAD_REQUEST, "unreadable_body", &format!("Could not read the body: {e}"));
        }
    };
    let Some(header) = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()) else {
        state.metrics.webhooks.get_or_create(&result("unsigned")).inc();
        return error_response(StatusCode::UNAUTHORIZED, "missing_signature", "X-Hub-Signature-256 is required.");
    };
    // Routed by phone_number_id: each number's own app secret must have signed the body.
    let number_ids = phone_number_ids(&body);
    let signed = {
        let secrets = state.app_secrets.read().await;
        let ok = |s: &&secrecy::SecretString| signature::verify(s.expose_secret().as_bytes(), &body, header);
        match secrets.signers_for(&number_ids) {
            SignerCheck::Any(candidates) => candidates.iter().any(ok),
            SignerCheck::Each(required) => required.iter().all(ok),
        }
    };
    if !signed {
        state.metrics.webhooks.get_or_create(&result("bad_signature")).inc();
        return error_response(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not match the body.");
    }
    match state.ingest.store(body).await {
        Ok(()) => {
            state.metrics.webhooks.get_or_create(&result("stored")).inc();
            StatusCode::OK.into_response()
        }
        Err(e) => {
            // Not stored: Meta must retry, so no 200.
            tracing::error!("could not store a webhook: {e}");
            state.metrics.webhooks.get_or_create(&result("store_failed")).inc();
            error_response(StatusCode::SERVICE_UNAVAILABLE, "store_failed", "Could not store the webhook; retry.")
        }
    }
}

/// Whether reading a body failed because it passed the length limit (rather than, say, a reset).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The phone-number ids a webhook body names (`entry[].changes[].value.metadata.phone_number_id`),
/// read leniently: a body that is not such JSON names none.
pub fn phone_number_ids(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        entry: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        changes: Vec<Change>,
    }
    #[derive(serde::Deserialize)]
    struct Change {
        #[serde(default)]
        value: Option<Value>,
    }
    #[derive(serde::Deserialize)]
    struct Value {
        #[serde(default)]
        metadata: Option<Metadata>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata {
        #[serde(default)]
        phone_number_id: Option<serde_json::Value>,
    }
    let Ok(parsed) = serde_json::from_slice::<Body>(body) else { return Vec::new() };
    let mut ids: Vec<String> = parsed
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .filter_map(|c| c.value?.metadata?.phone_number_id)
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
